// orchard show RUN [--logs | --metrics NAME]
#include <iostream>
#include <memory>
#include <sstream>

#include "flags/flag_value.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

// Shown sha256 prefix length in tables (the JSON form has the whole hash).
constexpr size_t kShaPrefix = 12;

struct ShowOptions {
  std::string run;
  bool logs = false;
  std::string metric;
};

// Everything `show` prints, loaded once.
struct RunDetails {
  RunView view;
  std::vector<store::Artifact> artifacts;
  std::optional<store::Snapshot> snapshot;  // without contents
};

nlohmann::json OptJson(const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

std::string CommandText(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`") == std::string::npos;
    std::string quoted = plain ? a : "'" + a + "'";
    out += (out.empty() ? "" : " ") + quoted;
  }
  return out;
}

nlohmann::json ToJson(const RunDetails& d, double now) {
  const store::Run& r = d.view.run;
  nlohmann::json j;
  j["id"] = r.id;
  j["seq"] = r.seq;
  j["name"] = r.name;
  j["status"] = store::ToString(r.status);
  j["exit_code"] = OptJson(r.exit_code);
  j["error"] = r.error;
  j["command"] = r.command;
  j["cwd"] = r.cwd;
  j["run_dir"] = r.run_dir;
  j["seed"] = OptJson(r.seed);
  j["created"] = r.created_at;
  j["started"] = OptJson(r.started_at);
  j["finished"] = OptJson(r.finished_at);
  j["duration"] = OptJson(RunDuration(r, now));
  j["host"] = r.host;
  j["pid"] = OptJson(r.pid);
  j["tune"] = r.tune_id;
  j["trial"] = OptJson(r.trial);
  j["attempt"] = r.attempt;
  j["flags"] = r.flags;
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& m : d.view.metrics) {
    metrics[m.name] = {{"last", m.last}, {"min", m.min},         {"max", m.max},
                       {"last_step", m.last_step}, {"count", m.count}};
  }
  j["metrics"] = metrics;
  j["tags"] = r.tags;
  j["notes"] = r.notes;
  j["code"] = {{"commit", r.code_commit},
               {"dirty", OptJson(r.code_dirty)},
               {"diff", r.code_diff},
               {"snapshot", r.snapshot_id},
               {"files", d.snapshot ? nlohmann::json(d.snapshot->files.size())
                                    : nlohmann::json(nullptr)}};
  j["env"] = r.env;
  nlohmann::json arts = nlohmann::json::array();
  for (const auto& a : d.artifacts) {
    arts.push_back({{"path", a.path}, {"size", a.size}, {"sha256", a.sha256}, {"mtime", a.mtime}});
  }
  j["artifacts"] = arts;
  return j;
}

// Labels are padded to this width so values line up.
constexpr size_t kLabelWidth = 17;

void Field(std::ostream& out, const std::string& label, const std::string& value) {
  if (value.empty()) return;
  std::string l = Printable(label) + ":";
  out << "  " << l << std::string(l.size() < kLabelWidth ? kLabelWidth - l.size() : 1, ' ')
      << Printable(value) << "\n";
}

// One line for an environment value: scalars as they are, others compact.
std::string EnvText(const nlohmann::json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : flags::FormatScalar(v);
  if (v.is_object() || v.is_array()) s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 100) s = s.substr(0, 97) + "...";
  return s;
}

void PrintTable(std::ostream& out, const Table& t) {
  std::string text;
  std::ostringstream buf;
  t.Print(buf, Format::kTable);
  std::istringstream lines(buf.str());
  std::string line;
  while (std::getline(lines, line)) out << "  " << line << "\n";
}

void PrintText(std::ostream& out, const RunDetails& d, double now) {
  const store::Run& r = d.view.run;
  out << "run " << r.id << (r.name.empty() ? "" : "  " + Printable(r.name)) << "\n";
  std::string status = store::ToString(r.status);
  if (r.exit_code) status += " (exit code " + std::to_string(*r.exit_code) + ")";
  Field(out, "status", status);
  Field(out, "error", r.error);
  Field(out, "command", CommandText(r.command));
  Field(out, "cwd", r.cwd);
  Field(out, "run dir", r.run_dir);
  Field(out, "seed", r.seed ? std::to_string(*r.seed) : "");
  Field(out, "created", FormatTime(r.created_at));
  Field(out, "started", r.started_at ? FormatTime(*r.started_at) : "");
  Field(out, "finished", r.finished_at ? FormatTime(*r.finished_at) : "");
  auto dur = RunDuration(r, now);
  Field(out, "duration", dur ? FormatDuration(*dur) : "");
  Field(out, "host", r.host);
  Field(out, "tune", r.tune_id);
  if (r.trial) {
    Field(out, "trial", std::to_string(*r.trial) +
                            (r.attempt > 1 ? " (attempt " + std::to_string(r.attempt) + ")" : ""));
  }

  out << "\nflags\n";
  if (r.flags.empty()) out << "  (none)\n";
  for (const auto& [name, value] : r.flags.items()) {
    out << "  " << Printable(name) << " = " << Printable(flags::FormatScalar(value)) << "\n";
  }

  out << "\nmetrics\n";
  if (d.view.metrics.empty()) {
    out << "  (none)\n";
  } else {
    Table t({"name", "last", "min", "max", "step", "points"});
    for (const auto& m : d.view.metrics) {
      t.AddRow({m.name, m.last, m.min, m.max, m.last_step, m.count});
    }
    PrintTable(out, t);
  }

  out << "\ntags\n  " << (r.tags.empty() ? "(none)" : "") ;
  for (size_t i = 0; i < r.tags.size(); ++i) out << (i ? ", " : "") << Printable(r.tags[i]);
  out << "\n";
  if (!r.notes.empty()) {
    out << "\nnotes\n";
    std::istringstream lines(r.notes);
    std::string line;
    while (std::getline(lines, line)) out << "  " << Printable(line) << "\n";
  }

  out << "\ncode\n";
  if (r.code_commit.empty() && r.snapshot_id.empty()) out << "  (not recorded)\n";
  std::string commit = r.code_commit;
  if (!commit.empty() && r.code_dirty) commit += *r.code_dirty ? " (dirty)" : " (clean)";
  Field(out, "commit", commit);
  if (!r.snapshot_id.empty()) {
    std::string snap = r.snapshot_id;
    if (d.snapshot) snap += " (" + std::to_string(d.snapshot->files.size()) + " files)";
    Field(out, "snapshot", snap);
  }

  if (!r.env.empty()) {
    out << "\nenvironment\n";
    for (const auto& [key, value] : r.env.items()) Field(out, key, EnvText(value));
  }

  out << "\nartifacts\n";
  if (d.artifacts.empty()) {
    out << "  (none)\n";
  } else {
    Table t({"path", "size", "sha256"});
    for (const auto& a : d.artifacts) {
      t.AddRow({a.path, HumanSize(a.size), a.sha256.substr(0, kShaPrefix)});
    }
    PrintTable(out, t);
  }
}

// Rows "flags.lr,0.1", "command.0,python3": nested keys joined with '.'.
void Flatten(const nlohmann::json& j, const std::string& prefix, Table& t) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, t);
  } else if (j.is_array() && !j.empty()) {
    for (size_t i = 0; i < j.size(); ++i) Flatten(j[i], prefix + "." + std::to_string(i), t);
  } else if (j.is_object() || j.is_array()) {
    t.AddRow({prefix, nullptr});
  } else {
    t.AddRow({prefix, j});
  }
}

Status ShowLogs(store::RunReader& reader, const std::string& id) {
  auto logs = reader.GetLogs(id, 0);
  if (!logs.ok()) return logs.status();
  for (const auto& chunk : *logs) std::cout << chunk.text;
  std::cout.flush();
  return Status::Ok();
}

Status ShowSeries(store::RunReader& reader, const std::string& id, const std::string& name,
                  Format format) {
  auto series = reader.GetMetricSeries(id, name);
  if (!series.ok()) return series.status();
  if (series->empty()) {
    auto summaries = reader.GetMetricSummaries(id);
    std::string known;
    if (summaries.ok()) {
      for (const auto& m : *summaries) known += (known.empty() ? "" : ", ") + m.name;
    }
    return Status::NotFound("run " + id + " has no metric '" + name + "'" +
                            (known.empty() ? "" : "; it has " + known));
  }
  Table t({"step", "epoch", "value", "time"});
  for (const auto& p : *series) {
    nlohmann::json time = format == Format::kTable ? nlohmann::json(FormatTime(p.time))
                                                   : nlohmann::json(p.time);
    t.AddRow({p.step, OptJson(p.epoch), p.value, time});
  }
  t.Print(std::cout, format);
  return Status::Ok();
}

Status DoShow(Context& ctx, const ShowOptions& opt) {
  auto format = ctx.OutputFormat();
  if (!format.ok()) return format.status();
  if (opt.logs && !opt.metric.empty()) {
    return Status::InvalidArgument("--logs and --metrics cannot be given together");
  }
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  store::RunReader& reader = **store;
  auto id = reader.ResolveRunId(opt.run);
  if (!id.ok()) return id.status();
  if (opt.logs) return ShowLogs(reader, *id);
  if (!opt.metric.empty()) return ShowSeries(reader, *id, opt.metric, *format);

  auto run = reader.GetRun(*id);
  if (!run.ok()) return run.status();
  auto metrics = reader.GetMetricSummaries(*id);
  if (!metrics.ok()) return metrics.status();
  auto artifacts = reader.GetArtifacts(*id);
  if (!artifacts.ok()) return artifacts.status();
  RunDetails d{{std::move(run).value(), std::move(metrics).value()},
               std::move(artifacts).value(), std::nullopt};
  if (!d.view.run.snapshot_id.empty()) {
    auto snap = reader.GetSnapshot(d.view.run.snapshot_id, /*with_content=*/false);
    if (snap.ok()) d.snapshot = std::move(snap).value();  // a missing one shows as just its id
  }
  double now = NowSeconds();
  if (*format == Format::kJson) {
    std::cout << ToJson(d, now).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else if (*format == Format::kCsv) {
    // One row per field: the flat form spreadsheets read.
    Table t({"field", "value"});
    Flatten(ToJson(d, now), "", t);
    t.Print(std::cout, Format::kCsv);
  } else {
    PrintText(std::cout, d, now);
  }
  return Status::Ok();
}

}  // namespace

void AddShowCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<ShowOptions>();
  app.description(
      "Shows one run: status, command, timings, flags, metric summaries, tags, notes, code, "
      "environment and artifacts. RUN is an id, a unique id prefix, or a run name.");
  app.add_option("run", opt->run, "The run (id, unique prefix or name)")->required();
  app.add_flag("--logs", opt->logs, "Print the run's recorded output instead");
  app.add_option("--metrics,--metric", opt->metric,
                 "Print the series of this metric (step, epoch, value, time) instead");
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoShow(ctx, *opt); }; });
}

}  // namespace orchard::cli
