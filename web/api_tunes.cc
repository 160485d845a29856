// The tuning endpoints: the list, one tune with its trials, and exporting
// its best model.
#include <filesystem>
#include <map>
#include <set>

#include "orchestrator/infer/bundle_export.h"
#include "web/api.h"
#include "web/run_json.h"

namespace orchard::web {

namespace {

struct Objective {
  std::string metric;
  bool maximize = true;
  std::string reduce = "last";
};

Objective ObjectiveOf(const store::Tune& t) {
  Objective o;
  if (t.objective.is_object()) {
    o.metric = t.objective.value("metric", "");
    std::string goal = t.objective.value("goal", "max");
    o.maximize = goal != "min" && goal != "minimize";
  }
  if (t.spec.is_object() && t.spec.contains("objective") && t.spec["objective"].is_object()) {
    o.reduce = t.spec["objective"].value("reduce", "last");
  }
  return o;
}

// The trial's score: the objective metric's last value, or its best when
// reduce is "best"; null when it never reported the metric.
nlohmann::json Score(const std::vector<store::MetricSummary>& sums, const Objective& o) {
  for (const auto& m : sums) {
    if (m.name != o.metric) continue;
    if (o.reduce == "best") return o.maximize ? m.max : m.min;
    return m.last;
  }
  return nullptr;
}

Result<std::vector<store::Run>> TuneRuns(store::RunReader& reader, const std::string& tune_id) {
  store::RunQuery q;
  q.where_sql = "r.tune_id = ?";
  q.params = {store::SqlParam(tune_id)};
  q.order_sql = "r.trial IS NULL, r.trial, r.attempt, r.seq";
  return reader.ListRuns(q);
}

nlohmann::json TuneJson(const store::Tune& t) {
  Objective o = ObjectiveOf(t);
  return {{"id", t.id},
          {"name", t.name.empty() ? nlohmann::json() : nlohmann::json(t.name)},
          {"status", t.status},
          {"method", t.method},
          {"objective", o.metric.empty()
                            ? nlohmann::json()
                            : nlohmann::json{{"metric", o.metric},
                                             {"goal", o.maximize ? "max" : "min"},
                                             {"reduce", o.reduce}}},
          {"seed", t.seed},
          {"created", t.created_at},
          {"finished", t.finished_at ? nlohmann::json(*t.finished_at) : nlohmann::json()},
          {"best_run", t.best_run_id.empty() ? nlohmann::json() : nlohmann::json(t.best_run_id)},
          {"host", t.host}};
}

bool SafeName(const std::string& s) {
  if (s.empty() || s.size() > 100 || s[0] == '.') return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<nlohmann::json> TunesJson(store::RunReader& reader, const Params& p) {
  auto limit = IntParam(p, "limit", 100, 1, 10000);
  if (!limit.ok()) return limit.status();
  auto tunes = reader.ListTunes(*limit);
  if (!tunes.ok()) return tunes.status();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : *tunes) {
    auto runs = TuneRuns(reader, t.id);
    if (!runs.ok()) return runs.status();
    std::set<int64_t> trials;
    std::map<std::string, int> states;
    for (const auto& r : *runs) {
      if (r.trial) trials.insert(*r.trial);
      ++states[store::ToString(r.status)];
    }
    nlohmann::json j = TuneJson(t);
    j["trials"] = trials.size();
    j["runs_by_status"] = states;
    nlohmann::json best = nullptr;
    if (!t.best_run_id.empty()) {
      auto sums = reader.GetMetricSummaries(t.best_run_id);
      if (sums.ok()) best = Score(*sums, ObjectiveOf(t));
    }
    j["best_value"] = best;
    out.push_back(std::move(j));
  }
  return nlohmann::json{{"tunes", std::move(out)}};
}

Result<nlohmann::json> TuneDetailJson(store::RunReader& reader, const std::string& ref,
                                      double now) {
  auto id = reader.ResolveTuneId(ref);
  if (!id.ok()) return id.status();
  auto tune = reader.GetTune(*id);
  if (!tune.ok()) return tune.status();
  auto runs = TuneRuns(reader, tune->id);
  if (!runs.ok()) return runs.status();
  const Objective o = ObjectiveOf(*tune);

  nlohmann::json trials = nlohmann::json::array(), best_so_far = nlohmann::json::array();
  std::map<std::string, std::set<std::string>> categories;  // flag -> text values
  std::map<std::string, std::pair<double, double>> ranges;  // numeric flag -> min, max
  std::set<std::string> non_numeric;
  nlohmann::json best = nullptr;
  std::string best_run;
  for (const auto& r : *runs) {
    auto sums = reader.GetMetricSummaries(r.id);
    if (!sums.ok()) return sums.status();
    nlohmann::json score = o.metric.empty() ? nlohmann::json() : Score(*sums, o);
    int64_t steps = 0;
    for (const auto& m : *sums) {
      if (m.name == o.metric) steps = m.last_step;
    }
    nlohmann::json t = RunBrief(r, now);
    t["run"] = r.id;
    t["attempt"] = r.attempt;
    t["flags"] = r.flags;
    t["value"] = score;
    t["last_step"] = steps;
    t["pruned"] = r.status == store::RunStatus::kPruned;
    trials.push_back(std::move(t));
    for (const auto& [k, v] : r.flags.items()) {
      if (v.is_number()) {
        double d = v.get<double>();
        auto [it, fresh] = ranges.try_emplace(k, d, d);
        if (!fresh) it->second = {std::min(it->second.first, d), std::max(it->second.second, d)};
      } else {
        non_numeric.insert(k);
      }
      categories[k].insert(v.is_string() ? v.get<std::string>() : v.dump());
    }
    // Best so far counts completed trials only, in trial order (as Optuna's
    // optimisation history does).
    if (r.status == store::RunStatus::kCompleted && score.is_number()) {
      double v = score.get<double>();
      if (best.is_null() || (o.maximize ? v > best.get<double>() : v < best.get<double>())) {
        best = v;
        best_run = r.id;
      }
      best_so_far.push_back({{"trial", r.trial ? nlohmann::json(*r.trial) : nlohmann::json()},
                             {"run", r.id},
                             {"value", v},
                             {"best", best},
                             {"best_run", best_run}});
    }
  }
  // Parallel coordinates: an axis per flag, numeric or categorical.
  nlohmann::json dims = nlohmann::json::array();
  for (const auto& [name, values] : categories) {
    if (!non_numeric.count(name) && ranges.count(name)) {
      dims.push_back({{"name", name}, {"type", "number"}, {"min", ranges[name].first},
                      {"max", ranges[name].second}, {"varies", values.size() > 1}});
    } else {
      dims.push_back({{"name", name}, {"type", "category"},
                      {"values", std::vector<std::string>(values.begin(), values.end())},
                      {"varies", values.size() > 1}});
    }
  }
  nlohmann::json tj = TuneJson(*tune);
  tj["spec"] = tune->spec;
  return nlohmann::json{{"tune", std::move(tj)},
                        {"trials", std::move(trials)},
                        {"best_so_far", std::move(best_so_far)},
                        {"dimensions", std::move(dims)}};
}

Result<nlohmann::json> ExportTuneJson(store::RunReader& reader, const std::string& ref,
                                      const nlohmann::json& body, const std::string& exports_dir,
                                      double now) {
  if (!body.is_object()) return Status::InvalidArgument("request body: expected a JSON object");
  auto id = reader.ResolveTuneId(ref);
  if (!id.ok()) return id.status();
  infer::ExportSelection sel;
  sel.tune = *id;
  auto chosen = infer::SelectExportRun(reader, sel, now);
  if (!chosen.ok()) return chosen.status();
  std::string name = "tune-" + *id + "-run-" + chosen->run.id;
  if (body.contains("name")) {
    if (!body["name"].is_string() || !SafeName(body["name"].get<std::string>())) {
      return Status::InvalidArgument(
          "request body: name must be 1 to 100 letters, digits, '.', '_' or '-', not starting "
          "with '.'; the bundle always goes under " + exports_dir);
    }
    name = body["name"].get<std::string>();
  }
  bool force = false;
  if (body.contains("force")) {
    if (!body["force"].is_boolean()) return Status::InvalidArgument("request body: force must be true or false");
    force = body["force"].get<bool>();
  }
  infer::ExportOptions opt;
  opt.output = (std::filesystem::path(exports_dir) / name).string();
  opt.cwd = exports_dir;
  opt.force = force;
  auto result = infer::ExportBundle(reader, chosen->run, opt, now);
  if (!result.ok()) return result.status();
  return nlohmann::json{{"tune", *id},
                        {"run", chosen->run.id},
                        {"why", chosen->why},
                        {"dir", result->dir},
                        {"card", result->card}};
}

}  // namespace orchard::web
