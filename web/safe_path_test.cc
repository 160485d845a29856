#include "web/safe_path.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace orchard::web {
namespace {

namespace fs = std::filesystem;

class SafePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("orchard_safe_path_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_ / "run/sub");
    std::ofstream(root_ / "run/sub/a.txt") << "inside";
    std::ofstream(root_ / "secret.txt") << "outside";
    fs::create_symlink(root_ / "secret.txt", root_ / "run/link.txt");
    fs::create_symlink(root_, root_ / "run/up");
    fs::create_symlink("sub/a.txt", root_ / "run/ok_link.txt");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Run() const { return (root_ / "run").string(); }
  fs::path root_;
};

TEST_F(SafePathTest, FilesInsideResolve) {
  auto p = ResolveInside(Run(), "sub/a.txt");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(*p, fs::canonical(root_ / "run/sub/a.txt").string());
  EXPECT_TRUE(ResolveInside(Run(), "ok_link.txt").ok()) << "a link that stays inside is fine";
}

TEST_F(SafePathTest, DotDotAndAbsoluteAreRefusedBeforeLooking) {
  for (const char* bad : {"../secret.txt", "sub/../../secret.txt", "..", "sub/..",
                          "/etc/passwd", "\\etc\\passwd", "sub\\..\\..\\secret.txt"}) {
    auto p = ResolveInside(Run(), bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ResolveInside(Run(), "").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ResolveInside(Run(), std::string("a\0b", 3)).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_F(SafePathTest, SymlinksOutOfTheFolderAreNotFound) {
  for (const char* bad : {"link.txt", "up/secret.txt", "missing.txt", "sub"}) {
    auto p = ResolveInside(Run(), bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), Status::Code::kNotFound) << bad;
  }
}

TEST(MimeTypeTest, ByExtension) {
  EXPECT_EQ(MimeTypeFor("a/b.PNG"), "image/png");
  EXPECT_EQ(MimeTypeFor("x.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(MimeTypeFor("model.pt"), "application/octet-stream");
}

}  // namespace
}  // namespace orchard::web
