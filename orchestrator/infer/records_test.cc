#include "orchestrator/infer/records.h"

#include <gtest/gtest.h>

#include "orchestrator/infer/test_util.h"

namespace orchard::infer {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
namespace fs = std::filesystem;

TEST(RecordsTest, JsonlCountsCompleteLinesOnly) {
  TempDir t;
  WriteFile(t / "a.out", "{\"input\": \"1\"}\n{\"input\": \"2\"}\n{\"input\": \"3\"}\n");
  EXPECT_EQ(CountRecords(t / "a.out", OutFormat::kJsonl), 3);
  EXPECT_TRUE(ShardDone(t / "a.out", 3, OutFormat::kJsonl));
  EXPECT_FALSE(ShardDone(t / "a.out", 4, OutFormat::kJsonl));
  WriteFile(t / "b.out", "{\"input\": \"1\"}\n{\"input\": \"2\"}\n{\"inp");  // cut short
  EXPECT_EQ(CountRecords(t / "b.out", OutFormat::kJsonl), -1);
  EXPECT_FALSE(ShardDone(t / "b.out", 2, OutFormat::kJsonl));
  EXPECT_FALSE(ShardDone(t / "none.out", 0, OutFormat::kJsonl));
}

TEST(RecordsTest, CsvCountsRecordsNotLines) {
  TempDir t;
  WriteFile(t / "a.out",
            "input,label_1,prob_1,error\n"
            "a.png,cat,0.5,\n"
            "\"b,1.png\",,,\"cannot decode:\nline two, \"\"quoted\"\"\"\r\n"
            "c.png,dog,0.25,\n");
  EXPECT_EQ(CountRecords(t / "a.out", OutFormat::kCsv), 3);
  WriteFile(t / "b.out", "input,label_1,prob_1,error\na.png,cat,0.5,\n\"b.png,,,open\n");
  EXPECT_EQ(CountRecords(t / "b.out", OutFormat::kCsv), -1);  // an open quote at the end
  WriteFile(t / "c.out", "");
  EXPECT_EQ(CountRecords(t / "c.out", OutFormat::kCsv), -1);  // not even a header
  WriteFile(t / "d.out", "input,label_1,prob_1,error\n");
  EXPECT_EQ(CountRecords(t / "d.out", OutFormat::kCsv), 0);
}

TEST(RecordsTest, ParseRecordFindsInputAndError) {
  auto r = ParseRecord(R"({"input": "a \"q\".png", "top": [{"label": "error", "prob": 1}]})",
                       OutFormat::kJsonl);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->input, "a \"q\".png");
  EXPECT_FALSE(r->error);
  r = ParseRecord(R"({"input": "b.png", "error": "cannot decode"})", OutFormat::kJsonl);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->error);
  r = ParseRecord(R"({"features": [1], "input": "c.png"})", OutFormat::kJsonl);  // any key order
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input, "c.png");
  EXPECT_FALSE(ParseRecord("not json", OutFormat::kJsonl).ok());

  r = ParseRecord("\"x,\"\"y\"\".png\",cat,0.5,", OutFormat::kCsv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input, "x,\"y\".png");
  EXPECT_FALSE(r->error);
  r = ParseRecord("z.png,,,cannot open", OutFormat::kCsv);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->error);
  r = ParseRecord("\"a,b.png\",,,\"bad, \"\"very\"\" bad\"", OutFormat::kCsv);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input, "a,b.png");
  EXPECT_TRUE(r->error);
  r = ParseRecord("a.png,cat,0.5,\"\"", OutFormat::kCsv);  // a quoted empty error
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->error);
  EXPECT_FALSE(ParseRecord("just-one-field", OutFormat::kCsv).ok());
}

std::vector<ShardRange> ThreeShards() { return PlanShards(5, 3); }  // 2, 2, 1

TEST(MergeTest, JsonlInShardOrder) {
  TempDir t;
  WriteFile(t / "shard-0000.out", "{\"input\": \"a\"}\n{\"input\": \"b\"}\n");
  WriteFile(t / "shard-0001.out", "{\"input\": \"c\"}\n{\"input\": \"d\", \"error\": \"bad\"}\n");
  WriteFile(t / "shard-0002.out", "{\"input\": \"e\"}\n");
  auto m = MergeShards(t.path(), ThreeShards(), {"a", "b", "c", "d", "e"}, OutFormat::kJsonl,
                       t / "out.jsonl");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->records, 5);
  EXPECT_EQ(m->errors, 1);
  EXPECT_EQ(ReadFile(t / "out.jsonl"),
            "{\"input\": \"a\"}\n{\"input\": \"b\"}\n{\"input\": \"c\"}\n"
            "{\"input\": \"d\", \"error\": \"bad\"}\n{\"input\": \"e\"}\n");
  EXPECT_FALSE(fs::exists(t / "out.jsonl.tmp"));
}

TEST(MergeTest, CsvHeaderOnce) {
  TempDir t;
  const std::string h = "input,label_1,prob_1,error\n";
  WriteFile(t / "shard-0000.out", h + "a,cat,0.5,\nb,dog,0.5,\n");
  WriteFile(t / "shard-0001.out", h + "\"c\nc\",cat,0.5,\nd,,,oops\n");
  WriteFile(t / "shard-0002.out", h + "e,fish,1,\n");
  auto m = MergeShards(t.path(), ThreeShards(), {"a", "b", "c\nc", "d", "e"}, OutFormat::kCsv,
                       t / "out.csv");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->records, 5);
  EXPECT_EQ(m->errors, 1);
  EXPECT_EQ(ReadFile(t / "out.csv"),
            h + "a,cat,0.5,\nb,dog,0.5,\n\"c\nc\",cat,0.5,\nd,,,oops\ne,fish,1,\n");
}

TEST(MergeTest, ARecordOutOfPlaceIsRefusedAndNothingWritten) {
  TempDir t;
  WriteFile(t / "out.jsonl", "previous\n");
  WriteFile(t / "shard-0000.out", "{\"input\": \"a\"}\n{\"input\": \"b\"}\n");
  WriteFile(t / "shard-0001.out", "{\"input\": \"d\"}\n{\"input\": \"c\"}\n");  // swapped
  WriteFile(t / "shard-0002.out", "{\"input\": \"e\"}\n");
  auto m = MergeShards(t.path(), ThreeShards(), {"a", "b", "c", "d", "e"}, OutFormat::kJsonl,
                       t / "out.jsonl");
  ASSERT_EQ(m.status().code(), Status::Code::kCorruption);
  EXPECT_NE(m.status().message().find("shard-0001.out: record 1 is for 'd', expected 'c'"),
            std::string::npos)
      << m.status().message();
  EXPECT_EQ(ReadFile(t / "out.jsonl"), "previous\n");
  EXPECT_FALSE(fs::exists(t / "out.jsonl.tmp"));
}

TEST(MergeTest, ShortAndMismatchedCsvHeadersAreRefused) {
  TempDir t;
  WriteFile(t / "shard-0000.out", "input,l,p,error\na,x,1,\nb,x,1,\n");
  WriteFile(t / "shard-0001.out", "input,other,error\nc,x,\nd,x,\n");
  WriteFile(t / "shard-0002.out", "input,l,p,error\ne,x,1,\n");
  auto m = MergeShards(t.path(), ThreeShards(), {"a", "b", "c", "d", "e"}, OutFormat::kCsv,
                       t / "o.csv");
  EXPECT_NE(m.status().message().find("header differs"), std::string::npos) << m.status().message();
  WriteFile(t / "shard-0001.out", "input,l,p,error\nc,x,1,\n");
  m = MergeShards(t.path(), ThreeShards(), {"a", "b", "c", "d", "e"}, OutFormat::kCsv, t / "o.csv");
  EXPECT_NE(m.status().message().find("1 records for 2 inputs"), std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace orchard::infer
