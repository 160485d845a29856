// TuneFixture: what the `orchard tune` end-to-end tests share: a temporary
// project folder with its store, a state folder for trainers, and readers
// of the store's tunes, runs and logs.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite_run_store.h"
#include "tests/integration/test_util.h"

namespace orchard::testing {

class TuneFixture : public ::testing::Test {
 protected:
  std::string home() const { return home_; }
  // Trainer state lives outside the trainers' cwd, so code snapshots never see it.
  std::string state() const { return state_.path(); }
  std::string db() const { return home() + "/orchard.db"; }

  std::unique_ptr<store::SqliteRunStore> Store() {
    auto s = store::SqliteRunStore::Open(db());
    EXPECT_TRUE(s.ok()) << s.status().message();
    return std::move(s).value();
  }

  std::vector<store::Tune> Tunes() {
    auto tunes = Store()->ListTunes(-1);
    EXPECT_TRUE(tunes.ok());
    return tunes.ok() ? *tunes : std::vector<store::Tune>{};
  }

  // Tunes in the store; 0 before the store exists.
  size_t TuneCount() {
    std::error_code ec;
    if (!std::filesystem::exists(db(), ec)) return 0;
    auto tunes = Store()->ListTunes(-1);
    return tunes.ok() ? tunes->size() : 0;
  }

  store::Tune OnlyTune() {
    auto tunes = Tunes();
    EXPECT_EQ(tunes.size(), 1u);
    return tunes.empty() ? store::Tune{} : tunes.front();
  }

  // All runs in the store (of any tune), oldest first; empty before the store exists.
  std::vector<store::Run> AllRuns() {
    std::error_code ec;
    if (!std::filesystem::exists(db(), ec)) return {};
    auto s = store::SqliteRunStore::Open(db());
    if (!s.ok()) return {};
    store::RunQuery q;
    q.order_sql = "r.seq ASC";
    auto runs = (*s)->ListRuns(q);
    return runs.ok() ? *runs : std::vector<store::Run>{};
  }

  // The runs of one tune, oldest first.
  std::vector<store::Run> Trials(const std::string& tune_id) {
    store::RunQuery q;
    q.where_sql = "r.tune_id = ?";
    q.params = {store::SqlParam(tune_id)};
    q.order_sql = "r.seq ASC";
    auto runs = Store()->ListRuns(q);
    EXPECT_TRUE(runs.ok());
    return runs.ok() ? *runs : std::vector<store::Run>{};
  }

  std::string Logs(const std::string& id) {
    std::string all;
    auto logs = Store()->GetLogs(id, 0);
    if (logs.ok()) {
      for (const auto& c : *logs) all += c.text;
    }
    return all;
  }

  size_t MetricCount(const std::string& run_id, const std::string& name) {
    auto s = store::SqliteRunStore::Open(db());
    if (!s.ok()) return 0;
    auto pts = (*s)->GetMetricSeries(run_id, name);
    return pts.ok() ? pts->size() : 0;
  }

  void WriteSpec(const std::string& yaml) { std::ofstream(dir_ / "tune.yaml") << yaml; }

  // `orchard --home HOME tune tune.yaml EXTRA...` as an argv, for Spawn().
  std::vector<std::string> TuneArgv(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {ORCHARD_BINARY, "--home", home(), "tune", "tune.yaml"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  ProcResult Tune(std::vector<std::string> extra = {}, double timeout_s = 60) {
    std::vector<std::string> args = {"tune", "tune.yaml"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunOrchard(home(), args, dir_.path(), timeout_s);
  }

  TempDir dir_, state_;
  std::string home_ = dir_ / ".orchard";
};

}  // namespace orchard::testing
