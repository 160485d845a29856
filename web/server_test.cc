// The JSON API end to end: a server on a free port over a real SQLite store,
// requests through httplib's client.
#include "web/server.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <chrono>
#include <thread>

#include "orchestrator/infer/test_util.h"
#include "web/api.h"
#include "web/test_util.h"

namespace orchard::web {
namespace {

using testing::Reply;

class ApiTest : public testing::ServerTest {};

// Twelve runs: lr 0.01 * i, val_acc rising with i except run 7 (the best).
std::vector<std::string> AddTwelve(testing::ServerTest& t) {
  std::vector<std::string> ids;
  for (int i = 1; i <= 12; ++i) {
    double acc = i == 7 ? 0.99 : 0.5 + 0.01 * i;
    ids.push_back(t.AddRun({.name = "run" + std::to_string(i),
                            .flags = {{"lr", 0.01 * i}, {"opt", i % 2 ? "sgd" : "adam"}},
                            .metrics = {{"val_acc", {0.1, acc}}, {"train_loss", {1.0, 0.5}}},
                            .start = testing::kT0 + i}));
  }
  return ids;
}

TEST_F(ApiTest, RunsListFiltersSortsAndPages) {
  auto ids = AddTwelve(*this);
  StartServer();
  Reply r = Get("/api/runs", {{"filter", "lr < 0.095 and opt = sgd"},
                              {"sort", "-metrics.val_acc"},
                              {"limit", "2"},
                              {"offset", "0"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["total"], 5);  // runs 1, 3, 5, 7, 9
  ASSERT_EQ(r.json["runs"].size(), 2u);
  EXPECT_EQ(r.json["runs"][0]["id"], ids[6]);  // run 7, the best
  EXPECT_EQ(r.json["runs"][1]["id"], ids[8]);  // then run 9
  EXPECT_EQ(r.json["runs"][0]["metrics.val_acc"], 0.99);
  EXPECT_EQ(r.json["runs"][0]["flags.opt"], "sgd");
  EXPECT_EQ(r.json["runs"][0]["status"], "completed");

  Reply page3 = Get("/api/runs", {{"filter", "lr < 0.095 and opt = sgd"},
                                  {"sort", "-metrics.val_acc"}, {"limit", "2"}, {"offset", "4"}});
  ASSERT_EQ(page3.status, 200);
  ASSERT_EQ(page3.json["runs"].size(), 1u);
  EXPECT_EQ(page3.json["runs"][0]["id"], ids[0]);
  EXPECT_EQ(page3.json["total"], 5);

  Reply all = Get("/api/runs");
  EXPECT_EQ(all.json["total"], 12);
  EXPECT_EQ(all.json["runs"][0]["id"], ids[11]) << "newest first by default";
}

TEST_F(ApiTest, RunsListColumns) {
  AddTwelve(*this);
  StartServer();
  Reply r = Get("/api/runs", {{"columns", "name,flags.lr,metrics.val_acc.max,tags"},
                              {"limit", "1"}, {"sort", "lr"}});
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> keys;
  for (const auto& c : r.json["columns"]) keys.push_back(c["key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "flags.lr", "metrics.val_acc.max", "tags"}));
  const auto& row = r.json["runs"][0];
  EXPECT_EQ(row["name"], "run1");
  EXPECT_DOUBLE_EQ(row["flags.lr"].get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(row["metrics.val_acc.max"].get<double>(), 0.51);
  EXPECT_TRUE(row["tags"].is_array());
  EXPECT_FALSE(row.contains("status"));
  EXPECT_TRUE(row.contains("id")) << "every row carries its id";

  Reply groups = Get("/api/runs", {{"columns", "id,flags,metrics"}, {"limit", "1"}});
  keys.clear();
  for (const auto& c : groups.json["columns"]) keys.push_back(c["key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "flags.lr", "flags.opt", "metrics.train_loss",
                                            "metrics.val_acc"}));

  Reply fields = Get("/api/fields");
  EXPECT_EQ(fields.json["flags"], nlohmann::json({"lr", "opt"}));
  EXPECT_EQ(fields.json["metrics"], nlohmann::json({"train_loss", "val_acc"}));
}

TEST_F(ApiTest, BadParametersSayWhatAndWhere) {
  AddTwelve(*this);
  StartServer();
  Reply f = Get("/api/runs", {{"filter", "lr <"}});
  EXPECT_EQ(f.status, 400);
  EXPECT_NE(f.json["error"].get<std::string>().find("filter"), std::string::npos) << f.body;
  Reply s = Get("/api/runs", {{"sort", "metrcs.x"}});
  EXPECT_EQ(s.status, 400);
  EXPECT_NE(s.json["error"].get<std::string>().find("sort"), std::string::npos) << s.body;
  Reply l = Get("/api/runs", {{"limit", "ten"}});
  EXPECT_EQ(l.status, 400);
  EXPECT_NE(l.json["error"].get<std::string>().find("limit=ten"), std::string::npos) << l.body;
  Reply c = Get("/api/runs", {{"columns", "status.x"}});
  EXPECT_EQ(c.status, 400);
  Reply none = Get("/api/runs/ffffffff");
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.json["error"].get<std::string>().find("ffffffff"), std::string::npos);
  Reply route = Get("/api/nothing");
  EXPECT_EQ(route.status, 404);
  EXPECT_NE(route.json["error"].get<std::string>().find("/api/nothing"), std::string::npos);
}

TEST_F(ApiTest, RunDetail) {
  std::string id = AddRun({.name = "detail",
                           .flags = {{"lr", 0.1}, {"batch", 32}},
                           .metrics = {{"val_acc", {0.2, 0.8, 0.7}}},
                           .tags = {"best", "baseline"},
                           .env = {{"os", {{"name", "debian"}}}, {"gpus", nlohmann::json::array()}}});
  ASSERT_TRUE(store_->SetNotes(id, "a note").ok());
  AddSnapshot(id, {{"train.py", "print(1)\n"}}, "c0ffee");
  StartServer();
  Reply r = Get("/api/runs/" + id.substr(0, 4));  // a prefix resolves
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["id"], id);
  EXPECT_EQ(r.json["flags"]["batch"], 32);
  EXPECT_EQ(r.json["env"]["os"]["name"], "debian");
  EXPECT_EQ(r.json["code"]["commit"], "c0ffee");
  EXPECT_EQ(r.json["code"]["dirty"], false);
  EXPECT_EQ(r.json["tags"], nlohmann::json({"baseline", "best"}));
  EXPECT_EQ(r.json["notes"], "a note");
  EXPECT_EQ(r.json["status"], "completed");
  EXPECT_EQ(r.json["exit_code"], 0);
  EXPECT_DOUBLE_EQ(r.json["duration"].get<double>(), 90.0);
  ASSERT_EQ(r.json["metrics"].size(), 1u);
  EXPECT_EQ(r.json["metrics"][0]["max"], 0.8);
  EXPECT_EQ(r.json["metrics"][0]["last"], 0.7);
  EXPECT_EQ(r.json["metrics"][0]["count"], 3);
  EXPECT_EQ(Get("/api/runs/detail").json["id"], id) << "a unique name resolves too";
}

TEST_F(ApiTest, MetricSeriesAreDownsampledWithLttb) {
  std::vector<double> long_series;
  for (int i = 0; i < 10000; ++i) long_series.push_back(0.001 * (i % 10));
  long_series[5000] = 42.0;  // a spike the chart must still show
  std::string a = AddRun({.name = "long", .metrics = {{"loss", long_series}, {"acc", {0.5, 0.6}}}});
  std::string b = AddRun({.name = "short", .metrics = {{"loss", {3, 2, 1}}}});
  StartServer();
  Reply r = Get("/api/metrics", {{"runs", a + "," + b}, {"names", "loss"}, {"max_points", "500"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json["series"].size(), 2u);
  const auto& s = r.json["series"][0];
  EXPECT_EQ(s["run"], a);
  EXPECT_EQ(s["count"], 10000);
  EXPECT_EQ(s["downsampled"], true);
  const auto& pts = s["points"];
  ASSERT_LE(pts.size(), 500u);
  EXPECT_EQ(pts.front()[0], 1);      // first step kept
  EXPECT_EQ(pts.back()[0], 10000);   // last step kept
  double hi = 0;
  for (const auto& p : pts) hi = std::max(hi, p[1].get<double>());
  EXPECT_EQ(hi, 42.0);
  EXPECT_EQ(r.json["series"][1]["points"], nlohmann::json({{1, 3}, {2, 2}, {3, 1}}));

  Reply dflt = Get("/api/metrics", {{"runs", a}});
  ASSERT_EQ(dflt.status, 200);
  ASSERT_EQ(dflt.json["series"].size(), 2u) << "all of a run's metrics without names";
  for (const auto& one : dflt.json["series"]) EXPECT_LE(one["points"].size(), 2000u);

  EXPECT_EQ(Get("/api/metrics", {{"runs", a}, {"max_points", "999999"}}).status, 400);
  EXPECT_EQ(Get("/api/metrics", {}).status, 400);
  EXPECT_EQ(Get("/api/metrics", {{"runs", "nosuchrun"}}).status, 404);
}

TEST_F(ApiTest, LogsAfterASeq) {
  std::string id = AddRun({.name = "logs"});
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(store_->AppendLog(id, "stdout", testing::kT0 + i, "line " + std::to_string(i) + "\n").ok());
  }
  StartServer();
  Reply all = Get("/api/runs/" + id + "/logs");
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.json["chunks"].size(), 5u);
  int64_t third = all.json["chunks"][2]["seq"];
  Reply tail = Get("/api/runs/" + id + "/logs", {{"after", std::to_string(third)}, {"limit", "1"}});
  ASSERT_EQ(tail.json["chunks"].size(), 1u);
  EXPECT_EQ(tail.json["chunks"][0]["text"], "line 4\n");
  EXPECT_EQ(tail.json["more"], true);
  EXPECT_EQ(tail.json["next_after"], tail.json["chunks"][0]["seq"]);
}

TEST_F(ApiTest, ArtifactsDownloadAndRefuseEscapes) {
  std::string id = AddRun({.name = "art"});
  const auto dir = std::filesystem::path(home_.RunDir(id));
  WriteFile(dir / "model/weights.bin", std::string("\x00\x01\x02 weights", 11));
  WriteFile(dir / "plots/loss.png", "PNG");
  WriteFile(root_ / "secret.txt", "do not serve");
  std::filesystem::create_symlink(root_ / "secret.txt", dir / "leak.txt");
  std::filesystem::create_symlink(root_, dir / "up");
  ASSERT_TRUE(store_->PutArtifacts(id, {{"model/weights.bin", 11, "abc", 1.0},
                                        {"plots/loss.png", 3, "def", 1.0}}).ok());
  StartServer();
  Reply list = Get("/api/runs/" + id + "/artifacts");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json["artifacts"].size(), 2u);
  EXPECT_EQ(list.json["artifacts"][0]["path"], "model/weights.bin");

  Reply file = Get("/api/runs/" + id + "/artifacts/model/weights.bin");
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, std::string("\x00\x01\x02 weights", 11));
  EXPECT_EQ(httplib::detail::get_header_value(file.headers, "Content-Type", 0, ""),
            std::string("application/octet-stream"));
  EXPECT_NE(std::string(httplib::detail::get_header_value(file.headers, "Content-Disposition", 0, ""))
                .find("attachment"),
            std::string::npos);

  for (const std::string bad : {"../../../secret.txt", "%2e%2e/%2e%2e/%2e%2e/secret.txt",
                                "model/../../x", "/etc/passwd", "%2Fetc%2Fpasswd"}) {
    Reply r = Get("/api/runs/" + id + "/artifacts/" + bad);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_EQ(r.body.find("do not serve"), std::string::npos);
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
  }
  for (const std::string bad : {"leak.txt", "up/secret.txt", "missing.bin", "model"}) {
    Reply r = Get("/api/runs/" + id + "/artifacts/" + bad);
    EXPECT_EQ(r.status, 404) << bad << ": " << r.body;
    EXPECT_EQ(r.body.find("do not serve"), std::string::npos);
  }
}

TEST_F(ApiTest, SnapshotCompareAndDiff) {
  std::string a = AddRun({.name = "a", .flags = {{"lr", 0.1}, {"batch", 32}},
                          .metrics = {{"val_acc", {0.7}}, {"loss", {0.3}}},
                          .env = {{"os", "debian 12"}, {"torch", "1.13"}}});
  std::string b = AddRun({.name = "b", .flags = {{"lr", 0.01}, {"batch", 32}, {"dropout", 0.2}},
                          .metrics = {{"val_acc", {0.9}}, {"loss", {0.5}}},
                          .env = {{"os", "debian 12"}, {"torch", "2.0"}}});
  AddSnapshot(a, {{"train.py", "lr = 0.1\nprint(lr)\n"}, {"old.py", "x\n"}, {"same.py", "s\n"}});
  AddSnapshot(b, {{"train.py", "lr = 0.01\nprint(lr)\n"}, {"new.py", "y\n"}, {"same.py", "s\n"}});
  StartServer();

  Reply snap = Get("/api/runs/" + a + "/snapshot");
  ASSERT_EQ(snap.status, 200) << snap.body;
  ASSERT_EQ(snap.json["files"].size(), 3u);
  Reply file = Get("/api/runs/" + a + "/snapshot/train.py");
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.json["content"], "lr = 0.1\nprint(lr)\n");
  EXPECT_EQ(Get("/api/runs/" + a + "/snapshot/nope.py").status, 404);

  Reply cmp = Get("/api/compare", {{"runs", a + "," + b}});
  ASSERT_EQ(cmp.status, 200) << cmp.body;
  EXPECT_EQ(cmp.json["flags"]["differing"], nlohmann::json({"dropout", "lr"}));
  EXPECT_EQ(cmp.json["flags"]["values"]["dropout"], nlohmann::json({nullptr, 0.2}));
  EXPECT_EQ(cmp.json["metrics"]["values"]["val_acc"][1]["last"], 0.9);
  EXPECT_EQ(cmp.json["metrics"]["best"]["val_acc"], b);
  EXPECT_EQ(cmp.json["metrics"]["best"]["loss"], a) << "lower is better for a loss";
  EXPECT_EQ(cmp.json["env"]["differing"], nlohmann::json({"/torch"}));
  EXPECT_EQ(Get("/api/compare", {{"runs", a}}).status, 400);

  Reply diff = Get("/api/diff", {{"a", a}, {"b", b}});
  ASSERT_EQ(diff.status, 200) << diff.body;
  std::map<std::string, std::string> change;
  for (const auto& f : diff.json["files"]) change[f["path"]] = f["change"];
  EXPECT_EQ(change, (std::map<std::string, std::string>{
                        {"new.py", "added"}, {"old.py", "deleted"}, {"train.py", "modified"}}));
  for (const auto& f : diff.json["files"]) {
    if (f["path"] == "train.py") {
      std::string d = f["diff"];
      EXPECT_NE(d.find("-lr = 0.1\n"), std::string::npos) << d;
      EXPECT_NE(d.find("+lr = 0.01\n"), std::string::npos) << d;
    }
  }
  std::string unified = diff.json["unified"];
  EXPECT_NE(unified.find("diff --git a/train.py b/train.py"), std::string::npos);
  ASSERT_EQ(diff.json["flags"].size(), 2u);
  EXPECT_EQ(diff.json["flags"][0]["name"], "dropout");
  EXPECT_EQ(Get("/api/diff", {{"a", a}}).status, 400);
}

class TuneApiTest : public testing::ServerTest {
 protected:
  // A tune of five trials: 0.6, 0.8 (pruned), 0.7, failed, 0.9.
  void MakeTune() {
    store::Tune t;
    t.name = "sweep";
    t.method = "tpe";
    t.objective = {{"metric", "val_acc"}, {"goal", "max"}};
    t.spec = {{"objective", {{"metric", "val_acc"}, {"goal", "max"}, {"reduce", "last"}}}};
    t.created_at = testing::kT0;
    ASSERT_TRUE(store_->CreateTune(t).ok());
    tune_ = t.id;
    struct T { double lr; std::string opt; double acc; store::RunStatus status; };
    std::vector<T> trials = {{0.1, "sgd", 0.6, store::RunStatus::kCompleted},
                             {0.2, "adam", 0.8, store::RunStatus::kPruned},
                             {0.3, "sgd", 0.7, store::RunStatus::kCompleted},
                             {0.4, "adam", 0.0, store::RunStatus::kFailed},
                             {0.5, "adam", 0.9, store::RunStatus::kCompleted}};
    for (size_t i = 0; i < trials.size(); ++i) {
      const T& x = trials[i];
      std::map<std::string, std::vector<double>> metrics;
      if (x.status != store::RunStatus::kFailed) metrics["val_acc"] = {0.1, x.acc};
      runs_.push_back(AddRun({.name = "trial" + std::to_string(i),
                              .flags = {{"lr", x.lr}, {"opt", x.opt}},
                              .metrics = metrics,
                              .status = x.status,
                              .tune = tune_,
                              .trial = static_cast<int64_t>(i)}));
    }
    t.best_run_id = runs_[4];
    t.status = "completed";
    ASSERT_TRUE(store_->UpdateTune(t).ok());
  }
  std::string tune_;
  std::vector<std::string> runs_;
};

TEST_F(TuneApiTest, TunesListAndDetail) {
  MakeTune();
  StartServer();
  Reply list = Get("/api/tunes");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json["tunes"].size(), 1u);
  EXPECT_EQ(list.json["tunes"][0]["trials"], 5);
  EXPECT_EQ(list.json["tunes"][0]["best_value"], 0.9);
  EXPECT_EQ(list.json["tunes"][0]["best_run"], runs_[4]);

  Reply one = Get("/api/tunes/" + tune_);
  ASSERT_EQ(one.status, 200) << one.body;
  const auto& trials = one.json["trials"];
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials[1]["pruned"], true);
  EXPECT_EQ(trials[1]["status"], "pruned");
  EXPECT_EQ(trials[0]["pruned"], false);
  EXPECT_EQ(trials[3]["value"], nullptr) << "a failed trial has no objective value";
  EXPECT_EQ(trials[2]["flags"]["opt"], "sgd");
  EXPECT_EQ(trials[2]["value"], 0.7);
  // Best so far: completed trials only, in trial order.
  const auto& best = one.json["best_so_far"];
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0]["best"], 0.6);
  EXPECT_EQ(best[1]["best"], 0.7);
  EXPECT_EQ(best[2]["best"], 0.9);
  EXPECT_EQ(best[2]["best_run"], runs_[4]);
  // Axes for parallel coordinates.
  ASSERT_EQ(one.json["dimensions"].size(), 2u);
  EXPECT_EQ(one.json["dimensions"][0]["name"], "lr");
  EXPECT_EQ(one.json["dimensions"][0]["type"], "number");
  EXPECT_EQ(one.json["dimensions"][0]["max"], 0.5);
  EXPECT_EQ(one.json["dimensions"][1]["type"], "category");
  EXPECT_EQ(one.json["dimensions"][1]["values"], nlohmann::json({"adam", "sgd"}));
  EXPECT_EQ(Get("/api/tunes/zzzz").status, 404);
}

TEST_F(TuneApiTest, ExportBestModelIntoTheStoresExportsFolder) {
  MakeTune();
  infer::testing::MakeBundle(home_.RunDir(runs_[4]) + "/model", {{"model.pt", "weights"}});
  StartServer();
  Reply r = Post("/api/tunes/" + tune_ + "/export", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["run"], runs_[4]);
  std::string dir = r.json["dir"];
  EXPECT_EQ(dir, home_.root + "/exports/tune-" + tune_ + "-run-" + runs_[4]);
  EXPECT_TRUE(std::filesystem::exists(dir + "/model.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/bundle.json"));
  EXPECT_EQ(r.json["card"]["source"]["run_id"], runs_[4]);

  Reply again = Post("/api/tunes/" + tune_ + "/export", "{}");
  EXPECT_EQ(again.status, 400) << "an existing bundle is not replaced without force";
  EXPECT_EQ(Post("/api/tunes/" + tune_ + "/export", R"({"force": true})").status, 200);

  Reply named = Post("/api/tunes/" + tune_ + "/export", R"({"name": "best-v1"})");
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_EQ(named.json["dir"], home_.root + "/exports/best-v1");

  for (const char* bad : {R"({"name": "../escape"})", R"({"name": "/tmp/x"})",
                          R"({"name": ".hidden"})", R"({"name": 5})", "[1]", "not json"}) {
    Reply b = Post("/api/tunes/" + tune_ + "/export", bad);
    EXPECT_EQ(b.status, 400) << bad << ": " << b.body;
  }
  EXPECT_FALSE(std::filesystem::exists(home_.root + "/escape"));
  EXPECT_FALSE(std::filesystem::exists("/tmp/x/bundle.json"));
  Reply form = Post("/api/tunes/" + tune_ + "/export", "name=x", "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 415) << "a cross-site form cannot trigger an export";
  httplib::Headers evil = {{"Origin", "http://evil.example"}};
  auto cross = client_->Post("/api/tunes/" + tune_ + "/export", evil, "{}", "application/json");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
}

TEST_F(ApiTest, EventsStreamANewRun) {
  AddRun({.name = "old"});
  StartServer();
  std::mutex mu;
  std::string received;
  std::atomic<bool> done{false};
  std::thread listener([&] {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(10, 0);
    c.Get("/api/events", [&](const char* data, size_t n) {
      std::lock_guard<std::mutex> lock(mu);
      received.append(data, n);
      return !done.load() && received.find("\"live-run\"") == std::string::npos;
    });
  });
  auto wait_for = [&](const std::string& what) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (received.find(what) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  };
  ASSERT_TRUE(wait_for("event: hello"));
  std::string id = AddRun({.name = "live-run", .status = store::RunStatus::kRunning});
  bool got = wait_for("\"live-run\"");
  done = true;
  listener.join();
  ASSERT_TRUE(got) << received;
  EXPECT_NE(received.find("event: run\ndata: {\"created\""), std::string::npos) << received;
  EXPECT_NE(received.find(id), std::string::npos);
  EXPECT_EQ(received.find("\"old\""), std::string::npos) << "only changes after connecting";
}

// The first IPv4 address of this machine that is not loopback, or "".
std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a && found.empty(); a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    if (std::string(buf).rfind("127.", 0) != 0) found = buf;
  }
  freeifaddrs(list);
  return found;
}

TEST_F(ApiTest, OffLoopbackEveryRequestNeedsTheToken) {
  AddRun({.name = "secret-run"});
  std::string addr = NonLoopbackAddress();
  ServerOptions opt;
  opt.host = addr.empty() ? "0.0.0.0" : addr;
  opt.token = "feedfacefeedfacefeedfacefeedface";
  StartServer(opt);
  httplib::Client c(addr.empty() ? "127.0.0.1" : addr, server_->port());
  for (const char* path : {"/api/runs", "/", "/api/events", "/api/tunes/x/export"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->body.find("secret-run"), std::string::npos);
  }
  auto wrong = c.Get("/api/runs", {{"Authorization", "Bearer 0000"}});
  EXPECT_EQ(wrong->status, 401);
  auto bearer = c.Get("/api/runs", {{"Authorization", "Bearer " + opt.token}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  EXPECT_NE(bearer->body.find("secret-run"), std::string::npos);
  auto param = c.Get("/api/runs?token=" + opt.token);
  ASSERT_TRUE(param);
  EXPECT_EQ(param->status, 200);
  EXPECT_NE(param->get_header_value("Set-Cookie").find("orchard_token=" + opt.token),
            std::string::npos);
  auto cookie = c.Get("/api/runs", {{"Cookie", "orchard_token=" + opt.token}});
  EXPECT_EQ(cookie->status, 200);
  // Even a client on this machine needs it when the server is not loopback-only.
  auto local = client_->Get("/api/runs");
  if (local) {
    EXPECT_EQ(local->status, 401);
  }
}

TEST_F(ApiTest, NonLoopbackHostWithoutTokenIsRefusedAtStart) {
  ServerOptions opt;
  opt.host = "0.0.0.0";
  opt.db_path = home_.db_path;
  auto s = Server::Start(opt);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("token"), std::string::npos);
}

TEST_F(ApiTest, LoopbackServerRefusesOtherHostNames) {
  StartServer();
  Reply ok = Get("/api/runs");
  EXPECT_EQ(ok.status, 200);
  Reply rebound = Get("/api/runs", {}, {{"Host", "attacker.example:80"}});
  EXPECT_EQ(rebound.status, 403);
}

class MarkupTest : public testing::ServerTest {
 protected:
  void SetUp() override { MakeStore("<img src=x onerror=alert(2)>"); }
};

TEST_F(MarkupTest, ScriptNamesComeBackEscaped) {
  const std::string evil = "<script>alert(1)</script>";
  std::string id = AddRun({.name = evil, .flags = {{"note", evil}}, .tags = {evil}});
  WriteFile(root_ / "static/index.html", "<html><title>{{store}}</title></html>");
  StartServer();
  for (const std::string& path : std::vector<std::string>{"/api/runs", "/api/runs/" + id,
                                                           "/api/compare?runs=" + id + "," + id}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->body.find("<script>"), std::string::npos) << path << ": " << r->body;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  }
  Reply runs = Get("/api/runs");
  EXPECT_EQ(runs.json["runs"][0]["name"], evil) << "escaped, not altered";
  EXPECT_EQ(runs.json["runs"][0]["tags"][0], evil);
  auto page = client_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->body.find("<img src=x"), std::string::npos) << page->body;
  EXPECT_NE(page->body.find("&lt;img src=x onerror=alert(2)&gt;"), std::string::npos) << page->body;
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("script-src 'self'"),
            std::string::npos);
}

TEST_F(ApiTest, StaticFilesStayInTheirFolder) {
  WriteFile(root_ / "static/app.js", "console.log(1)");
  WriteFile(root_ / "outside.js", "no");
  StartServer();
  Reply js = Get("/static/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "console.log(1)");
  EXPECT_EQ(Get("/static/../outside.js").status, 400);
  EXPECT_EQ(Get("/static/%2e%2e/outside.js").status, 400);
  EXPECT_EQ(Get("/static/nope.js").status, 404);
}

}  // namespace
}  // namespace orchard::web

namespace orchard::web {
namespace {

TEST_F(ApiTest, SeriesFastPathAgreesWithTheReaderPath) {
  std::string a = AddRun({.name = "a", .metrics = {{"loss", {3, 2, 1}}, {"acc", {0.1, 0.2}}}});
  std::string b = AddRun({.name = "b", .metrics = {{"loss", {5, 4}}}});
  for (Params p : {Params{{"runs", a + "," + b}, {"names", "loss,acc"}},
                   Params{{"runs", "a,b"}}, Params{{"runs", a}, {"x", "time"}}}) {
    auto slow = MetricSeriesJson(*store_, p, nullptr);
    auto fast = MetricSeriesJson(*store_, p, &store_->db());
    ASSERT_TRUE(slow.ok() && fast.ok()) << slow.status().message() << fast.status().message();
    EXPECT_EQ(*slow, *fast) << p.begin()->second;
  }
  auto j = MetricSeriesJson(*store_, {{"runs", a + "," + b}, {"names", "loss,acc"}}, &store_->db());
  ASSERT_EQ((*j)["series"].size(), 4u);
  EXPECT_EQ((*j)["series"][3]["run"], b);
  EXPECT_EQ((*j)["series"][3]["name"], "acc");
  EXPECT_EQ((*j)["series"][3]["count"], 0) << "a run without the metric gets an empty series";
}

}  // namespace
}  // namespace orchard::web

namespace orchard::web {
namespace {

TEST_F(ApiTest, SeriesTextIsTheSameJson) {
  std::string a = AddRun({.name = "<a>", .metrics = {{"loss", {3, 2.5, 1e-9}}, {"acc", {0.1, 0.2}}}});
  std::string b = AddRun({.name = "b", .metrics = {{"loss", {5, 4}}}});
  for (Params p : {Params{{"runs", a + "," + b}, {"names", "loss,acc"}, {"max_points", "3"}},
                   Params{{"runs", "b"}}, Params{{"runs", a}, {"x", "time"}}}) {
    auto j = MetricSeriesJson(*store_, p, &store_->db());
    auto t = MetricSeriesText(*store_, p, &store_->db());
    ASSERT_TRUE(j.ok() && t.ok());
    EXPECT_EQ(nlohmann::json::parse(*t), *j) << *t;
  }
}

}  // namespace
}  // namespace orchard::web
