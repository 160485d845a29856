#include "orchestrator/infer/job.h"

#include <gtest/gtest.h>

#include "orchestrator/infer/test_util.h"

namespace orchard::infer {
namespace {

using testing::TempDir;
using testing::WriteFile;
namespace fs = std::filesystem;

std::vector<int64_t> Sizes(const std::vector<ShardRange>& s) {
  std::vector<int64_t> out;
  int64_t next = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(s[i].index, static_cast<int>(i));
    EXPECT_EQ(s[i].first, next) << "shard " << i << " is not contiguous";
    next += s[i].count;
    out.push_back(s[i].count);
  }
  return out;
}

TEST(PlanShardsTest, ContiguousNearlyEqualRanges) {
  EXPECT_EQ(Sizes(PlanShards(10, 3)), (std::vector<int64_t>{4, 3, 3}));
  EXPECT_EQ(Sizes(PlanShards(9, 3)), (std::vector<int64_t>{3, 3, 3}));
  EXPECT_EQ(Sizes(PlanShards(7, 1)), (std::vector<int64_t>{7}));
  EXPECT_EQ(Sizes(PlanShards(1000001, 8)).size(), 8u);
}

TEST(PlanShardsTest, NeverAnEmptyShard) {
  EXPECT_EQ(Sizes(PlanShards(2, 5)), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(Sizes(PlanShards(5, 0)), (std::vector<int64_t>{5}));
  EXPECT_EQ(Sizes(PlanShards(0, 4)), (std::vector<int64_t>{0}));
}

TEST(PlanShardsTest, Names) {
  EXPECT_EQ(ShardFileName(7, "list"), "shard-0007.list");
  EXPECT_EQ(ShardFileName(12345, "out"), "shard-12345.out");
}

InputSet Inputs(std::vector<std::string> paths) {
  InputSet s;
  s.root = "/data";
  s.paths = std::move(paths);
  return s;
}

TEST(ManifestTest, RoundTripsThroughTheWorkFolder) {
  TempDir t;
  Manifest m;
  m.job = JobIdentity("abc", Inputs({"a.png", "b.png", "c.png"}), RecordOptions{"csv", 3, false});
  m.bundle = "/b";
  m.output = "/o.csv";
  m.shards = PlanShards(3, 2);
  ASSERT_TRUE(WriteManifest(t.path(), m).ok());
  EXPECT_FALSE(fs::exists(t / "manifest.json.tmp"));
  auto back = ReadManifest(t.path());
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->job, m.job);
  EXPECT_EQ((*back)->shards.size(), 2u);
  EXPECT_EQ((*back)->shards[1].first, 2);
  EXPECT_EQ((*back)->output, "/o.csv");
}

TEST(ManifestTest, NoneInAFreshFolder) {
  TempDir t;
  auto m = ReadManifest(t.path());
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->has_value());
}

TEST(ManifestTest, ABrokenManifestNamesItself) {
  TempDir t;
  WriteFile(t / "manifest.json", "{\"format\": ");
  auto m = ReadManifest(t.path());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("manifest.json:1:"), std::string::npos) << m.status().message();
  WriteFile(t / "manifest.json",
            R"({"format": "orchard-infer-job", "version": 1, "job": {"inputs": 3},
                "shards": [{"index": 0, "first": 0, "count": 1}, {"index": 1, "first": 2, "count": 2}]})");
  m = ReadManifest(t.path());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("not contiguous"), std::string::npos) << m.status().message();
}

TEST(JobIdentityTest, BundleInputsAndOptionsEachMakeAnotherJob) {
  InputSet in = Inputs({"a.png", "b.png"});
  RecordOptions opt{"jsonl", 5, false};
  nlohmann::json base = JobIdentity("sha-1", in, opt);
  EXPECT_EQ(base, JobIdentity("sha-1", in, opt));

  nlohmann::json other_bundle = JobIdentity("sha-2", in, opt);
  EXPECT_NE(base, other_bundle);
  EXPECT_NE(DescribeJobDifference(base, other_bundle).find("the bundle differs"), std::string::npos);

  nlohmann::json other_inputs = JobIdentity("sha-1", Inputs({"a.png"}), opt);
  EXPECT_NE(base, other_inputs);
  EXPECT_NE(DescribeJobDifference(base, other_inputs).find("the inputs differ"), std::string::npos);

  nlohmann::json other_k = JobIdentity("sha-1", in, RecordOptions{"jsonl", 3, false});
  EXPECT_NE(base, other_k);
  std::string why = DescribeJobDifference(base, other_k);
  EXPECT_NE(why.find("the options differ"), std::string::npos) << why;
  EXPECT_EQ(why.find("bundle"), std::string::npos) << why;
}

TEST(WorkFolderTest, ShardListsHoldTheirRanges) {
  TempDir t;
  InputSet in = Inputs({"a", "b", "c", "d", "e"});
  ASSERT_TRUE(WriteShardLists(t.path(), in, PlanShards(5, 2)).ok());
  EXPECT_EQ(testing::ReadFile(t / "shard-0000.list"), "a\nb\nc\n");
  EXPECT_EQ(testing::ReadFile(t / "shard-0001.list"), "d\ne\n");
}

TEST(WorkFolderTest, ClearRemovesOnlyTheJobsFiles) {
  TempDir t;
  for (const char* f : {"manifest.json", "shard-0000.list", "shard-0000.out", "shard-0001.out.tmp",
                        "shard-0001.out.lock", "worker-0-1.stdout", "worker-0-2.shards",
                        "driver.lock"}) {
    WriteFile(t / (std::string("w/") + f), "x");
  }
  auto foreign = ForeignFiles(t / "w");
  ASSERT_TRUE(foreign.ok());
  EXPECT_TRUE(foreign->empty());
  WriteFile(t / "w/mine.txt", "keep me");
  foreign = ForeignFiles(t / "w");
  EXPECT_EQ(*foreign, std::vector<std::string>{"mine.txt"});

  ASSERT_TRUE(ClearWorkFolder(t / "w", /*remove_lock=*/false).ok());
  EXPECT_TRUE(fs::exists(t / "w/driver.lock"));
  EXPECT_TRUE(fs::exists(t / "w/mine.txt"));
  EXPECT_FALSE(fs::exists(t / "w/shard-0000.out"));
  ASSERT_TRUE(ClearWorkFolder(t / "w", /*remove_lock=*/true).ok());
  EXPECT_TRUE(fs::exists(t / "w/mine.txt"));  // so the folder stays
  fs::remove(t / "w/mine.txt");
  WriteFile(t / "w/manifest.json", "x");
  ASSERT_TRUE(ClearWorkFolder(t / "w", /*remove_lock=*/true).ok());
  EXPECT_FALSE(fs::exists(t / "w"));
}

}  // namespace
}  // namespace orchard::infer
