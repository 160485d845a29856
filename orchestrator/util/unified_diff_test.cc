#include "orchestrator/util/unified_diff.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace orchard {
namespace {

// Applies one file's unified diff to `old_text`, checking every context and
// removed line against it. Returns false (with a message) on any mismatch.
bool ApplyPatch(const std::string& old_text, const std::string& diff, std::string* result,
                std::string* error) {
  std::vector<std::string> old_lines;
  for (size_t s = 0; s < old_text.size();) {
    size_t nl = old_text.find('\n', s);
    size_t e = nl == std::string::npos ? old_text.size() : nl + 1;
    old_lines.push_back(old_text.substr(s, e - s));
    s = e;
  }
  std::vector<std::string> diff_lines;
  std::istringstream in(diff);
  for (std::string l; std::getline(in, l);) diff_lines.push_back(l);
  std::string out;
  size_t old_pos = 0;
  for (size_t k = 0; k < diff_lines.size(); ++k) {
    const std::string& l = diff_lines[k];
    if (l.rfind("---", 0) == 0 || l.rfind("+++", 0) == 0) continue;
    if (l.rfind("@@ -", 0) == 0) {
      int start = std::stoi(l.substr(4));
      size_t comma = l.find(',');
      size_t space = l.find(' ', 4);
      int count = (comma != std::string::npos && comma < space) ? std::stoi(l.substr(comma + 1)) : 1;
      size_t target = count == 0 ? start : start - 1;
      if (target < old_pos || target > old_lines.size()) return *error = "bad hunk start: " + l, false;
      while (old_pos < target) out += old_lines[old_pos++];
      continue;
    }
    if (l == "\\ No newline at end of file") continue;  // handled by lookahead below
    if (l.empty()) return *error = "empty diff line", false;
    std::string text = l.substr(1) + "\n";
    // A following "\ No newline" marker strips the newline again.
    bool no_newline = k + 1 < diff_lines.size() && diff_lines[k + 1] == "\\ No newline at end of file";
    if (no_newline) text.pop_back();
    if (l[0] == ' ' || l[0] == '-') {
      if (old_pos >= old_lines.size() || old_lines[old_pos] != text) {
        return *error = "mismatch at old line " + std::to_string(old_pos + 1) + ": " + l, false;
      }
      ++old_pos;
    }
    if (l[0] == ' ' || l[0] == '+') out += text;
  }
  while (old_pos < old_lines.size()) out += old_lines[old_pos++];
  *result = out;
  return true;
}

size_t LcsLength(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::vector<size_t>> t(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j)
      t[i][j] = a[i - 1] == b[j - 1] ? t[i - 1][j - 1] + 1 : std::max(t[i - 1][j], t[i][j - 1]);
  return t[a.size()][b.size()];
}

std::string Join(const std::vector<std::string>& lines, bool final_newline) {
  std::string s;
  for (size_t i = 0; i < lines.size(); ++i) {
    s += lines[i];
    if (i + 1 < lines.size() || final_newline) s += "\n";
  }
  return s;
}

TEST(UnifiedDiffTest, EqualTextsGiveNothing) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "a\nb\n", "a/x", "b/x"), "");
  EXPECT_EQ(UnifiedDiff("", "", "a/x", "b/x"), "");
}

TEST(UnifiedDiffTest, SingleChangeWithContext) {
  const std::string old_text = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  const std::string new_text = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
  EXPECT_EQ(UnifiedDiff(old_text, new_text, "a/f.txt", "b/f.txt"),
            "--- a/f.txt\n"
            "+++ b/f.txt\n"
            "@@ -2,7 +2,7 @@\n"
            " 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
}

TEST(UnifiedDiffTest, SeparateAndMergedHunks) {
  std::vector<std::string> a;
  for (int i = 1; i <= 20; ++i) a.push_back(std::to_string(i));
  std::vector<std::string> b = a;
  b[1] = "two";     // line 2
  b[17] = "18!";    // line 18: far away -> own hunk
  EXPECT_EQ(UnifiedDiff(Join(a, true), Join(b, true), "a/n", "b/n"),
            "--- a/n\n+++ b/n\n"
            "@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n"
            "@@ -15,6 +15,6 @@\n 15\n 16\n 17\n-18\n+18!\n 19\n 20\n");
  // Changes 6 lines apart (gap == 2*context) share one hunk.
  std::vector<std::string> c = a;
  c[1] = "two";
  c[8] = "nine";
  EXPECT_EQ(UnifiedDiff(Join(a, true), Join(c, true), "a/n", "b/n"),
            "--- a/n\n+++ b/n\n"
            "@@ -1,12 +1,12 @@\n 1\n-2\n+two\n 3\n 4\n 5\n 6\n 7\n 8\n-9\n+nine\n 10\n 11\n 12\n");
}

TEST(UnifiedDiffTest, AddedAndRemovedWholeFiles) {
  EXPECT_EQ(UnifiedDiff("", "x\ny\n", "/dev/null", "b/new"),
            "--- /dev/null\n+++ b/new\n@@ -0,0 +1,2 @@\n+x\n+y\n");
  EXPECT_EQ(UnifiedDiff("only\n", "", "a/old", "/dev/null"),
            "--- a/old\n+++ /dev/null\n@@ -1 +0,0 @@\n-only\n");
}

TEST(UnifiedDiffTest, InsertionAtTopAndEnd) {
  EXPECT_EQ(UnifiedDiff("a\nb\n", "new\na\nb\n", "a/f", "b/f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n+new\n a\n b\n");
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\n", "a\nb\nc\nd\ne\nf\n", "a/f", "b/f"),
            "--- a/f\n+++ b/f\n@@ -3,3 +3,4 @@\n c\n d\n e\n+f\n");
}

TEST(UnifiedDiffTest, NoNewlineAtEndOfFile) {
  EXPECT_EQ(UnifiedDiff("a\nb", "a\nb\n", "a/f", "b/f"),
            "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
  EXPECT_EQ(UnifiedDiff("a\n", "a\nb", "a/f", "b/f"),
            "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n a\n+b\n\\ No newline at end of file\n");
  EXPECT_EQ(UnifiedDiff("x", "y", "a/f", "b/f"),
            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+y\n"
            "\\ No newline at end of file\n");
}

TEST(UnifiedDiffTest, ZeroContext) {
  DiffOptions o;
  o.context = 0;
  EXPECT_EQ(UnifiedDiff("a\nb\nc\n", "a\nB\nc\n", "a/f", "b/f", o),
            "--- a/f\n+++ b/f\n@@ -2 +2 @@\n-b\n+B\n");
}

TEST(UnifiedDiffTest, LimitsFallBackToANote) {
  DiffOptions o;
  o.max_bytes = 10;
  EXPECT_EQ(UnifiedDiff(std::string(11, 'x'), "y", "a/big", "b/big", o),
            "Files a/big and b/big differ (too large to diff)\n");
  DiffOptions lines;
  lines.max_lines = 3;
  EXPECT_EQ(UnifiedDiff("1\n2\n3\n4\n", "1\n", "a/f", "b/f", lines),
            "Files a/f and b/f differ (too large to diff)\n");
  // Completely different large inputs exhaust a small work budget.
  std::string x, y;
  for (int i = 0; i < 3000; ++i) {
    x += "x" + std::to_string(i) + "\n";
    y += "y" + std::to_string(i) + "\n";
  }
  DiffOptions budget;
  budget.max_cost = 10000;
  std::string out;
  EXPECT_EQ(UnifiedDiff(x, y, "a/f", "b/f", budget, &out), DiffOutcome::kTooLarge);
  EXPECT_EQ(out, "");
  EXPECT_EQ(UnifiedDiff(x, y, "a/f", "b/f", DiffOptions{}, &out), DiffOutcome::kDiffered);
}

// Random edits: the diff must apply back exactly, and be minimal (the number
// of changed lines equals |A| + |B| - 2 LCS).
TEST(UnifiedDiffTest, RandomDiffsApplyAndAreMinimal) {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 400; ++iter) {
    std::vector<std::string> a, b;
    int na = rng() % 30, alphabet = 2 + rng() % 6;
    for (int i = 0; i < na; ++i) a.push_back(std::string(1, 'a' + rng() % alphabet));
    b = a;
    int edits = rng() % 8;
    for (int e = 0; e < edits; ++e) {
      int kind = rng() % 3;
      if (kind == 0 || b.empty()) {
        b.insert(b.begin() + (b.empty() ? 0 : rng() % (b.size() + 1)),
                 std::string(1, 'a' + rng() % alphabet));
      } else if (kind == 1) {
        b.erase(b.begin() + rng() % b.size());
      } else {
        b[rng() % b.size()] = std::string(1, 'a' + rng() % alphabet);
      }
    }
    bool a_nl = rng() % 4 != 0, b_nl = rng() % 4 != 0;
    std::string old_text = Join(a, a_nl), new_text = Join(b, b_nl);
    DiffOptions o;
    o.context = rng() % 4;
    std::string diff = UnifiedDiff(old_text, new_text, "a/f", "b/f", o);
    if (old_text == new_text) {
      EXPECT_EQ(diff, "");
      continue;
    }
    std::string applied, error;
    ASSERT_TRUE(ApplyPatch(old_text, diff, &applied, &error))
        << error << "\n" << diff;
    ASSERT_EQ(applied, new_text) << diff;
    // Minimality, with line endings as part of the line.
    auto with_endings = [](const std::vector<std::string>& v, bool nl) {
      std::vector<std::string> out;
      for (size_t i = 0; i < v.size(); ++i) out.push_back(v[i] + (i + 1 < v.size() || nl ? "\n" : ""));
      return out;
    };
    std::vector<std::string> ae = with_endings(a, a_nl), be = with_endings(b, b_nl);
    size_t changed = 0;
    std::istringstream in(diff);
    for (std::string l; std::getline(in, l);) {
      if ((l[0] == '-' && l.rfind("---", 0) != 0) || (l[0] == '+' && l.rfind("+++", 0) != 0)) ++changed;
    }
    ASSERT_EQ(changed, ae.size() + be.size() - 2 * LcsLength(ae, be)) << diff;
  }
}

TEST(UnifiedDiffTest, MatchesGnuDiffOnASourceEdit) {
  if (std::system("diff --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no diff(1)";
  std::string old_text, new_text;
  for (int i = 0; i < 60; ++i) {
    std::string line = "int f" + std::to_string(i) + "() { return " + std::to_string(i) + "; }\n";
    old_text += line;
    if (i == 10) new_text += "// added comment\n";
    if (i == 30) continue;
    if (i == 45) line = "int f45() { return -45; }\n";
    new_text += line;
  }
  new_text += "int tail() { return 0; }";  // no final newline
  std::string dir = ::testing::TempDir();
  std::string f1 = dir + "ud_old_" + std::to_string(getpid());
  std::string f2 = dir + "ud_new_" + std::to_string(getpid());
  std::ofstream(f1, std::ios::binary) << old_text;
  std::ofstream(f2, std::ios::binary) << new_text;
  std::string cmd = "diff -u --label a/src.cc --label b/src.cc " + f1 + " " + f2;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string expected;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) expected.append(buf, n);
  pclose(p);
  std::remove(f1.c_str());
  std::remove(f2.c_str());
  EXPECT_EQ(UnifiedDiff(old_text, new_text, "a/src.cc", "b/src.cc"), expected);
}

TEST(UnifiedDiffTest, FileMaps) {
  std::map<std::string, std::string> a = {
      {"same.py", "x = 1\n"}, {"gone.py", "bye\n"}, {"mod.py", "a\nb\n"},
      {"img.bin", std::string("\x89PNG\0\0", 6)}, {"empty_old", ""}};
  std::map<std::string, std::string> b = {
      {"same.py", "x = 1\n"}, {"mod.py", "a\nc\n"}, {"new.py", "hi\n"},
      {"img.bin", std::string("\x89PNG\0\1", 6)}, {"empty_old", ""}};
  EXPECT_EQ(DiffFileMaps(a, b),
            "diff --git a/gone.py b/gone.py\ndeleted file\n"
            "--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
            "diff --git a/img.bin b/img.bin\nBinary files a/img.bin and b/img.bin differ\n"
            "diff --git a/mod.py b/mod.py\n--- a/mod.py\n+++ b/mod.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
            "diff --git a/new.py b/new.py\nnew file\n"
            "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+hi\n");
  EXPECT_EQ(DiffFileMaps(a, a), "");
  DiffOptions small;
  small.max_bytes = 3;
  EXPECT_EQ(DiffFileMaps({{"f", "long\n"}}, {{"f", "longer\n"}}, small),
            "diff --git a/f b/f\nFiles a/f and b/f differ (too large to diff)\n");
}

TEST(UnifiedDiffTest, LooksBinary) {
  EXPECT_FALSE(LooksBinary("plain text\n"));
  EXPECT_TRUE(LooksBinary(std::string("a\0b", 3)));
  EXPECT_FALSE(LooksBinary(std::string(8192, 'a') + std::string(1, '\0')));
}

}  // namespace
}  // namespace orchard
