#include "orchestrator/capture/metric_line.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

namespace orchard::capture {
namespace {

ParseResult Metric(std::string_view line) {
  ParseResult r = ParseLine(line);
  EXPECT_EQ(r.kind, LineKind::kMetric) << line << " -> " << r.error;
  return r;
}

std::string Malformed(std::string_view line) {
  ParseResult r = ParseLine(line);
  EXPECT_EQ(r.kind, LineKind::kMalformed) << line;
  EXPECT_TRUE(r.record.values.empty());
  return r.error;
}

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

TEST(MetricLineTest, DesignExample) {
  ParseResult r = Metric(R"(@orchard {"step": 120, "epoch": 2, "train_loss": 0.412, "val_acc": 0.873})");
  EXPECT_EQ(r.record.step, 120);
  EXPECT_EQ(r.record.epoch, 2);
  ASSERT_EQ(r.record.values.size(), 2u);
  EXPECT_EQ(r.record.values[0].first, "train_loss");
  EXPECT_DOUBLE_EQ(r.record.values[0].second, 0.412);
  EXPECT_EQ(r.record.values[1].first, "val_acc");
  EXPECT_DOUBLE_EQ(r.record.values[1].second, 0.873);
  EXPECT_TRUE(r.record.extra.is_null());
  EXPECT_TRUE(r.warnings.empty());
}

TEST(MetricLineTest, LogLines) {
  for (std::string_view line :
       {"", "hello", "@orchard", "@orchard{\"a\":1}", "@orchard\t{\"a\":1}", " @orchard {\"a\":1}",
        "@ORCHARD {\"a\":1}", "@orcharD {}", "epoch 1 @orchard {\"a\": 1}"}) {
    EXPECT_EQ(ParseLine(line).kind, LineKind::kLog) << line;
  }
}

TEST(MetricLineTest, WhitespaceAndCarriageReturn) {
  EXPECT_EQ(Metric("@orchard {\"a\":1}\r").record.values.size(), 1u);
  EXPECT_EQ(Metric("@orchard {\"a\":1}  \t\r\n").record.values.size(), 1u);
  EXPECT_EQ(Metric("@orchard  { \"a\" : 1 , \"b\" :2 }").record.values.size(), 2u);
  EXPECT_EQ(Metric("@orchard {}").record.values.size(), 0u);
  EXPECT_EQ(Metric("@orchard {\"step\": 4}").record.step, 4);
}

TEST(MetricLineTest, NonNumericValuesAreIgnored) {
  ParseResult r = Metric(
      R"(@orchard {"phase": "train", "ok": true, "n": null, "list": [1, 2], "obj": {"x": 1}, "v": 1e-3})");
  ASSERT_EQ(r.record.values.size(), 1u);
  EXPECT_EQ(r.record.values[0].first, "v");
  EXPECT_DOUBLE_EQ(r.record.values[0].second, 0.001);
}

TEST(MetricLineTest, ReservedKeysGoToExtra) {
  ParseResult r = Metric(
      R"(@orchard {"artifact": {"path": "model.pt"}, "summary": {"best": 0.9}, "env": {"cuda": "12.1"}, "tag": "baseline", "loss": 2})");
  ASSERT_TRUE(r.record.extra.is_object());
  EXPECT_EQ(r.record.extra["artifact"]["path"], "model.pt");
  EXPECT_EQ(r.record.extra["summary"]["best"], 0.9);
  EXPECT_EQ(r.record.extra["env"]["cuda"], "12.1");
  EXPECT_EQ(r.record.extra["tag"], "baseline");
  ASSERT_EQ(r.record.values.size(), 1u);  // summary's numbers are not metrics
  EXPECT_EQ(r.record.values[0].first, "loss");
  // A value nlohmann cannot hold drops that key only.
  ParseResult big = Metric(R"(@orchard {"summary": {"x": 1e400}, "loss": 1})");
  EXPECT_TRUE(big.record.extra.is_null());
  EXPECT_EQ(big.record.values.size(), 1u);
  ASSERT_EQ(big.warnings.size(), 1u);
  EXPECT_TRUE(Contains(big.warnings[0], "summary"));
  // A reserved key with a number is still not a metric.
  ParseResult t = Metric(R"(@orchard {"tag": 5})");
  EXPECT_TRUE(t.record.values.empty());
  EXPECT_EQ(t.record.extra["tag"], 5);
}

TEST(MetricLineTest, StepRules) {
  EXPECT_EQ(Metric(R"(@orchard {"step": 0})").record.step, 0);
  EXPECT_EQ(Metric(R"(@orchard {"step": -0})").record.step, 0);
  EXPECT_EQ(Metric(R"(@orchard {"step": 3.0})").record.step, 3);
  EXPECT_EQ(Metric(R"(@orchard {"step": 3e2})").record.step, 300);
  EXPECT_EQ(Metric(R"(@orchard {"step": 9223372036854775807})").record.step, INT64_MAX);
  EXPECT_EQ(Metric(R"(@orchard {"epoch": 7})").record.epoch, 7);
  EXPECT_FALSE(Metric(R"(@orchard {"x": 1})").record.step.has_value());

  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"step": 3.5})"), "step must be an integer"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"step": -1})"), "step must be non-negative"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"step": "3"})"), "step must be an integer"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"step": null})"), "step must be an integer"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"step": NaN})"), "step must be an integer"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"step": 9223372036854775808})"), "step out of range"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"step": 1e400})"), "step out of range"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"epoch": 1.5, "a": 1})"), "epoch must be an integer"));
}

TEST(MetricLineTest, ErrorsNameAByteOffset) {
  std::string e = Malformed(R"(@orchard {"step": 3.5})");
  EXPECT_TRUE(Contains(e, "at byte 18")) << e;
}

TEST(MetricLineTest, MalformedStructure) {
  EXPECT_TRUE(Contains(Malformed("@orchard [1, 2]"), "not a JSON object"));
  EXPECT_TRUE(Contains(Malformed("@orchard 42"), "not a JSON object"));
  EXPECT_TRUE(Contains(Malformed("@orchard hello"), "not a JSON object"));
  EXPECT_TRUE(Contains(Malformed("@orchard "), "missing JSON object"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1)"), "truncated JSON"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": )"), "truncated JSON"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a)"), "truncated JSON"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": [1, {"b": )"), "truncated JSON"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": tru)"), "truncated JSON"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1.)"), "truncated JSON"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1}})"), "unexpected text"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1} {"b": 2})"), "unexpected text"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1,})"), "expected a string key"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {a: 1})"), "expected a string key"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {'a': 1})"), "expected a string key"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a" 1})"), "expected ':'"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1 "b": 2})"), "expected ',' or '}'"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": [1 2]})"), "expected ',' or ']'"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 012})"), "invalid number"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": +1})"), "invalid JSON value"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": .5})"), "invalid JSON value"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1e})"), "invalid number"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 1e)"), "truncated JSON"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": 0x10})"), "expected ',' or '}'"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": "x\q"})"), "invalid escape"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": "\ud800"})"), "surrogate"));
  EXPECT_TRUE(Contains(Malformed(R"(@orchard {"a": "\u12"})"), "\\u"));
}

TEST(MetricLineTest, NonFiniteTokensSkipTheMetricNotTheLine) {
  ParseResult r = Metric(R"(@orchard {"step": 5, "loss": NaN, "a": Infinity, "b": -Infinity, "acc": 0.5})");
  EXPECT_EQ(r.record.step, 5);
  ASSERT_EQ(r.record.values.size(), 1u);
  EXPECT_EQ(r.record.values[0].first, "acc");
  EXPECT_EQ(r.warnings.size(), 3u);
  EXPECT_TRUE(Contains(r.warnings[0], "loss"));
  // Only at top level: inside arrays they are not JSON.
  Malformed(R"(@orchard {"a": [NaN]})");
  Malformed(R"(@orchard {"a": nan})");
  Malformed(R"(@orchard {"a": -inf})");
}

TEST(MetricLineTest, HugeAndTinyNumbers) {
  ParseResult r = Metric(R"(@orchard {"big": 1e400, "neg": -1e400, "tiny": 1e-400, "ok": 1e300, "long": 123456789012345678901234567890})");
  ASSERT_EQ(r.record.values.size(), 3u);
  EXPECT_EQ(r.record.values[0].first, "tiny");
  EXPECT_EQ(r.record.values[0].second, 0.0);
  EXPECT_EQ(r.record.values[1].second, 1e300);
  EXPECT_DOUBLE_EQ(r.record.values[2].second, 1.2345678901234568e29);
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_TRUE(Contains(r.warnings[0], "big"));
  // A digit string of thousands of characters is still fine.
  Metric("@orchard {\"a\": 1" + std::string(5000, '0') + "}");
}

TEST(MetricLineTest, BadNamesAreSkipped) {
  std::string long_name(201, 'n');
  ParseResult r = Metric("@orchard {\"" + long_name + "\": 1, \"" + std::string(200, 'k') +
                         "\": 2, \"tab\\tname\": 3, \"nul\\u0000\": 4, \"\": 5, \"del\x7f\": 6, \"ok\": 7}");
  ASSERT_EQ(r.record.values.size(), 2u);
  EXPECT_EQ(r.record.values[0].first, std::string(200, 'k'));
  EXPECT_EQ(r.record.values[1].first, "ok");
  EXPECT_EQ(r.warnings.size(), 5u);
}

TEST(MetricLineTest, UnicodeNames) {
  ParseResult r = Metric(R"(@orchard {"précision": 1, "\u00e9t\u00e9": 2, "\ud83d\ude00": 3, "a\/b": 4})");
  ASSERT_EQ(r.record.values.size(), 4u);
  EXPECT_EQ(r.record.values[0].first, "précision");
  EXPECT_EQ(r.record.values[1].first, "été");
  EXPECT_EQ(r.record.values[2].first, "\xF0\x9F\x98\x80");
  EXPECT_EQ(r.record.values[3].first, "a/b");
}

TEST(MetricLineTest, InvalidUtf8AndNul) {
  EXPECT_TRUE(Contains(Malformed("@orchard {\"a\xff\": 1}"), "invalid UTF-8"));
  EXPECT_TRUE(Contains(Malformed("@orchard {\"\xC0\xAF\": 1}"), "invalid UTF-8"));      // overlong
  EXPECT_TRUE(Contains(Malformed("@orchard {\"\xED\xA0\x80\": 1}"), "invalid UTF-8"));  // surrogate
  EXPECT_TRUE(Contains(Malformed("@orchard {\"\xE2\x82\": 1}"), "invalid UTF-8"));
  EXPECT_TRUE(Contains(Malformed(std::string("@orchard {\"a\0b\": 1}", 20)), "NUL byte"));
  EXPECT_FALSE(Malformed(std::string("@orchard {\"a\": 1}\0", 18)).empty());
  EXPECT_FALSE(Malformed(std::string("@orchard \0{\"a\": 1}", 18)).empty());
  EXPECT_TRUE(Contains(Malformed("@orchard {\"a\": \"line\nbreak\"}"), "control character"));
}

TEST(MetricLineTest, DuplicateKeysKeepTheLastValue) {
  ParseResult r = Metric(R"(@orchard {"a": 1, "b": 2, "a": 3, "step": 1, "step": 2})");
  ASSERT_EQ(r.record.values.size(), 2u);
  EXPECT_EQ(r.record.values[0], (std::pair<std::string, double>("a", 3)));
  EXPECT_EQ(r.record.values[1], (std::pair<std::string, double>("b", 2)));
  EXPECT_EQ(r.record.step, 2);

  // Many keys take the sort-based path.
  std::string line = "@orchard {";
  for (int i = 0; i < 100; ++i) line += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
  line += "\"k7\": 700, \"k99\": 9900}";
  ParseResult many = Metric(line);
  ASSERT_EQ(many.record.values.size(), 100u);
  EXPECT_EQ(many.record.values[7].first, "k7");
  EXPECT_EQ(many.record.values[7].second, 700);
  EXPECT_EQ(many.record.values[99].second, 9900);
  EXPECT_EQ(many.record.values[98].second, 98);
}

TEST(MetricLineTest, NestingIsBounded) {
  auto nested = [](int depth) {  // depth counts the record object itself
    std::string s = "@orchard {\"a\": ";
    s += std::string(depth - 1, '[') + "1" + std::string(depth - 1, ']') + "}";
    return s;
  };
  Metric(nested(kMaxRecordDepth));
  EXPECT_TRUE(Contains(Malformed(nested(kMaxRecordDepth + 1)), "nested too deeply"));
  // Far too deep for a recursive parser's stack, yet under the length cap.
  std::string deep = "@orchard {\"summary\": " + std::string(60000, '[');
  EXPECT_TRUE(Contains(Malformed(deep), "nested too deeply"));
  std::string deep_obj = "@orchard {\"tag\": ";
  for (int i = 0; i < 5000; ++i) deep_obj += "{\"a\":";
  EXPECT_TRUE(Contains(Malformed(deep_obj), "nested too deeply"));
  // Depth within limits inside a reserved key reaches extra intact.
  ParseResult r = Metric(R"(@orchard {"summary": {"a": {"b": [1, {"c": []}]}}})");
  EXPECT_EQ(r.record.extra["summary"]["a"]["b"][1]["c"], nlohmann::json::array());
}

TEST(MetricLineTest, OverlongLineIsMalformedWithoutParsing) {
  std::string line = "@orchard {\"a\": \"" + std::string(kMaxRecordLineBytes, 'x') + "\"}";
  EXPECT_TRUE(Contains(Malformed(line), "limit"));
  std::string mb = "@orchard {\"a\": 1, \"pad\": \"" + std::string(1 << 20, 'y') + "\"}";
  EXPECT_TRUE(Contains(Malformed(mb), "over the 65536-byte limit"));
  // A 1 MB log line is just log.
  EXPECT_EQ(ParseLine(std::string(1 << 20, 'z')).kind, LineKind::kLog);
  // Just under the limit parses.
  std::string fits = "@orchard {\"a\": 1, \"pad\": \"";
  fits += std::string(kMaxRecordLineBytes - fits.size() - 2, 'p') + "\"}";
  ASSERT_EQ(fits.size(), kMaxRecordLineBytes);
  EXPECT_EQ(Metric(fits).record.values.size(), 1u);
}

TEST(MetricLineTest, EveryPrefixOfAValidRecordIsHandled) {
  const std::string line =
      R"(@orchard {"step": 12, "epoch": 1, "loss": -1.5e-3, "name": "x\"\u00e9", "summary": {"a": [true, false, null]}, "acc": 0.5})";
  ASSERT_EQ(Metric(line).record.values.size(), 2u);
  for (size_t n = kMetricMarker.size(); n < line.size(); ++n) {
    ParseResult r = ParseLine(std::string_view(line).substr(0, n));
    EXPECT_EQ(r.kind, LineKind::kMalformed) << n;
  }
}

// Differential check against nlohmann::json on randomly mutated records:
// whatever nlohmann accepts as an object we accept, and vice versa.
TEST(MetricLineTest, AgreesWithNlohmannOnMutatedInput) {
  const std::vector<std::string> seeds = {
      R"({"loss": 0.5, "acc": 1e-3, "name": "r\u00e9sum\u00e9", "v": [1, {"x": null}]})",
      R"({"summary": {"best": [true, false]}, "tag": "t", "a": -0})",
      "{\"caf\xc3\xa9\": 1.25E+2, \"k\": \"\\n\\t\\\"\"}",
  };
  static constexpr char kAlphabet[] = "{}[]\",:.-+eE0123456789tfnul \\\x00\x7f\xc3\xa9\xff";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);  // keeps the NUL
  std::mt19937 rng(12345);
  int metrics = 0, malformed = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string body = seeds[i % seeds.size()];
    int edits = 1 + rng() % 3;
    for (int e = 0; e < edits && !body.empty(); ++e) {
      size_t at = rng() % body.size();
      char ch = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: body[at] = ch; break;
        case 1: body.insert(body.begin() + at, ch); break;
        default: body.erase(at, 1); break;
      }
    }
    ParseResult r = ParseLine("@orchard " + body);
    ASSERT_NE(r.kind, LineKind::kLog);
    bool accepted = nlohmann::json::accept(body);
    bool is_object = accepted && nlohmann::json::parse(body).is_object();
    if (r.kind == LineKind::kMetric) {
      ++metrics;
      // nlohmann rejects numbers beyond double range; we skip just that key.
      bool overflow_skipped = !r.warnings.empty() && Contains(r.warnings[0], "out of range");
      EXPECT_TRUE(is_object || overflow_skipped) << body;
    } else {
      ++malformed;
      EXPECT_FALSE(is_object) << body << " -> " << r.error;
    }
  }
  EXPECT_GT(metrics, 1000);
  EXPECT_GT(malformed, 1000);
}

// Not a timed assertion: prints the throughput so it can be reported.
TEST(MetricLineTest, ThroughputReport) {
  const std::string line =
      R"(@orchard {"step": 120, "epoch": 2, "train_loss": 0.412, "val_acc": 0.873})";
  const int kIters = 200000;
  size_t sink = 0;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; ++i) sink += ParseLine(line).record.values.size();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(sink, 2u * kIters);
  std::printf("ParseLine: %.0f small records/s\n", kIters / secs);
}

}  // namespace
}  // namespace orchard::capture
