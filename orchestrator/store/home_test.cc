#include "orchestrator/store/home.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace orchard::store {
namespace {

class HomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/orchard-home-test-XXXXXX";
    dir_ = fs::canonical(mkdtemp(tmpl)).string();
    unsetenv("ORCHARD_HOME");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(HomeTest, FindsTheNearestOrchardFolderUpward) {
  fs::create_directories(dir_ + "/.orchard");
  fs::create_directories(dir_ + "/a/b/c");
  auto h = LocateHome("", dir_ + "/a/b/c");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->root, dir_ + "/.orchard");
  EXPECT_EQ(h->db_path, dir_ + "/.orchard/orchard.db");
  EXPECT_TRUE(h->exists);
}

TEST_F(HomeTest, DefaultsToTheWorkingDirectory) {
  auto h = LocateHome("", dir_);
  ASSERT_TRUE(h.ok());
  // Unless a parent of the temp folder has a .orchard, it is created here.
  if (!fs::exists("/tmp/.orchard") && !fs::exists("/.orchard")) {
    EXPECT_EQ(h->root, dir_ + "/.orchard");
    EXPECT_FALSE(h->exists);
  }
  ASSERT_TRUE(EnsureHome(*h).ok());
  EXPECT_TRUE(fs::is_directory(h->runs_dir));
}

TEST_F(HomeTest, FlagBeatsEnvironmentBeatsSearch) {
  fs::create_directories(dir_ + "/.orchard");
  setenv("ORCHARD_HOME", (dir_ + "/from-env").c_str(), 1);
  EXPECT_EQ(LocateHome("", dir_)->root, dir_ + "/from-env");
  EXPECT_EQ(LocateHome("flagged", dir_)->root, dir_ + "/flagged");  // relative to cwd
  unsetenv("ORCHARD_HOME");
}

TEST_F(HomeTest, AFileWhereTheFolderShouldBeIsAnError) {
  std::string f = dir_ + "/file";
  FILE* fp = fopen(f.c_str(), "w");
  fclose(fp);
  auto h = LocateHome(f, dir_);
  EXPECT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("not a folder"), std::string::npos);
}

}  // namespace
}  // namespace orchard::store
