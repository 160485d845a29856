#include "orchestrator/capture/git_info.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "orchestrator/capture/code_snapshot.h"

namespace orchard::capture {
namespace {
namespace fs = std::filesystem;

bool HaveGit() {
  CommandSpec s;
  s.argv = {"git", "--version"};
  Result<CommandResult> r = RunCommand(s);
  return r.ok() && r->exit_code == 0;
}

// A temporary git work tree, removed at scope exit.
class TempRepo {
 public:
  TempRepo() {
    std::string tmpl = ::testing::TempDir() + "orchard_git_XXXXXX";
    path_ = fs::canonical(::mkdtemp(tmpl.data()));
    Git({"init", "-q"});
  }
  ~TempRepo() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void Write(const std::string& rel, const std::string& content) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary) << content;
  }
  void Git(std::vector<std::string> args) const {
    CommandSpec s;
    s.argv = {"git", "-c", "user.name=Orchard Test", "-c", "user.email=test@example.com",
              "-c", "commit.gpgsign=false"};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.cwd = path_.string();
    Result<CommandResult> r = RunCommand(s);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r->exit_code, 0) << args[0];
  }

 private:
  fs::path path_;
};

class GitInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveGit()) GTEST_SKIP() << "git is not installed";
  }
};

TEST_F(GitInfoTest, CleanThenDirty) {
  TempRepo repo;
  repo.Write("train.py", "lr = 0.1\nprint(lr)\n");
  repo.Write("sub/mod.py", "x = 1\n");
  repo.Git({"add", "."});
  repo.Git({"commit", "-q", "-m", "first"});

  std::optional<GitInfo> info = CaptureGitInfo((repo.path() / "sub").string());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->root, repo.path().string());
  EXPECT_EQ(info->commit.size(), 40u);
  EXPECT_FALSE(info->dirty);
  EXPECT_EQ(info->diff, "");

  repo.Write("train.py", "lr = 0.2\nprint(lr)\n");
  info = CaptureGitInfo(repo.path().string());
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->dirty);
  EXPECT_NE(info->diff.find("-lr = 0.1\n+lr = 0.2\n"), std::string::npos) << info->diff;
  EXPECT_FALSE(info->diff_truncated);
}

TEST_F(GitInfoTest, UntrackedFileMakesItDirty) {
  TempRepo repo;
  repo.Write("a.py", "a\n");
  repo.Git({"add", "."});
  repo.Git({"commit", "-q", "-m", "first"});
  repo.Write("new.py", "b\n");
  std::optional<GitInfo> info = CaptureGitInfo(repo.path().string());
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->dirty);
  EXPECT_EQ(info->diff, "");
}

TEST_F(GitInfoTest, RepositoryWithoutCommits) {
  TempRepo repo;
  repo.Write("a.py", "a\n");
  std::optional<GitInfo> info = CaptureGitInfo(repo.path().string());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->commit, "");
  EXPECT_TRUE(info->dirty);
}

TEST_F(GitInfoTest, NotARepository) {
  std::string tmpl = ::testing::TempDir() + "orchard_nogit_XXXXXX";
  fs::path dir = ::mkdtemp(tmpl.data());
  EXPECT_FALSE(CaptureGitInfo(dir.string()).has_value());
  EXPECT_FALSE(GitTopLevel(dir.string()).has_value());
  fs::remove_all(dir);
}

TEST(GitInfoFakeTest, GitMissing) {
  CommandRunner missing = [](const CommandSpec&) -> Result<CommandResult> {
    return Status::NotFound("git not found on PATH");
  };
  EXPECT_FALSE(CaptureGitInfo("/tmp", missing).has_value());
}

TEST(GitInfoFakeTest, DiffTruncationIsReported) {
  CommandRunner fake = [](const CommandSpec& spec) -> Result<CommandResult> {
    CommandResult r;
    r.exit_code = 0;
    const std::string& verb = spec.argv[4];
    if (verb == "rev-parse" && spec.argv[5] == "--show-toplevel") r.out = "/repo\n";
    if (verb == "rev-parse" && spec.argv[5] == "--verify") r.out = std::string(40, 'a') + "\n";
    if (verb == "status") r.out = " M x\n";
    if (verb == "diff") {
      EXPECT_EQ(spec.max_output, kMaxGitDiffBytes);
      r.out = std::string(spec.max_output, 'd');
      r.truncated = true;
      r.exit_code = -1;
    }
    return r;
  };
  std::optional<GitInfo> info = CaptureGitInfo("/repo/sub", fake);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->root, "/repo");
  EXPECT_TRUE(info->dirty);
  EXPECT_TRUE(info->diff_truncated);
  EXPECT_EQ(info->diff.size(), kMaxGitDiffBytes);
}

TEST_F(GitInfoTest, SnapshotUsesGitFileList) {
  TempRepo repo;
  repo.Write(".gitignore", "*.tmp\ndata/\n");
  repo.Write("train.py", "x\n");
  repo.Write("lib/a.py", "a\n");
  repo.Write("scratch.tmp", "t\n");
  repo.Write("data/big.csv", "1,2\n");
  repo.Write("build/gen.py", "untracked but not ignored\n");
  repo.Write(".orchardignore", "lib/private*\n");
  repo.Write("lib/private_notes.py", "p\n");
  repo.Git({"add", "train.py", "lib/a.py", ".gitignore"});
  repo.Git({"commit", "-q", "-m", "first"});
  repo.Write("untracked.py", "u\n");
  fs::remove(repo.path() / "lib/a.py");  // tracked but deleted

  Result<store::Snapshot> r = CaptureCodeSnapshot((repo.path() / "lib").string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->root, repo.path().string());
  std::set<std::string> paths;
  for (const auto& f : r->files) paths.insert(f.path);
  EXPECT_EQ(paths, (std::set<std::string>{".gitignore", ".orchardignore", "build/gen.py",
                                          "train.py", "untracked.py"}));
  bool missing_listed = false;
  for (const auto& e : r->skipped) missing_listed |= e["path"] == "lib/a.py" && e["reason"] == "missing";
  EXPECT_TRUE(missing_listed) << r->skipped.dump();
}

}  // namespace
}  // namespace orchard::capture
