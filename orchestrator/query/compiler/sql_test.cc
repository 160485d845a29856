// End-to-end: filters compiled to SQL and run against an in-memory store.
// The eight runs are described in test_runs.h; now is 2026-11-20 12:00 local.
#include "orchestrator/query/compiler/sql.h"

#include <gtest/gtest.h>

#include <string>

#include "orchestrator/query/compiler/test_runs.h"

namespace orchard::query {
namespace {

using FilterSql = testing::TestRuns;

const char* kAll = "a1 b2 c3 d4 e5 f6 0e7 1e5";

TEST_F(FilterSql, EmptyFilterMatchesEverything) {
  Result<SqlFragment> f = CompileFilter("  ", testing::TestNow());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->sql, "1");
  EXPECT_TRUE(f->params.empty());
  EXPECT_EQ(Ids(""), kAll);
}

TEST_F(FilterSql, Status) {
  EXPECT_EQ(Ids("status = failed"), "b2");
  EXPECT_EQ(Ids("STATUS == 'FAILED'"), "b2");
  EXPECT_EQ(Ids("status != completed"), "b2 d4 e5 f6 1e5");
  EXPECT_EQ(Ids("status in (failed, cancelled)"), "b2 1e5");
  EXPECT_EQ(Ids("status not in (completed, running, queued)"), "b2 e5 1e5");
  EXPECT_EQ(Ids("status ~ 'c*'"), "a1 c3 0e7 1e5");
}

TEST_F(FilterSql, StatusIsValidated) {
  EXPECT_EQ(Ids("status = faild"),
            "error: filter: at column 10: 'faild' is not a run status; valid: queued, running, "
            "completed, failed, cancelled, pruned");
  EXPECT_NE(Ids("status in (failed, done)").find("at column 20: 'done' is not a run status"),
            std::string::npos);
  EXPECT_EQ(Ids("status > failed"),
            "error: filter: at column 1: status is not ordered; use =, !=, ~, !~, in or not in");
}

TEST_F(FilterSql, OrAndNotAndPrecedence) {
  EXPECT_EQ(Ids("status = failed or status = pruned"), "b2 e5");
  // and binds tighter than or.
  EXPECT_EQ(Ids("optimizer = adam and lr < 0.01 or status = failed"), "b2 c3");
  EXPECT_EQ(Ids("optimizer = adam and (lr < 0.01 or status = failed)"), "c3");
  EXPECT_EQ(Ids("NOT status = completed"), "b2 d4 e5 f6 1e5");
  EXPECT_EQ(Ids("not not status = failed"), "b2");
  EXPECT_EQ(Ids("not (status = completed or status = queued) and tag = baseline"), "1e5");
}

TEST_F(FilterSql, NotIsTrueForRunsLackingTheField) {
  // lr > 0.01 holds for a1 and e5; every other run, with or without the flag, is "not".
  EXPECT_EQ(Ids("not flags.lr > 0.01"), "b2 c3 d4 f6 0e7 1e5");
  EXPECT_EQ(Ids("not exit_code = 0"), "b2 d4 e5 f6 1e5");
}

TEST_F(FilterSql, NegationsExcludeRunsLackingTheField) {
  // f6 and 0e7 have no flag lr; 1e5's lr is the text "auto", which is not 0.1.
  EXPECT_EQ(Ids("flags.lr != 0.1"), "b2 c3 d4 e5 1e5");
  EXPECT_EQ(Ids("flags.lr not in (0.1, 0.01)"), "c3 d4 e5 1e5");
  EXPECT_EQ(Ids("exit_code != 0"), "b2 e5 1e5");
  EXPECT_EQ(Ids("host != gpu-01"), "b2 d4 0e7 1e5");
  EXPECT_EQ(Ids("tune != t1"), "c3 e5");
  EXPECT_EQ(Ids("name !~ 'resnet*'"), "c3 d4 0e7 1e5");
}

TEST_F(FilterSql, FlagsCompareNumbersOrText) {
  EXPECT_EQ(Ids("flags.batch = 64"), "b2");
  EXPECT_EQ(Ids("flags.batch = 64.0"), "b2");
  EXPECT_EQ(Ids("flags.batch = '64'"), "b2");
  EXPECT_EQ(Ids("flag.batch >= 64"), "b2 c3");
  EXPECT_EQ(Ids("flags.lr <= 1e-3"), "c3 d4");
  EXPECT_EQ(Ids("flags.optimizer = adam"), "a1 c3 0e7 1e5");
  EXPECT_EQ(Ids("flags.optimizer in (sgd, adamw)"), "b2 d4 e5");
  EXPECT_EQ(Ids("flags.lr in (0.1, auto)"), "a1 1e5");
  EXPECT_EQ(Ids("flags.lr not in (0.1, auto)"), "b2 c3 d4 e5");
  EXPECT_EQ(Ids("flags.optimizer ~ 'adam*'"), "a1 c3 d4 0e7 1e5");
  EXPECT_EQ(Ids("flags.nope = 1"), "");
}

TEST_F(FilterSql, Booleans) {
  EXPECT_EQ(Ids("flags.pretrained = true"), "a1");
  EXPECT_EQ(Ids("pretrained = FALSE"), "b2");
  EXPECT_EQ(Ids("flags.pretrained != true"), "b2");
}

TEST_F(FilterSql, Ranges) {
  EXPECT_EQ(Ids("flags.lr in [0.001, 0.05]"), "b2 c3 e5");
  EXPECT_EQ(Ids("flags.lr in [0.001, 0.05)"), "b2 c3");
  EXPECT_EQ(Ids("flags.lr in (0.001, 0.05]"), "b2 e5");
  EXPECT_EQ(Ids("flags.lr between 0.001 and 0.01"), "b2 c3");
  EXPECT_EQ(Ids("flags.lr BETWEEN 0.001 AND 0.01 and status = failed"), "b2");
  EXPECT_EQ(Ids("flags.lr not between 0.001 and 0.01"), "a1 d4 e5 1e5");
  EXPECT_EQ(Ids("metrics.val_acc not in [0.5, 0.85]"), "b2 c3 0e7");
  EXPECT_EQ(Ids("name in [m, s]"), "a1 b2 c3 e5");
  EXPECT_EQ(Ids("flags.lr in [0.01, auto]"),
            "error: filter: at column 20: the bounds of a range must both be numbers or both be "
            "text");
}

TEST_F(FilterSql, Metrics) {
  EXPECT_EQ(Ids("metrics.val_acc > 0.8"), "a1 c3 0e7");
  EXPECT_EQ(Ids("metric.val_acc.last > 0.8"), "a1 c3 0e7");
  EXPECT_EQ(Ids("metrics.val_acc.max >= 0.85"), "a1 c3 0e7");
  EXPECT_EQ(Ids("metrics.val_acc.count > 5"), "a1 c3");
  EXPECT_EQ(Ids("metrics.val_acc.min < 0.2"), "b2");
  EXPECT_EQ(Ids("metrics.val_acc != 0.42"), "a1 c3 d4 e5 0e7 1e5");
  EXPECT_EQ(Ids("metrics.val_acc = high"),
            "error: filter: at column 19: metrics.val_acc holds numbers; 'high' is not a number");
  EXPECT_EQ(Ids("metrics.val_acc ~ '0.8*'"),
            "error: filter: at column 19: '~' matches text, but metrics.val_acc is not text");
}

TEST_F(FilterSql, QuotedAndDottedNames) {
  EXPECT_EQ(Ids("metrics.\"val/acc\" = 0.5"), "c3");
  EXPECT_EQ(Ids("flags.`my-flag` = x"), "c3");
  EXPECT_EQ(Ids("`my-flag` = x"), "c3");
  EXPECT_EQ(Ids("my-flag = x"), "c3");
  EXPECT_EQ(Ids("metrics.train.loss < 0.25"), "c3");
  EXPECT_EQ(Ids("metrics.train.loss.max = 0.7"), "c3");
  EXPECT_EQ(Ids("metrics.`train.loss`.min = 0.2"), "c3");
  EXPECT_EQ(Ids("`train.loss` < 0.25"), "c3");
}

TEST_F(FilterSql, BareNamesAreTheFlagElseTheMetric) {
  // 0e7 has no flag lr but a metric lr = 0.02; 1e5's flag "auto" shadows its metric 0.5.
  EXPECT_EQ(Ids("lr < 0.03"), "b2 c3 d4 0e7");
  EXPECT_EQ(Ids("lr < 1"), "a1 b2 c3 d4 e5 0e7");
  EXPECT_EQ(Ids("lr = auto"), "1e5");
  EXPECT_EQ(Ids("lr != 0.1"), "b2 c3 d4 e5 0e7 1e5");
  EXPECT_EQ(Ids("lr < 0.01 and val_acc > 0.8"), "c3");
  EXPECT_EQ(Ids("optimizer = adam"), "a1 c3 0e7 1e5");
  EXPECT_EQ(Ids("val_acc in [0.6, 0.77]"), "d4 e5 1e5");
}

TEST_F(FilterSql, Glob) {
  EXPECT_EQ(Ids("name ~ 'resnet*'"), "a1 b2 e5");
  EXPECT_EQ(Ids("name ~ resnet50*"), "error: filter: at column 16: unexpected character '*'");
  EXPECT_EQ(Ids("id ~ '1*'"), "1e5");
  EXPECT_EQ(Ids("notes ~ '*OOM*'"), "b2");
  EXPECT_EQ(Ids("notes ~ '*oom*'"), "");  // GLOB is case-sensitive
  EXPECT_EQ(Ids("host ~ 'gpu-0[12]'"), "a1 b2 c3 0e7");
}

TEST_F(FilterSql, Tags) {
  EXPECT_EQ(Ids("tag = best"), "a1 c3 0e7");
  EXPECT_EQ(Ids("tag != best"), "b2 d4 e5 f6 1e5");
  EXPECT_EQ(Ids("tags in (oom, baseline)"), "a1 b2 1e5");
  EXPECT_EQ(Ids("tag not in (best, baseline)"), "b2 d4 e5 f6");
  EXPECT_EQ(Ids("tag = 'weird tag'"), "0e7");
  EXPECT_EQ(Ids("tag ~ 'base*'"), "a1 1e5");
  EXPECT_EQ(Ids("tag !~ 'b*'"), "b2 d4 e5 f6");
  EXPECT_EQ(Ids("tag = best and tag = baseline"), "a1");
  EXPECT_EQ(Ids("tag > a"), "error: filter: at column 1: tag supports =, !=, ~, !~, in and not in");
}

TEST_F(FilterSql, BuiltinTextFieldsUseTheTextWritten) {
  EXPECT_EQ(Ids("id = 1e5"), "1e5");  // a number to the lexer, text to id
  EXPECT_EQ(Ids("id = 0e7"), "0e7");
  EXPECT_EQ(Ids("id in (a1, '0e7', 1e5)"), "a1 0e7 1e5");
  EXPECT_EQ(Ids("id = a"), "");  // exact, not a prefix
  EXPECT_EQ(Ids("host = gpu-01"), "a1 c3");
  EXPECT_EQ(Ids("tune = t1"), "a1 b2");
  EXPECT_EQ(Ids("name = mobilenet_v2"), "c3");
}

TEST_F(FilterSql, ExitCodeAndDuration) {
  EXPECT_EQ(Ids("exit_code in (1, 130)"), "b2 1e5");
  EXPECT_EQ(Ids("exit_code > 100"), "e5 1e5");
  EXPECT_EQ(Ids("exit_code = 1.5"),
            "error: filter: at column 13: exit_code compares with whole numbers, not '1.5'");
  EXPECT_EQ(Ids("duration > 1h"), "c3");
  EXPECT_EQ(Ids("duration >= 3600"), "a1 c3");
  EXPECT_EQ(Ids("duration < 15m"), "b2 0e7 1e5");
  EXPECT_EQ(Ids("duration in [10m, 20m]"), "b2 e5 0e7");
  EXPECT_EQ(Ids("duration > '1h30m'"), "c3");
  EXPECT_EQ(Ids("duration > 1d"), "");
  EXPECT_EQ(Ids("not duration > 0"), "d4 f6");  // never finished
}

TEST_F(FilterSql, AbsoluteDates) {
  EXPECT_EQ(Ids("created = 2026-11-01"), "a1 b2");  // the whole day
  EXPECT_EQ(Ids("created != 2026-11-01"), "c3 d4 e5 f6 0e7 1e5");
  EXPECT_EQ(Ids("created > 2026-11-01"), "c3 d4 e5 f6 1e5");  // from the next day
  EXPECT_EQ(Ids("created >= 2026-11-01"), "a1 b2 c3 d4 e5 f6 1e5");
  EXPECT_EQ(Ids("created < 2026-11-01"), "0e7");
  EXPECT_EQ(Ids("created <= 2026-11-01"), "a1 b2 0e7");
  EXPECT_EQ(Ids("created in [2026-11-01, 2026-11-05]"), "a1 b2 c3");
  EXPECT_EQ(Ids("created in [2026-11-01, 2026-11-05)"), "a1 b2");
  EXPECT_EQ(Ids("created between 2026-11-01 and 2026-11-10"), "a1 b2 c3 e5");
  EXPECT_EQ(Ids("created in (2026-11-05, 2026-11-10)"), "c3 e5");
  EXPECT_EQ(Ids("created >= 2026-11-01T15:00"), "b2 c3 d4 e5 f6 1e5");
  EXPECT_EQ(Ids("created = 2026-11-01T15:30"), "b2");       // the whole minute
  EXPECT_EQ(Ids("created = '2026-11-01 15:30'"), "b2");
  EXPECT_EQ(Ids("created = 2026-11-01 15:30:00"), "b2");    // the second
  EXPECT_EQ(Ids("created < \"2026-11-01 09:00:01\""), "a1 0e7");
  EXPECT_EQ(Ids("finished < 2026-11-02"), "a1 b2 0e7");
  EXPECT_EQ(Ids("started = 2026-11-01"), "a1 b2 0e7");
  std::string epoch = std::to_string(static_cast<long long>(testing::Local(2026, 11, 19)));
  EXPECT_EQ(Ids("created > " + epoch), "d4 f6");
}

TEST_F(FilterSql, BadDates) {
  EXPECT_EQ(Ids("created > 2026-11-31"),
            "error: filter: at column 11: created compares with times: '2026-11-31' is not a "
            "valid date or time, or a relative time like -7d, -3h, -30m");
  EXPECT_NE(Ids("created > yesterday")
                .find("error: filter: at column 11: created compares with times: 'yesterday'"),
            std::string::npos);
  EXPECT_EQ(Ids("created > 7d"),
            "error: filter: at column 11: a relative time counts back from now: write '-7d' for "
            "that long ago");
  EXPECT_EQ(Ids("created ~ '2026*'"),
            "error: filter: at column 11: '~' matches text, but created is not text");
}

TEST_F(FilterSql, RelativeDates) {
  EXPECT_EQ(Ids("created > -1d"), "d4 f6");
  EXPECT_EQ(Ids("created > -24h"), "d4 f6");
  EXPECT_EQ(Ids("created > -1h"), "f6");
  EXPECT_EQ(Ids("created >= -30m"), "f6");
  EXPECT_EQ(Ids("created > -29m"), "");
  EXPECT_EQ(Ids("created > -20d"), "a1 b2 c3 d4 e5 f6 1e5");
  EXPECT_EQ(Ids("created < -3w"), "");
  EXPECT_EQ(Ids("created in [-20d, -1d]"), "a1 b2 c3 e5 1e5");
  EXPECT_EQ(Ids("created > '-1d'"), "d4 f6");
  EXPECT_EQ(Ids("finished > -30d"), "a1 b2 c3 e5 0e7 1e5");
  EXPECT_EQ(Ids("created > -1d and status = running"), "d4");
}

TEST_F(FilterSql, HostileInputIsOnlyData) {
  EXPECT_EQ(Ids("name = \"x'; DROP TABLE runs; --\""), "");
  EXPECT_EQ(Ids("name = \"Robert'); DROP TABLE runs;--\""), "1e5");
  EXPECT_EQ(Ids("name = 'Robert\\'); DROP TABLE runs;--'"), "1e5");
  EXPECT_EQ(Ids("flags.`lr') OR 1=1 --` = 1"), "");
  EXPECT_EQ(Ids("metrics.\"a\\\" OR 1=1; DELETE FROM runs; --\" > 0"), "");
  EXPECT_EQ(Ids("`x'); DROP TABLE tags; --` = 1 or tag = best"), "a1 c3 0e7");
  EXPECT_EQ(Ids("name = x; DROP TABLE runs"), "error: filter: at column 9: unexpected character ';'");
  EXPECT_EQ(CountRows("runs"), 8);
  EXPECT_EQ(CountRows("tags"), 7);
  EXPECT_EQ(CountRows("run_flags"), 19);

  // Names and values are parameters; only the compiler's own SQL is in the text.
  Result<SqlFragment> f = CompileFilter("flags.`DROP` = 'DELETE' or EVIL = 1", testing::TestNow());
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->sql.find("DROP"), std::string::npos);
  EXPECT_EQ(f->sql.find("DELETE"), std::string::npos);
  EXPECT_EQ(f->sql.find("EVIL"), std::string::npos);
}

TEST_F(FilterSql, NestingIsBounded) {
  std::string ok = std::string(100, '(') + "status = failed" + std::string(100, ')');
  EXPECT_EQ(Ids(ok), "b2");
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "NOT ";
  EXPECT_EQ(Ids(nots + "status = failed"), "b2");  // an even number of nots
  std::string mixed;
  for (int i = 0; i < 33; ++i) mixed += "not (tag = best or ";
  EXPECT_EQ(Ids(mixed + "status = failed" + std::string(33, ')')), "d4 e5 f6 1e5");

  // Deep alternations compile through common table expressions and still
  // give the same answer as their flat equivalents.
  std::string ands, ors;
  for (int i = 0; i < 49; ++i) {
    ands += "tag = best and (";
    ors += i % 2 ? "exit_code = 0 or (" : "exit_code = 0 and (tag = best or ";
  }
  EXPECT_EQ(Ids(ands + "status = completed" + std::string(49, ')')), "a1 c3 0e7");
  EXPECT_EQ(Ids(ors + "status = queued" + std::string(49, ')')), "a1 c3 0e7");
  Result<SqlFragment> cte = CompileFilter(ands + "x = 1" + std::string(49, ')'), 0);
  ASSERT_TRUE(cte.ok());
  EXPECT_EQ(cte->sql.rfind("r.id IN (WITH q1(id) AS (SELECT r.id FROM runs r WHERE ", 0), 0u)
      << cte->sql.substr(0, 200);

  std::string deep = std::string(101, '(') + "status = failed" + std::string(101, ')');
  EXPECT_EQ(Ids(deep),
            "error: filter: at column 102: nested more than 100 levels deep (parentheses and "
            "'not')");
  // Far deeper input fails the same way instead of overflowing the stack.
  EXPECT_NE(Ids(std::string(60000, '(')).find("nested more than 100 levels"), std::string::npos);
  std::string many_nots;
  for (int i = 0; i < 10000; ++i) many_nots += "not ";
  EXPECT_NE(Ids(many_nots + "x = 1").find("nested more than 100"), std::string::npos);
}

TEST_F(FilterSql, LongInput) {
  // A flat chain of 2500 terms: no recursion in the parser, and the SQL is a
  // balanced tree so SQLite's expression depth limit (1000) is not hit.
  std::string filter;
  for (int i = 0; i < 2500; ++i) filter += "flags.batch = " + std::to_string(1000 + i) + " or ";
  filter += "status = failed";
  EXPECT_EQ(Ids(filter), "b2");
  std::string ands = "status = completed";
  for (int i = 0; i < 2000; ++i) ands += " and exit_code = 0";
  EXPECT_EQ(Ids(ands), "a1 c3 0e7");

  std::string list = "id in (";
  for (int i = 0; i < 5000; ++i) list += "x" + std::to_string(i) + ", ";
  list += "c3)";
  EXPECT_EQ(Ids(list), "c3");

  std::string value(60000, 'a');
  EXPECT_EQ(Ids("name = '" + value + "'"), "");
}

TEST_F(FilterSql, OversizedInputIsRefused) {
  EXPECT_EQ(Ids("name = '" + std::string(70000, 'a') + "'"),
            "error: filter: input is 70009 bytes long; the limit is 65536");
  std::string many = "lr in (";
  for (int i = 0; i < 25000; ++i) many += "1,";
  many += "1)";
  EXPECT_NE(Ids(many).find("error: filter: too many values and names ("), std::string::npos);
}

TEST_F(FilterSql, SyntaxErrorsArePositioned) {
  EXPECT_EQ(Ids("metrics.val_acc >="),
            "error: filter: at column 19: expected a value after '>=', got end of input");
  EXPECT_EQ(Ids("name = 'abc"),
            "error: filter: at column 8: unterminated string starting with '; close it with '");
}

TEST_F(FilterSql, BindParamsHonoursFirstIndex) {
  Result<SqlFragment> f = CompileFilter("status = failed or flags.lr < 0.005", testing::TestNow());
  ASSERT_TRUE(f.ok());
  sqlite3_stmt* stmt = nullptr;
  std::string sql = "SELECT r.id FROM runs r WHERE r.seq > ? AND (" + f->sql + ") ORDER BY r.seq";
  ASSERT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
  sqlite3_bind_int(stmt, 1, 2);
  ASSERT_TRUE(BindParams(stmt, f->params, 2).ok());
  std::string ids;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    ids += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    ids += ' ';
  }
  sqlite3_finalize(stmt);
  EXPECT_EQ(ids, "c3 d4 ");  // b2 is seq 2, left out by the caller's own condition

  sqlite3_stmt* one = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, "SELECT ?", -1, &one, nullptr), SQLITE_OK);
  Status s = BindParams(one, {int64_t{1}, 2.0});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("binding query parameter 2"), std::string::npos) << s.message();
  sqlite3_finalize(one);
}

TEST_F(FilterSql, UsesTheNameIndexes) {
  Result<SqlFragment> f = CompileFilter("flags.lr < 0.01", testing::TestNow());
  ASSERT_TRUE(f.ok());
  // EXPLAIN QUERY PLAN's detail is column 3.
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN SELECT r.id FROM runs r WHERE " +
                                     f->sql).c_str(), -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_TRUE(BindParams(stmt, f->params).ok());
  std::string detail;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    detail += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    detail += "\n";
  }
  sqlite3_finalize(stmt);
  EXPECT_NE(detail.find("run_flags_name"), std::string::npos) << detail;
}

}  // namespace
}  // namespace orchard::query
