// Test support (header-only, so the library glob leaves it out): an in-memory
// store with eight varied runs, and helpers that run a compiled filter or sort
// key against it and return the matching run ids in order.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "orchestrator/query/compiler/sql.h"
#include "orchestrator/store/schema.h"

namespace orchard::query::testing {

// Local wall-clock time as epoch seconds, the way the filter language reads dates.
inline double Local(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

// "Now" for every test: relative times count back from here.
inline double TestNow() { return Local(2026, 11, 20, 12, 0, 0); }

struct Metric {
  std::string name;
  double last, min, max;
  int count;
};

struct RunRow {
  std::string id;
  std::optional<std::string> name, tune, host;
  std::string status;
  std::optional<int> exit_code;
  double created = 0;
  std::optional<double> started, finished;
  std::string notes;
  std::vector<std::pair<std::string, std::string>> flags;  // num filled when numeric
  std::vector<Metric> metrics;
  std::vector<std::string> tags;
};

class TestRuns : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Status s = store::ApplySchema(db_);
    ASSERT_TRUE(s.ok()) << s.message();
    Exec("INSERT INTO tunes(id, created_at) VALUES ('t1', 0), ('t2', 0)");
    for (const RunRow& r : Runs()) Insert(r);
  }
  void TearDown() override { sqlite3_close(db_); }

  static std::vector<RunRow> Runs() {
    auto at = [](int d, int h, int mi, int s = 0) { return Local(2026, 11, d, h, mi, s); };
    std::vector<RunRow> runs;
    runs.push_back({"a1", "resnet50-base", "t1", "gpu-01", "completed", 0, at(1, 9, 0),
                    at(1, 9, 1), at(1, 10, 1), "baseline run",
                    {{"lr", "0.1"}, {"optimizer", "adam"}, {"batch", "32"}, {"pretrained", "true"}},
                    {{"val_acc", 0.81, 0.5, 0.85, 10}, {"train_loss", 0.3, 0.3, 0.9, 10}},
                    {"best", "baseline"}});
    runs.push_back({"b2", "resnet18", "t1", "gpu-02", "failed", 1, at(1, 15, 30), at(1, 15, 31),
                    at(1, 15, 41), "OOM at epoch 3",
                    {{"lr", "0.01"}, {"optimizer", "sgd"}, {"batch", "64"}, {"pretrained", "false"}},
                    {{"val_acc", 0.42, 0.1, 0.45, 3}},
                    {"oom"}});
    runs.push_back({"c3", "mobilenet_v2", "t2", "gpu-01", "completed", 0, at(5, 8, 0), at(5, 8, 0),
                    at(5, 10, 0), "",
                    {{"lr", "0.001"}, {"optimizer", "adam"}, {"batch", "128"}, {"my-flag", "x"}},
                    {{"val_acc", 0.91, 0.6, 0.93, 20}, {"val/acc", 0.5, 0.5, 0.5, 1},
                     {"train.loss", 0.2, 0.2, 0.7, 20}},
                    {"best"}});
    runs.push_back({"d4", "vit-small", std::nullopt, "gpu-03", "running", std::nullopt,
                    at(19, 18, 0), at(19, 18, 1), std::nullopt, "",
                    {{"lr", "0.0005"}, {"optimizer", "adamw"}},
                    {{"val_acc", 0.7, 0.7, 0.7, 1}},
                    {}});
    runs.push_back({"e5", "resnet50-ft", "t2", std::nullopt, "pruned", 143, at(10, 10, 0),
                    at(10, 10, 0, 30), at(10, 10, 20, 30), "",
                    {{"lr", "0.05"}, {"optimizer", "sgd"}},
                    {{"val_acc", 0.6, 0.6, 0.6, 1}},
                    {}});
    runs.push_back({"f6", std::nullopt, std::nullopt, std::nullopt, "queued", std::nullopt,
                    at(20, 11, 30), std::nullopt, std::nullopt, "", {}, {}, {}});
    // Starts with a digit; "lr" is only a metric here.
    runs.push_back({"0e7", "lr-metric-only", std::nullopt, "gpu-02", "completed", 0,
                    Local(2026, 10, 30, 23, 59, 59), at(1, 0, 0), at(1, 0, 10), "",
                    {{"optimizer", "adam"}},
                    {{"lr", 0.02, 0.02, 0.02, 1}, {"val_acc", 0.88, 0.88, 0.88, 1}},
                    {"best", "weird tag"}});
    // A text flag lr shadows the metric lr.
    runs.push_back({"1e5", "Robert'); DROP TABLE runs;--", std::nullopt, "gpu-03", "cancelled",
                    130, at(15, 0, 0), at(15, 0, 0), at(15, 0, 5), "",
                    {{"lr", "auto"}, {"optimizer", "adam"}},
                    {{"val_acc", 0.77, 0.77, 0.77, 1}, {"lr", 0.5, 0.5, 0.5, 1}},
                    {"baseline"}});
    return runs;
  }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    ASSERT_EQ(rc, SQLITE_OK) << (err ? err : "") << " in " << sql;
  }

  // Runs `sql` with params and returns column 0 of every row, space-separated,
  // or "sql error: ..." when SQLite refuses it.
  std::string Column0(const std::string& sql, const std::vector<SqlParam>& params) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      std::string msg = "sql error: " + std::string(sqlite3_errmsg(db_));
      sqlite3_finalize(stmt);
      return msg;
    }
    Status s = BindParams(stmt, params);
    if (!s.ok()) {
      sqlite3_finalize(stmt);
      return "bind error: " + s.message();
    }
    std::string out;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!out.empty()) out += ' ';
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out += text ? reinterpret_cast<const char*>(text) : "NULL";
    }
    if (rc != SQLITE_DONE) out = "step error: " + std::string(sqlite3_errmsg(db_));
    sqlite3_finalize(stmt);
    return out;
  }

  // The ids a filter selects, in creation order, or "error: <message>".
  std::string Ids(std::string_view filter) {
    Result<SqlFragment> where = CompileFilter(filter, TestNow());
    if (!where.ok()) return "error: " + where.status().message();
    return Column0("SELECT r.id FROM runs r WHERE " + where->sql + " ORDER BY r.seq",
                   where->params);
  }

  // The ids in the order a sort key gives (ties broken by seq), or "error: ...".
  std::string Sorted(std::string_view key) {
    Result<SqlFragment> order = CompileSortKey(key);
    if (!order.ok()) return "error: " + order.status().message();
    return Column0("SELECT r.id FROM runs r ORDER BY " + order->sql + ", r.seq", order->params);
  }

  int CountRows(const std::string& table) {
    std::string n = Column0("SELECT count(*) FROM " + table, {});
    return n.empty() || !isdigit(static_cast<unsigned char>(n[0])) ? -1 : std::stoi(n);
  }

  sqlite3* db_ = nullptr;

 private:
  void Insert(const RunRow& r) {
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db_,
                                 "INSERT INTO runs(id, seq, name, tune_id, status, exit_code, "
                                 "command, created_at, started_at, finished_at, host, notes) "
                                 "VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?)",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    auto text = [&](int i, const std::optional<std::string>& v) {
      if (v) sqlite3_bind_text(stmt, i, v->c_str(), -1, SQLITE_TRANSIENT);
    };
    auto real = [&](int i, const std::optional<double>& v) {
      if (v) sqlite3_bind_double(stmt, i, *v);
    };
    sqlite3_bind_text(stmt, 1, r.id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 2, ++seq_);
    text(3, r.name);
    text(4, r.tune);
    sqlite3_bind_text(stmt, 5, r.status.c_str(), -1, SQLITE_TRANSIENT);
    if (r.exit_code) sqlite3_bind_int(stmt, 6, *r.exit_code);
    sqlite3_bind_double(stmt, 7, r.created);
    real(8, r.started);
    real(9, r.finished);
    text(10, r.host);
    sqlite3_bind_text(stmt, 11, r.notes.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    for (const auto& [name, value] : r.flags) {
      char* end = nullptr;
      double num = std::strtod(value.c_str(), &end);
      bool numeric = !value.empty() && *end == '\0';
      Prepare("INSERT INTO run_flags(run_id, name, value, num) VALUES (?, ?, ?, ?)", r.id, name);
      sqlite3_bind_text(row_, 3, value.c_str(), -1, SQLITE_TRANSIENT);
      if (numeric) sqlite3_bind_double(row_, 4, num);
      Step();
    }
    for (const Metric& m : r.metrics) {
      Prepare("INSERT INTO metric_summary(run_id, name, last, min, max, last_step, count) "
              "VALUES (?, ?, ?, ?, ?, 0, ?)",
              r.id, m.name);
      sqlite3_bind_double(row_, 3, m.last);
      sqlite3_bind_double(row_, 4, m.min);
      sqlite3_bind_double(row_, 5, m.max);
      sqlite3_bind_int(row_, 6, m.count);
      Step();
    }
    for (const std::string& t : r.tags) {
      Prepare("INSERT INTO tags(run_id, tag) VALUES (?, ?)", r.id, t);
      Step();
    }
  }

  // Prepares a row insert whose first two parameters are the run id and a name.
  void Prepare(const char* sql, const std::string& id, const std::string& name) {
    ASSERT_EQ(sqlite3_prepare_v2(db_, sql, -1, &row_, nullptr), SQLITE_OK) << sqlite3_errmsg(db_);
    sqlite3_bind_text(row_, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(row_, 2, name.c_str(), -1, SQLITE_TRANSIENT);
  }

  void Step() {
    EXPECT_EQ(sqlite3_step(row_), SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(row_);
    row_ = nullptr;
  }

  sqlite3_stmt* row_ = nullptr;
  int seq_ = 0;
};

}  // namespace orchard::query::testing
