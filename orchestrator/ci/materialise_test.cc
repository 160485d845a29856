#include "orchestrator/ci/materialise.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "orchestrator/capture/code_snapshot.h"
#include "orchestrator/ci/safe_path.h"
#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::ci {
namespace {

class TempFolder {
 public:
  TempFolder() {
    std::string tmpl = (fs::temp_directory_path() / "orchard-ci-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

store::SnapshotFile File(const std::string& path, const std::string& content, int mode = 0644) {
  return {path, Sha256Hex(content), mode, content};
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SafePathTest, RelativePathsInsideTheFolderOnly) {
  for (const char* ok : {"a", "a/b.txt", "sub/dir/w.bin", "..a", "a..", ".hidden", "a/.b/c"}) {
    EXPECT_TRUE(IsSafeRelativePath(ok)) << ok;
  }
  for (const char* bad : {"", "/etc/passwd", "..", "../x", "a/../../x", "a/..", "./a", "a//b",
                          "a/", "a/./b"}) {
    EXPECT_FALSE(IsSafeRelativePath(bad)) << bad;
  }
  EXPECT_FALSE(IsSafeRelativePath(std::string("a\0b", 3)));
  EXPECT_FALSE(IsSafeRelativePath(std::string(5000, 'a')));
}

TEST(MaterialiseTest, WritesFilesWithModesAndKeepsTheSnapshotId) {
  TempFolder dir;
  store::Snapshot snap;
  snap.files = {File("train.sh", "#!/bin/sh\necho hi\n", 0755), File("pkg/data.txt", "data\n")};
  snap.id = capture::SnapshotId(snap.files);
  auto m = MaterialiseSnapshot(snap, dir.path());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->files, 2);
  EXPECT_TRUE(m->tampered.empty());
  EXPECT_EQ(m->written.id, snap.id);
  EXPECT_EQ(Read(dir.path() + "/pkg/data.txt"), "data\n");
  EXPECT_EQ(access((dir.path() + "/train.sh").c_str(), X_OK), 0);
  struct stat st {};
  ASSERT_EQ(stat((dir.path() + "/pkg/data.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(MaterialiseTest, ContentThatFailsItsHashIsReportedAndRecordedAsWritten) {
  TempFolder dir;
  store::Snapshot snap;
  snap.files = {File("a.txt", "original\n"), File("b.txt", "fine\n")};
  snap.id = capture::SnapshotId(snap.files);
  snap.files[0].content = "tampered\n";  // the blob changed, its name did not
  auto m = MaterialiseSnapshot(snap, dir.path());
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->tampered.size(), 1u);
  EXPECT_NE(m->tampered[0].find("a.txt: the stored content (9 bytes) hashes to " +
                                Sha256Hex("tampered\n").substr(0, 12)),
            std::string::npos) << m->tampered[0];
  EXPECT_NE(m->written.id, snap.id);
  EXPECT_EQ(m->written.files[0].sha256, Sha256Hex("tampered\n"));
  EXPECT_EQ(m->written.id, capture::SnapshotId(m->written.files));
}

TEST(MaterialiseTest, PathsLeavingTheFolderAreRefusedBeforeAnythingIsWritten) {
  TempFolder dir;
  fs::create_directories(dir.path() + "/inner");
  for (const char* evil : {"../escaped.txt", "/tmp/orchard-abs-evil.txt", "a/../../b"}) {
    store::Snapshot snap;
    snap.id = "x";
    snap.files = {File("ok.txt", "fine"), File(evil, "evil")};
    auto m = MaterialiseSnapshot(snap, dir.path() + "/inner");
    ASSERT_FALSE(m.ok()) << evil;
    EXPECT_EQ(m.status().code(), Status::Code::kCorruption);
    EXPECT_FALSE(fs::exists(dir.path() + "/inner/ok.txt")) << "nothing is written";
    EXPECT_FALSE(fs::exists(dir.path() + "/escaped.txt"));
  }
  EXPECT_FALSE(fs::exists("/tmp/orchard-abs-evil.txt"));
}

}  // namespace
}  // namespace orchard::ci
