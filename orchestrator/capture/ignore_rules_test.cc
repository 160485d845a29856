#include "orchestrator/capture/ignore_rules.h"

#include <gtest/gtest.h>

namespace orchard::capture {
namespace {

TEST(GlobMatchTest, Segments) {
  EXPECT_TRUE(GlobMatch("*.py", "train.py"));
  EXPECT_FALSE(GlobMatch("*.py", "src/train.py"));  // '*' stays in one segment
  EXPECT_TRUE(GlobMatch("src/*.py", "src/train.py"));
  EXPECT_TRUE(GlobMatch("?.txt", "a.txt"));
  EXPECT_FALSE(GlobMatch("?.txt", "ab.txt"));
  EXPECT_TRUE(GlobMatch("data[0-9].csv", "data7.csv"));
  EXPECT_FALSE(GlobMatch("data[!0-9].csv", "data7.csv"));
  EXPECT_TRUE(GlobMatch("**/x", "x"));
  EXPECT_TRUE(GlobMatch("**/x", "a/b/x"));
  EXPECT_TRUE(GlobMatch("a/**/b", "a/b"));
  EXPECT_TRUE(GlobMatch("a/**/b", "a/1/2/b"));
  EXPECT_FALSE(GlobMatch("a/**/b", "a/1/2/c"));
  EXPECT_TRUE(GlobMatch("a/**", "a/1/2"));
  EXPECT_FALSE(GlobMatch("a/**", "b/1"));
  EXPECT_TRUE(GlobMatch("\\*lit", "*lit"));
  EXPECT_FALSE(GlobMatch("\\*lit", "xlit"));
  // Many stars on a long name stays fast (no exponential backtracking).
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
  EXPECT_FALSE(GlobMatch("**/**/**/**/**/**/z", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y"));
}

TEST(IgnoreRulesTest, GitignoreSubset) {
  IgnoreRules rules(
      "# comment\n"
      "\n"
      "*.log\n"
      "!keep.log\n"
      "secret/\n"
      "/top.txt\n"
      "docs/*.pdf\n"
      "**/tmp/**\n"
      "trailing.txt   \r\n"
      "\\#hash\n");
  EXPECT_TRUE(rules.IsIgnored("run.log", false));
  EXPECT_TRUE(rules.IsIgnored("a/b/run.log", false));
  EXPECT_FALSE(rules.IsIgnored("keep.log", false));
  EXPECT_FALSE(rules.IsIgnored("a/keep.log", false));
  EXPECT_TRUE(rules.IsIgnored("secret", true));
  EXPECT_FALSE(rules.IsIgnored("secret", false));  // dir-only rule
  EXPECT_TRUE(rules.IsIgnored("secret/key.pem", false));
  EXPECT_TRUE(rules.IsIgnored("x/secret/key.pem", false));
  EXPECT_TRUE(rules.IsIgnored("top.txt", false));
  EXPECT_FALSE(rules.IsIgnored("sub/top.txt", false));  // anchored
  EXPECT_TRUE(rules.IsIgnored("docs/a.pdf", false));
  EXPECT_FALSE(rules.IsIgnored("docs/sub/a.pdf", false));
  EXPECT_TRUE(rules.IsIgnored("a/tmp/b/c.py", false));
  EXPECT_TRUE(rules.IsIgnored("trailing.txt", false));
  EXPECT_TRUE(rules.IsIgnored("#hash", false));
  EXPECT_FALSE(rules.IsIgnored("train.py", false));
  EXPECT_FALSE(rules.IsIgnored("# comment", false));
}

TEST(IgnoreRulesTest, NothingInsideAnIgnoredDirectoryComesBack) {
  IgnoreRules rules("out/\n!out/keep.py\n");
  EXPECT_TRUE(rules.IsIgnored("out/keep.py", false));
}

TEST(IgnoreRulesTest, LastMatchWins) {
  IgnoreRules rules("*.py\n!*.py\n*.py\n");
  EXPECT_TRUE(rules.IsIgnored("a.py", false));
  IgnoreRules back("*.py\n!main.py\n");
  EXPECT_FALSE(back.IsIgnored("main.py", false));
  EXPECT_TRUE(back.IsIgnored("util.py", false));
  EXPECT_TRUE(IgnoreRules().empty());
  EXPECT_FALSE(IgnoreRules().IsIgnored("anything", false));
}

}  // namespace
}  // namespace orchard::capture
