#include "orchestrator/ci/gates.h"

#include <sstream>

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite_run_store.h"

namespace orchard::ci {
namespace {

class GatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::SqliteRunStore::Open(":memory:");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
    store::Run run;
    run.command = {"train"};
    run.flags = {{"lr", 0.1}, {"optimizer", "adam"}};
    run.created_at = 1000;
    run.status = store::RunStatus::kQueued;
    ASSERT_TRUE(store_->CreateRun(run).ok());
    id_ = run.id;
    ASSERT_TRUE(store_->AppendMetrics(id_, {{"val_acc", 1, 1, 0.7, 1}, {"val_acc", 2, 2, 0.812, 2},
                                            {"loss", 2, 2, 0.3, 2}}).ok());
    ASSERT_TRUE(store_->FinishRun(id_, store::RunStatus::kCompleted, 0, 1010, "").ok());
  }

  std::vector<GateResult> Gates(const std::vector<std::string>& texts) {
    auto compiled = CompileExpectations(texts, 2000);
    EXPECT_TRUE(compiled.ok()) << compiled.status().message();
    if (!compiled.ok()) return {};
    auto g = EvaluateGates(*store_, id_, *compiled, 2000);
    EXPECT_TRUE(g.ok()) << g.status().message();
    return g.ok() ? *g : std::vector<GateResult>{};
  }

  std::unique_ptr<store::SqliteRunStore> store_;
  std::string id_;
};

TEST_F(GatesTest, PassingAndFailingExpectationsWithActualValues) {
  auto g = Gates({"val_acc >= 0.8", "val_acc >= 0.85 and loss < 1", "metrics.val_acc.max > 0.8"});
  ASSERT_EQ(g.size(), 3u);
  EXPECT_TRUE(g[0].passed);
  EXPECT_EQ(g[0].actual, "val_acc = 0.812");
  EXPECT_FALSE(g[1].passed);
  EXPECT_EQ(g[1].actual, "val_acc = 0.812, loss = 0.3");
  EXPECT_NE(g[1].message.find("val_acc >= 0.85"), std::string::npos) << g[1].message;
  EXPECT_NE(g[1].message.find("val_acc = 0.812"), std::string::npos) << g[1].message;
  EXPECT_TRUE(g[2].passed);
}

TEST_F(GatesTest, FlagsStatusAndMissingMetrics) {
  auto g = Gates({"optimizer = adam and status = completed", "missing_metric > 0",
                  "not missing_metric > 0"});
  ASSERT_EQ(g.size(), 3u);
  EXPECT_TRUE(g[0].passed);
  EXPECT_EQ(g[0].actual, "optimizer = adam, status = completed");
  EXPECT_FALSE(g[1].passed);
  EXPECT_EQ(g[1].actual, "missing_metric = (none)");
  EXPECT_TRUE(g[2].passed);
}

TEST_F(GatesTest, ExpectationsAreScopedToTheRun) {
  // Another run that would satisfy the gate must not make this one pass.
  store::Run other;
  other.command = {"x"};
  other.created_at = 1;
  ASSERT_TRUE(store_->CreateRun(other).ok());
  ASSERT_TRUE(store_->AppendMetrics(other.id, {{"val_acc", 1, 1, 0.99, 1}}).ok());
  auto g = Gates({"val_acc > 0.9", "val_acc > 0.8 or id = " + other.id});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_FALSE(g[0].passed);
  EXPECT_TRUE(g[1].passed);
}

TEST(CompileExpectationsTest, BadExpressionsAreUsageErrorsNamingTheExpectation) {
  for (const std::string bad : {"val_acc >=", "metrcs.acc > 1", "", "  ", "status = nonsense",
                                "(val_acc > 1"}) {
    auto r = CompileExpectations({"val_acc > 0", bad}, 0);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_NE(r.status().message().find("--expect '" + bad + "'"), std::string::npos)
        << r.status().message();
  }
}

TEST_F(GatesTest, CheckGatesOnAFailedRunChecksNothingAndSaysWhy) {
  auto compiled = CompileExpectations({"val_acc > 0"}, 0);
  ASSERT_TRUE(compiled.ok());
  std::ostringstream log;
  auto g = CheckGates(*store_, id_, store::RunStatus::kFailed, *compiled, 0, log);
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->size(), 1u);
  EXPECT_FALSE((*g)[0].passed);
  EXPECT_NE(log.str().find("not checked"), std::string::npos) << log.str();
  std::ostringstream log2;
  g = CheckGates(*store_, id_, store::RunStatus::kCompleted, *compiled, 0, log2);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE((*g)[0].passed);
  EXPECT_EQ(log2.str(), "orchard: gate passed: val_acc > 0 (val_acc = 0.812)\n");
}

}  // namespace
}  // namespace orchard::ci
