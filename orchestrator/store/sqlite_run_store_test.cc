#include "orchestrator/store/sqlite_run_store.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "orchestrator/store/schema.h"

namespace orchard::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/orchard-store-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto s = SqliteRunStore::Open(dir_ + "/orchard.db");
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  store::Run NewRun(const std::string& name, nlohmann::json flags = nlohmann::json::object()) {
    store::Run r;
    r.name = name;
    r.status = RunStatus::kRunning;
    r.command = {"python3", "train.py"};
    r.flags = std::move(flags);
    r.created_at = 1000;
    EXPECT_TRUE(store_->CreateRun(r).ok());
    return r;
  }

  std::string dir_;
  std::unique_ptr<SqliteRunStore> store_;
};

TEST_F(StoreTest, FileIsInWalModeWithTheCurrentSchema) {
  auto st = store_->db().Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(st->Step());
  EXPECT_EQ(st->Text(0), "wal");
  auto v = store_->db().Prepare("PRAGMA user_version");
  ASSERT_TRUE(v->Step());
  EXPECT_EQ(v->Int(0), SchemaVersion());
}

TEST_F(StoreTest, RefusesAStoreFromANewerOrchard) {
  ASSERT_TRUE(store_->db().Exec("PRAGMA user_version = 999").ok());
  store_.reset();
  auto s = SqliteRunStore::Open(dir_ + "/orchard.db");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("schema version 999"), std::string::npos)
      << s.status().message();
}

TEST_F(StoreTest, ReopeningKeepsEverything) {
  store::Run r = NewRun("keep", {{"lr", 0.1}});
  ASSERT_TRUE(store_->AppendMetrics(r.id, {{"loss", 0, std::nullopt, 1.0, 1}}).ok());
  store_.reset();
  auto s = SqliteRunStore::Open(dir_ + "/orchard.db");
  ASSERT_TRUE(s.ok());
  auto got = (*s)->GetRun(r.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->flags["lr"], 0.1);
  EXPECT_EQ((*s)->GetMetricSeries(r.id, "loss")->size(), 1u);
}

TEST_F(StoreTest, CreateRunAssignsShortUniqueIdsAndSequence) {
  store::Run a = NewRun("a"), b = NewRun("b");
  EXPECT_EQ(a.id.size(), 8u);
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(b.seq, a.seq + 1);
  auto got = store_->GetRun(a.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "a");
  EXPECT_EQ(got->command, (std::vector<std::string>{"python3", "train.py"}));
  EXPECT_EQ(got->status, RunStatus::kRunning);
}

TEST_F(StoreTest, ResolvesPrefixesAndNamesAndExplainsAmbiguity) {
  store::Run a = NewRun("alpha");
  EXPECT_EQ(*store_->ResolveRunId(a.id), a.id);
  EXPECT_EQ(*store_->ResolveRunId(a.id.substr(0, 4)), a.id);
  EXPECT_EQ(*store_->ResolveRunId("alpha"), a.id);
  auto missing = store_->ResolveRunId("zz-nothing");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  // Two runs with the same name: the name is ambiguous.
  NewRun("twin");
  NewRun("twin");
  auto twin = store_->ResolveRunId("twin");
  EXPECT_EQ(twin.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(twin.status().message().find("ambiguous"), std::string::npos);
}

TEST_F(StoreTest, FlagsAreQueryableByValueAndNumber) {
  store::Run r = NewRun("f", {{"lr", 0.01}, {"optimizer", "adam"}, {"augment", true}, {"layers", 3}});
  auto st = store_->db().Prepare("SELECT name, value, num FROM run_flags WHERE run_id = ? ORDER BY name");
  st->Bind(1, r.id);
  std::vector<std::tuple<std::string, std::string, std::optional<double>>> rows;
  while (st->Step()) rows.emplace_back(st->Text(0), st->Text(1), st->OptDouble(2));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], std::make_tuple(std::string("augment"), std::string("true"), std::optional<double>(1)));
  EXPECT_EQ(rows[1], std::make_tuple(std::string("layers"), std::string("3"), std::optional<double>(3)));
  EXPECT_EQ(rows[2], std::make_tuple(std::string("lr"), std::string("0.01"), std::optional<double>(0.01)));
  EXPECT_EQ(rows[3], std::make_tuple(std::string("optimizer"), std::string("adam"), std::optional<double>()));
}

TEST_F(StoreTest, MetricsAndSummariesAcrossBatches) {
  store::Run r = NewRun("m");
  ASSERT_TRUE(store_->AppendMetrics(r.id, {{"acc", 0, 0, 0.5, 1}, {"acc", 1, 0, 0.8, 2}}).ok());
  ASSERT_TRUE(store_->AppendMetrics(r.id, {{"acc", 2, 1, 0.7, 3},
                                           {"loss", 2, 1, std::nan(""), 3}}).ok());
  auto series = store_->GetMetricSeries(r.id, "acc");
  ASSERT_EQ(series->size(), 3u);
  EXPECT_EQ((*series)[2].epoch, 1);
  auto sums = store_->GetMetricSummaries(r.id);
  ASSERT_EQ(sums->size(), 1u) << "a NaN point is stored but not summarised";
  const MetricSummary& acc = sums->front();
  EXPECT_DOUBLE_EQ(acc.last, 0.7);
  EXPECT_DOUBLE_EQ(acc.min, 0.5);
  EXPECT_DOUBLE_EQ(acc.max, 0.8);
  EXPECT_EQ(acc.last_step, 2);
  EXPECT_EQ(acc.count, 3);
  auto loss = store_->GetMetricSeries(r.id, "loss");
  ASSERT_EQ(loss->size(), 1u);
  EXPECT_TRUE(std::isnan(loss->front().value));
}

TEST_F(StoreTest, FinishRunRecordsTheEndOnce) {
  store::Run r = NewRun("end");
  ASSERT_TRUE(store_->MarkStarted(r.id, 4242, 1001).ok());
  ASSERT_TRUE(store_->FinishRun(r.id, RunStatus::kFailed, 3, 1005, "boom").ok());
  // A terminal state is final: a late "completed" does not overwrite it.
  ASSERT_TRUE(store_->FinishRun(r.id, RunStatus::kCompleted, 0, 1006, "").ok());
  auto got = store_->GetRun(r.id);
  EXPECT_EQ(got->status, RunStatus::kFailed);
  EXPECT_EQ(got->exit_code, 3);
  EXPECT_EQ(got->pid, 4242);
  EXPECT_EQ(got->started_at, 1001);
  EXPECT_EQ(got->finished_at, 1005);
  EXPECT_EQ(got->error, "boom");
}

TEST_F(StoreTest, LogsKeepOrderAndText) {
  store::Run r = NewRun("logs");
  ASSERT_TRUE(store_->AppendLog(r.id, "stdout", 1, "one\n").ok());
  ASSERT_TRUE(store_->AppendLog(r.id, "stderr", 2, "two\n").ok());
  ASSERT_TRUE(store_->AppendLog(r.id, "stdout", 3, "").ok());  // empty: nothing stored
  auto logs = store_->GetLogs(r.id, 0);
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_EQ((*logs)[0].text, "one\n");
  EXPECT_EQ((*logs)[1].stream, "stderr");
  EXPECT_EQ(store_->GetLogs(r.id, (*logs)[0].seq)->size(), 1u);
}

TEST_F(StoreTest, SnapshotsAreContentAddressedAndShared) {
  Snapshot s1;
  s1.id = "snap1";
  s1.root = "/src";
  s1.files = {{"a.py", "h-a", 0644, "print(1)\n"}, {"b.py", "h-b", 0755, "print(2)\n"}};
  Snapshot s2 = s1;
  s2.id = "snap2";
  s2.files[1] = {"b.py", "h-b2", 0644, "print(3)\n"};
  ASSERT_TRUE(store_->PutSnapshot(s1).ok());
  ASSERT_TRUE(store_->PutSnapshot(s1).ok());  // again: a no-op
  ASSERT_TRUE(store_->PutSnapshot(s2).ok());
  auto blobs = store_->db().Prepare("SELECT count(*) FROM blobs");
  ASSERT_TRUE(blobs->Step());
  EXPECT_EQ(blobs->Int(0), 3) << "a.py's blob is shared by both snapshots";
  auto got = store_->GetSnapshot("snap2", true);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->files.size(), 2u);
  EXPECT_EQ(got->files[1].content, "print(3)\n");
  auto bare = store_->GetSnapshot("snap1", false);
  EXPECT_EQ(bare->files[1].mode, 0755);
  EXPECT_TRUE(bare->files[0].content.empty());
  EXPECT_EQ(store_->GetSnapshot("nope", false).status().code(), Status::Code::kNotFound);
}

// Regression: a lookup that found its row left the statement open, and the
// next write on the connection failed with "database is locked" once another
// connection had committed in between.
TEST_F(StoreTest, FoundSnapshotDoesNotBlockLaterWritesAfterAnotherCommit) {
  Snapshot s;
  s.id = "same";
  s.files = {{"a", "h", 0644, "x"}};
  store::Run r = NewRun("r");
  ASSERT_TRUE(store_->PutSnapshot(s).ok());
  ASSERT_TRUE(store_->PutSnapshot(s).ok());
  auto other = SqliteRunStore::Open(dir_ + "/orchard.db");
  ASSERT_TRUE((*other)->AppendLog(r.id, "stdout", 1, "from elsewhere\n").ok());
  Status s2 = store_->FinishRun(r.id, RunStatus::kCompleted, 0, 2, "");
  EXPECT_TRUE(s2.ok()) << s2.message();
}

TEST_F(StoreTest, TagsNotesAndDelete) {
  store::Run r = NewRun("t");
  store::Run other = NewRun("u");
  ASSERT_TRUE(store_->AddTags(r.id, {"best", "baseline", "best"}).ok());
  ASSERT_TRUE(store_->RemoveTags(r.id, {"baseline"}).ok());
  ASSERT_TRUE(store_->SetNotes(r.id, "looks good").ok());
  ASSERT_TRUE(store_->AppendMetrics(r.id, {{"acc", 0, 0, 0.5, 1}}).ok());
  ASSERT_TRUE(store_->AppendLog(r.id, "stdout", 1, "x").ok());
  ASSERT_TRUE(store_->PutArtifacts(r.id, {{"model.pt", 10, "abc", 5}}).ok());
  auto got = store_->GetRun(r.id);
  EXPECT_EQ(got->tags, (std::vector<std::string>{"best"}));
  EXPECT_EQ(got->notes, "looks good");
  ASSERT_TRUE(store_->DeleteRun(r.id).ok());
  EXPECT_EQ(store_->GetRun(r.id).status().code(), Status::Code::kNotFound);
  for (const char* table : {"metrics", "metric_summary", "logs", "artifacts", "tags", "run_flags"}) {
    auto q = store_->db().Prepare(std::string("SELECT count(*) FROM ") + table + " WHERE run_id = ?");
    q->Bind(1, r.id);
    ASSERT_TRUE(q->Step());
    EXPECT_EQ(q->Int(0), 0) << table;
  }
  EXPECT_TRUE(store_->GetRun(other.id).ok()) << "other runs are untouched";
}

TEST_F(StoreTest, ListAndCountWithAWhereClauseAndParams) {
  for (int i = 0; i < 5; ++i) NewRun("n" + std::to_string(i), {{"i", i}});
  RunQuery q;
  q.where_sql = "r.id IN (SELECT run_id FROM run_flags WHERE name = ? AND num >= ?)";
  q.params = {SqlParam(std::string("i")), SqlParam(2.0)};
  q.order_sql = "r.seq ASC";
  q.limit = 2;
  auto runs = store_->ListRuns(q);
  ASSERT_TRUE(runs.ok()) << runs.status().message();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].name, "n2");
  EXPECT_EQ(*store_->CountRuns(q), 3);
}

TEST_F(StoreTest, TransactionRollsBackUnlessCommitted) {
  store::Run r = NewRun("tx");
  {
    auto tx = store_->Begin();
    ASSERT_TRUE(store_->SetNotes(r.id, "uncommitted").ok());
  }
  EXPECT_EQ(store_->GetRun(r.id)->notes, "");
}

}  // namespace
}  // namespace orchard::store
