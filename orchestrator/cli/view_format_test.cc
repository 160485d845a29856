#include "orchestrator/cli/view_format.h"

#include <gtest/gtest.h>

namespace orchard::cli {
namespace {

TEST(ViewFormatTest, CompactFlagsInNameOrder) {
  EXPECT_EQ(CompactFlags({{"lr", 0.1}, {"batch", 32}, {"opt", "adam"}, {"aug", true}}),
            "aug=true batch=32 lr=0.1 opt=adam");
  EXPECT_EQ(CompactFlags(nlohmann::json::object()), "");
}

TEST(ViewFormatTest, LowerIsBetterForLossAndError) {
  EXPECT_TRUE(LowerIsBetter("train_loss"));
  EXPECT_TRUE(LowerIsBetter("val_Error"));
  EXPECT_TRUE(LowerIsBetter("wer_err"));
  EXPECT_FALSE(LowerIsBetter("val_acc"));
  EXPECT_FALSE(LowerIsBetter("f1"));
}

TEST(ViewFormatTest, ParseColumns) {
  auto cols = ParseColumns("id, flags.lr ,metrics.val_acc.max,`my,flag`");
  ASSERT_TRUE(cols.ok()) << cols.status().message();
  ASSERT_EQ(cols->size(), 4u);
  EXPECT_EQ((*cols)[1].header, "flags.lr");
  EXPECT_EQ((*cols)[1].field.kind, query::FieldRef::Kind::kFlag);
  EXPECT_EQ((*cols)[2].field.stat, query::MetricStat::kMax);
  EXPECT_EQ((*cols)[3].field.name, "my,flag");
  auto groups = ParseColumns("flags,metrics,`flags`");
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE(IsGroup((*groups)[0]));
  EXPECT_TRUE(IsGroup((*groups)[1]));
  EXPECT_FALSE(IsGroup((*groups)[2]));  // quoted: the field called "flags"
  EXPECT_FALSE(ParseColumns("").ok());
  EXPECT_FALSE(ParseColumns("-lr").ok());
  EXPECT_FALSE(ParseColumns("flags.").ok());
}

TEST(ViewFormatTest, FieldValues) {
  RunView v;
  v.run.id = "abc";
  v.run.flags = {{"lr", 0.1}};
  v.run.started_at = 100;
  v.run.finished_at = 160;
  v.run.status = store::RunStatus::kCompleted;
  v.run.tags = {"a", "b"};
  v.metrics.push_back({"lr", 9, 1, 10, 5, 3});  // a metric named like a flag
  auto col = [](const std::string& s) { return ParseColumns(s)->front().field; };
  EXPECT_DOUBLE_EQ(FieldValue(v, col("lr"), 0).get<double>(), 0.1);  // the flag wins
  EXPECT_DOUBLE_EQ(FieldValue(v, col("metrics.lr.min"), 0).get<double>(), 1);
  EXPECT_EQ(FieldValue(v, col("metrics.lr.count"), 0), 3);
  EXPECT_DOUBLE_EQ(FieldValue(v, col("duration"), 0).get<double>(), 60);
  EXPECT_EQ(FieldText(v, col("duration"), 0), "1m00s");
  EXPECT_EQ(FieldValue(v, col("tags"), 0), "a,b");
  EXPECT_TRUE(FieldValue(v, col("flags.nope"), 0).is_null());
  EXPECT_TRUE(FieldValue(v, col("exit_code"), 0).is_null());
}

TEST(ViewFormatTest, MetricsMentioned) {
  auto m = MetricsMentioned("metrics.val_acc > 0.5 and (loss < 1 or status = failed)",
                            {"-metrics.f1.max", "val_acc"});
  EXPECT_EQ(m, (std::vector<std::string>{"val_acc", "loss", "f1"}));
  EXPECT_TRUE(MetricsMentioned("((", {}).empty());
}

TEST(ViewFormatTest, PrintableAndSizes) {
  EXPECT_EQ(Printable("a\x1b[2J\nb\tc"), "a?[2J\nb\tc");
  EXPECT_EQ(HumanSize(10), "10 B");
  EXPECT_EQ(HumanSize(1536), "1.5 KiB");
  EXPECT_EQ(HumanSize(3 << 20), "3.0 MiB");
}

}  // namespace
}  // namespace orchard::cli
