#include <nlohmann/json.hpp>

#include "orchestrator/cli/view_test_util.h"

namespace orchard::cli::testing {
namespace {

class RunsCommandTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    AddRun({.id = "aa000001", .name = "base", .flags = {{"lr", 0.1}, {"batch", 32}},
            .metrics = {{"val_acc", {0.5, 0.7}}, {"train_loss", {1.0, 0.6}}},
            .tags = {"baseline"}});
    AddRun({.id = "bb000002", .name = "small-lr", .flags = {{"lr", 0.01}, {"batch", 32}},
            .metrics = {{"val_acc", {0.6, 0.9}}, {"train_loss", {0.9, 0.3}}}});
    AddRun({.id = "cc000003", .flags = {{"lr", 0.001}, {"batch", 64}, {"opt", "adam"}},
            .metrics = {{"val_acc", {0.4}}}, .status = store::RunStatus::kFailed});
  }
};

TEST_F(RunsCommandTest, TableListsNewestFirstWithFlagsMetricsAndTags) {
  CliOutput o = Cli({"runs"});
  ASSERT_EQ(o.code, 0) << o.err;
  std::istringstream lines(o.out);
  std::string header, l1, l2, l3;
  std::getline(lines, header);
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  EXPECT_NE(header.find("id"), std::string::npos);
  EXPECT_NE(header.find("flags"), std::string::npos);
  EXPECT_NE(header.find("val_acc"), std::string::npos);
  EXPECT_NE(header.find("tags"), std::string::npos);
  EXPECT_EQ(l1.rfind("cc000003", 0), 0u);
  EXPECT_EQ(l3.rfind("aa000001", 0), 0u);
  EXPECT_NE(l3.find("batch=32 lr=0.1"), std::string::npos);
  EXPECT_NE(l3.find("baseline"), std::string::npos);
  EXPECT_NE(l3.find("1m30s"), std::string::npos);  // duration
  EXPECT_NE(l1.find("failed"), std::string::npos);
  EXPECT_EQ(o.err, "");  // nothing was left out
}

TEST_F(RunsCommandTest, JsonIsTypedWithOneColumnPerFlagAndMetric) {
  CliOutput o = Cli({"--format", "json", "runs"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto j = nlohmann::json::parse(o.out);
  ASSERT_EQ(j.size(), 3u);
  const auto& base = j[2];
  EXPECT_EQ(base["id"], "aa000001");
  EXPECT_TRUE(base["flags.lr"].is_number_float());
  EXPECT_DOUBLE_EQ(base["flags.lr"].get<double>(), 0.1);
  EXPECT_EQ(base["flags.batch"], 32);
  EXPECT_DOUBLE_EQ(base["metrics.val_acc"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(base["started"].get<double>(), kT0);
  EXPECT_DOUBLE_EQ(base["duration"].get<double>(), 90);
  EXPECT_EQ(base["tags"], nlohmann::json::array({"baseline"}));
  EXPECT_TRUE(base["flags.opt"].is_null());
  EXPECT_EQ(j[0]["flags.opt"], "adam");
  EXPECT_TRUE(j[0]["metrics.train_loss"].is_null());
}

TEST_F(RunsCommandTest, CsvHasHeaderAndExactValues) {
  CliOutput o = Cli({"--format", "csv", "runs", "--columns", "id,flags.lr,metrics.val_acc.max"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out,
            "id,flags.lr,metrics.val_acc.max\n"
            "cc000003,0.001,0.4\n"
            "bb000002,0.01,0.9\n"
            "aa000001,0.1,0.7\n");
}

TEST_F(RunsCommandTest, ColumnGroupsFlagsAndMetrics) {
  CliOutput o = Cli({"--format", "csv", "runs", "-c", "id,flags,metrics", "-n", "1"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id,flags.batch,flags.lr,flags.opt,metrics.val_acc\ncc000003,64,0.001,adam,0.4\n");
  o = Cli({"runs", "-c", "id,flags", "-n", "1"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("batch=64 lr=0.001 opt=adam"), std::string::npos) << o.out;
}

TEST_F(RunsCommandTest, FilterAsOptionOrWords) {
  CliOutput o = Cli({"--format", "csv", "runs", "--filter", "lr < 0.05", "--columns", "id"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id\ncc000003\nbb000002\n");
  o = Cli({"--format", "csv", "runs", "status", "=", "completed", "and", "val_acc", ">", "0.8",
           "-c", "id"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id\nbb000002\n");
}

TEST_F(RunsCommandTest, SortKeys) {
  CliOutput o = Cli({"--format", "csv", "runs", "--sort", "-metrics.val_acc.max", "-c", "id"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id\nbb000002\naa000001\ncc000003\n");
  o = Cli({"--format", "csv", "runs", "--sort", "batch desc", "--sort", "lr", "-c", "id"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id\ncc000003\nbb000002\naa000001\n");
}

TEST_F(RunsCommandTest, SortTakesOneValueSoAFilterCanFollow) {
  CliOutput o = Cli({"--format", "csv", "runs", "--sort", "lr", "batch = 32", "-c", "id"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id\nbb000002\naa000001\n");
}

TEST_F(RunsCommandTest, WordsAfterDashDashAreFilterText) {
  // A leading '-' would read as an option; after `--` it is filter text.
  CliOutput o = Cli({"--format", "csv", "runs", "-c", "id", "--", "lr", "<", "-1"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id\n");
}

TEST_F(RunsCommandTest, LimitOffsetAndFooter) {
  CliOutput o = Cli({"runs", "--limit", "1", "--offset", "1", "-c", "id"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "id\nbb000002\n");
  EXPECT_NE(o.err.find("1 of 3 runs"), std::string::npos) << o.err;
}

TEST_F(RunsCommandTest, FilterErrorIsUsageError) {
  CliOutput o = Cli({"runs", "--filter", "lr <"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("filter"), std::string::npos) << o.err;
  o = Cli({"runs", "--columns", "id,metrcs.x"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("metrcs.x"), std::string::npos) << o.err;
}

TEST_F(RunsCommandTest, FilteredMetricsComeFirstInTheTable) {
  for (int i = 0; i < 5; ++i) {
    AddRun({.id = "dd00000" + std::to_string(i),
            .metrics = {{"a1", {1}}, {"a2", {1}}, {"a3", {1}}, {"a4", {1}}, {"zz_rare", {2}}}});
  }
  CliOutput o = Cli({"runs", "zz_rare > 1"});
  ASSERT_EQ(o.code, 0) << o.err;
  std::string header = o.out.substr(0, o.out.find('\n'));
  EXPECT_NE(header.find("zz_rare"), std::string::npos) << header;
  EXPECT_EQ(header.find("a4"), std::string::npos) << header;  // four metrics at most
}

TEST_F(RunsCommandTest, MissingStoreIsNotFound) {
  std::vector<std::string> args = {"orchard", "--home", (root_ / "nowhere").string(), "runs"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream err;
  auto* old = std::cerr.rdbuf(err.rdbuf());
  int code = RunCli(static_cast<int>(argv.size()), argv.data());
  std::cerr.rdbuf(old);
  EXPECT_EQ(code, kExitNotFound);
}

}  // namespace
}  // namespace orchard::cli::testing
