#include "orchestrator/capture/code_snapshot.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "orchestrator/util/sha256.h"

namespace orchard::capture {
namespace {
namespace fs = std::filesystem;

// A fresh directory under the test temp dir, removed at scope exit.
class TempTree {
 public:
  TempTree() {
    std::string tmpl = ::testing::TempDir() + "orchard_snap_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void Write(const std::string& rel, const std::string& content) const {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }

 private:
  fs::path path_;
};

SnapshotOptions WalkOnly() {
  SnapshotOptions o;
  o.use_git = false;
  return o;
}

std::set<std::string> Paths(const store::Snapshot& s) {
  std::set<std::string> out;
  for (const auto& f : s.files) out.insert(f.path);
  return out;
}

std::string ReasonFor(const store::Snapshot& s, const std::string& path) {
  for (const auto& e : s.skipped) {
    if (e["path"] == path) return e["reason"];
  }
  return "";
}

void MakeProject(const TempTree& t) {
  t.Write("train.py", "print('hi')\n");
  t.Write("src/model.py", "class M: pass\n");
  t.Write("src/util/io.py", "def load(): pass\n");
  t.Write(".orchardignore", "# local rules\n*.log\nsecret/\n!keep.log\n");
  t.Write("run.log", "noise\n");
  t.Write("keep.log", "kept\n");
  t.Write("secret/key.txt", "k\n");
  t.Write(".git/config", "[core]\n");
  t.Write(".orchard/store.db", "db\n");
  t.Write(".venv/lib.py", "x\n");
  t.Write("venv/lib.py", "x\n");
  t.Write("node_modules/m.js", "x\n");
  t.Write("src/__pycache__/model.cpython.pyc", "x\n");
  t.Write("build-release/out.o", "x\n");
  t.Write(".hidden_dir/x.py", "x\n");
  t.Write(".env.example", "A=1\n");
  t.Write("weights.bin", std::string("\x01\x02\0\x03", 4));
  t.Write("big.txt", std::string(2000, 'b'));
}

TEST(CodeSnapshotTest, WalkAppliesSkipsAndIgnoreRules) {
  TempTree t;
  MakeProject(t);
  SnapshotOptions o = WalkOnly();
  o.max_file_bytes = 1000;
  Result<store::Snapshot> r = CaptureCodeSnapshot(t.path().string(), o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(Paths(*r), (std::set<std::string>{".env.example", ".orchardignore", "keep.log",
                                              "src/model.py", "src/util/io.py", "train.py"}));
  EXPECT_EQ(ReasonFor(*r, "weights.bin"), "binary");
  EXPECT_EQ(ReasonFor(*r, "big.txt"), "larger than 1000 bytes");
  EXPECT_EQ(r->root, fs::canonical(t.path()).string());
  // Files are sorted, hashed and carry their content.
  ASSERT_EQ(r->files.back().path, "train.py");
  EXPECT_EQ(r->files.back().content, "print('hi')\n");
  EXPECT_EQ(r->files.back().sha256, Sha256Hex("print('hi')\n"));
  EXPECT_EQ(r->files.back().mode, 0644);
  for (size_t i = 1; i < r->files.size(); ++i) EXPECT_LT(r->files[i - 1].path, r->files[i].path);
}

TEST(CodeSnapshotTest, IdentityAndDedup) {
  TempTree a, b;
  MakeProject(a);
  MakeProject(b);
  Result<store::Snapshot> sa = CaptureCodeSnapshot(a.path().string(), WalkOnly());
  Result<store::Snapshot> sb = CaptureCodeSnapshot(b.path().string(), WalkOnly());
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(sa->id.size(), 64u);
  EXPECT_EQ(sa->id, sb->id);  // same content, different location
  EXPECT_EQ(sa->id, SnapshotId(sa->files));

  b.Write("src/model.py", "class M: pasS\n");  // one byte
  Result<store::Snapshot> changed = CaptureCodeSnapshot(b.path().string(), WalkOnly());
  EXPECT_NE(changed->id, sa->id);

  b.Write("src/model.py", "class M: pass\n");
  EXPECT_EQ(CaptureCodeSnapshot(b.path().string(), WalkOnly())->id, sa->id);
  fs::permissions(b.path() / "train.py", fs::perms::owner_exec, fs::perm_options::add);
  Result<store::Snapshot> exec = CaptureCodeSnapshot(b.path().string(), WalkOnly());
  EXPECT_NE(exec->id, sa->id);
  EXPECT_EQ(exec->files.back().mode, 0755);

  b.Write("renamed.py", "print('hi')\n");
  fs::remove(b.path() / "train.py");
  EXPECT_NE(CaptureCodeSnapshot(b.path().string(), WalkOnly())->id, sa->id);
}

TEST(CodeSnapshotTest, ManifestFormatIsPinned) {
  std::vector<store::SnapshotFile> files(2);
  files[0].path = "b.py";
  files[0].sha256 = "22";
  files[0].mode = 0755;
  files[1].path = "a.py";
  files[1].sha256 = "11";
  std::string manifest("a.py\0" "11\0" "644\nb.py\0" "22\0" "755\n", 24);
  EXPECT_EQ(SnapshotId(files), Sha256Hex(manifest));
  EXPECT_EQ(SnapshotId({}), Sha256Hex(""));
}

TEST(CodeSnapshotTest, CapsOnCountAndTotal) {
  TempTree t;
  for (int i = 0; i < 10; ++i) t.Write("f" + std::to_string(i) + ".py", std::string(100, 'x'));
  SnapshotOptions o = WalkOnly();
  o.max_files = 3;
  Result<store::Snapshot> r = CaptureCodeSnapshot(t.path().string(), o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Paths(*r), (std::set<std::string>{"f0.py", "f1.py", "f2.py"}));
  ASSERT_FALSE(r->skipped.empty());
  EXPECT_NE(r->skipped.back()["reason"].get<std::string>().find("file count limit (3)"),
            std::string::npos);

  SnapshotOptions total = WalkOnly();
  total.max_total_bytes = 450;
  r = CaptureCodeSnapshot(t.path().string(), total);
  EXPECT_EQ(r->files.size(), 4u);
  EXPECT_EQ(ReasonFor(*r, "f4.py"), "total size limit (450 bytes) reached");
}

TEST(CodeSnapshotTest, SymlinksStayInsideTheRoot) {
  TempTree t, outside;
  outside.Write("passwords.txt", "hunter2\n");
  t.Write("real.py", "x = 1\n");
  fs::create_symlink(outside.path() / "passwords.txt", t.path() / "leak.txt");
  fs::create_symlink(outside.path(), t.path() / "leakdir");
  fs::create_symlink("real.py", t.path() / "alias.py");
  fs::create_symlink(".", t.path() / "loop");
  Result<store::Snapshot> r = CaptureCodeSnapshot(t.path().string(), WalkOnly());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Paths(*r), (std::set<std::string>{"alias.py", "real.py"}));
  EXPECT_EQ(ReasonFor(*r, "leak.txt"), "symlink out of the root");
  EXPECT_EQ(ReasonFor(*r, "leakdir"), "symlinked directory");
  EXPECT_EQ(ReasonFor(*r, "loop"), "symlinked directory");
}

// A synthetic stand-in for pointing it at "/": far more files than the caps,
// and deep nesting. It must stop at the caps, quickly, with a bounded list.
TEST(CodeSnapshotTest, HugeTreeStopsAtTheCaps) {
  TempTree t;
  for (int d = 0; d < 30; ++d) {
    for (int f = 0; f < 150; ++f) {
      t.Write("d" + std::to_string(d) + "/f" + std::to_string(f) + ".txt", "x\n");
    }
  }
  std::string deep;
  for (int i = 0; i < 60; ++i) deep += "n/";
  t.Write(deep + "bottom.txt", "x\n");

  auto start = std::chrono::steady_clock::now();
  Result<store::Snapshot> r = CaptureCodeSnapshot(t.path().string(), WalkOnly());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files.size(), 2000u);
  EXPECT_LE(r->skipped.size(), 201u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));

  SnapshotOptions few = WalkOnly();
  few.max_walk_entries = 500;
  r = CaptureCodeSnapshot(t.path().string(), few);
  EXPECT_LT(r->files.size(), 500u);
  EXPECT_NE(r->skipped.back()["reason"].get<std::string>().find("walk stopped after 500"),
            std::string::npos);

  SnapshotOptions shallow = WalkOnly();
  shallow.max_depth = 3;
  shallow.max_files = 100000;
  shallow.max_walk_entries = 100000;
  r = CaptureCodeSnapshot(t.path().string(), shallow);
  EXPECT_EQ(r->files.size(), 4500u);
  EXPECT_EQ(ReasonFor(*r, "n/n/n/n"), "deeper than 3 levels");
}

TEST(CodeSnapshotTest, BadDirectory) {
  EXPECT_EQ(CaptureCodeSnapshot("/nonexistent/orchard/x").status().code(), Status::Code::kNotFound);
  TempTree t;
  t.Write("file", "x");
  EXPECT_EQ(CaptureCodeSnapshot((t.path() / "file").string()).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(CodeSnapshotTest, FallsBackToAWalkWhenGitIsMissing) {
  TempTree t;
  MakeProject(t);
  SnapshotOptions o;
  int calls = 0;
  o.run = [&calls](const CommandSpec&) -> Result<CommandResult> {
    ++calls;
    return Status::NotFound("git not found on PATH");
  };
  Result<store::Snapshot> r = CaptureCodeSnapshot(t.path().string(), o);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(calls, 1);
  EXPECT_EQ(r->id, CaptureCodeSnapshot(t.path().string(), WalkOnly())->id);
}

}  // namespace
}  // namespace orchard::capture
