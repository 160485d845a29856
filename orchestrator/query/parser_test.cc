#include "orchestrator/query/parser.h"

#include <gtest/gtest.h>

#include <string>

namespace orchard::query {
namespace {

std::string Parse(std::string_view text) {
  Result<Expr> e = ParseFilter(text);
  if (!e.ok()) return "error: " + e.status().message();
  return DebugString(*e);
}

std::string Sort(std::string_view text) {
  Result<std::vector<SortKey>> keys = ParseSortKeys(text);
  if (!keys.ok()) return "error: " + keys.status().message();
  std::string out;
  for (const SortKey& k : *keys) {
    if (!out.empty()) out += ' ';
    Expr e;
    e.field = k.field;
    e.values.push_back({});
    std::string field = DebugString(e);  // "(= FIELD )"
    out += field.substr(3, field.size() - 5) + (k.descending ? ":desc" : ":asc");
  }
  return out;
}

TEST(Parser, EmptyFilterIsTrue) {
  EXPECT_EQ(Parse(""), "(and)");
  EXPECT_EQ(Parse("  \t\n"), "(and)");
}

TEST(Parser, Comparisons) {
  EXPECT_EQ(Parse("lr < 0.01"), "(< bare:lr 0.01)");
  EXPECT_EQ(Parse("flags.lr == 1e-3"), "(= flag:lr 1e-3)");
  EXPECT_EQ(Parse("name ~ 'res*'"), "(~ builtin:name 'res*')");
  EXPECT_EQ(Parse("status <> failed"), "(!= builtin:status failed)");
  EXPECT_EQ(Parse("flags.pretrained = TRUE"), "(= flag:pretrained true)");
  EXPECT_EQ(Parse("created > -7d"), "(> builtin:created duration:-7d)");
  EXPECT_EQ(Parse("created > 2026-11-01 12:30"), "(> builtin:created date:2026-11-01 12:30)");
}

TEST(Parser, PrecedenceIsNotThenAndThenOr) {
  EXPECT_EQ(Parse("a = 1 or b = 2 and c = 3"),
            "(or (= bare:a 1) (and (= bare:b 2) (= bare:c 3)))");
  EXPECT_EQ(Parse("(a = 1 or b = 2) and c = 3"),
            "(and (or (= bare:a 1) (= bare:b 2)) (= bare:c 3))");
  EXPECT_EQ(Parse("not a = 1 and b = 2"), "(and (not (= bare:a 1)) (= bare:b 2))");
  EXPECT_EQ(Parse("NOT (a = 1 OR b = 2)"), "(not (or (= bare:a 1) (= bare:b 2)))");
  EXPECT_EQ(Parse("a = 1 or b = 2 or c = 3"), "(or (= bare:a 1) (= bare:b 2) (= bare:c 3))");
  EXPECT_EQ(Parse("a = 1 And b = 2 anD c = 3"), "(and (= bare:a 1) (= bare:b 2) (= bare:c 3))");
}

TEST(Parser, ListsAndRanges) {
  EXPECT_EQ(Parse("status in (failed, 'cancelled')"), "(in builtin:status [failed 'cancelled'])");
  EXPECT_EQ(Parse("tag NOT IN (a)"), "(not-in builtin:tag [a])");
  EXPECT_EQ(Parse("lr in [0.1, 0.5]"), "(range bare:lr [0.1 0.5])");
  EXPECT_EQ(Parse("lr in [0.1, 0.5)"), "(range bare:lr [0.1 0.5))");
  EXPECT_EQ(Parse("lr in (0.1, 0.5]"), "(range bare:lr (0.1 0.5])");
  EXPECT_EQ(Parse("lr in (0.1, 0.5)"), "(in bare:lr [0.1 0.5])");
  EXPECT_EQ(Parse("lr not in [1, 2]"), "(not-range bare:lr [1 2])");
  EXPECT_EQ(Parse("lr between 1 and 2 and x = 1"),
            "(and (range bare:lr [1 2]) (= bare:x 1))");
  EXPECT_EQ(Parse("lr not between 1 and 2"), "(not-range bare:lr [1 2])");
}

TEST(Parser, FieldNames) {
  EXPECT_EQ(Parse("flag.lr = 1"), "(= flag:lr 1)");
  EXPECT_EQ(Parse("FLAGS.a.b = 1"), "(= flag:a.b 1)");
  EXPECT_EQ(Parse("metrics.acc = 1"), "(= metric:acc:last 1)");
  EXPECT_EQ(Parse("metrics.acc.max = 1"), "(= metric:acc:max 1)");
  EXPECT_EQ(Parse("metric.train.loss.COUNT = 1"), "(= metric:train.loss:count 1)");
  EXPECT_EQ(Parse("metrics.train.loss = 1"), "(= metric:train.loss:last 1)");
  EXPECT_EQ(Parse("metrics.max = 1"), "(= metric:max:last 1)");
  EXPECT_EQ(Parse("metrics.a.\"max\" = 1"), "(= metric:a.max:last 1)");
  EXPECT_EQ(Parse("metrics.\"val/acc\".min = 1"), "(= metric:val/acc:min 1)");
  EXPECT_EQ(Parse("flags.`my-flag` = 1"), "(= flag:my-flag 1)");
  EXPECT_EQ(Parse("`status` = 1"), "(= bare:status 1)");
  EXPECT_EQ(Parse("Status = failed"), "(= builtin:status failed)");
  EXPECT_EQ(Parse("tags = a"), "(= builtin:tag a)");
  EXPECT_EQ(Parse("`train.loss` < 1"), "(< bare:train.loss 1)");
  EXPECT_EQ(Parse("flags.in = 1"), "(= flag:in 1)");
  EXPECT_EQ(Parse("\"val/acc\" > 0.5 and `a b` = \"x\""),
            "(and (> bare:val/acc 0.5) (= bare:a b 'x'))");
}

TEST(Parser, ErrorsNameThePositionAndToken) {
  EXPECT_EQ(Parse("lr >="), "error: at column 6: expected a value after '>=', got end of input");
  EXPECT_EQ(Parse("lr >= and"),
            "error: at column 7: expected a value after '>=', got keyword 'and' (quote it to "
            "mean the word: 'and')");
  EXPECT_EQ(Parse("(status = failed"),
            "error: at column 17: expected ')' to close the '(' at column 1, got end of input");
  EXPECT_EQ(Parse("status = failed)"),
            "error: at column 16: expected 'and', 'or' or end of input, got ')' (unbalanced ')')");
  EXPECT_EQ(Parse("status = failed lr = 1"),
            "error: at column 17: expected 'and', 'or' or end of input, got 'lr'");
  EXPECT_EQ(Parse("and x = 1"), "error: at column 1: expected a field name, got keyword 'and'");
  EXPECT_EQ(Parse("0.5 < metrics.acc"),
            "error: at column 1: expected a field name, got '0.5'; put the field first, e.g. "
            "metrics.val_acc > 0.8");
  EXPECT_EQ(Parse("lr 0.5"),
            "error: at column 4: expected an operator (=, !=, <, <=, >, >=, ~, !~, in, not in or "
            "between) after 'lr', got '0.5'");
  EXPECT_EQ(Parse("lr not 5"),
            "error: at column 4: expected an operator (=, !=, <, <=, >, >=, ~, !~, in, not in or "
            "between) after 'lr', got 'not' (only 'not in' and 'not between' may follow a field)");
  EXPECT_EQ(Parse("x in 1, 2"),
            "error: at column 6: expected '(' (a list) or '[' (a range) after 'in', got '1'");
  EXPECT_EQ(Parse("x in ()"), "error: at column 7: empty list after 'in'; give at least one value");
  EXPECT_EQ(Parse("x in (1, 2"),
            "error: at column 11: expected ',' or ')' after a value, got end of input");
  EXPECT_EQ(Parse("x in (1,)"), "error: at column 9: expected a value after ',', got ')'");
  EXPECT_EQ(Parse("x in [1, 2, 3]"),
            "error: at column 6: a range has exactly two bounds, like [0.1, 0.5]; got 3 (use '(' "
            "... ')' for a list)");
  EXPECT_EQ(Parse("x between 1 2"),
            "error: at column 13: expected 'and' in 'between A and B', got '2'");
  EXPECT_EQ(Parse("()"), "error: at column 2: empty parentheses; expected a condition");
  EXPECT_EQ(Parse("flags = 1"),
            "error: at column 1: 'flags' needs a name: write flags.NAME (quote a field that is "
            "really called 'flags': `flags`)");
  EXPECT_EQ(Parse("flags. = 1"), "error: at column 8: expected a name after '.', got '='");
  EXPECT_EQ(Parse("metrcs.acc > 1"),
            "error: at column 1: unknown field 'metrcs.acc': write flags.metrcs.acc or "
            "metrics.metrcs.acc, or quote a dotted name: `metrcs.acc`");
  EXPECT_EQ(Parse("status.x = 1"),
            "error: at column 8: the built-in field 'status' has no parts; 'status.x' is not a "
            "field");
  EXPECT_EQ(Parse("'lr' < 1"),
            "error: at column 1: expected a field name, got ''lr''; quote a name with "
            "`backticks` or \"double quotes\" ('single' ones make a value)");
  EXPECT_EQ(Parse("x = `y`"), "error: at column 5: expected a value after '=', got '`y`'");
}

TEST(Parser, NestingIsBounded) {
  std::string ok = std::string(100, '(') + "x = 1" + std::string(100, ')');
  EXPECT_EQ(Parse(ok), "(= bare:x 1)");
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "not ";
  EXPECT_TRUE(ParseFilter(nots + "x = 1").ok());
  EXPECT_EQ(Parse("not " + nots + "x = 1"),
            "error: at column 405: nested more than 100 levels deep (parentheses and 'not')");
  std::string deep = std::string(101, '(') + "x = 1" + std::string(101, ')');
  EXPECT_EQ(Parse(deep),
            "error: at column 102: nested more than 100 levels deep (parentheses and 'not')");
}

TEST(Parser, SortKeys) {
  EXPECT_EQ(Sort("metrics.val_acc.max"), "metric:val_acc:max:asc");
  EXPECT_EQ(Sort("-created"), "builtin:created:desc");
  EXPECT_EQ(Sort("+created"), "builtin:created:asc");
  EXPECT_EQ(Sort("lr DESC"), "bare:lr:desc");
  EXPECT_EQ(Sort("lr asc, -metrics.loss, name"),
            "bare:lr:asc metric:loss:last:desc builtin:name:asc");
  EXPECT_EQ(Sort(""), "error: at column 1: expected a field to sort by, got end of input");
  EXPECT_EQ(Sort("-lr desc"),
            "error: at column 5: give the direction once: a leading '-' or 'desc', not both");
  EXPECT_EQ(Sort("lr up"),
            "error: at column 4: expected 'asc', 'desc', ',' or end of input, got 'up'");
  EXPECT_EQ(Sort("lr,"), "error: at column 4: expected a field name, got end of input");
}

}  // namespace
}  // namespace orchard::query
