// Archive and import on real store files (the end-to-end tests with the
// `orchard` binary are in tests/integration/ci_test.cc).
#include "orchestrator/ci/archive.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::ci {
namespace {

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "orchard-archive-test-XXXXXX").string();
    root_ = mkdtemp(tmpl.data());
    src_ = MakeHome("src");
    dst_ = MakeHome("dst");
    auto s = store::SqliteRunStore::Open(src_.db_path);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  store::Home MakeHome(const std::string& name) {
    store::Home h;
    h.root = root_ + "/" + name;
    h.db_path = h.root + "/orchard.db";
    h.runs_dir = h.root + "/runs";
    EXPECT_TRUE(store::EnsureHome(h).ok());
    return h;
  }

  // A finished run with one metric and one artifact file.
  std::string AddRun(store::RunStatus status, const std::string& artifact) {
    store::Run run;
    run.command = {"train"};
    run.flags = {{"lr", 0.5}};
    run.created_at = 100;
    EXPECT_TRUE(store_->CreateRun(run).ok());
    std::string dir = src_.RunDir(run.id);
    fs::create_directories(dir);
    EXPECT_TRUE(store_->SetRunContext(run.id, dir, {{"host", "h"}}).ok());
    EXPECT_TRUE(store_->AppendMetrics(run.id, {{"acc", 1, 1, 0.25, 101}}).ok());
    std::ofstream(dir + "/model.bin", std::ios::binary) << artifact;
    EXPECT_TRUE(store_->PutArtifacts(run.id, {{"model.bin", static_cast<int64_t>(artifact.size()),
                                               Sha256Hex(artifact), 0}}).ok());
    if (status != store::RunStatus::kRunning) {
      EXPECT_TRUE(store_->FinishRun(run.id, status, 0, 102, "").ok());
    } else {
      EXPECT_TRUE(store_->MarkStarted(run.id, 1, 101).ok());
    }
    return run.id;
  }

  std::string root_;
  store::Home src_, dst_;
  std::unique_ptr<store::SqliteRunStore> store_;
};

TEST_F(ArchiveTest, MissingOrChangedArtifactsAreLeftOutWithAWarning) {
  std::string gone = AddRun(store::RunStatus::kCompleted, "weights");
  std::string changed = AddRun(store::RunStatus::kCompleted, "weights");
  std::string fine = AddRun(store::RunStatus::kCompleted, "good");
  fs::remove(src_.RunDir(gone) + "/model.bin");
  std::ofstream(src_.RunDir(changed) + "/model.bin") << "overwritten later";
  auto stats = WriteArchive(src_, *store_, {{gone, changed, fine}, {}, root_ + "/a.orchard"});
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->runs, 3);
  EXPECT_EQ(stats->artifacts, 1);
  ASSERT_EQ(stats->warnings.size(), 2u);
  EXPECT_NE(stats->warnings[0].find("the file is gone"), std::string::npos);
  EXPECT_NE(stats->warnings[1].find("changed after the run recorded it"), std::string::npos);

  auto dst = store::SqliteRunStore::Open(dst_.db_path);
  ASSERT_TRUE(dst.ok());
  auto imported = ImportArchive(dst_, **dst, root_ + "/a.orchard");
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  EXPECT_EQ(imported->runs_added, 3);
  EXPECT_EQ(imported->artifacts_written, 1);
  EXPECT_TRUE(fs::exists(dst_.RunDir(fine) + "/model.bin"));
  EXPECT_FALSE(fs::exists(dst_.RunDir(gone) + "/model.bin"));
  auto arts = (*dst)->GetArtifacts(gone);
  ASSERT_TRUE(arts.ok());
  EXPECT_EQ(arts->size(), 1u) << "the index is kept as it was recorded";
}

TEST_F(ArchiveTest, RunningRunsAndEmptySelectionsAreRefused) {
  std::string running = AddRun(store::RunStatus::kRunning, "w");
  auto r = WriteArchive(src_, *store_, {{running}, {}, root_ + "/a.orchard"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("is still running"), std::string::npos);
  EXPECT_FALSE(fs::exists(root_ + "/a.orchard")) << "no half archive is left behind";
  auto none = WriteArchive(src_, *store_, {{}, {}, root_ + "/b.orchard"});
  EXPECT_EQ(none.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(ArchiveTest, ANonArchiveFileIsRefused) {
  std::ofstream(root_ + "/text.orchard") << "just some text, long enough to have a header";
  EXPECT_EQ(CheckArchiveFile(root_ + "/text.orchard").status().code(), Status::Code::kCorruption);
  // A SQLite database that is not an archive: the store itself.
  auto r = CheckArchiveFile(src_.db_path);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().message();
  EXPECT_EQ(CheckArchiveFile(root_ + "/none").status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace orchard::ci
