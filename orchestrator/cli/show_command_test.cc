#include <nlohmann/json.hpp>

#include "orchestrator/cli/view_test_util.h"

namespace orchard::cli::testing {
namespace {

class ShowCommandTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    id_ = AddRun({.id = "ab12cd34", .name = "base", .flags = {{"lr", 0.1}, {"opt", "adam"}},
                  .metrics = {{"val_acc", {0.5, 0.9, 0.8}}}, .tags = {"best", "v1"}});
    AddRun({.id = "ab99ee00", .name = "other"});
    ASSERT_TRUE(store_->SetNotes(id_, "first line\nsecond line").ok());
    ASSERT_TRUE(store_->AppendLog(id_, "stdout", kT0, "epoch 1\nepoch 2\n").ok());
    ASSERT_TRUE(store_->PutArtifacts(id_, {{"model.pt", 2048, std::string(64, 'f'), kT0}}).ok());
    AddSnapshot(id_, {{"train.py", "print(1)\n"}, {"util.py", "x = 1\n"}}, "0123456789abcdef");
  }
  std::string id_;
};

TEST_F(ShowCommandTest, TextHasEverySection) {
  CliOutput o = Cli({"show", "ab12"});
  ASSERT_EQ(o.code, 0) << o.err;
  for (const char* s : {"run ab12cd34  base", "completed (exit code 0)", "python3 train.py",
                        "lr = 0.1", "opt = adam", "val_acc", "best, v1", "second line",
                        "0123456789abcdef", "(2 files)", "model.pt", "2.0 KiB", "ffffffffffff",
                        "1m30s"}) {
    EXPECT_NE(o.out.find(s), std::string::npos) << s << "\n" << o.out;
  }
  // The metric row: last 0.8, min 0.5, max 0.9, step 3, points 3.
  EXPECT_NE(o.out.find("0.8"), std::string::npos);
}

TEST_F(ShowCommandTest, JsonIsOneObject) {
  CliOutput o = Cli({"--format", "json", "show", "base"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["id"], id_);
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_DOUBLE_EQ(j["flags"]["lr"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(j["metrics"]["val_acc"]["max"].get<double>(), 0.9);
  EXPECT_EQ(j["metrics"]["val_acc"]["count"], 3);
  EXPECT_EQ(j["tags"], nlohmann::json::array({"best", "v1"}));
  EXPECT_EQ(j["code"]["files"], 2);
  EXPECT_EQ(j["artifacts"][0]["size"], 2048);
  EXPECT_DOUBLE_EQ(j["duration"].get<double>(), 90);
}

TEST_F(ShowCommandTest, LogsAndMetricSeries) {
  CliOutput o = Cli({"show", id_, "--logs"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "epoch 1\nepoch 2\n");
  o = Cli({"--format", "csv", "show", id_, "--metrics", "val_acc"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.substr(0, o.out.find('\n')), "step,epoch,value,time");
  EXPECT_NE(o.out.find("\n2,,0.9,"), std::string::npos) << o.out;
  o = Cli({"show", id_, "--metrics", "nope"});
  EXPECT_EQ(o.code, kExitNotFound);
  EXPECT_NE(o.err.find("val_acc"), std::string::npos) << o.err;  // says what it has
}

TEST_F(ShowCommandTest, UnknownRunIsNotFound) {
  CliOutput o = Cli({"show", "ffff0000"});
  EXPECT_EQ(o.code, kExitNotFound);
  EXPECT_NE(o.err.find("no run matches 'ffff0000'"), std::string::npos) << o.err;
}

TEST_F(ShowCommandTest, AmbiguousPrefixSaysSo) {
  CliOutput o = Cli({"show", "ab"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("ambiguous"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("ab12cd34"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace orchard::cli::testing
