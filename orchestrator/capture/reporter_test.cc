// Round trips flags/reporter.h output through the orchestrator's parser.
#include "flags/reporter.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include "orchestrator/capture/metric_line.h"

namespace orchard {
namespace {

using capture::LineKind;
using capture::ParseLine;
using capture::ParseResult;

std::string WithoutNewline(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  return line.substr(0, line.size() - 1);
}

TEST(ReporterTest, DesignExampleRoundTrips) {
  std::vector<std::string> lines;
  Reporter r([&](std::string_view l) { lines.emplace_back(l); });
  r.Log(120, 2, {{"train_loss", 0.412}, {"val_acc", 0.873}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "@orchard {\"step\":120,\"epoch\":2,\"train_loss\":0.412,\"val_acc\":0.873}\n");
  ParseResult p = ParseLine(WithoutNewline(lines[0]));
  ASSERT_EQ(p.kind, LineKind::kMetric) << p.error;
  EXPECT_EQ(p.record.step, 120);
  EXPECT_EQ(p.record.epoch, 2);
  ASSERT_EQ(p.record.values.size(), 2u);
  EXPECT_EQ(p.record.values[0].second, 0.412);
}

TEST(ReporterTest, StepAndEpochAreOptional) {
  std::vector<std::string> lines;
  Reporter r([&](std::string_view l) { lines.emplace_back(l); });
  r.Log({{"a", 1}});
  r.Log(7, {{"a", 2}});
  r.Log(-1, -2, {{"a", 3}});
  r.LogValues(std::nullopt, 4, {{"a", 4}});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "@orchard {\"a\":1}\n");
  EXPECT_FALSE(ParseLine(WithoutNewline(lines[0])).record.step.has_value());
  EXPECT_EQ(ParseLine(WithoutNewline(lines[1])).record.step, 7);
  EXPECT_EQ(lines[2], "@orchard {\"a\":3}\n");
  ParseResult p = ParseLine(WithoutNewline(lines[3]));
  EXPECT_FALSE(p.record.step.has_value());
  EXPECT_EQ(p.record.epoch, 4);
}

TEST(ReporterTest, HostileNamesAndValues) {
  std::string line = Reporter::FormatLine(1, std::nullopt, nullptr, nullptr);
  EXPECT_EQ(line, "@orchard {\"step\":1}\n");
  const std::vector<Reporter::Metric> metrics = {
      {"quote\"back\\slash", 1.5},
      {"tab\tnew\nline", 2},
      {std::string_view("nul\0byte", 8), 3},
      {"bad\xff utf8", 4},
      {"caf\xc3\xa9", 5},
      {"nan", std::nan("")},
      {"inf", INFINITY},
      {"step", 99},
      {"summary", 1},
      {"tiny", 5e-324},
      {"huge", 1.7976931348623157e308},
      {"neg", -0.0},
  };
  line = Reporter::FormatLine(3, 1, metrics.data(), metrics.data() + metrics.size());
  ParseResult p = ParseLine(WithoutNewline(line));
  ASSERT_EQ(p.kind, LineKind::kMetric) << p.error << "\n" << line;
  EXPECT_EQ(p.record.step, 3);  // the "step" metric did not override it
  EXPECT_TRUE(p.record.extra.is_null());
  std::vector<std::pair<std::string, double>> expected = {
      {"quote\"back\\slash", 1.5}, {"tab\tnew\nline", 2}, {"bad\xef\xbf\xbd utf8", 4},
      {"caf\xc3\xa9", 5}, {"tiny", 5e-324}, {"huge", 1.7976931348623157e308}, {"neg", -0.0}};
  // Names with control characters are skipped by the parser, with warnings.
  expected.erase(expected.begin() + 1);
  EXPECT_EQ(p.record.values, expected);
  EXPECT_EQ(p.warnings.size(), 2u);  // tab/newline name, NUL name
  EXPECT_TRUE(std::signbit(p.record.values.back().second));
}

TEST(ReporterTest, RandomDoublesRoundTripBitExactly) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    if (!std::isfinite(v)) continue;
    Reporter::Metric m{"v", v};
    std::string line = Reporter::FormatLine(i, std::nullopt, &m, &m + 1);
    ParseResult p = ParseLine(WithoutNewline(line));
    ASSERT_EQ(p.kind, LineKind::kMetric) << line;
    ASSERT_EQ(p.record.values.size(), 1u) << line;
    double back = p.record.values[0].second;
    ASSERT_EQ(std::memcmp(&back, &v, sizeof v), 0) << line;
  }
}

TEST(ReporterTest, ThreadsNeverInterleave) {
  std::string out;
  std::mutex out_mu;
  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  Reporter r([&](std::string_view l) {
    // Two callers inside the sink at once would mean the reporter does not
    // serialise its writes.
    if (inside.fetch_add(1) != 0) overlapped = true;
    std::this_thread::yield();
    {
      std::lock_guard<std::mutex> lock(out_mu);
      out.append(l);
    }
    inside.fetch_sub(1);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < 500; ++i) r.Log(i, t, {{"thread_metric", t + i / 1000.0}});
    });
  }
  for (auto& th : threads) th.join();
  size_t count = 0, start = 0;
  while (start < out.size()) {
    size_t nl = out.find('\n', start);
    ASSERT_NE(nl, std::string::npos);
    ParseResult p = ParseLine(std::string_view(out).substr(start, nl - start));
    ASSERT_EQ(p.kind, LineKind::kMetric) << p.error;
    ++count;
    start = nl + 1;
  }
  EXPECT_EQ(count, 2000u);
  EXPECT_FALSE(overlapped);
}

TEST(ReporterTest, WritesToAFile) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Reporter r(f);
    r.Log(1, {{"x", 0.25}});
  }
  std::rewind(f);
  char buf[128] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  EXPECT_EQ(std::string(buf, n), "@orchard {\"step\":1,\"x\":0.25}\n");
}

TEST(ReporterTest, EnvironmentHelpers) {
  ::setenv("ORCHARD_RUN_ID", "r12", 1);
  ::setenv("ORCHARD_RUN_DIR", "/tmp/runs/r12", 1);
  ::setenv("ORCHARD_SEED", "18446744073709551615", 1);
  EXPECT_EQ(Reporter::RunId(), "r12");
  EXPECT_EQ(Reporter::RunDir(), "/tmp/runs/r12");
  EXPECT_EQ(Reporter::Seed(), UINT64_MAX);
  ::setenv("ORCHARD_SEED", "12abc", 1);
  EXPECT_FALSE(Reporter::Seed().has_value());
  ::unsetenv("ORCHARD_SEED");
  ::unsetenv("ORCHARD_RUN_ID");
  ::setenv("ORCHARD_RUN_DIR", "", 1);
  EXPECT_FALSE(Reporter::Seed().has_value());
  EXPECT_FALSE(Reporter::RunId().has_value());
  EXPECT_FALSE(Reporter::RunDir().has_value());
  ::unsetenv("ORCHARD_RUN_DIR");
}

}  // namespace
}  // namespace orchard
