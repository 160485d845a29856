#include <string>

#include "orchestrator/query/compiler/sql.h"

namespace orchard::query {

Status BindParams(sqlite3_stmt* stmt, const std::vector<SqlParam>& params, int first_index) {
  int index = first_index;
  for (const SqlParam& p : params) {
    int rc = SQLITE_OK;
    if (const auto* i = std::get_if<int64_t>(&p)) {
      rc = sqlite3_bind_int64(stmt, index, *i);
    } else if (const auto* d = std::get_if<double>(&p)) {
      rc = sqlite3_bind_double(stmt, index, *d);
    } else {
      const std::string& s = std::get<std::string>(p);
      rc = sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
    if (rc != SQLITE_OK) {
      return Status::Internal("binding query parameter " + std::to_string(index) + ": " +
                              sqlite3_errstr(rc));
    }
    ++index;
  }
  return Status::Ok();
}

}  // namespace orchard::query
