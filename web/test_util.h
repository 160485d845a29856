// Test support for web/ (header-only, so the library glob leaves it out): a
// real SQLite store in a temporary folder filled through the store API, a
// server on a free port over it, and an httplib client.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "orchestrator/store/home.h"
#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/util/sha256.h"
#include "web/server.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace orchard::web::testing {

inline constexpr double kT0 = 1'700'000'000;

struct Reply {
  int status = 0;
  std::string body;
  nlohmann::json json;
  httplib::Headers headers;
};

class ServerTest : public ::testing::Test {
 public:
  // folder_name: the name of the temporary folder (tests put markup in it).
  void MakeStore(const std::string& folder_name = "") {
    static std::atomic<int> counter{0};
    base_ = std::filesystem::temp_directory_path() /
            ("orchard_web_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    root_ = folder_name.empty() ? base_ : base_ / folder_name;
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(root_);
    auto home = store::LocateHome((root_ / ".orchard").string(), root_.string());
    ASSERT_TRUE(home.ok());
    home_ = *home;
    ASSERT_TRUE(store::EnsureHome(home_).ok());
    auto s = store::SqliteRunStore::Open(home_.db_path);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void SetUp() override { MakeStore(); }
  void TearDown() override { Reset(); }
  void Reset() {
    client_.reset();
    if (server_) server_->Stop();
    server_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  void StartServer(ServerOptions opt = {}) {
    opt.db_path = home_.db_path;
    opt.exports_dir = home_.root + "/exports";
    opt.poll_interval = std::chrono::milliseconds(50);
    if (opt.static_dir.empty()) opt.static_dir = (root_ / "static").string();
    auto s = Server::Start(opt);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(s).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
  }

  static Reply ToReply(const httplib::Result& r) {
    Reply out;
    if (!r) {
      ADD_FAILURE() << "no response: " << httplib::to_string(r.error());
      return out;
    }
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    if (r->get_header_value("Content-Type").rfind("application/json", 0) == 0) {
      out.json = nlohmann::json::parse(r->body, nullptr, false);
    }
    return out;
  }

  Reply Get(const std::string& path, const httplib::Params& params = {},
            const httplib::Headers& headers = {}) {
    return ToReply(client_->Get(path, params, headers, httplib::Progress()));
  }
  Reply Post(const std::string& path, const std::string& body,
             const std::string& type = "application/json") {
    return ToReply(client_->Post(path, body, type));
  }

  struct RunSpec {
    std::string name;
    nlohmann::json flags = nlohmann::json::object();
    std::map<std::string, std::vector<double>> metrics;  // values at steps 1, 2, ...
    store::RunStatus status = store::RunStatus::kCompleted;
    std::string tune;
    std::optional<int64_t> trial;
    std::vector<std::string> tags;
    nlohmann::json env = {{"host", "testhost"}, {"compiler", "g++ 12"}};
    double start = kT0;
  };

  std::string AddRun(const RunSpec& spec) {
    store::Run r;
    r.name = spec.name;
    r.flags = spec.flags;
    r.tune_id = spec.tune;
    r.trial = spec.trial;
    r.command = {"python3", "train.py"};
    r.created_at = spec.start - 1;
    r.host = "testhost";
    EXPECT_TRUE(store_->CreateRun(r).ok());
    std::string dir = home_.RunDir(r.id);
    std::filesystem::create_directories(dir);
    EXPECT_TRUE(store_->SetRunContext(r.id, dir, spec.env).ok());
    if (spec.status != store::RunStatus::kQueued) {
      EXPECT_TRUE(store_->MarkStarted(r.id, 4242, spec.start).ok());
    }
    std::vector<store::MetricPoint> points;
    for (const auto& [name, values] : spec.metrics) {
      for (size_t i = 0; i < values.size(); ++i) {
        points.push_back({name, static_cast<int64_t>(i + 1), std::nullopt, values[i],
                          spec.start + static_cast<double>(i)});
      }
    }
    if (!points.empty()) {
      EXPECT_TRUE(store_->AppendMetrics(r.id, points).ok());
    }
    if (!spec.tags.empty()) {
      EXPECT_TRUE(store_->AddTags(r.id, spec.tags).ok());
    }
    if (store::IsTerminal(spec.status)) {
      EXPECT_TRUE(store_->FinishRun(r.id, spec.status,
                                    spec.status == store::RunStatus::kCompleted ? 0 : 1,
                                    spec.start + 90, "")
                      .ok());
    }
    return r.id;
  }

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

  static void WriteFile(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

  std::filesystem::path base_, root_;
  store::Home home_;
  std::unique_ptr<store::SqliteRunStore> store_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace orchard::web::testing
