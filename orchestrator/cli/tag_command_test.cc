#include "orchestrator/cli/view_test_util.h"

namespace orchard::cli::testing {
namespace {

class TagNoteTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    AddRun({.id = "aa000001", .name = "first"});
    AddRun({.id = "bb000002", .name = "second", .tags = {"old"}});
  }
  std::vector<std::string> Tags(const std::string& id) { return store_->GetRun(id)->tags; }
  std::string Notes(const std::string& id) { return store_->GetRun(id)->notes; }
};

TEST_F(TagNoteTest, AddAndRemoveOnSeveralRuns) {
  CliOutput o = Cli({"tag", "aa00", "second", "--add", "good", "--add", "v2", "--remove", "old"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(Tags("aa000001"), (std::vector<std::string>{"good", "v2"}));
  EXPECT_EQ(Tags("bb000002"), (std::vector<std::string>{"good", "v2"}));
  EXPECT_NE(o.out.find("bb000002: good, v2"), std::string::npos) << o.out;
  o = Cli({"tag", "aa000001", "-r", "v2"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(Tags("aa000001"), (std::vector<std::string>{"good"}));
}

TEST_F(TagNoteTest, OptionsBeforeTheRuns) {
  CliOutput o = Cli({"tag", "--add", "x", "aa000001"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(Tags("aa000001"), (std::vector<std::string>{"x"}));
}

TEST_F(TagNoteTest, ShorthandAddsTheLastWord) {
  CliOutput o = Cli({"tag", "first", "keeper"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(Tags("aa000001"), (std::vector<std::string>{"keeper"}));
}

TEST_F(TagNoteTest, InvalidTagsAreRefused) {
  EXPECT_EQ(Cli({"tag", "first", "--add", ""}).code, kExitUsage);
  EXPECT_EQ(Cli({"tag", "first", "--add", std::string(101, 'x')}).code, kExitUsage);
  EXPECT_EQ(Cli({"tag", "first", "--add", "a\x1b[2Jb"}).code, kExitUsage);
  EXPECT_EQ(Cli({"tag", "first"}).code, kExitUsage);
  EXPECT_EQ(Cli({"tag", "nosuch", "--add", "x"}).code, kExitNotFound);
  EXPECT_TRUE(Tags("aa000001").empty());
  EXPECT_EQ(Cli({"tag", "first", "--add", std::string(100, 'x')}).code, 0);
}

TEST_F(TagNoteTest, NoteSetPrintAppendClear) {
  ASSERT_EQ(Cli({"note", "first", "learning", "rate", "too", "high"}).code, 0);
  EXPECT_EQ(Notes("aa000001"), "learning rate too high");
  CliOutput o = Cli({"note", "aa000001"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "learning rate too high\n");
  ASSERT_EQ(Cli({"note", "first", "--append", "retry with 0.01"}).code, 0);
  EXPECT_EQ(Notes("aa000001"), "learning rate too high\nretry with 0.01");
  ASSERT_EQ(Cli({"note", "first", "--clear"}).code, 0);
  EXPECT_EQ(Notes("aa000001"), "");
  o = Cli({"note", "first"});
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(Cli({"note", "zzzz"}).code, kExitNotFound);
}

}  // namespace
}  // namespace orchard::cli::testing
