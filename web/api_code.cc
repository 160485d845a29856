// The code and comparison endpoints: snapshot, compare, diff.
#include <map>
#include <set>

#include "orchestrator/util/unified_diff.h"
#include "web/api.h"
#include "web/run_json.h"

namespace orchard::web {

namespace {

Result<store::Run> LoadRun(store::RunReader& reader, const std::string& ref,
                           const std::string& where) {
  auto id = reader.ResolveRunId(ref);
  if (!id.ok()) return id.status().WithContext(where);
  return reader.GetRun(*id);
}

nlohmann::json TextOrNull(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

// The run's snapshot files, path -> content; nullopt without a snapshot.
Result<std::optional<std::map<std::string, std::string>>> Files(store::RunReader& reader,
                                                                const store::Run& run) {
  using Map = std::map<std::string, std::string>;
  if (run.snapshot_id.empty()) return std::optional<Map>();
  auto snap = reader.GetSnapshot(run.snapshot_id, /*with_content=*/true);
  if (!snap.ok()) return snap.status().WithContext("snapshot of run " + run.id);
  Map files;
  for (auto& f : snap->files) files[f.path] = std::move(f.content);
  return std::optional<Map>(std::move(files));
}

// Every leaf of an object as "/a/b" -> value (JSON pointers).
nlohmann::json Flat(const nlohmann::json& j) {
  return j.is_object() || j.is_array() ? j.flatten() : nlohmann::json::object();
}

}  // namespace

Result<nlohmann::json> SnapshotJson(store::RunReader& reader, const std::string& ref) {
  auto run = LoadRun(reader, ref, "run");
  if (!run.ok()) return run.status();
  if (run->snapshot_id.empty()) {
    return Status::NotFound("run " + run->id + " has no code snapshot");
  }
  auto snap = reader.GetSnapshot(run->snapshot_id, /*with_content=*/false);
  if (!snap.ok()) return snap.status();
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : snap->files) {
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"mode", f.mode}});
  }
  return nlohmann::json{{"run", run->id},
                        {"snapshot", snap->id},
                        {"root", snap->root},
                        {"commit", TextOrNull(run->code_commit)},
                        {"dirty", run->code_dirty ? nlohmann::json(*run->code_dirty) : nullptr},
                        {"files", std::move(files)},
                        {"skipped", snap->skipped}};
}

Result<nlohmann::json> SnapshotFileJson(store::RunReader& reader, const std::string& ref,
                                        const std::string& path) {
  auto run = LoadRun(reader, ref, "run");
  if (!run.ok()) return run.status();
  if (run->snapshot_id.empty()) {
    return Status::NotFound("run " + run->id + " has no code snapshot");
  }
  auto snap = reader.GetSnapshot(run->snapshot_id, /*with_content=*/true);
  if (!snap.ok()) return snap.status();
  for (const auto& f : snap->files) {
    if (f.path != path) continue;
    bool binary = LooksBinary(f.content);
    return nlohmann::json{{"run", run->id},
                          {"path", f.path},
                          {"sha256", f.sha256},
                          {"mode", f.mode},
                          {"size", f.content.size()},
                          {"binary", binary},
                          {"content", binary ? nlohmann::json() : nlohmann::json(f.content)}};
  }
  return Status::NotFound("no file '" + path + "' in the code snapshot of run " + run->id);
}

Result<nlohmann::json> CompareJson(store::RunReader& reader, const Params& p, double now) {
  std::vector<std::string> refs = ListParam(p, "runs");
  if (refs.size() < 2) return Status::InvalidArgument("parameter runs: name 2 or more runs");
  if (refs.size() > 100) return Status::InvalidArgument("parameter runs: at most 100 runs");
  std::vector<store::Run> runs;
  std::vector<std::vector<store::MetricSummary>> sums;
  std::set<std::string> seen;
  for (const auto& ref : refs) {
    auto run = LoadRun(reader, ref, "parameter runs");
    if (!run.ok()) return run.status();
    if (!seen.insert(run->id).second) continue;
    auto m = reader.GetMetricSummaries(run->id);
    if (!m.ok()) return m.status();
    runs.push_back(std::move(run).value());
    sums.push_back(std::move(m).value());
  }
  const size_t n = runs.size();
  nlohmann::json brief = nlohmann::json::array();
  for (const auto& r : runs) {
    nlohmann::json b = RunBrief(r, now);
    b["commit"] = TextOrNull(r.code_commit);
    b["dirty"] = r.code_dirty ? nlohmann::json(*r.code_dirty) : nullptr;
    brief.push_back(std::move(b));
  }

  // Flags: every name, a value (or null) per run, and the names that differ.
  std::set<std::string> flag_names;
  for (const auto& r : runs) {
    for (const auto& [k, v] : r.flags.items()) flag_names.insert(k);
  }
  nlohmann::json flag_values = nlohmann::json::object(), differing = nlohmann::json::array();
  for (const auto& name : flag_names) {
    nlohmann::json vals = nlohmann::json::array();
    for (const auto& r : runs) vals.push_back(r.flags.contains(name) ? r.flags[name] : nullptr);
    bool same = true;
    for (size_t i = 1; i < n; ++i) same = same && vals[i] == vals[0];
    if (!same) differing.push_back(name);
    flag_values[name] = std::move(vals);
  }

  // Metrics: the summary per run, and which run is best by the last value.
  std::set<std::string> metric_names;
  for (const auto& s : sums) {
    for (const auto& m : s) metric_names.insert(m.name);
  }
  nlohmann::json metric_values = nlohmann::json::object(), best = nlohmann::json::object();
  for (const auto& name : metric_names) {
    nlohmann::json vals = nlohmann::json::array();
    int best_i = -1;
    double best_v = 0;
    const bool lower = LowerIsBetter(name);
    for (size_t i = 0; i < n; ++i) {
      const store::MetricSummary* found = nullptr;
      for (const auto& m : sums[i]) {
        if (m.name == name) found = &m;
      }
      vals.push_back(found ? SummaryJson(*found) : nlohmann::json());
      if (found && (best_i < 0 || (lower ? found->last < best_v : found->last > best_v))) {
        best_i = static_cast<int>(i);
        best_v = found->last;
      }
    }
    metric_values[name] = std::move(vals);
    best[name] = best_i < 0 ? nlohmann::json() : nlohmann::json(runs[best_i].id);
  }

  // Environment: flattened to JSON pointers; the keys whose values differ.
  std::vector<nlohmann::json> flats;
  std::set<std::string> env_keys;
  for (const auto& r : runs) {
    flats.push_back(Flat(r.env));
    for (const auto& [k, v] : flats.back().items()) env_keys.insert(k);
  }
  nlohmann::json env_values = nlohmann::json::object(), env_diff = nlohmann::json::array();
  for (const auto& key : env_keys) {
    nlohmann::json vals = nlohmann::json::array();
    for (const auto& f : flats) vals.push_back(f.contains(key) ? f[key] : nullptr);
    bool same = true;
    for (size_t i = 1; i < n; ++i) same = same && vals[i] == vals[0];
    if (!same) env_diff.push_back(key);
    env_values[key] = std::move(vals);
  }
  return nlohmann::json{
      {"runs", std::move(brief)},
      {"flags", {{"values", std::move(flag_values)}, {"differing", std::move(differing)}}},
      {"metrics", {{"values", std::move(metric_values)}, {"best", std::move(best)}}},
      {"env", {{"values", std::move(env_values)}, {"differing", std::move(env_diff)}}}};
}

Result<nlohmann::json> DiffJson(store::RunReader& reader, const Params& p) {
  auto ia = p.find("a"), ib = p.find("b");
  if (ia == p.end() || ib == p.end() || ia->second.empty() || ib->second.empty()) {
    return Status::InvalidArgument("parameters a and b: name the two runs to diff");
  }
  auto context = IntParam(p, "context", 3, 0, 1000);
  if (!context.ok()) return context.status();
  auto a = LoadRun(reader, ia->second, "parameter a");
  if (!a.ok()) return a.status();
  auto b = LoadRun(reader, ib->second, "parameter b");
  if (!b.ok()) return b.status();

  nlohmann::json flags = nlohmann::json::array();
  std::set<std::string> names;
  for (const auto& [k, v] : a->flags.items()) names.insert(k);
  for (const auto& [k, v] : b->flags.items()) names.insert(k);
  for (const auto& name : names) {
    nlohmann::json va = a->flags.contains(name) ? a->flags[name] : nullptr;
    nlohmann::json vb = b->flags.contains(name) ? b->flags[name] : nullptr;
    if (va != vb) flags.push_back({{"name", name}, {"a", va}, {"b", vb}});
  }

  auto fa = Files(reader, *a);
  if (!fa.ok()) return fa.status();
  auto fb = Files(reader, *b);
  if (!fb.ok()) return fb.status();
  nlohmann::json notes = nlohmann::json::array();
  if (!fa->has_value()) notes.push_back("run " + a->id + " has no code snapshot");
  if (!fb->has_value()) notes.push_back("run " + b->id + " has no code snapshot");
  nlohmann::json files = nlohmann::json::array();
  std::string unified;
  if (fa->has_value() && fb->has_value()) {
    DiffOptions opt;
    opt.context = static_cast<int>(*context);
    const auto& ma = **fa;
    const auto& mb = **fb;
    unified = DiffFileMaps(ma, mb, opt);
    std::set<std::string> paths;
    for (const auto& [k, v] : ma) paths.insert(k);
    for (const auto& [k, v] : mb) paths.insert(k);
    for (const auto& path : paths) {
      auto pa = ma.find(path), pb = mb.find(path);
      const bool has_a = pa != ma.end(), has_b = pb != mb.end();
      if (has_a && has_b && pa->second == pb->second) continue;
      std::string change = !has_a ? "added" : !has_b ? "deleted" : "modified";
      const std::string empty;
      const std::string& ta = has_a ? pa->second : empty;
      const std::string& tb = has_b ? pb->second : empty;
      nlohmann::json f = {{"path", path}, {"change", change}};
      if (LooksBinary(ta) || LooksBinary(tb)) {
        f["binary"] = true;
        f["diff"] = nullptr;
      } else {
        std::string d;
        DiffOutcome o = UnifiedDiff(ta, tb, has_a ? "a/" + path : "/dev/null",
                                    has_b ? "b/" + path : "/dev/null", opt, &d);
        f["binary"] = false;
        f["too_large"] = o == DiffOutcome::kTooLarge;
        f["diff"] = o == DiffOutcome::kTooLarge ? nlohmann::json() : nlohmann::json(d);
      }
      files.push_back(std::move(f));
    }
  }
  auto side = [](const store::Run& r) {
    return nlohmann::json{{"id", r.id},
                          {"name", TextOrNull(r.name)},
                          {"commit", TextOrNull(r.code_commit)},
                          {"dirty", r.code_dirty ? nlohmann::json(*r.code_dirty) : nullptr},
                          {"snapshot", TextOrNull(r.snapshot_id)}};
  };
  return nlohmann::json{{"a", side(*a)},         {"b", side(*b)},
                        {"flags", std::move(flags)}, {"files", std::move(files)},
                        {"unified", unified},    {"notes", std::move(notes)}};
}

}  // namespace orchard::web
