// SqliteRunStore: tuning sessions (the tunes table).
#include <unistd.h>

#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/store/sqlite_run_store_internal.h"

namespace orchard::store {

using internal::Dump;
using internal::NewRunId;
using internal::ParseJsonOr;

namespace {
constexpr const char* kTuneColumns =
    "id, name, spec, spec_hash, method, objective, seed, status, created_at, finished_at, "
    "best_run_id, host, pid, cwd";

Tune ReadTune(const Stmt& s) {
  Tune t;
  t.id = s.Text(0);
  t.name = s.Text(1);
  t.spec = ParseJsonOr(s.Text(2), nlohmann::json::object());
  t.spec_hash = s.Text(3);
  t.method = s.Text(4);
  t.objective = ParseJsonOr(s.Text(5), nullptr);
  t.seed = s.Int(6);
  t.status = s.Text(7);
  t.created_at = s.Double(8);
  t.finished_at = s.OptDouble(9);
  t.best_run_id = s.Text(10);
  t.host = s.Text(11);
  t.pid = s.OptInt(12);
  t.cwd = s.Text(13);
  return t;
}
}  // namespace

Result<Tune> SqliteRunStore::GetTune(const std::string& id) {
  auto st = db_.Prepare(std::string("SELECT ") + kTuneColumns + " FROM tunes WHERE id = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, id);
  if (!st->Step()) {
    ORCHARD_RETURN_IF_ERROR(st->status());
    return Status::NotFound("no tune with id " + id);
  }
  return ReadTune(*st);
}

Result<std::vector<Tune>> SqliteRunStore::ListTunes(int64_t limit) {
  auto st = db_.Prepare(std::string("SELECT ") + kTuneColumns +
                        " FROM tunes ORDER BY created_at DESC, rowid DESC LIMIT ?");
  if (!st.ok()) return st.status();
  st->Bind(1, limit);
  std::vector<Tune> out;
  while (st->Step()) out.push_back(ReadTune(*st));
  ORCHARD_RETURN_IF_ERROR(st->status());
  return out;
}

Result<std::string> SqliteRunStore::ResolveTuneId(const std::string& ref) {
  auto st = db_.Prepare(
      "SELECT id FROM tunes WHERE substr(id, 1, length(?1)) = ?1 OR name = ?1 LIMIT 3");
  if (!st.ok()) return st.status();
  st->Bind(1, ref);
  std::vector<std::string> ids;
  while (st->Step()) ids.push_back(st->Text(0));
  ORCHARD_RETURN_IF_ERROR(st->status());
  if (ref.size() < 2 || ids.empty()) return Status::NotFound("no tune matches '" + ref + "'");
  if (ids.size() > 1) {
    return Status::InvalidArgument("'" + ref + "' is ambiguous: it matches tunes " + ids[0] +
                                   ", " + ids[1] + "; give more of the id");
  }
  return ids[0];
}

Status SqliteRunStore::CreateTune(Tune& tune) {
  return Write([&]() -> Status {
    auto ins = db_.Prepare(
        "INSERT INTO tunes (id, name, spec, spec_hash, method, objective, seed, status, "
        "created_at, host, pid, cwd) VALUES (?, nullif(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!ins.ok()) return ins.status();
    Status s;
    for (int attempt = 0; attempt < 16; ++attempt) {
      std::string id = "t" + NewRunId().substr(1);  // tune ids start with 't'
      ins->Reset();
      ins->Bind(1, id).Bind(2, tune.name).Bind(3, Dump(tune.spec)).Bind(4, tune.spec_hash);
      ins->Bind(5, tune.method).Bind(6, Dump(tune.objective)).Bind(7, tune.seed);
      ins->Bind(8, tune.status).Bind(9, tune.created_at).Bind(10, tune.host);
      ins->Bind(11, tune.pid).Bind(12, tune.cwd);
      s = ins->Run();
      if (s.ok()) {
        tune.id = id;
        return s;
      }
      if (sqlite3_extended_errcode(db_.raw()) != SQLITE_CONSTRAINT_PRIMARYKEY) return s;
    }
    return s;
  });
}

Status SqliteRunStore::UpdateTune(const Tune& tune) {
  ORCHARD_PREPARE(q,
                  "UPDATE tunes SET status = ?, finished_at = ?, best_run_id = nullif(?, ''), "
                  "host = ?, pid = ? WHERE id = ?");
  q.Bind(1, tune.status).Bind(2, tune.finished_at).Bind(3, tune.best_run_id);
  q.Bind(4, tune.host).Bind(5, tune.pid).Bind(6, tune.id);
  return Write([&] { return q.Run(); });
}

}  // namespace orchard::store
