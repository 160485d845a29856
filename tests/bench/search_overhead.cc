// Sampler overhead: milliseconds per trial that Orchard's samplers spend
// proposing a trial, in studies of 10, 100 and 1,000 trials. The objective
// is a cheap function evaluated instantly and outside the timed region, so
// only Suggest() is timed (with the full history passed in, as the scheduler
// does). search_optuna.py times Optuna's study.ask() on the same space;
// search_bench.sh runs both and prints the ratios. Not a unit test.
//
// Usage: search_overhead [--trials=10,100,1000] [--reps=5] [--seed=1]
// Prints one JSON object on stdout.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/tune_spec.h"
#include "orchestrator/search/sampler.h"

namespace {

using orchard::flags::Dimension;
using orchard::search::TrialRecord;
using nlohmann::json;

Dimension Dist(const std::string& name, Dimension::Kind kind, double low, double high) {
  Dimension d;
  d.name = name;
  d.kind = kind;
  d.low = low;
  d.high = high;
  return d;
}

Dimension Values(const std::string& name, Dimension::Kind kind, std::vector<json> values) {
  Dimension d;
  d.name = name;
  d.kind = kind;
  d.values = std::move(values);
  return d;
}

// The space of DESIGN.md's example tune.yaml plus a dropout: five dimensions
// of every kind. The grid has 10 * 5 * 4 * 5 = 1,000 points.
orchard::flags::TuneSpec Spec(const std::string& method, int64_t seed) {
  using K = Dimension::Kind;
  orchard::flags::TuneSpec spec;
  spec.method = method;
  spec.seed = seed;
  spec.objective = orchard::flags::Objective{"val_loss", false, "last"};
  if (method == "grid") {
    std::vector<json> lrs;
    for (int i = 0; i < 10; ++i) lrs.push_back(std::pow(10.0, -5 + 0.5 * i));
    spec.space.dims = {Values("lr", K::kList, lrs), Values("batch", K::kList, {16, 32, 64, 128, 256}),
                       Values("optimizer", K::kList, {"sgd", "momentum", "adam", "adamw"}),
                       Values("unfreeze", K::kList, {0, 1, 2, 3, 4})};
  } else {
    Dimension unfreeze = Dist("unfreeze", K::kInt, 0, 4);
    spec.space.dims = {Dist("lr", K::kLogUniform, 1e-5, 1e-1), Dist("dropout", K::kUniform, 0, 0.5),
                       Values("batch", K::kChoice, {16, 32, 64, 128, 256}),
                       Values("optimizer", K::kChoice, {"sgd", "momentum", "adam", "adamw"}),
                       unfreeze};
  }
  return spec;
}

// Cheap and deterministic; what it returns only steers TPE.
double Objective(const json& p) {
  double lr = p["lr"].get<double>();
  double s = std::pow(std::log10(lr) + 3, 2) + 0.1 * p["unfreeze"].get<double>();
  if (p.contains("dropout")) s += std::pow(p["dropout"].get<double>() - 0.2, 2);
  if (p["optimizer"] != "adam") s += 0.3;
  if (p["batch"] != 64) s += 0.1;
  return s;
}

struct Timing {
  double total_ms = 0;      // Suggest() over the whole study
  double last_tenth_ms = 0; // per trial, over the last 10% of trials
};

Timing RunStudy(const std::string& method, int trials, int64_t seed) {
  orchard::flags::TuneSpec spec = Spec(method, seed);
  spec.max_trials = trials;
  auto sampler = orchard::search::MakeSampler(spec);
  if (!sampler.ok()) {
    std::cerr << "search_overhead: " << sampler.status().message() << "\n";
    std::exit(1);
  }
  std::vector<TrialRecord> history;
  history.reserve(trials);
  Timing t;
  const int tail_from = trials - std::max(1, trials / 10);
  double tail = 0;
  for (int n = 0; n < trials; ++n) {
    auto start = std::chrono::steady_clock::now();
    auto params = (*sampler)->Suggest(n, history);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count();
    if (!params.ok()) {
      std::cerr << "search_overhead: " << params.status().message() << "\n";
      std::exit(1);
    }
    t.total_ms += ms;
    if (n >= tail_from) tail += ms;
    TrialRecord r;
    r.number = n;
    r.params = std::move(*params);
    r.state = TrialRecord::State::kCompleted;
    r.value = Objective(r.params);
    history.push_back(std::move(r));
  }
  t.last_tenth_ms = tail / (trials - tail_from);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {10, 100, 1000};
  int reps = 5;
  int64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--trials=", 0) == 0) {
      sizes.clear();
      std::string list = a.substr(9);
      for (size_t pos = 0; pos <= list.size();) {
        size_t comma = list.find(',', pos);
        if (comma == std::string::npos) comma = list.size();
        sizes.push_back(std::atoi(list.substr(pos, comma - pos).c_str()));
        pos = comma + 1;
      }
    } else if (a.rfind("--reps=", 0) == 0) {
      reps = std::atoi(a.c_str() + 7);
    } else if (a.rfind("--seed=", 0) == 0) {
      seed = std::atoll(a.c_str() + 7);
    } else {
      std::cerr << "usage: search_overhead [--trials=10,100,1000] [--reps=5] [--seed=1]\n";
      return 2;
    }
  }
  json out = {{"system", "orchard"}, {"reps", reps}, {"results", json::array()}};
  for (const std::string method : {"random", "grid", "tpe"}) {
    for (int trials : sizes) {
      if (trials < 1 || (method == "grid" && trials > 1000)) continue;
      std::vector<double> per_trial, tail;
      for (int r = 0; r < reps; ++r) {
        Timing t = RunStudy(method, trials, seed + r);
        per_trial.push_back(t.total_ms / trials);
        tail.push_back(t.last_tenth_ms);
      }
      std::sort(per_trial.begin(), per_trial.end());
      std::sort(tail.begin(), tail.end());
      out["results"].push_back({{"method", method},
                                {"trials", trials},
                                {"ms_per_trial", per_trial[per_trial.size() / 2]},
                                {"ms_per_trial_last_tenth", tail[tail.size() / 2]}});
    }
  }
  std::cout << out.dump() << "\n";
  return 0;
}
