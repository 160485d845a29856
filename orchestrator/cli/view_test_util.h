// A temporary store and an in-process `orchard` for the command tests.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "orchestrator/cli/commands.h"
#include "orchestrator/store/home.h"
#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/util/sha256.h"

// Tests describe runs with designated initializers (RunSpec{.id = ..., .flags = ...});
// GCC 12 warns about every member left to its default there, which is the point.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace orchard::cli::testing {

struct CliOutput {
  int code = 0;
  std::string out, err;
};

// Fixed times, so nothing a test asserts depends on the clock.
inline constexpr double kT0 = 1'700'000'000;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    root_ = std::filesystem::temp_directory_path() /
            ("orchard_cli_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(root_);
    auto home = store::LocateHome((root_ / ".orchard").string(), root_.string());
    ASSERT_TRUE(home.ok());
    home_ = *home;
    ASSERT_TRUE(store::EnsureHome(home_).ok());
    auto s = store::SqliteRunStore::Open(home_.db_path);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  struct RunSpec {
    std::string id;
    std::string name;
    nlohmann::json flags = nlohmann::json::object();
    std::map<std::string, std::vector<double>> metrics;  // values at steps 1, 2, ...
    store::RunStatus status = store::RunStatus::kCompleted;
    double start = kT0;
    double seconds = 90;
    std::vector<std::string> tags;
  };

  std::string AddRun(const RunSpec& spec) {
    store::Run r;
    r.id = spec.id;
    r.name = spec.name;
    r.flags = spec.flags;
    r.command = {"python3", "train.py"};
    r.created_at = spec.start - 1;
    r.host = "testhost";
    r.run_dir = home_.RunDir(spec.id);
    EXPECT_TRUE(store_->CreateRun(r).ok());
    EXPECT_EQ(r.id, spec.id);
    std::filesystem::create_directories(home_.RunDir(r.id));
    if (spec.status != store::RunStatus::kQueued) {
      EXPECT_TRUE(store_->MarkStarted(r.id, 4242, spec.start).ok());
    }
    std::vector<store::MetricPoint> points;
    for (const auto& [name, values] : spec.metrics) {
      for (size_t i = 0; i < values.size(); ++i) {
        store::MetricPoint p;
        p.name = name;
        p.step = static_cast<int64_t>(i + 1);
        p.value = values[i];
        p.time = spec.start + static_cast<double>(i);
        points.push_back(p);
      }
    }
    if (!points.empty()) {
      EXPECT_TRUE(store_->AppendMetrics(r.id, points).ok());
    }
    if (!spec.tags.empty()) {
      EXPECT_TRUE(store_->AddTags(r.id, spec.tags).ok());
    }
    if (store::IsTerminal(spec.status)) {
      std::optional<int> code;
      if (spec.status == store::RunStatus::kCompleted) code = 0;
      if (spec.status == store::RunStatus::kFailed) code = 1;
      EXPECT_TRUE(store_->FinishRun(r.id, spec.status, code, spec.start + spec.seconds,
                                    spec.status == store::RunStatus::kFailed ? "exit code 1" : "")
                      .ok());
    }
    return r.id;
  }

  // Stores a snapshot of `files` (path -> content) as the run's code.
  void AddSnapshot(const std::string& run_id, const std::map<std::string, std::string>& files,
                   const std::string& commit = "") {
    store::Snapshot snap;
    std::string manifest;
    for (const auto& [path, content] : files) {
      store::SnapshotFile f;
      f.path = path;
      f.content = content;
      f.sha256 = Sha256Hex(content);
      manifest += path + " " + f.sha256 + "\n";
      snap.files.push_back(f);
    }
    snap.id = Sha256Hex(manifest);
    snap.root = "/src";
    ASSERT_TRUE(store_->PutSnapshot(snap).ok());
    ASSERT_TRUE(store_->SetCode(run_id, commit, false, "", snap.id).ok());
  }

  // Runs `orchard --home HOME args...` in this process.
  CliOutput Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"orchard", "--home", home_.root});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::ostringstream out, err;
    auto* old_out = std::cout.rdbuf(out.rdbuf());
    auto* old_err = std::cerr.rdbuf(err.rdbuf());
    int code = RunCli(static_cast<int>(args.size()), argv.data());
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    return {code, out.str(), err.str()};
  }

  std::filesystem::path root_;
  store::Home home_;
  std::unique_ptr<store::SqliteRunStore> store_;
};

// Counts occurrences of `needle` in `hay`.
inline int Count(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace orchard::cli::testing
