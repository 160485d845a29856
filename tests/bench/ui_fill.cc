// Fills a store for the dashboard benchmark (tests/bench/ui_bench.sh)
// through the store API: RUNS completed runs, each with five flags and
// METRICS metric series of STEPS points, in transactions of 100 runs.
// Values are deterministic (a fixed-seed generator), so every fill of the
// same size holds the same data.
//
// Usage: ui_fill --db=PATH [--runs=10000] [--metrics=10] [--steps=100]
// Prints one JSON line: {"runs", "points", "seconds"}.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>

#include "orchestrator/store/sqlite_run_store.h"

using orchard::store::MetricPoint;
using orchard::store::Run;
using orchard::store::RunStatus;
using orchard::store::SqliteRunStore;

namespace {

bool Flag(const std::string& arg, const char* name, std::string* value) {
  std::string prefix = std::string("--") + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

// The metric names: accuracies rise, losses fall, the rest wander.
std::string MetricName(int m) {
  static const char* kNames[] = {"val_acc", "train_loss", "val_loss", "train_acc", "lr_now",
                                 "grad_norm", "top5_acc", "f1", "precision", "recall"};
  return m < 10 ? kNames[m] : "metric_" + std::to_string(m);
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, v;
  int runs = 10000, metrics = 10, steps = 100;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (Flag(a, "db", &v)) {
      db = v;
    } else if (Flag(a, "runs", &v)) {
      runs = std::stoi(v);
    } else if (Flag(a, "metrics", &v)) {
      metrics = std::stoi(v);
    } else if (Flag(a, "steps", &v)) {
      steps = std::stoi(v);
    } else {
      std::cerr << "ui_fill: unknown argument " << a << "\n";
      return 2;
    }
  }
  if (db.empty() || runs < 1 || metrics < 1 || steps < 1) {
    std::cerr << "usage: ui_fill --db=PATH [--runs=N] [--metrics=K] [--steps=S]\n";
    return 2;
  }
  auto opened = SqliteRunStore::Open(db);
  if (!opened.ok()) {
    std::cerr << "ui_fill: " << opened.status().message() << "\n";
    return 1;
  }
  SqliteRunStore& store = **opened;
  std::mt19937_64 rng(20261122);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const char* optimizers[] = {"sgd", "adam", "adamw"};
  const auto t0 = std::chrono::steady_clock::now();
  const double base_time = 1.7e9;
  std::unique_ptr<orchard::store::Transaction> tx;
  auto check = [](const orchard::Status& s) {
    if (!s.ok()) {
      std::cerr << "ui_fill: " << s.message() << "\n";
      std::exit(1);
    }
  };
  for (int i = 0; i < runs; ++i) {
    if (i % 100 == 0) {
      if (tx) check(tx->Commit());
      tx = store.Begin();
      check(tx->begin_status());
    }
    Run r;
    r.name = "run-" + std::to_string(i);
    const double lr = std::pow(10.0, -4 + 3 * u(rng));
    r.flags = {{"lr", lr},
               {"batch", 16 << static_cast<int>(u(rng) * 4)},
               {"optimizer", optimizers[static_cast<int>(u(rng) * 3)]},
               {"dropout", std::round(u(rng) * 50) / 100},
               {"unfreeze", static_cast<int>(u(rng) * 5)}};
    r.command = {"orchard-train", "finetune"};
    r.created_at = base_time + i * 60.0;
    r.host = "bench";
    r.env = {{"host", "bench"}, {"compiler", "g++ 12"}};
    check(store.CreateRun(r));
    check(store.MarkStarted(r.id, 1000 + i, r.created_at + 1));
    std::vector<MetricPoint> points;
    points.reserve(static_cast<size_t>(metrics) * steps);
    const double quality = 0.6 + 0.35 * u(rng);
    for (int m = 0; m < metrics; ++m) {
      const std::string name = MetricName(m);
      const bool rising = name.find("acc") != std::string::npos || name == "f1" ||
                          name == "precision" || name == "recall";
      for (int s = 1; s <= steps; ++s) {
        const double progress = 1.0 - std::exp(-4.0 * s / steps);
        const double noise = 0.02 * (u(rng) - 0.5);
        double value = rising ? quality * progress + noise : 2.0 * (1.0 - progress) + 0.1 + noise;
        points.push_back({name, s, s / 10, value, r.created_at + 1 + s});
      }
    }
    check(store.AppendMetrics(r.id, points));
    check(store.FinishRun(r.id, RunStatus::kCompleted, 0, r.created_at + 2 + steps, ""));
  }
  if (tx) check(tx->Commit());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"runs\": %d, \"points\": %lld, \"seconds\": %.3f}\n", runs,
              static_cast<long long>(runs) * metrics * steps, secs);
  return 0;
}
