#include <nlohmann/json.hpp>

#include "orchestrator/cli/view_test_util.h"

namespace orchard::cli::testing {
namespace {

class DiffCommandTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    AddRun({.id = "aa000001", .flags = {{"lr", 0.1}, {"batch", 32}, {"old", true}}});
    AddRun({.id = "bb000002", .flags = {{"lr", 0.01}, {"batch", 32}, {"new", "x"}}});
    AddSnapshot("aa000001", {{"train.py", "a\nb\nc\n"}, {"gone.py", "bye\n"}}, "1111111");
    AddSnapshot("bb000002", {{"train.py", "a\nB\nc\n"}, {"added.py", "hi\n"}}, "2222222");
  }
};

TEST_F(DiffCommandTest, FlagsThenSourceThenCommit) {
  CliOutput o = Cli({"diff", "aa000001", "bb000002", "--color", "never"});
  ASSERT_EQ(o.code, 0) << o.err;
  for (const char* s : {"-lr=0.1\n", "+lr=0.01\n", "-old=true\n", "+new=x\n",
                        "diff --git a/train.py b/train.py", "-b\n", "+B\n", "added.py",
                        "gone.py", "commit: 1111111 -> 2222222"}) {
    EXPECT_NE(o.out.find(s), std::string::npos) << s << "\n" << o.out;
  }
  EXPECT_EQ(o.out.find("batch"), std::string::npos) << o.out;  // equal flags are not listed
  EXPECT_LT(o.out.find("+lr=0.01"), o.out.find("diff --git"));
  EXPECT_EQ(o.out.find("\033["), std::string::npos);
}

TEST_F(DiffCommandTest, StatListsFiles) {
  CliOutput o = Cli({"diff", "aa000001", "bb000002", "--stat"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out.find("@@"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("train.py"), std::string::npos);
  EXPECT_NE(o.out.find("3 files changed, 2 lines added, 2 removed"), std::string::npos) << o.out;
}

TEST_F(DiffCommandTest, ColorAlways) {
  CliOutput o = Cli({"diff", "aa000001", "bb000002", "--color", "always"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("\033[32m+lr=0.01\033[0m"), std::string::npos) << o.out;
}

TEST_F(DiffCommandTest, NeedsExactlyTwoRuns) {
  EXPECT_EQ(Cli({"diff", "aa000001"}).code, kExitUsage);
  EXPECT_EQ(Cli({"diff", "aa000001", "ffffffff"}).code, kExitNotFound);
}

}  // namespace
}  // namespace orchard::cli::testing
