/// The JSON API of `orchard ui` as pure functions of a read-only store
/// (docs/api.md documents every endpoint). The server (server.h) only
/// routes: it takes a RunReader from its pool, calls one of these with the
/// request's parameters, and sends DumpJson() of the result, or for an error
/// {"error": message} with HttpStatusFor(status).
///
/// Parameters come as a name -> value map (the first value of a repeated
/// name). Errors: InvalidArgument for a bad parameter (the message names it),
/// NotFound for a run, tune, file or metric that does not exist. Functions
/// are thread-compatible: one reader per thread.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/store/run_store.h"
#include "orchestrator/store/sqlite.h"

namespace orchard::web {

using Params = std::map<std::string, std::string>;

// 400 for InvalidArgument, 404 NotFound, 409 AlreadyExists, 500 otherwise.
int HttpStatusFor(const Status& s);

// The most points a series sends by default, and the most a request may ask for.
inline constexpr int64_t kDefaultMaxPoints = 2000;
inline constexpr int64_t kMaxMaxPoints = 20000;

// GET /api/runs: filter, sort, columns, limit, offset.
Result<nlohmann::json> ListRunsJson(store::RunReader& reader, const Params& p, double now);
// GET /api/fields: every flag and metric name in the store (column chooser).
Result<nlohmann::json> FieldsJson(store::Db& db);
// GET /api/runs/RUN
Result<nlohmann::json> RunDetailJson(store::RunReader& reader, const std::string& ref, double now);
// GET /api/metrics: runs, names, max_points, x (step | time). With `db` (the
// reader's own connection), the points of all runs come from one indexed
// query per metric name instead of one RunReader::GetMetricSeries per run
// and name, whose SQL cannot use the (run_id, name, step) index for a single
// name: 100 runs of a 10,000-run store in ~1 ms instead of ~25 ms.
Result<nlohmann::json> MetricSeriesJson(store::RunReader& reader, const Params& p,
                                        store::Db* db = nullptr);
// The same, as JSON text written directly: what the server sends (a 100-run
// chart is 10,000 points; building them as a json tree first costs more than
// reading them).
Result<std::string> MetricSeriesText(store::RunReader& reader, const Params& p,
                                     store::Db* db = nullptr);
// GET /api/runs/RUN/logs: after, limit.
Result<nlohmann::json> LogsJson(store::RunReader& reader, const std::string& ref, const Params& p);
// GET /api/runs/RUN/artifacts
Result<nlohmann::json> ArtifactsJson(store::RunReader& reader, const std::string& ref);
// The file behind GET /api/runs/RUN/artifacts/PATH: its canonical path,
// inside the run's folder (safe_path.h).
Result<std::string> ArtifactFile(store::RunReader& reader, const std::string& ref,
                                 const std::string& path);
// GET /api/runs/RUN/snapshot and /api/runs/RUN/snapshot/PATH
Result<nlohmann::json> SnapshotJson(store::RunReader& reader, const std::string& ref);
Result<nlohmann::json> SnapshotFileJson(store::RunReader& reader, const std::string& ref,
                                        const std::string& path);
// GET /api/compare?runs=a,b,...
Result<nlohmann::json> CompareJson(store::RunReader& reader, const Params& p, double now);
// GET /api/diff?a=RUN&b=RUN[&context=N]
Result<nlohmann::json> DiffJson(store::RunReader& reader, const Params& p);
// GET /api/tunes, GET /api/tunes/TUNE
Result<nlohmann::json> TunesJson(store::RunReader& reader, const Params& p);
Result<nlohmann::json> TuneDetailJson(store::RunReader& reader, const std::string& ref, double now);
// POST /api/tunes/TUNE/export: body {name?, force?}. The bundle goes to
// exports_dir/NAME (NAME: letters, digits, '.', '_', '-'; default
// tune-TUNE-run-RUN), never anywhere else.
Result<nlohmann::json> ExportTuneJson(store::RunReader& reader, const std::string& ref,
                                      const nlohmann::json& body, const std::string& exports_dir,
                                      double now);

// Parameter helpers, shared by the api_*.cc files.
Result<int64_t> IntParam(const Params& p, const std::string& name, int64_t fallback, int64_t min,
                         int64_t max);
std::vector<std::string> ListParam(const Params& p, const std::string& name);

}  // namespace orchard::web
