#include "orchestrator/infer/bundle_export.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "orchestrator/infer/bundle.h"
#include "orchestrator/query/compiler/sql.h"

namespace orchard::infer {

namespace fs = std::filesystem;

namespace {

std::string IsoTime(double seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

template <typename T>
nlohmann::json Opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "max", except for metrics named like a loss or an error (as `orchard compare` decides).
std::string DefaultGoal(const std::string& metric) {
  std::string m = Lower(metric);
  return m.find("loss") != std::string::npos || m.find("err") != std::string::npos ? "min"
                                                                                   : "max";
}

// metrics.`NAME`.STAT as a sort key, the name quoted whatever it holds.
std::string MetricKey(const std::string& metric, const std::string& stat) {
  std::string quoted;
  for (char c : metric) {
    if (c == '`' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return "metrics.`" + quoted + "`." + stat;
}

std::string RunLabel(const store::Run& r) {
  return r.id + (r.name.empty() ? "" : " (" + r.name + ")");
}

// The completed run of `where` with the best `stat` of `metric`.
Result<store::Run> BestRun(store::RunReader& reader, const std::string& where_sql,
                           const std::vector<store::SqlParam>& params, const std::string& metric,
                           const std::string& stat, bool maximize, const std::string& among) {
  auto order = query::CompileSortKey((maximize ? "-" : "") + MetricKey(metric, stat));
  if (!order.ok()) return order.status();
  store::RunQuery q;
  q.where_sql = "(" + where_sql + ") AND r.status = 'completed'";
  q.params = params;
  q.order_sql = order->sql + ", r.seq DESC";
  q.order_params = order->params;
  q.limit = 1;
  auto runs = reader.ListRuns(q);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) return Status::NotFound("no completed run" + among);
  store::Run best = runs->front();
  auto sums = reader.GetMetricSummaries(best.id);
  if (!sums.ok()) return sums.status();
  bool has = std::any_of(sums->begin(), sums->end(),
                         [&](const store::MetricSummary& s) { return s.name == metric; });
  // NULLS LAST: when the first run lacks the metric, none has it.
  if (!has) return Status::NotFound("no completed run" + among + " reports the metric " + metric);
  return best;
}

}  // namespace

Result<SelectedRun> SelectExportRun(store::RunReader& reader, const ExportSelection& sel,
                                    double now_seconds) {
  int modes = !sel.run.empty() + !sel.tune.empty() + (!sel.where.empty() || !sel.metric.empty());
  if (!sel.run.empty() && modes > 1) {
    return Status::InvalidArgument("name a RUN, or choose one with --tune or --where/--metric, "
                                   "not both");
  }
  if (modes == 0) {
    return Status::InvalidArgument("which run? name a RUN, or use --tune TUNE, or "
                                   "--metric NAME [--where FILTER]");
  }
  if (!sel.where.empty() && sel.metric.empty()) {
    return Status::InvalidArgument("--where needs --metric NAME: the best run by which metric?");
  }
  if (!sel.where.empty() && !sel.tune.empty()) {
    return Status::InvalidArgument("--where and --tune: add `tune = ID` to the filter instead");
  }
  if (!sel.goal.empty() && sel.goal != "max" && sel.goal != "min") {
    return Status::InvalidArgument("--goal " + sel.goal + ": expected max or min");
  }
  if (!sel.goal.empty() && sel.metric.empty()) {
    return Status::InvalidArgument("--goal needs --metric");
  }

  SelectedRun out;
  if (!sel.run.empty()) {
    auto id = reader.ResolveRunId(sel.run);
    if (!id.ok()) return id.status();
    auto run = reader.GetRun(*id);
    if (!run.ok()) return run.status();
    out.run = std::move(run).value();
    out.why = "named";
    return out;
  }

  std::string metric = sel.metric;
  std::string goal = sel.goal.empty() && !metric.empty() ? DefaultGoal(metric) : sel.goal;
  if (!sel.tune.empty()) {
    auto tune_id = reader.ResolveTuneId(sel.tune);
    if (!tune_id.ok()) return tune_id.status();
    auto tune = reader.GetTune(*tune_id);
    if (!tune.ok()) return tune.status();
    const std::string among = " in tune " + tune->id;
    if (metric.empty() && !tune->best_run_id.empty()) {
      auto run = reader.GetRun(tune->best_run_id);
      if (!run.ok()) return run.status().WithContext("tune " + tune->id + "'s best run");
      out.run = std::move(run).value();
      out.why = "best run of tune " + tune->id;
      if (tune->objective.is_object()) {
        out.why += " (" + tune->objective.value("metric", "") + ", " +
                   tune->objective.value("goal", "max") + ")";
      }
      return out;
    }
    std::string stat;
    if (metric.empty()) {
      if (!tune->objective.is_object() || tune->objective.value("metric", "").empty()) {
        return Status::NotFound("tune " + tune->id + " has no best run and no objective; "
                                "choose by a metric with --metric NAME, or name a RUN");
      }
      metric = tune->objective.value("metric", "");
      goal = tune->objective.value("goal", "max");
      std::string reduce = "last";
      if (tune->spec.is_object() && tune->spec.contains("objective") &&
          tune->spec["objective"].is_object()) {
        reduce = tune->spec["objective"].value("reduce", "last");
      }
      stat = reduce == "best" ? goal : "last";
    } else {
      stat = goal;
    }
    auto best = BestRun(reader, "r.tune_id = ?", {store::SqlParam(tune->id)}, metric, stat,
                        goal == "max", among);
    if (!best.ok()) return best.status();
    out.run = std::move(best).value();
    out.why = "best run of tune " + tune->id + " by " + metric + "." + stat;
    return out;
  }

  auto where = query::CompileFilter(sel.where, now_seconds);
  if (!where.ok()) return where.status();
  const std::string among = sel.where.empty() ? "" : " matching '" + sel.where + "'";
  auto best = BestRun(reader, where->sql, where->params, metric, goal, goal == "max", among);
  if (!best.ok()) return best.status();
  out.run = std::move(best).value();
  out.why = "best completed run" + among + " by " + metric + "." + goal;
  return out;
}

std::string RunBundleDir(const store::Run& run) {
  return (fs::path(run.run_dir) / "model").string();
}

nlohmann::json CompleteCard(const nlohmann::json& trainer_card, const store::Run& run,
                            const std::vector<store::MetricSummary>& metrics,
                            const std::string& store_path, double now_seconds) {
  nlohmann::json card = trainer_card;
  nlohmann::json tsrc = trainer_card.value("source", nlohmann::json::object());
  if (!tsrc.is_object()) tsrc = nlohmann::json::object();
  nlohmann::json source = {
      {"run_id", run.id},
      {"name", run.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(run.name)},
      {"tune", run.tune_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(run.tune_id)},
      {"trial", Opt(run.trial)},
      {"attempt", run.attempt},
      {"store", store_path},
      {"run_dir", run.run_dir},
      {"command", run.command},
      {"cwd", run.cwd},
      {"seed", Opt(run.seed)},
      {"status", store::ToString(run.status)},
      {"exit_code", Opt(run.exit_code)},
      {"host", run.host},
      {"created", IsoTime(run.created_at)},
      {"finished", run.finished_at ? nlohmann::json(IsoTime(*run.finished_at)) : nlohmann::json()},
      {"tags", run.tags},
  };
  // What the trainer said about the weights it exported.
  for (const char* key : {"trainer", "weights", "epoch"}) {
    if (tsrc.contains(key)) source[key] = tsrc[key];
  }
  // The trainer's own view, kept beside the store's: its metrics at the
  // exported epoch and every flag value it resolved (defaults included).
  if (trainer_card.contains("metrics")) source["metrics_at_export"] = trainer_card["metrics"];
  source["recorded_flags"] = run.flags;
  card["source"] = std::move(source);

  // Every flag: the trainer's resolved values (defaults included, and those
  // given on its command line), with the flags Orchard recorded over them.
  nlohmann::json flags = trainer_card.value("flags", nlohmann::json::object());
  if (!flags.is_object()) flags = nlohmann::json::object();
  for (const auto& [name, value] : run.flags.items()) flags[name] = value;
  card["flags"] = std::move(flags);
  nlohmann::json m = nlohmann::json::object();
  for (const auto& s : metrics) {
    m[s.name] = {{"last", s.last}, {"min", s.min}, {"max", s.max}, {"count", s.count},
                 {"last_step", s.last_step}};
  }
  card["metrics"] = std::move(m);
  card["code"] = {{"commit", run.code_commit.empty() ? nlohmann::json() : nlohmann::json(run.code_commit)},
                  {"dirty", Opt(run.code_dirty)},
                  {"snapshot_id", run.snapshot_id.empty() ? nlohmann::json() : nlohmann::json(run.snapshot_id)}};
  nlohmann::json versions = trainer_card.value("versions", nlohmann::json::object());
  if (!versions.is_object()) versions = nlohmann::json::object();
  versions["orchard"] = ORCHARD_VERSION;
  if (run.env.is_object() && run.env.contains("orchard_version")) {
    versions["orchard_at_run"] = run.env["orchard_version"];
  }
  card["versions"] = std::move(versions);
  card["environment"] = run.env;
  card["exported"] = {{"at", IsoTime(now_seconds)}, {"by", "orchard export"},
                      {"from", RunBundleDir(run)}};
  return card;
}

namespace {

// Whether `inner` is `outer` or lies inside it (both absolute, normalised).
bool Within(const fs::path& inner, const fs::path& outer) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (i == inner.end() || *o != *i) return false;
  }
  return true;
}

fs::path Resolved(const fs::path& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal() : r;
}

Status CopyAndCheck(const Bundle& src, const fs::path& tmp, nlohmann::json& files) {
  std::error_code ec;
  for (const auto& [name, want] : src.files) {
    fs::path from = fs::path(src.dir) / name, to = tmp / name;
    fs::create_directories(to.parent_path(), ec);
    if (ec) return Status::IoError("cannot create " + to.parent_path().string() + ": " + ec.message());
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::IoError("cannot copy " + from.string() + ": " + ec.message());
    // Hash the copy: what was written is what the card will vouch for.
    auto got = HashFile(to.string());
    if (!got.ok()) return got.status();
    if (got->sha256 != want.sha256 || got->bytes != want.bytes) {
      return Status::IoError("the copy of " + from.string() + " differs from the original "
                             "(changed while being exported?); nothing was exported");
    }
    files[name] = {{"sha256", got->sha256}, {"bytes", got->bytes}};
  }
  return Status::Ok();
}

}  // namespace

Result<ExportResult> ExportBundle(store::RunReader& reader, const store::Run& run,
                                  const ExportOptions& opt, double now_seconds) {
  if (!store::IsTerminal(run.status)) {
    return Status::InvalidArgument("run " + RunLabel(run) + " is still " +
                                   store::ToString(run.status) +
                                   "; export it once it has finished");
  }
  const std::string src_dir = RunBundleDir(run);
  std::error_code ec;
  if (run.run_dir.empty() || !fs::exists(fs::path(src_dir) / kBundleCard, ec)) {
    std::string hint = run.status == store::RunStatus::kPruned
                           ? "pruned runs stop before their trainer exports a model"
                           : "`orchard-train finetune` writes one at the end of a run; a trainer "
                             "that exports nothing, and pruned runs, leave none";
    return Status::NotFound("run " + RunLabel(run) + " (" + store::ToString(run.status) +
                            ") has no exportable model: " +
                            (run.run_dir.empty() ? std::string("it has no run folder")
                                                 : "no " + src_dir + "/" + kBundleCard) +
                            " (" + hint + ")");
  }
  auto bundle = LoadVerifiedBundle(src_dir);
  if (!bundle.ok()) return bundle.status().WithContext("run " + run.id + "'s model");

  fs::path cwd = opt.cwd.empty() ? fs::current_path(ec) : fs::path(opt.cwd);
  fs::path dest = opt.output.empty() ? cwd / ("bundle-" + run.id) : fs::path(opt.output);
  if (dest.is_relative()) dest = cwd / dest;
  dest = dest.lexically_normal();
  if (!dest.has_filename()) dest = dest.parent_path();
  const fs::path src_abs = Resolved(fs::absolute(src_dir));
  const fs::path dest_res = Resolved(dest);
  if (Within(dest_res, src_abs) || Within(src_abs, dest_res)) {
    return Status::InvalidArgument("--output " + dest.string() + " overlaps the run's own model "
                                   "folder " + src_abs.string() + "; choose another folder");
  }
  bool exists = fs::exists(dest, ec) || fs::is_symlink(dest, ec);
  bool replace = false;
  if (exists) {
    if (!fs::is_directory(dest, ec)) {
      return Status::InvalidArgument(dest.string() + " exists and is not a folder; choose "
                                     "another --output");
    }
    if (!fs::is_empty(dest, ec)) {
      if (!opt.force) {
        return Status::InvalidArgument(dest.string() + " exists and is not empty; choose "
                                       "another --output, or --force to replace it");
      }
      replace = true;
    }
  }
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return Status::IoError("cannot create " + dest.parent_path().string() + ": " + ec.message());

  const std::string tag = "." + dest.filename().string() + ".export-" + std::to_string(getpid());
  fs::path tmp = dest.parent_path() / tag;
  fs::remove_all(tmp, ec);
  fs::create_directory(tmp, ec);
  if (ec) return Status::IoError("cannot create " + tmp.string() + ": " + ec.message());
  auto fail = [&](Status s) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return s;
  };

  nlohmann::json files = nlohmann::json::object();
  Status copied = CopyAndCheck(*bundle, tmp, files);
  if (!copied.ok()) return fail(copied);

  auto sums = reader.GetMetricSummaries(run.id);
  if (!sums.ok()) return fail(sums.status());
  nlohmann::json card = CompleteCard(bundle->card, run, *sums, reader.path(), now_seconds);
  card["files"] = files;
  {
    std::ofstream f(tmp / kBundleCard);
    f << card.dump(2) << "\n";
    f.close();
    if (!f) return fail(Status::IoError("cannot write " + (tmp / kBundleCard).string()));
  }

  // Into place: rename(2) replaces an empty folder atomically; a non-empty
  // one (--force) is moved aside first and removed once the new one is in.
  fs::path old = dest.parent_path() / ("." + dest.filename().string() + ".old-" + std::to_string(getpid()));
  if (replace) {
    fs::remove_all(old, ec);
    fs::rename(dest, old, ec);
    if (ec) return fail(Status::IoError("cannot move " + dest.string() + " aside: " + ec.message()));
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    std::error_code back;
    if (replace) fs::rename(old, dest, back);
    return fail(Status::IoError("cannot rename " + tmp.string() + " to " + dest.string() + ": " +
                                ec.message()));
  }
  if (replace) fs::remove_all(old, ec);
  return ExportResult{dest.string(), std::move(card)};
}

}  // namespace orchard::infer
