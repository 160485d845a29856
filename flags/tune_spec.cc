// ParseTuneSpec: tune.yaml -> TuneSpec. Each section has its own reader;
// checks that involve several sections (method vs. search, objective vs.
// early stopping) run last, once every section has been read.
#include "flags/tune_spec.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "flags/expand.h"
#include "flags/flag.h"
#include "flags/flag_value.h"
#include "flags/suggest.h"
#include "flags/yaml_field.h"
#include "flags/yaml_search.h"

namespace orchard::flags {
namespace {

using Kind = Dimension::Kind;

const std::vector<std::string> kTopKeys = {
    "command", "flags",          "search",    "method",   "sample", "max_trials",
    "seed",    "objective",      "early_stopping", "resources", "executor", "name"};

constexpr int64_t kMaxCount = int64_t{1} << 20;  // bounds for concurrency, GPUs, retries

Status SpecError(const std::string& source, int line, const std::string& path,
                 std::string_view message) {
  std::string msg = source + ":" + std::to_string(line) + ": ";
  if (!path.empty()) msg += path + ": ";
  msg += message;
  return Status::InvalidArgument(std::move(msg));
}

// `word` as one of `options`: "expected grid, random or tpe, got 'bayes'".
Status NotOneOf(const YamlField& f, const std::vector<std::string>& options) {
  std::string msg = "expected ";
  for (size_t i = 0; i < options.size(); ++i) {
    if (i > 0) msg += i + 1 == options.size() ? " or " : ", ";
    msg += options[i];
  }
  msg += ", got " + f.Describe();
  std::string guess = f.IsScalar() ? SuggestClosest(f.Text(), options) : "";
  if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
  return f.Error(msg);
}

Result<std::string> OneOf(const YamlField& f, const std::vector<std::string>& options) {
  if (f.IsScalar()) {
    for (const std::string& o : options) {
      if (f.Text() == o) return o;
    }
  }
  return NotOneOf(f, options);
}

Result<bool> Goal(const YamlField& f) {
  if (f.IsScalar()) {
    const std::string& t = f.Text();
    if (t == "max" || t == "maximize") return true;
    if (t == "min" || t == "minimize") return false;
  }
  return NotOneOf(f, {"max", "min"});
}

// An integer in [lo, hi]; `what` explains the bound in the message.
Result<int64_t> IntIn(const YamlField& f, int64_t lo, int64_t hi, const std::string& what) {
  Result<int64_t> v = f.Int();
  if (!v.ok()) return v.status();
  if (*v < lo || *v > hi) return f.Error("expected " + what + ", got " + f.Describe());
  return *v;
}

Status ParseCommand(const YamlField& f, TuneSpec* spec) {
  if (f.IsScalar()) {
    std::string text = f.Text();
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
      return f.Error("the command is empty");
    }
    spec->command = {"/bin/sh", "-c", text};
    return Status::Ok();
  }
  if (!f.IsList()) {
    return f.Error("expected a list [program, arg, ...] or a shell command string, got " +
                   f.Describe());
  }
  Result<std::vector<YamlField>> items = f.Items();
  if (items->empty()) return f.Error("needs at least the program, got []");
  for (const YamlField& item : *items) {
    if (!item.IsScalar()) return item.Error("expected a single argument, got " + item.Describe());
    spec->command.push_back(item.Text());
  }
  if (spec->command[0].empty()) return (*items)[0].Error("the program name is empty");
  return Status::Ok();
}

Status ParseFixedFlags(const YamlField& f, TuneSpec* spec) {
  if (f.IsNull()) return Status::Ok();
  Result<std::vector<YamlField>> entries = f.Entries();
  if (!entries.ok()) return entries.status();
  for (const YamlField& e : *entries) {
    if (!IsValidFlagName(e.key())) {
      return e.ErrorAt(e.key_line(), "not a valid flag name (letters, digits, '_', '.', '-'; "
                                     "starting with a letter or '_')");
    }
    if (e.IsList() || e.IsMap()) {
      return e.Error("expected a single value, got " + e.Describe() +
                     " (to try several values, put the flag under search:)");
    }
    Result<nlohmann::json> v = e.Scalar();
    if (!v.ok()) return v.status();
    if (v->is_null()) return e.Error("has no value (write '' for an empty string)");
    spec->flags[e.key()] = std::move(*v);
  }
  return Status::Ok();
}

Status ParseObjective(const YamlField& f, TuneSpec* spec) {
  if (f.IsNull()) return Status::Ok();
  Result<std::vector<YamlField>> entries = f.Entries({"metric", "goal", "reduce"});
  if (!entries.ok()) return entries.status();
  Objective o;
  bool has_metric = false, has_goal = false;
  for (const YamlField& e : *entries) {
    if (e.key() == "metric") {
      Result<std::string> m = e.String();
      if (!m.ok()) return m.status();
      if (*m == "step" || *m == "epoch") {
        return e.Error("'" + *m + "' counts progress; the objective must be a metric");
      }
      o.metric = *m;
      has_metric = true;
    } else if (e.key() == "goal") {
      Result<bool> g = Goal(e);
      if (!g.ok()) return g.status();
      o.maximize = *g;
      has_goal = true;
    } else {
      Result<std::string> r = OneOf(e, {"last", "best"});
      if (!r.ok()) return r.status();
      o.reduce = *r;
    }
  }
  if (!has_metric) return f.Error("missing 'metric' (the metric to optimise, e.g. val_acc)");
  if (!has_goal) return f.Error("missing 'goal' (max or min)");
  spec->objective = std::move(o);
  return Status::Ok();
}

Status ParseEarlyStopping(const YamlField& f, TuneSpec* spec) {
  if (f.IsNull()) return Status::Ok();
  Result<std::vector<YamlField>> entries = f.Entries(
      {"method", "metric", "goal", "grace", "reduction", "max_t", "unit", "min_trials"});
  if (!entries.ok()) return entries.status();
  EarlyStopping es;
  const YamlField* method = nullptr;
  for (const YamlField& e : *entries) {
    if (e.key() == "method") method = &e;
  }
  if (method == nullptr) return f.Error("missing 'method' (asha or median)");
  Result<std::string> m = OneOf(*method, {"asha", "median"});
  if (!m.ok()) return m.status();
  es.method = *m;
  bool asha = es.method == "asha";
  std::optional<bool> goal;
  const YamlField* max_t = nullptr;
  for (const YamlField& e : *entries) {
    const std::string& k = e.key();
    if ((k == "reduction" || k == "max_t") && !asha) {
      return e.ErrorAt(e.key_line(), "only applies to method asha");
    }
    if (k == "min_trials" && asha) return e.ErrorAt(e.key_line(), "only applies to method median");
    if (k == "metric") {
      Result<std::string> v = e.String();
      if (!v.ok()) return v.status();
      es.metric = *v;
    } else if (k == "goal") {
      Result<bool> g = Goal(e);
      if (!g.ok()) return g.status();
      goal = *g;
    } else if (k == "unit") {
      Result<std::string> u = OneOf(e, {"epoch", "step"});
      if (!u.ok()) return u.status();
      es.unit = *u;
    } else if (k == "grace") {
      Result<int64_t> g = asha ? IntIn(e, 1, INT64_MAX, "an integer >= 1")
                               : IntIn(e, 0, INT64_MAX, "an integer >= 0");
      if (!g.ok()) return g.status();
      es.grace = *g;
    } else if (k == "reduction") {
      Result<double> r = e.Number();
      if (!r.ok()) return r.status();
      if (!(*r > 1)) return e.Error("expected a number > 1, got " + e.Describe());
      es.reduction = *r;
    } else if (k == "max_t") {
      Result<int64_t> t = IntIn(e, 0, INT64_MAX, "an integer >= 0 (0: no limit)");
      if (!t.ok()) return t.status();
      es.max_t = *t;
      max_t = &e;
    } else if (k == "min_trials") {
      Result<int64_t> t = IntIn(e, 1, kMaxCount, "an integer >= 1");
      if (!t.ok()) return t.status();
      es.min_trials = *t;
    }
  }
  if (max_t != nullptr && es.max_t > 0 && es.max_t < es.grace) {
    return max_t->Error("must be at least grace (" + std::to_string(es.grace) + "), got " +
                        max_t->Describe());
  }
  // Defaults from the objective; a different metric needs its own goal.
  const std::optional<Objective>& obj = spec->objective;
  if (es.metric.empty()) {
    if (!obj.has_value()) {
      return f.Error("needs a metric: add objective: {metric: NAME, goal: max|min} "
                     "or early_stopping.metric and goal");
    }
    es.metric = obj->metric;
  }
  if (goal.has_value()) {
    es.maximize = *goal;
  } else if (obj.has_value() && obj->metric == es.metric) {
    es.maximize = obj->maximize;
  } else {
    return f.Error("missing 'goal' (max or min) for metric '" + es.metric + "'" +
                   (obj.has_value() ? " (it differs from the objective's)" : ""));
  }
  spec->early_stopping = std::move(es);
  return Status::Ok();
}

// Seconds from 3600, 90.5, "90s", "30m", "2h" or "1d".
Result<double> ParseDuration(const YamlField& f) {
  std::string bad = "expected seconds or a duration such as 90s, 30m, 2h, got " + f.Describe();
  Result<nlohmann::json> v = f.Scalar();
  if (!v.ok()) return v.status();
  double seconds = 0;
  if (v->is_number()) {
    seconds = v->get<double>();
  } else if (v->is_string()) {
    std::string t = v->get<std::string>();
    if (t.size() < 2) return f.Error(bad);
    char unit = t.back();
    double scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    nlohmann::json n = ParseScalar(t.substr(0, t.size() - 1));
    if (scale == 0 || !n.is_number()) return f.Error(bad);
    seconds = n.get<double>() * scale;
  } else {
    return f.Error(bad);
  }
  if (!(seconds >= 0) || !std::isfinite(seconds)) return f.Error(bad);
  return seconds;
}

Status ParseResources(const YamlField& f, TuneSpec* spec) {
  if (f.IsNull()) return Status::Ok();
  Result<std::vector<YamlField>> entries = f.Entries(
      {"concurrency", "gpus_per_trial", "trials_per_gpu", "gpus", "timeout", "retries"});
  if (!entries.ok()) return entries.status();
  Resources& r = spec->resources;
  const YamlField* gpus_per_trial = nullptr;
  const YamlField* trials_per_gpu = nullptr;
  for (const YamlField& e : *entries) {
    const std::string& k = e.key();
    if (k == "gpus") {
      Result<std::vector<YamlField>> ids = e.Items();
      if (!ids.ok()) return e.Error("expected a list of GPU ids such as [0, 1], got " + e.Describe());
      if (ids->empty()) return e.Error("an empty list (leave gpus out to detect them)");
      for (const YamlField& id : *ids) {
        if (!id.IsScalar() || id.Text().empty()) {
          return id.Error("expected a GPU id (an index or a UUID), got " + id.Describe());
        }
        for (const std::string& seen : r.gpus) {
          if (seen == id.Text()) return id.Error("GPU " + seen + " is listed twice");
        }
        r.gpus.push_back(id.Text());
      }
    } else if (k == "timeout") {
      Result<double> t = ParseDuration(e);
      if (!t.ok()) return t.status();
      r.timeout_s = *t;
    } else {
      int64_t lo = k == "concurrency" || k == "trials_per_gpu" ? 1 : 0;
      Result<int64_t> v = IntIn(e, lo, kMaxCount,
                                "an integer from " + std::to_string(lo) + " to 2^20");
      if (!v.ok()) return v.status();
      int n = static_cast<int>(*v);
      if (k == "concurrency") r.concurrency = n;
      if (k == "retries") r.retries = n;
      if (k == "gpus_per_trial") r.gpus_per_trial = n, gpus_per_trial = &e;
      if (k == "trials_per_gpu") r.trials_per_gpu = n, trials_per_gpu = &e;
    }
  }
  if (gpus_per_trial != nullptr && !r.gpus.empty() &&
      static_cast<size_t>(r.gpus_per_trial) > r.gpus.size()) {
    return gpus_per_trial->Error("a trial needs " + std::to_string(r.gpus_per_trial) +
                                 " GPUs but resources.gpus lists " + std::to_string(r.gpus.size()));
  }
  if (trials_per_gpu != nullptr && r.trials_per_gpu > 1 && r.gpus_per_trial != 1) {
    return trials_per_gpu->Error("sharing a GPU between trials needs gpus_per_trial: 1");
  }
  return Status::Ok();
}

Status ParseExecutor(const YamlField& f, TuneSpec* spec) {
  static const std::vector<std::string> kKinds = {"local", "ssh", "slurm"};
  std::string shape = "expected local, {ssh: NODES_FILE} or {slurm: {partition: ...}}, got ";
  if (f.IsNull()) return Status::Ok();
  if (f.IsScalar()) {
    if (f.Text() == "local") return Status::Ok();
    if (f.Text() == "slurm") {
      spec->executor = {{"slurm", nlohmann::json::object()}};
      return Status::Ok();
    }
    if (f.Text() == "ssh") return f.Error("ssh needs its nodes: {ssh: nodes.yaml}");
    std::string guess = SuggestClosest(f.Text(), kKinds);
    return f.Error(shape + f.Describe() + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
  }
  Result<std::vector<YamlField>> entries = f.Entries(kKinds);
  if (!entries.ok()) return entries.status();
  if (entries->size() != 1) return f.Error(shape + "a map with " +
                                           std::to_string(entries->size()) + " keys");
  const YamlField& e = (*entries)[0];
  if (e.key() == "local") {
    if (!e.IsNull() && !(e.IsMap() && e.node().size() == 0)) {
      return e.Error("takes no settings, got " + e.Describe());
    }
    spec->executor = "local";
    return Status::Ok();
  }
  if (e.key() == "ssh") {
    if (e.IsNull() || (e.IsScalar() && e.Text().empty())) {
      return e.Error("needs a nodes file (ssh: nodes.yaml) or a list of hosts");
    }
    if (e.IsList() && e.node().size() == 0) return e.Error("an empty list of hosts");
  } else if (!e.IsNull() && !e.IsMap()) {
    return e.Error("expected a map of Slurm settings such as {partition: gpu}, got " +
                   e.Describe());
  }
  Result<nlohmann::json> config = e.IsNull() ? Result<nlohmann::json>(nlohmann::json::object())
                                             : e.ToJson();
  if (!config.ok()) return config.status();
  spec->executor = {{e.key(), std::move(*config)}};
  return Status::Ok();
}

// Checks that involve several sections; `top` maps each top-level key given
// to its field (for lines).
Status CrossCheck(const std::map<std::string, YamlField>& top, bool method_given, TuneSpec* spec) {
  const std::string& src = spec->source;
  auto line_of = [&](const std::string& key, int fallback) {
    auto it = top.find(key);
    return it == top.end() ? fallback : it->second.key_line();
  };
  int search_line = line_of("search", 1);
  int method_line = line_of("method", search_line);

  for (const Dimension& d : spec->space.dims) {
    if (spec->flags.contains(d.name)) {
      return SpecError(src, d.line, "search." + d.name,
                       "'" + d.name + "' is also a fixed flag (flags:, line " +
                           std::to_string(line_of("flags", 1)) +
                           "); a flag is either fixed or searched");
    }
  }
  if (spec->method == "grid") {
    for (const Dimension& d : spec->space.dims) {
      if (d.kind == Kind::kList) continue;
      std::string hint = d.kind == Kind::kChoice ? "write it as a list [...]"
                                                 : "list the values to try";
      return SpecError(src, d.line, "search." + d.name,
                       "method grid needs a list of values, got a " +
                           std::string(Dimension::KindName(d.kind)) + " distribution (" + hint +
                           ", or use method: random or tpe)");
    }
    Result<uint64_t> size = GridSize(spec->space);
    if (!size.ok()) {
      return SpecError(src, search_line, "search",
                       "the grid has more than 2^62 points; use method: random or tpe");
    }
  } else {
    std::string why = method_given ? "" : " (the default when search has distributions)";
    if (spec->sample.has_value()) {
      return SpecError(src, line_of("sample", 1), "sample",
                       "only applies to method grid; this spec's method is " + spec->method + why);
    }
    if (spec->space.dims.empty()) {
      return SpecError(src, method_line, "method",
                       spec->method + " needs at least one dimension under search:");
    }
    if (!spec->max_trials.has_value()) {
      return SpecError(src, method_line, "max_trials",
                       "required with method " + spec->method + why + ": how many trials to run");
    }
    if (spec->method == "tpe" && !spec->objective.has_value()) {
      return SpecError(src, method_line, "method",
                       "tpe needs an objective: add objective: {metric: NAME, goal: max|min}");
    }
  }
  return Status::Ok();
}

// YAML forbids tabs in indentation and yaml-cpp's message does not say so.
std::string TabHint(const std::string& text, int error_line0) {  // 0-based, as yaml-cpp marks
  std::istringstream in(text);
  std::string line;
  for (int i = 0; std::getline(in, line); ++i) {
    if (i < error_line0 - 1 || i > error_line0) continue;  // the line reported and the one before
    size_t indent = line.find_first_not_of(" \t");
    if (line.substr(0, indent).find('\t') != std::string::npos) {
      return "; line " + std::to_string(i + 1) + " is indented with a tab, which YAML forbids";
    }
  }
  return "";
}

Result<TuneSpec> ParseDocument(const YAML::Node& root, const std::string& source) {
  YamlField doc(root, &source);
  if (doc.IsNull()) return SpecError(source, 1, "", "the spec is empty: it needs at least 'command'");
  if (!doc.IsMap()) {
    return doc.Error("expected a map of settings (command:, search:, ...), got " + doc.Describe());
  }
  Result<std::vector<YamlField>> entries = doc.Entries(kTopKeys);
  if (!entries.ok()) return entries.status();
  std::map<std::string, YamlField> top;
  for (const YamlField& e : *entries) top.emplace(e.key(), e);

  TuneSpec spec;
  spec.source = source;
  auto field = [&](const std::string& key) -> const YamlField* {
    auto it = top.find(key);
    return it == top.end() ? nullptr : &it->second;
  };
  if (field("command") == nullptr) {
    return SpecError(source, 1, "", "missing 'command' (the trainer to run, e.g. "
                                    "[/usr/bin/python3, train.py])");
  }
  ORCHARD_RETURN_IF_ERROR(ParseCommand(*field("command"), &spec));
  if (auto* f = field("flags")) ORCHARD_RETURN_IF_ERROR(ParseFixedFlags(*f, &spec));
  if (auto* f = field("search")) {
    Result<SearchSpace> space = ParseSearchSpace(*f);
    if (!space.ok()) return space.status();
    spec.space = std::move(*space);
  }
  bool method_given = field("method") != nullptr;
  if (method_given) {
    Result<std::string> m = OneOf(*field("method"), {"grid", "random", "tpe"});
    if (!m.ok()) return m.status();
    spec.method = *m;
  } else {
    spec.method = spec.space.IsGrid() ? "grid" : "random";
  }
  if (auto* f = field("sample")) {
    Result<double> s = f->Number();
    if (!s.ok()) return s.status();
    if (!(*s > 0 && *s <= 1)) return f->Error("expected a fraction 0 < sample <= 1, got " + f->Describe());
    spec.sample = *s;
  }
  if (auto* f = field("max_trials")) {
    Result<int64_t> n = IntIn(*f, 1, INT64_MAX, "an integer >= 1");
    if (!n.ok()) return n.status();
    spec.max_trials = *n;
  }
  if (auto* f = field("seed")) {
    Result<int64_t> n = IntIn(*f, 0, INT64_MAX, "an integer >= 0");
    if (!n.ok()) return n.status();
    spec.seed = *n;
  }
  if (auto* f = field("objective")) ORCHARD_RETURN_IF_ERROR(ParseObjective(*f, &spec));
  if (auto* f = field("early_stopping")) ORCHARD_RETURN_IF_ERROR(ParseEarlyStopping(*f, &spec));
  if (auto* f = field("resources")) ORCHARD_RETURN_IF_ERROR(ParseResources(*f, &spec));
  if (auto* f = field("executor")) ORCHARD_RETURN_IF_ERROR(ParseExecutor(*f, &spec));
  if (auto* f = field("name")) {
    if (!f->IsScalar()) return f->Error("expected a name, got " + f->Describe());
    spec.name = f->Text();
  }
  ORCHARD_RETURN_IF_ERROR(CrossCheck(top, method_given, &spec));
  return spec;
}

}  // namespace

Result<TuneSpec> ParseTuneSpec(const std::string& yaml_text, const std::string& source) {
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(yaml_text);
    if (docs.size() > 1) {
      int line = docs[1].Mark().line >= 0 ? docs[1].Mark().line + 1 : 1;
      return SpecError(source, line, "", "a spec is one YAML document, found " +
                                             std::to_string(docs.size()) + " (remove '---')");
    }
    return ParseDocument(docs.empty() ? YAML::Node() : docs[0], source);
  } catch (const YAML::Exception& e) {
    std::string where = source + (e.mark.line >= 0 ? ":" + std::to_string(e.mark.line + 1) : "");
    std::string column = e.mark.column >= 0 ? " (column " + std::to_string(e.mark.column + 1) + ")" : "";
    return Status::InvalidArgument(where + ": YAML syntax error: " + e.msg + column +
                                   TabHint(yaml_text, e.mark.line));
  } catch (const std::exception& e) {
    return Status::Internal(source + ": " + e.what());
  }
}

Result<TuneSpec> LoadTuneSpec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
  return ParseTuneSpec(text.str(), path);
}

}  // namespace orchard::flags
