#include "orchestrator/store/store_writer.h"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

namespace orchard::store {
namespace {

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/orchard-writer-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/orchard.db";
    store_ = std::move(SqliteRunStore::Open(path_)).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string NewRun() {
    store::Run r;
    r.status = RunStatus::kRunning;
    r.command = {"t"};
    EXPECT_TRUE(store_->CreateRun(r).ok());
    return r.id;
  }

  std::string dir_, path_;
  std::unique_ptr<SqliteRunStore> store_;
};

TEST_F(WriterTest, FlushCommitsEverythingEnqueuedFromManyThreads) {
  std::string a = NewRun(), b = NewRun();
  StoreWriter writer(std::move(SqliteRunStore::Open(path_)).value());
  constexpr int kPerThread = 25000;
  auto produce = [&](const std::string& id) {
    for (int i = 0; i < kPerThread; i += 50) {
      std::vector<MetricPoint> pts;
      for (int k = i; k < i + 50; ++k) pts.push_back({"loss", k, std::nullopt, 1.0 / (k + 1), 0});
      writer.AppendMetrics(id, std::move(pts));
      if (i % 1000 == 0) writer.AppendLog(id, "stdout", 0, "line " + std::to_string(i) + "\n");
    }
  };
  std::thread ta(produce, a), tb(produce, b);
  ta.join();
  tb.join();
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(writer.committed_points(), 2 * kPerThread);
  for (const auto& id : {a, b}) {
    auto series = store_->GetMetricSeries(id, "loss");
    ASSERT_EQ(series->size(), static_cast<size_t>(kPerThread));
    for (int k = 0; k < kPerThread; ++k) ASSERT_EQ((*series)[k].step, k);
    EXPECT_EQ(store_->GetMetricSummaries(id)->front().count, kPerThread);
    std::string logs;
    auto chunks = store_->GetLogs(id, 0);  // keep the Result alive while iterating
    for (const auto& c : *chunks) logs += c.text;
    EXPECT_NE(logs.find("line 0\n"), std::string::npos);
    EXPECT_NE(logs.find("line 24000\n"), std::string::npos);
  }
}

TEST_F(WriterTest, DestructionFlushes) {
  std::string id = NewRun();
  {
    StoreWriter writer(std::move(SqliteRunStore::Open(path_)).value());
    writer.AppendMetrics(id, {{"acc", 1, 1, 0.5, 0}});
  }
  EXPECT_EQ(store_->GetMetricSeries(id, "acc")->size(), 1u);
}

TEST_F(WriterTest, WritesWhileAnotherConnectionHoldsTheWriteLockBriefly) {
  std::string id = NewRun();
  StoreWriter writer(std::move(SqliteRunStore::Open(path_)).value());
  auto other = std::move(SqliteRunStore::Open(path_)).value();
  {
    Transaction tx(other->db());  // holds the write lock for a while
    ASSERT_TRUE(tx.begin_status().ok());
    writer.AppendMetrics(id, {{"acc", 1, 1, 0.5, 0}});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_TRUE(tx.Commit().ok());
  }
  ASSERT_TRUE(writer.Flush().ok()) << "the writer waits on the lock instead of failing";
  EXPECT_EQ(store_->GetMetricSeries(id, "acc")->size(), 1u);
}

}  // namespace
}  // namespace orchard::store
