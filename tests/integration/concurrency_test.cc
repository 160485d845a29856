// Several `orchard run` processes streaming into one store while a reader
// queries it: no "database is locked", no point lost.
#include <sys/wait.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite_run_store.h"
#include "tests/integration/test_util.h"

namespace orchard::testing {
namespace {

constexpr int kWriters = 4;
constexpr int kPointsPerRun = 12000;

TEST(Concurrency, ParallelRunsAndAReaderShareOneStore) {
  TempDir dir;
  std::string home = dir / ".orchard";
  // Create the store first so the reader can open it from the start.
  ASSERT_EQ(RunOrchard(home, {"run", "--quiet", "--", "true"}, dir.path()).exit_code, 0);
  WriteScript(dir / "stream.sh",
              "#!/bin/sh\nawk 'BEGIN { for (i = 0; i < " + std::to_string(kPointsPerRun) +
                  "; i++) printf \"@orchard {\\\"step\\\": %d, \\\"loss\\\": %.6f}\\n\", i, "
                  "1.0 / (i + 1) }'\n");

  std::atomic<bool> done{false};
  std::atomic<int> reader_errors{0}, reader_queries{0};
  std::string first_error;
  std::thread reader([&] {
    auto s = store::SqliteRunStore::Open(home + "/orchard.db");
    if (!s.ok()) { ++reader_errors; first_error = s.status().message(); return; }
    while (!done) {
      store::RunQuery q;
      auto runs = (*s)->ListRuns(q);
      if (!runs.ok()) { if (!reader_errors++) first_error = runs.status().message(); continue; }
      for (const auto& r : *runs) {
        auto m = (*s)->GetMetricSummaries(r.id);
        if (!m.ok() && !reader_errors++) first_error = m.status().message();
      }
      ++reader_queries;
    }
  });

  std::vector<pid_t> pids;
  for (int i = 0; i < kWriters; ++i) {
    pids.push_back(Spawn({ORCHARD_BINARY, "--home", home, "run", "--quiet", "--name",
                          "w" + std::to_string(i), "--", "./stream.sh"},
                         dir.path(), dir / ("out" + std::to_string(i)),
                         dir / ("err" + std::to_string(i))));
  }
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_EQ(WaitFor(pids[i], 240), 0) << ReadFile(dir / ("err" + std::to_string(i)));
    EXPECT_EQ(ReadFile(dir / ("err" + std::to_string(i))).find("locked"), std::string::npos);
  }
  done = true;
  reader.join();
  EXPECT_EQ(reader_errors, 0) << first_error;
  EXPECT_GT(reader_queries, 0);

  auto s = store::SqliteRunStore::Open(home + "/orchard.db");
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < kWriters; ++i) {
    auto id = (*s)->ResolveRunId("w" + std::to_string(i));
    ASSERT_TRUE(id.ok()) << id.status().message();
    auto run = (*s)->GetRun(*id);
    EXPECT_EQ(run->status, store::RunStatus::kCompleted);
    auto series = (*s)->GetMetricSeries(*id, "loss");
    ASSERT_EQ(series->size(), static_cast<size_t>(kPointsPerRun));
    for (int k = 0; k < kPointsPerRun; ++k) ASSERT_EQ((*series)[k].step, k);
    auto summary = (*s)->GetMetricSummaries(*id);
    EXPECT_EQ(summary->front().count, kPointsPerRun);
  }
}

}  // namespace
}  // namespace orchard::testing
