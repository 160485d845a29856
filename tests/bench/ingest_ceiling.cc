// ingest_ceiling: the ceiling for the ingest benchmark.
//
// Opens a fresh store file through orchard::store::Db::Open (WAL,
// synchronous=NORMAL, the real schema with its metrics index) and inserts the
// same points ingest_emit prints with one prepared
//   INSERT INTO metrics (run_id, name, step, epoch, value, time) VALUES (?,?,?,?,?,?)
// in a single transaction: no pipe, no parsing, no queue, no summary table.
// Nothing that records trainer output through SQLite can beat this, so
// Orchard's rate is reported as a fraction of it.
//
// Usage: ingest_ceiling [--lines=200000] [--metrics-per-line=1] [--db=PATH]
// Without --db the file goes in a fresh temporary folder that is removed.
// Prints one JSON object on stdout:
//   {"points": N, "seconds": S, "points_per_s": R, "db": "..."}
// The time covers the prepare, the inserts and the COMMIT (not the schema).
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "orchestrator/store/sqlite.h"

namespace fs = std::filesystem;

namespace {

// Same formula as ingest_emit.cc and ingest_optuna.py.
double IngestValue(int64_t i, int k) {
  return 2.0 / (1.0 + 0.001 * static_cast<double>(i)) +
         0.01 * static_cast<double>((i * 7919 + k * 104729) % 100) / 100.0 + k;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ParseInt(std::string_view arg, std::string_view prefix, int64_t* out) {
  if (arg.substr(0, prefix.size()) != prefix) return false;
  std::string_view v = arg.substr(prefix.size());
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec != std::errc() || p != v.data() + v.size() || *out < 0) {
    std::fprintf(stderr, "ingest_ceiling: bad value in '%.*s'\n", static_cast<int>(arg.size()),
                 arg.data());
    std::exit(2);
  }
  return true;
}

[[noreturn]] void Die(const std::string& what, const orchard::Status& s) {
  std::fprintf(stderr, "ingest_ceiling: %s: %s\n", what.c_str(), s.message().c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t lines = 200000;
  int64_t per_line = 1;
  std::string db_path;
  for (int a = 1; a < argc; ++a) {
    std::string_view arg = argv[a];
    if (ParseInt(arg, "--lines=", &lines)) continue;
    if (ParseInt(arg, "--metrics-per-line=", &per_line)) continue;
    if (arg.substr(0, 5) == "--db=") {
      db_path = std::string(arg.substr(5));
      continue;
    }
    std::fprintf(stderr,
                 "ingest_ceiling: unknown argument '%s'\n"
                 "usage: ingest_ceiling [--lines=N] [--metrics-per-line=K] [--db=PATH]\n",
                 argv[a]);
    return 2;
  }
  if (per_line < 1 || per_line > 1000) {
    std::fprintf(stderr, "ingest_ceiling: --metrics-per-line must be 1..1000\n");
    return 2;
  }

  std::string tmp_dir;
  if (db_path.empty()) {
    std::string templ = (fs::temp_directory_path() / "orchard-ceiling-XXXXXX").string();
    if (!mkdtemp(templ.data())) {
      std::perror("ingest_ceiling: mkdtemp");
      return 1;
    }
    tmp_dir = templ;
    db_path = tmp_dir + "/orchard.db";
  } else if (fs::exists(db_path)) {
    std::fprintf(stderr, "ingest_ceiling: %s exists; the ceiling needs a fresh file\n",
                 db_path.c_str());
    return 2;
  }

  std::vector<std::string> names;
  for (int64_t k = 0; k < per_line; ++k) names.push_back(k == 0 ? "loss" : "m" + std::to_string(k));
  const std::string run_id = "0123456789ab";
  int64_t points = 0;
  double seconds = 0;
  {
    auto db = orchard::store::Db::Open(db_path);
    if (!db.ok()) Die("open " + db_path, db.status());

    double t0 = WallSeconds();
    auto stmt = db->Prepare(
        "INSERT INTO metrics (run_id, name, step, epoch, value, time) VALUES (?,?,?,?,?,?)");
    if (!stmt.ok()) Die("prepare", stmt.status());
    orchard::store::Transaction tx(*db);
    if (!tx.begin_status().ok()) Die("begin", tx.begin_status());
    for (int64_t i = 0; i < lines; ++i) {
      double now = WallSeconds();  // Orchard stamps points on arrival too
      for (int k = 0; k < per_line; ++k) {
        stmt->Bind(1, run_id).Bind(2, names[k]).Bind(3, i).BindNull(4).Bind(5, IngestValue(i, k))
            .Bind(6, now);
        orchard::Status s = stmt->Run();
        if (!s.ok()) Die("insert", s);
        ++points;
      }
    }
    orchard::Status s = tx.Commit();
    if (!s.ok()) Die("commit", s);
    seconds = WallSeconds() - t0;

    auto count = db->Prepare("SELECT count(*) FROM metrics");
    if (!count.ok() || !count->Step() || count->Int(0) != points) {
      std::fprintf(stderr, "ingest_ceiling: the metrics table does not hold %lld points\n",
                   static_cast<long long>(points));
      return 1;
    }
  }
  if (!tmp_dir.empty()) {
    std::error_code ec;
    fs::remove_all(tmp_dir, ec);
  }
  std::printf("{\"points\": %lld, \"seconds\": %.6f, \"points_per_s\": %.1f, \"db\": \"%s\"}\n",
              static_cast<long long>(points), seconds, points / seconds,
              tmp_dir.empty() ? db_path.c_str() : "(temporary)");
  return 0;
}
