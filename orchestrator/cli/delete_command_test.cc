#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "orchestrator/cli/view_test_util.h"

namespace orchard::cli::testing {
namespace {

// Replaces stdin with /dev/null for the scope: no terminal to ask on.
class NoTerminal {
 public:
  NoTerminal() : saved_(dup(STDIN_FILENO)) {
    int fd = open("/dev/null", O_RDONLY);
    dup2(fd, STDIN_FILENO);
    close(fd);
  }
  ~NoTerminal() {
    dup2(saved_, STDIN_FILENO);
    close(saved_);
  }

 private:
  int saved_;
};

class DeleteCommandTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    AddRun({.id = "aa000001", .flags = {{"lr", 0.1}}, .metrics = {{"acc", {0.5}}}});
    AddRun({.id = "bb000002", .flags = {{"lr", 0.01}}, .status = store::RunStatus::kFailed});
    AddRun({.id = "cc000003", .status = store::RunStatus::kRunning});
    std::ofstream(home_.RunDir("aa000001") + "/model.pt") << "weights";
  }
  bool Exists(const std::string& id) { return store_->GetRun(id).ok(); }
  NoTerminal no_terminal_;
};

TEST_F(DeleteCommandTest, YesDeletesRecordsAndFolder) {
  CliOutput o = Cli({"delete", "aa00", "--yes"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_FALSE(Exists("aa000001"));
  EXPECT_TRUE(Exists("bb000002"));
  EXPECT_FALSE(std::filesystem::exists(home_.RunDir("aa000001")));
  EXPECT_TRUE(std::filesystem::exists(home_.RunDir("bb000002")));
  EXPECT_TRUE(store_->GetMetricSummaries("aa000001")->empty());
  EXPECT_EQ(o.out, "deleted aa000001\n");
}

TEST_F(DeleteCommandTest, WithoutTerminalOrYesRefuses) {
  CliOutput o = Cli({"delete", "aa000001"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--yes"), std::string::npos) << o.err;
  EXPECT_TRUE(Exists("aa000001"));
  EXPECT_TRUE(std::filesystem::exists(home_.RunDir("aa000001") + "/model.pt"));
}

TEST_F(DeleteCommandTest, ByFilter) {
  CliOutput o = Cli({"delete", "--filter", "status = failed or lr = 0.1", "-y"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_FALSE(Exists("aa000001"));
  EXPECT_FALSE(Exists("bb000002"));
  EXPECT_TRUE(Exists("cc000003"));
  o = Cli({"delete", "--filter", "lr > 5", "-y"});
  EXPECT_EQ(o.code, 0);
  EXPECT_NE(o.err.find("nothing deleted"), std::string::npos);
}

TEST_F(DeleteCommandTest, RunningRunNeedsForce) {
  CliOutput o = Cli({"delete", "cc000003", "aa000001", "--yes"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("cc000003"), std::string::npos) << o.err;
  EXPECT_TRUE(Exists("aa000001"));  // nothing at all is deleted
  ASSERT_EQ(Cli({"delete", "cc000003", "--yes", "--force"}).code, 0);
  EXPECT_FALSE(Exists("cc000003"));
}

TEST_F(DeleteCommandTest, NeverFollowsAStoredFolderOutsideTheStore) {
  // A run whose stored run_dir points outside the store, and whose folder in
  // the store is a symlink to a folder outside: both outside folders stay.
  auto outside = root_ / "precious";
  std::filesystem::create_directories(outside);
  std::ofstream(outside / "keep.txt") << "keep";
  store::Run r;
  r.id = "dd000004";
  r.run_dir = outside.string();
  ASSERT_TRUE(store_->CreateRun(r).ok());
  ASSERT_TRUE(store_->FinishRun(r.id, store::RunStatus::kFailed, 1, kT0, "").ok());
  std::filesystem::create_directory_symlink(outside, home_.RunDir("dd000004"));
  ASSERT_EQ(Cli({"delete", "dd000004", "--yes"}).code, 0);
  EXPECT_FALSE(Exists("dd000004"));
  EXPECT_TRUE(std::filesystem::exists(outside / "keep.txt"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(home_.RunDir("dd000004"))));
}

TEST_F(DeleteCommandTest, UsageErrors) {
  EXPECT_EQ(Cli({"delete", "--yes"}).code, kExitUsage);
  EXPECT_EQ(Cli({"delete", "aa000001", "--filter", "lr > 0", "--yes"}).code, kExitUsage);
  EXPECT_EQ(Cli({"delete", "ffffffff", "--yes"}).code, kExitNotFound);
  EXPECT_EQ(Cli({"delete", "--filter", "lr >", "--yes"}).code, kExitUsage);
}

}  // namespace
}  // namespace orchard::cli::testing
