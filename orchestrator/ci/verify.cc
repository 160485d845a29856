#include "orchestrator/ci/verify.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

#include "flags/flag_value.h"
#include "orchestrator/util/unified_diff.h"

namespace orchard::ci {

namespace {

using Series = std::map<std::string, std::vector<const store::MetricPoint*>>;

Series ByName(const std::vector<store::MetricPoint>& points) {
  Series out;
  for (const auto& p : points) out[p.name].push_back(&p);
  return out;
}

// The exact value: shortest round-trip text, so bit differences show.
std::string Exact(double v) {
  if (std::isnan(v)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string Short(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

double RelativeDifference(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return INFINITY;
  double scale = std::max(std::fabs(a), std::fabs(b));
  return scale == 0 ? 0 : std::fabs(a - b) / scale;
}

std::string Epoch(const std::optional<int64_t>& e) { return e ? std::to_string(*e) : "none"; }

bool Ignored(const std::string& name, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

void CompareMetric(const std::string& name, const std::vector<const store::MetricPoint*>& a,
                   const std::vector<const store::MetricPoint*>& b, const VerifyOptions& opt,
                   Verification& v) {
  ++v.metrics_compared;
  size_t n = std::min(a.size(), b.size());
  size_t listed = 0, differing = 0;
  double worst = -1;
  int64_t worst_step = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& p = *a[i];
    const auto& q = *b[i];
    ++v.points_compared;
    std::string what;
    if (p.step != q.step) {
      what = "point " + std::to_string(i + 1) + ": step " + std::to_string(p.step) +
             " recorded, " + std::to_string(q.step) + " in the rerun";
    } else if (p.epoch != q.epoch) {
      what = "step " + std::to_string(p.step) + ": epoch " + Epoch(p.epoch) + " recorded, " +
             Epoch(q.epoch) + " in the rerun";
    } else if (!ValuesAgree(p.value, q.value, opt.tolerance)) {
      double rel = RelativeDifference(p.value, q.value);
      what = "step " + std::to_string(p.step) + ": recorded " + Exact(p.value) + ", rerun " +
             Exact(q.value) + " (relative difference " + Short(rel) + ")";
      if (rel > worst) worst = rel, worst_step = p.step;
    }
    if (what.empty()) continue;
    ++differing;
    if (listed < opt.max_points_listed) {
      v.failures.push_back("metric " + name + " " + what);
      ++listed;
    }
  }
  if (differing > listed) {
    std::string more = "metric " + name + ": " + std::to_string(differing - listed) +
                       " more differing point(s) not listed (" + std::to_string(differing) +
                       " of " + std::to_string(n) + " differ";
    if (worst >= 0) more += "; largest relative difference " + Short(worst) +
                            " at step " + std::to_string(worst_step);
    v.failures.push_back(more + ")");
  }
  if (a.size() != b.size()) {
    v.failures.push_back("metric " + name + ": " + std::to_string(a.size()) +
                         " point(s) recorded, " + std::to_string(b.size()) + " in the rerun");
  }
}

// Flattens a JSON object into "a.b" -> compact text.
void Flatten(const nlohmann::json& j, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      Flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) Flatten(j[i], prefix + "[" + std::to_string(i) + "]", out);
    if (j.empty()) out[prefix] = "[]";
  } else {
    out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
  }
}

void CompareEnvironment(const nlohmann::json& a, const nlohmann::json& b, Verification& v) {
  std::map<std::string, std::string> fa, fb;
  Flatten(a, "", fa);
  Flatten(b, "", fb);
  for (const auto& [k, va] : fa) {
    auto it = fb.find(k);
    if (it == fb.end()) {
      v.information.push_back("environment " + k + ": " + va + " recorded, absent in the rerun");
    } else if (it->second != va) {
      v.information.push_back("environment " + k + ": " + va + " recorded, " + it->second +
                              " in the rerun");
    }
  }
  for (const auto& [k, vb] : fb) {
    if (!fa.count(k)) {
      v.information.push_back("environment " + k + ": absent in the record, " + vb +
                              " in the rerun");
    }
  }
}

bool GpuVisible(const nlohmann::json& env) {
  if (env.contains("cuda_visible_devices") && env["cuda_visible_devices"] == "") return false;
  return env.contains("gpus") && env["gpus"].is_array() && !env["gpus"].empty();
}

std::string CommandText(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

void CompareCode(const RunRecord& a, const RunRecord& b, Verification& v) {
  if (!a.snapshot || !b.snapshot) {
    if (a.snapshot || b.snapshot) {
      v.information.push_back(std::string("code: ") +
                              (a.snapshot ? "the rerun" : "the recorded run") +
                              " has no code snapshot");
    }
    return;
  }
  if (a.snapshot->id == b.snapshot->id) return;
  std::map<std::string, const store::SnapshotFile*> fa, fb;
  for (const auto& f : a.snapshot->files) fa[f.path] = &f;
  for (const auto& f : b.snapshot->files) fb[f.path] = &f;
  std::map<std::string, std::string> ca, cb;
  for (const auto& [p, f] : fa) ca[p] = f->content;
  for (const auto& [p, f] : fb) cb[p] = f->content;
  v.code_diff = DiffFileMaps(ca, cb);
  std::map<std::string, std::string> stat;
  for (auto& [p, s] : DiffStat(v.code_diff)) stat[p] = s;
  auto counts = [&](const std::string& p) {
    auto it = stat.find(p);
    return it == stat.end() || it->second.empty() ? std::string() : " (" + it->second + ")";
  };
  for (const auto& [p, f] : fa) {
    auto it = fb.find(p);
    if (it == fb.end()) {
      v.information.push_back("code: " + p + " removed" + counts(p));
    } else if (it->second->sha256 != f->sha256) {
      v.information.push_back("code: " + p + " changed" + counts(p) + ", sha256 " +
                              f->sha256.substr(0, 12) + " -> " + it->second->sha256.substr(0, 12));
    } else if (it->second->mode != f->mode) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " mode %o -> %o", f->mode, it->second->mode);
      v.information.push_back("code: " + p + buf);
    }
  }
  for (const auto& [p, f] : fb) {
    if (!fa.count(p)) v.information.push_back("code: " + p + " added" + counts(p));
  }
}

}  // namespace

std::string ToleranceText(const std::optional<double>& tolerance) {
  if (!tolerance) return "exact";
  return "relative " + Short(*tolerance);
}

bool ValuesAgree(double a, double b, const std::optional<double>& tolerance) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (!tolerance) return std::memcmp(&a, &b, sizeof a) == 0 || a == b;  // 0.0 == -0.0
  return std::fabs(a - b) <= *tolerance * std::max(std::fabs(a), std::fabs(b));
}

std::vector<std::pair<std::string, std::string>> DiffStat(const std::string& diff) {
  std::vector<std::pair<std::string, std::string>> out;
  int plus = 0, minus = 0;
  bool in_hunk = false;
  auto flush = [&] {
    if (!out.empty() && out.back().second.empty()) {
      out.back().second = "+" + std::to_string(plus) + " -" + std::to_string(minus);
    }
    plus = minus = 0;
  };
  size_t pos = 0;
  while (pos < diff.size()) {
    size_t end = diff.find('\n', pos);
    if (end == std::string::npos) end = diff.size();
    std::string_view line(diff.data() + pos, end - pos);
    pos = end + 1;
    if (line.rfind("diff --git a/", 0) == 0) {
      flush();
      std::string_view rest = line.substr(13);
      size_t b = rest.find(" b/");
      out.emplace_back(std::string(b == std::string_view::npos ? rest : rest.substr(0, b)), "");
      in_hunk = false;
      continue;
    }
    if (!in_hunk && line.rfind("Binary files", 0) == 0) {
      if (!out.empty()) out.back().second = "binary";
      continue;
    }
    if (!in_hunk && line.rfind("Files ", 0) == 0) {
      if (!out.empty()) out.back().second = "too large to diff";
      continue;
    }
    if (line.rfind("@@", 0) == 0) {
      in_hunk = true;
      continue;
    }
    if (!in_hunk) continue;
    if (!line.empty() && line[0] == '+') ++plus;
    if (!line.empty() && line[0] == '-') ++minus;
  }
  flush();
  return out;
}

Verification CompareRuns(const RunRecord& original, const RunRecord& rerun,
                         const VerifyOptions& opt) {
  Verification v;
  const store::Run& a = original.run;
  const store::Run& b = rerun.run;
  if (a.status != b.status) {
    v.failures.push_back(std::string("status: ") + store::ToString(a.status) + " recorded, " +
                         store::ToString(b.status) + " in the rerun");
  }
  if (a.exit_code != b.exit_code) {
    auto text = [](const std::optional<int>& c) { return c ? std::to_string(*c) : "none"; };
    v.failures.push_back("exit code: " + text(a.exit_code) + " recorded, " + text(b.exit_code) +
                         " in the rerun");
  }
  if (a.seed != b.seed) {
    auto text = [](const std::optional<int64_t>& s) { return s ? std::to_string(*s) : "none"; };
    v.failures.push_back("seed: " + text(a.seed) + " recorded, " + text(b.seed) +
                         " in the rerun");
  }
  for (auto it = a.flags.begin(); it != a.flags.end(); ++it) {
    if (!b.flags.contains(it.key())) {
      v.failures.push_back("flag " + it.key() + ": " + flags::FormatScalar(it.value()) +
                           " recorded, absent in the rerun");
    } else if (b.flags[it.key()] != it.value()) {
      v.failures.push_back("flag " + it.key() + ": " + flags::FormatScalar(it.value()) +
                           " recorded, " + flags::FormatScalar(b.flags[it.key()]) +
                           " in the rerun");
    }
  }
  for (auto it = b.flags.begin(); it != b.flags.end(); ++it) {
    if (!a.flags.contains(it.key())) {
      v.failures.push_back("flag " + it.key() + ": absent in the record, " +
                           flags::FormatScalar(it.value()) + " in the rerun");
    }
  }

  Series sa = ByName(original.series), sb = ByName(rerun.series);
  static const std::vector<const store::MetricPoint*> kNone;
  std::vector<std::string> names;
  for (const auto& [n, p] : sa) names.push_back(n);
  for (const auto& [n, p] : sb) {
    if (!sa.count(n)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto ia = sa.find(n);
    auto ib = sb.find(n);
    if (Ignored(n, opt.ignore_metrics)) {
      v.information.push_back("metric " + n + ": not compared (--ignore-metric)");
      continue;
    }
    if (ib == sb.end()) {
      v.failures.push_back("metric " + n + ": " + std::to_string(ia->second.size()) +
                           " point(s) recorded, none in the rerun");
      continue;
    }
    if (ia == sa.end()) {
      v.failures.push_back("metric " + n + ": not in the record, " +
                           std::to_string(ib->second.size()) + " point(s) in the rerun");
      continue;
    }
    CompareMetric(n, ia->second, ib->second, opt, v);
  }

  if (a.command != b.command) {
    v.information.push_back("command: " + CommandText(a.command) + " recorded, " +
                            CommandText(b.command) + " in the rerun");
  }
  CompareCode(original, rerun, v);
  CompareEnvironment(a.env, b.env, v);
  if (!opt.tolerance && (GpuVisible(a.env) || GpuVisible(b.env))) {
    v.information.push_back(
        "a GPU was visible to a run: GPU kernels are often not bit-reproducible; state a "
        "tolerance with --tolerance");
  }
  v.passed = v.failures.empty();
  return v;
}

}  // namespace orchard::ci
