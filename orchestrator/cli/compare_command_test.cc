#include <nlohmann/json.hpp>

#include "orchestrator/cli/view_test_util.h"

namespace orchard::cli::testing {
namespace {

class CompareCommandTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    AddRun({.id = "aa000001", .name = "a", .flags = {{"lr", 0.1}, {"batch", 32}},
            .metrics = {{"val_acc", {0.5, 0.7}}, {"train_loss", {1.0, 0.6}}}});
    AddRun({.id = "bb000002", .name = "b", .flags = {{"lr", 0.01}, {"batch", 32}},
            .metrics = {{"val_acc", {0.9, 0.8}}, {"train_loss", {0.9, 0.3}}}});
  }
};

std::string LineWith(const std::string& text, const std::string& needle) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

TEST_F(CompareCommandTest, TableMarksDifferingFlags) {
  CliOutput o = Cli({"compare", "aa000001", "b"});
  ASSERT_EQ(o.code, 0) << o.err;
  std::string lr = LineWith(o.out, "flags.lr");
  std::string batch = LineWith(o.out, "flags.batch");
  EXPECT_EQ(lr.rfind("≠", 0), 0u) << o.out;
  EXPECT_NE(lr.find("0.1"), std::string::npos);
  EXPECT_NE(lr.find("0.01"), std::string::npos);
  EXPECT_EQ(batch.find("≠"), std::string::npos) << o.out;
  // Best: max for accuracy, min for a loss.
  EXPECT_NE(LineWith(o.out, "metrics.val_acc.max").find("bb000002"), std::string::npos) << o.out;
  EXPECT_NE(LineWith(o.out, "metrics.train_loss.min").find("bb000002"), std::string::npos);
  EXPECT_EQ(LineWith(o.out, "metrics.train_loss.max"), "");
}

TEST_F(CompareCommandTest, JsonRows) {
  CliOutput o = Cli({"--format", "json", "compare", "aa000001", "bb000002"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto j = nlohmann::json::parse(o.out);
  bool saw_lr = false;
  for (const auto& row : j) {
    if (row["field"] == "flags.lr") {
      saw_lr = true;
      EXPECT_EQ(row["differs"], true);
      EXPECT_DOUBLE_EQ(row["aa000001"].get<double>(), 0.1);
      EXPECT_DOUBLE_EQ(row["bb000002"].get<double>(), 0.01);
    }
    if (row["field"] == "flags.batch") {
      EXPECT_EQ(row["differs"], false);
    }
    if (row["field"] == "metrics.val_acc.last") {
      EXPECT_EQ(row["best"], "bb000002");
    }
  }
  EXPECT_TRUE(saw_lr);
}

TEST_F(CompareCommandTest, DifferingOnlyHidesEqualFlags) {
  CliOutput o = Cli({"compare", "a", "b", "--differing"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(LineWith(o.out, "flags.batch"), "");
  EXPECT_NE(LineWith(o.out, "flags.lr"), "");
}

TEST_F(CompareCommandTest, NeedsTwoDifferentRuns) {
  CliOutput o = Cli({"compare", "a", "aa000001"});
  EXPECT_EQ(o.code, kExitUsage);
  o = Cli({"compare", "a", "nosuchrun"});
  EXPECT_EQ(o.code, kExitNotFound);
}

}  // namespace
}  // namespace orchard::cli::testing
