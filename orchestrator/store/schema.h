// The run store's SQLite schema, in one place, with its version.
//
// Migrations are applied in order by ApplySchema(); each entry upgrades the
// database from version i to i+1 inside one transaction. PRAGMA user_version
// holds the current version. Never edit a released migration: append one.
#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "flags/status.h"

namespace orchard::store {

// kMigrations[i] upgrades a database at version i to version i+1.
const std::vector<std::string>& Migrations();

inline int SchemaVersion() { return static_cast<int>(Migrations().size()); }

// Brings `db` up to SchemaVersion(). Refuses a database written by a newer
// Orchard (its user_version is above ours) rather than guessing.
Status ApplySchema(sqlite3* db);

}  // namespace orchard::store
