#include "orchestrator/store/schema.h"

#include <gtest/gtest.h>

#include "orchestrator/store/sqlite.h"

namespace orchard::store {
namespace {

int Version(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  sqlite3_step(st);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

TEST(Schema, MigratesAVersionOneStoreKeepingItsRuns) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, Migrations()[0].c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 1; INSERT INTO runs (id, seq, status, "
                             "command, created_at) VALUES ('abcd1234', 1, 'completed', '[]', 1)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  ASSERT_TRUE(ApplySchema(db).ok());
  EXPECT_EQ(Version(db), SchemaVersion());
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT id, attempt, trial FROM runs", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "abcd1234");
  EXPECT_EQ(sqlite3_column_int(st, 1), 1);
  EXPECT_EQ(sqlite3_column_type(st, 2), SQLITE_NULL);
  sqlite3_finalize(st);
  ASSERT_TRUE(ApplySchema(db).ok()) << "applying twice is a no-op";
  sqlite3_close(db);
}

}  // namespace
}  // namespace orchard::store
