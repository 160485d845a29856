#include "orchestrator/infer/bundle_export.h"

#include <gtest/gtest.h>

#include "orchestrator/infer/bundle.h"
#include "orchestrator/infer/test_util.h"
#include "orchestrator/store/sqlite_run_store.h"

// Selections are written with designated initializers, naming only the
// fields that matter; the others are meant to stay empty.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace orchard::infer {
namespace {

using testing::MakeBundle;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
namespace fs = std::filesystem;

constexpr double kNow = 1.8e9;

// A real SQLite store in a temporary folder, with runs made through the
// store API and run folders that hold (or lack) a trainer's bundle.
class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteRunStore::Open(dir_ / "orchard.db");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }

  // A completed run reporting `metric` as the series `values`; with_model
  // gives it RUN_DIR/model/ (model.pt of arbitrary bytes + bundle.json).
  std::string AddRun(const std::string& name, const std::string& metric,
                     std::vector<double> values, bool with_model = true,
                     store::RunStatus status = store::RunStatus::kCompleted,
                     const std::string& tune = "") {
    store::Run r;
    r.name = name;
    r.tune_id = tune;
    r.status = store::RunStatus::kRunning;
    r.command = {"orchard-train", "finetune", "--lr=0.1"};
    r.flags = {{"lr", 0.05}, {"optimizer", "adam"}};
    r.seed = 7;
    r.cwd = dir_.path();
    r.created_at = kNow - 100;
    r.env = {{"host", "box"}, {"orchard_version", "0.0.9"}, {"cpu_count", 2}};
    EXPECT_TRUE(store_->CreateRun(r).ok());
    std::string run_dir = dir_ / ("runs/" + r.id);
    EXPECT_TRUE(store_->SetRunContext(r.id, run_dir, r.env).ok());
    EXPECT_TRUE(store_->SetCode(r.id, "c0ffee", true, "diff", "snap1").ok());
    std::vector<store::MetricPoint> points;
    for (size_t i = 0; i < values.size(); ++i) {
      points.push_back({metric, static_cast<int64_t>(i), static_cast<int64_t>(i), values[i], kNow});
    }
    EXPECT_TRUE(store_->AppendMetrics(r.id, points).ok());
    if (store::IsTerminal(status)) {
      EXPECT_TRUE(store_->FinishRun(r.id, status, 0, kNow - 10, "").ok());
    }
    fs::create_directories(run_dir);
    if (with_model) MakeBundle(run_dir + "/model", {{"model.pt", "weights of " + name}});
    return r.id;
  }

  std::string AddTune(const nlohmann::json& objective, const std::string& reduce) {
    store::Tune t;
    t.name = "sweep";
    t.objective = objective;
    t.spec = {{"objective", {{"metric", objective.value("metric", "")}, {"reduce", reduce}}}};
    t.created_at = kNow;
    EXPECT_TRUE(store_->CreateTune(t).ok());
    return t.id;
  }

  Result<SelectedRun> Select(ExportSelection sel) { return SelectExportRun(*store_, sel, kNow); }

  Result<ExportResult> Export(const std::string& id, const std::string& out, bool force = false) {
    auto run = store_->GetRun(id);
    EXPECT_TRUE(run.ok());
    ExportOptions opt;
    opt.output = out;
    opt.cwd = dir_.path();
    opt.force = force;
    return ExportBundle(*store_, *run, opt, kNow);
  }

  TempDir dir_;
  std::unique_ptr<store::SqliteRunStore> store_;
};

TEST_F(ExportTest, ANamedRunIsCopiedWithACompletedCard) {
  std::string id = AddRun("baseline", "val_acc", {0.5, 0.8, 0.7});
  auto sel = Select({.run = "baseline"});
  ASSERT_TRUE(sel.ok()) << sel.status().message();
  EXPECT_EQ(sel->run.id, id);
  auto r = Export(id, "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->dir, dir_ / ("bundle-" + id));
  EXPECT_EQ(ReadFile(r->dir + "/model.pt"), "weights of baseline");

  // The written bundle verifies on its own, and its card is complete.
  auto b = LoadVerifiedBundle(r->dir);
  ASSERT_TRUE(b.ok()) << b.status().message();
  const nlohmann::json& c = b->card;
  EXPECT_EQ(c["source"]["run_id"], id);
  EXPECT_EQ(c["source"]["name"], "baseline");
  EXPECT_EQ(c["source"]["status"], "completed");
  EXPECT_EQ(c["source"]["seed"], 7);
  EXPECT_EQ(c["source"]["store"], dir_ / "orchard.db");
  EXPECT_EQ(c["source"]["command"][1], "finetune");
  EXPECT_EQ(c["source"]["weights"], "best");  // the trainer's, kept
  EXPECT_EQ(c["source"]["epoch"], 2);
  EXPECT_EQ(c["source"]["metrics_at_export"]["val_acc"], 0.75);
  EXPECT_EQ(c["source"]["recorded_flags"], (nlohmann::json{{"lr", 0.05}, {"optimizer", "adam"}}));
  // Every flag: the trainer's (dropout, epochs) with the recorded ones over
  // them (lr 0.05, not the card's 0.1).
  EXPECT_EQ(c["flags"], (nlohmann::json{{"lr", 0.05}, {"optimizer", "adam"}, {"dropout", 0.2},
                                        {"epochs", 3}}));
  EXPECT_EQ(c["metrics"]["val_acc"]["last"], 0.7);
  EXPECT_EQ(c["metrics"]["val_acc"]["max"], 0.8);
  EXPECT_EQ(c["metrics"]["val_acc"]["min"], 0.5);
  EXPECT_EQ(c["metrics"]["val_acc"]["count"], 3);
  EXPECT_EQ(c["code"]["commit"], "c0ffee");
  EXPECT_EQ(c["code"]["dirty"], true);
  EXPECT_EQ(c["code"]["snapshot_id"], "snap1");
  EXPECT_EQ(c["versions"]["libtorch"], "1.13.1");
  EXPECT_EQ(c["versions"]["orchard"], ORCHARD_VERSION);
  EXPECT_EQ(c["environment"]["host"], "box");
  EXPECT_EQ(c["classes"].size(), 3u);  // the trainer's description is kept
  EXPECT_EQ(c["files"]["model.pt"]["bytes"], 19);
  // Nothing else is left beside it.
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".bundle-"), std::string::npos) << e.path();
  }
}

TEST_F(ExportTest, TheTunesBestRun) {
  std::string tune = AddTune({{"metric", "val_acc"}, {"goal", "max"}}, "last");
  std::string a = AddRun("a", "val_acc", {0.9, 0.6}, true, store::RunStatus::kCompleted, tune);
  std::string b = AddRun("b", "val_acc", {0.7}, true, store::RunStatus::kCompleted, tune);
  AddRun("other", "val_acc", {0.99});  // not in the tune

  // No best_run_id recorded: the objective decides (reduce: last -> b's 0.7 beats a's 0.6).
  auto sel = Select({.tune = tune});
  ASSERT_TRUE(sel.ok()) << sel.status().message();
  EXPECT_EQ(sel->run.id, b);

  // A recorded best run wins.
  auto t = store_->GetTune(tune);
  t->best_run_id = a;
  ASSERT_TRUE(store_->UpdateTune(*t).ok());
  sel = Select({.tune = "sweep"});
  ASSERT_TRUE(sel.ok()) << sel.status().message();
  EXPECT_EQ(sel->run.id, a);

  // --tune with --metric: the best by that metric's best value.
  sel = Select({.tune = tune, .metric = "val_acc"});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->run.id, a);  // max 0.9
}

TEST_F(ExportTest, ATuneWithReduceBestUsesTheBestValue) {
  std::string tune = AddTune({{"metric", "val_loss"}, {"goal", "min"}}, "best");
  std::string a = AddRun("a", "val_loss", {0.1, 0.9}, true, store::RunStatus::kCompleted, tune);
  AddRun("b", "val_loss", {0.5, 0.4}, true, store::RunStatus::kCompleted, tune);
  AddRun("c", "val_loss", {0.01}, false, store::RunStatus::kPruned, tune);  // not completed
  auto sel = Select({.tune = tune});
  ASSERT_TRUE(sel.ok()) << sel.status().message();
  EXPECT_EQ(sel->run.id, a);
}

TEST_F(ExportTest, TheBestRunAmongAFilter) {
  std::string a = AddRun("a", "val_acc", {0.6, 0.95, 0.5});
  std::string b = AddRun("b", "val_acc", {0.9});
  AddRun("c", "val_acc", {0.99}, true, store::RunStatus::kFailed);
  std::string d = AddRun("d", "train_loss", {0.3, 0.9});
  std::string e = AddRun("e", "train_loss", {0.8, 0.1});
  ASSERT_TRUE(store_->AddTags(b, {"keep"}).ok());

  auto sel = Select({.where = "status = completed", .metric = "val_acc"});
  ASSERT_TRUE(sel.ok()) << sel.status().message();
  EXPECT_EQ(sel->run.id, a);  // its best (0.95), not its last (0.5); failed c is out
  sel = Select({.where = "status = completed", .metric = "val_acc", .goal = "min"});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->run.id, a);  // min 0.5 < b's 0.9
  sel = Select({.where = "tag = keep", .metric = "val_acc"});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->run.id, b);
  sel = Select({.metric = "train_loss"});  // all completed runs; a loss: min by default
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->run.id, e);
  sel = Select({.metric = "train_loss", .goal = "max"});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->run.id, d);

  auto none = Select({.where = "tag = keep", .metric = "nope"});
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_NE(none.status().message().find("reports the metric nope"), std::string::npos);
  none = Select({.where = "name = zzz", .metric = "val_acc"});
  EXPECT_EQ(none.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(Select({.where = "flags.lr >", .metric = "val_acc"}).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(ExportTest, ContradictoryOrMissingChoicesAreUsageErrors) {
  AddRun("a", "val_acc", {0.6});
  EXPECT_EQ(Select({}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Select({.run = "a", .tune = "t"}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Select({.where = "name = a"}).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(Select({.metric = "val_acc", .goal = "up"}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Select({.run = "zz"}).status().code(), Status::Code::kNotFound);
}

TEST_F(ExportTest, ARunWithoutAModelIsRefusedWithAHint) {
  std::string id = AddRun("pruned-one", "val_acc", {0.5}, false, store::RunStatus::kPruned);
  auto r = Export(id, "");
  ASSERT_EQ(r.status().code(), Status::Code::kNotFound);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("run " + id + " (pruned-one) (pruned) has no exportable model"), std::string::npos) << m;
  EXPECT_NE(m.find("runs/" + id + "/model/bundle.json"), std::string::npos) << m;
  EXPECT_NE(m.find("pruned runs stop before"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(dir_ / ("bundle-" + id)));

  std::string plain = AddRun("no-model", "val_acc", {0.5}, false);
  r = Export(plain, "");
  EXPECT_NE(r.status().message().find("orchard-train finetune` writes one"), std::string::npos);
}

TEST_F(ExportTest, ARunStillGoingIsRefused) {
  std::string id = AddRun("live", "val_acc", {0.5}, true, store::RunStatus::kRunning);
  auto r = Export(id, "");
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("still running"), std::string::npos);
}

TEST_F(ExportTest, ATamperedSourceBundleIsRefused) {
  std::string id = AddRun("t", "val_acc", {0.5});
  WriteFile(dir_ / ("runs/" + id + "/model/model.pt"), "weights of X");  // same size
  auto r = Export(id, "out");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("model.pt: sha256 mismatch"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(ExportTest, ANonEmptyDestinationNeedsForce) {
  std::string id = AddRun("a", "val_acc", {0.5});
  WriteFile(dir_ / "out/old.txt", "old");
  auto r = Export(id, "out");
  ASSERT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--force"), std::string::npos);
  EXPECT_EQ(ReadFile(dir_ / "out/old.txt"), "old");

  r = Export(id, "out", /*force=*/true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "out/old.txt"));
  EXPECT_TRUE(LoadVerifiedBundle(dir_ / "out").ok());

  fs::create_directories(dir_ / "empty");
  r = Export(id, dir_ / "empty");  // an empty folder is fine without --force
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(LoadVerifiedBundle(dir_ / "empty").ok());

  r = Export(id, dir_ / ("runs/" + id + "/model"), true);  // never over its own source
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(LoadVerifiedBundle(dir_ / ("runs/" + id + "/model")).ok());
}

}  // namespace
}  // namespace orchard::infer
