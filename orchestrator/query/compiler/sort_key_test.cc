// Sort keys compiled to ORDER BY terms and run against the test store.
#include <gtest/gtest.h>

#include "orchestrator/query/compiler/sql.h"
#include "orchestrator/query/compiler/test_runs.h"

namespace orchard::query {
namespace {

using SortKeySql = testing::TestRuns;

TEST_F(SortKeySql, BuiltinColumns) {
  EXPECT_EQ(Sorted("created"), "0e7 a1 b2 c3 e5 1e5 d4 f6");
  EXPECT_EQ(Sorted("-created"), "f6 d4 1e5 e5 c3 b2 a1 0e7");
  EXPECT_EQ(Sorted("created desc"), "f6 d4 1e5 e5 c3 b2 a1 0e7");
  EXPECT_EQ(Sorted("status, -id"), "1e5 c3 a1 0e7 b2 e5 f6 d4");
}

TEST_F(SortKeySql, RunsLackingTheFieldSortLastBothWays) {
  // f6 has no name; d4 and f6 never finished.
  EXPECT_EQ(Sorted("name"), "1e5 0e7 c3 b2 a1 e5 d4 f6");
  EXPECT_EQ(Sorted("-name"), "d4 e5 a1 b2 c3 0e7 1e5 f6");
  EXPECT_EQ(Sorted("duration"), "1e5 b2 0e7 e5 a1 c3 d4 f6");
  EXPECT_EQ(Sorted("-duration"), "c3 a1 e5 b2 0e7 1e5 d4 f6");
  EXPECT_EQ(Sorted("exit_code desc"), "e5 1e5 b2 a1 c3 0e7 d4 f6");
}

TEST_F(SortKeySql, Metrics) {
  EXPECT_EQ(Sorted("-metrics.val_acc"), "c3 0e7 a1 1e5 d4 e5 b2 f6");
  EXPECT_EQ(Sorted("metrics.val_acc.max desc"), "c3 0e7 a1 1e5 d4 e5 b2 f6");
  EXPECT_EQ(Sorted("metrics.val_acc.min"), "b2 a1 c3 e5 d4 1e5 0e7 f6");
  EXPECT_EQ(Sorted("-metrics.val_acc.count, id"), "c3 a1 b2 0e7 1e5 d4 e5 f6");
  EXPECT_EQ(Sorted("metrics.\"val/acc\""), "c3 a1 b2 d4 e5 f6 0e7 1e5");
}

TEST_F(SortKeySql, FlagsSortNumbersBeforeText) {
  // 1e5's lr is the text "auto": after every number, before runs without lr.
  EXPECT_EQ(Sorted("flags.lr"), "d4 c3 b2 e5 a1 1e5 f6 0e7");
  EXPECT_EQ(Sorted("flags.optimizer"), "a1 c3 0e7 1e5 d4 b2 e5 f6");
  // A bare name is the flag, else the metric: 0e7's metric lr = 0.02 sorts among the flags.
  EXPECT_EQ(Sorted("lr"), "d4 c3 b2 0e7 e5 a1 1e5 f6");
  EXPECT_EQ(Sorted("-lr"), "1e5 a1 e5 0e7 b2 c3 d4 f6");
}

TEST_F(SortKeySql, Errors) {
  EXPECT_EQ(Sorted("tag"), "error: sort key: at column 1: cannot sort by tag; a run has many");
  EXPECT_EQ(Sorted("-"), "error: sort key: at column 2: expected a field name, got end of input");
  EXPECT_EQ(Sorted("name; DROP TABLE runs"),
            "error: sort key: at column 5: unexpected character ';'");
  EXPECT_EQ(CountRows("runs"), 8);
}

TEST_F(SortKeySql, NamesAreParameters) {
  Result<SqlFragment> order = CompileSortKey("flags.`x) DESC; DROP TABLE runs; --`, -lr");
  ASSERT_TRUE(order.ok()) << order.status().message();
  EXPECT_EQ(order->sql.find("DROP"), std::string::npos);
  ASSERT_EQ(order->params.size(), 3u);
  EXPECT_EQ(std::get<std::string>(order->params[0]), "x) DESC; DROP TABLE runs; --");
  EXPECT_EQ(Sorted("flags.`x) DESC; DROP TABLE runs; --`, -lr"), "1e5 a1 e5 0e7 b2 c3 d4 f6");
}

}  // namespace
}  // namespace orchard::query
