#include "orchestrator/cli/context.h"

#include <filesystem>

namespace orchard::cli {

Result<store::Home> Context::Home() const { return store::LocateHome(home_flag, cwd); }

Result<Format> Context::OutputFormat() const {
  if (format == "table") return Format::kTable;
  if (format == "csv") return Format::kCsv;
  if (format == "json") return Format::kJson;
  return Status::InvalidArgument("--format " + format + ": expected table, csv or json");
}

Result<std::unique_ptr<store::SqliteRunStore>> Context::OpenStore(bool create) const {
  auto home = Home();
  if (!home.ok()) return home.status();
  std::error_code ec;
  if (!create && !std::filesystem::exists(home->db_path, ec)) {
    return Status::NotFound("no Orchard store at " + home->root +
                            " (looked for .orchard/ from " + cwd +
                            " upward; --home or ORCHARD_HOME name another); "
                            "`orchard run` creates one");
  }
  if (create) ORCHARD_RETURN_IF_ERROR(store::EnsureHome(*home));
  return store::SqliteRunStore::Open(home->db_path);
}

}  // namespace orchard::cli
