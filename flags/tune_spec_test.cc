#include "flags/tune_spec.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace orchard::flags {
namespace {

using Kind = Dimension::Kind;

Result<TuneSpec> Parse(const std::string& yaml) { return ParseTuneSpec(yaml, "tune.yaml"); }

const char kFull[] = R"(command: [/usr/bin/python3, train.py]
flags: {epochs: 6, backbone: mobilenet_v2}
search:
  lr: {loguniform: [1.0e-4, 1.0e-1]}
  momentum: {uniform: [0.5, 0.99]}
  batch: [32, 64, 128]
  optimizer: {choice: [sgd, adam]}
  unfreeze: {int: [0, 4]}
  width: {int: [1, 1024], log: true}
method: tpe
max_trials: 30
seed: 7
objective: {metric: val_acc, goal: max, reduce: best}
early_stopping: {method: asha, metric: val_acc, grace: 1, reduction: 3, max_t: 9, unit: epoch}
resources: {concurrency: 2, gpus_per_trial: 1, trials_per_gpu: 1, gpus: [0, 1], timeout: 3600, retries: 1}
executor: local
name: fashion-lr-sweep
)";

TEST(TuneSpecTest, ParsesEveryField) {
  Result<TuneSpec> r = Parse(kFull);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const TuneSpec& s = *r;
  EXPECT_EQ(s.source, "tune.yaml");
  EXPECT_EQ(s.command, (std::vector<std::string>{"/usr/bin/python3", "train.py"}));
  EXPECT_EQ(s.flags, nlohmann::json({{"epochs", 6}, {"backbone", "mobilenet_v2"}}));
  ASSERT_EQ(s.space.dims.size(), 6u);
  const auto& d = s.space.dims;
  EXPECT_EQ(d[0].name, "lr");
  EXPECT_EQ(d[0].kind, Kind::kLogUniform);
  EXPECT_DOUBLE_EQ(d[0].low, 1e-4);
  EXPECT_DOUBLE_EQ(d[0].high, 0.1);
  EXPECT_EQ(d[0].line, 4);
  EXPECT_EQ(d[1].kind, Kind::kUniform);
  EXPECT_DOUBLE_EQ(d[1].high, 0.99);
  EXPECT_EQ(d[2].kind, Kind::kList);
  EXPECT_EQ(d[2].values, (std::vector<nlohmann::json>{32, 64, 128}));
  EXPECT_TRUE(d[2].values[0].is_number_integer());
  EXPECT_EQ(d[3].kind, Kind::kChoice);
  EXPECT_EQ(d[3].values, (std::vector<nlohmann::json>{"sgd", "adam"}));
  EXPECT_EQ(d[4].kind, Kind::kInt);
  EXPECT_EQ(d[4].low, 0);
  EXPECT_EQ(d[4].high, 4);
  EXPECT_FALSE(d[4].log);
  EXPECT_TRUE(d[5].log);
  EXPECT_EQ(d[5].line, 9);
  EXPECT_EQ(s.method, "tpe");
  EXPECT_FALSE(s.sample.has_value());
  EXPECT_EQ(s.max_trials, 30);
  EXPECT_EQ(s.seed, 7);
  ASSERT_TRUE(s.objective.has_value());
  EXPECT_EQ(s.objective->metric, "val_acc");
  EXPECT_TRUE(s.objective->maximize);
  EXPECT_EQ(s.objective->reduce, "best");
  EXPECT_EQ(s.early_stopping.method, "asha");
  EXPECT_EQ(s.early_stopping.metric, "val_acc");
  EXPECT_TRUE(s.early_stopping.maximize);
  EXPECT_EQ(s.early_stopping.grace, 1);
  EXPECT_EQ(s.early_stopping.reduction, 3);
  EXPECT_EQ(s.early_stopping.max_t, 9);
  EXPECT_EQ(s.early_stopping.unit, "epoch");
  EXPECT_EQ(s.resources.concurrency, 2);
  EXPECT_EQ(s.resources.gpus_per_trial, 1);
  EXPECT_EQ(s.resources.trials_per_gpu, 1);
  EXPECT_EQ(s.resources.gpus, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(s.resources.timeout_s, 3600);
  EXPECT_EQ(s.resources.retries, 1);
  EXPECT_EQ(s.executor, "local");
  EXPECT_EQ(s.name, "fashion-lr-sweep");
}

TEST(TuneSpecTest, DefaultsAreFilled) {
  Result<TuneSpec> r = Parse("command: [python3, train.py]\nsearch: {batch: [32, 64]}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "grid");  // every dimension is a list
  EXPECT_EQ(r->seed, 0);
  EXPECT_FALSE(r->sample.has_value());
  EXPECT_FALSE(r->max_trials.has_value());
  EXPECT_FALSE(r->objective.has_value());
  EXPECT_EQ(r->early_stopping.method, "");
  EXPECT_EQ(r->resources.concurrency, 1);
  EXPECT_EQ(r->resources.gpus_per_trial, 0);
  EXPECT_TRUE(r->resources.gpus.empty());
  EXPECT_EQ(r->resources.timeout_s, 0);
  EXPECT_EQ(r->executor, "local");
  EXPECT_EQ(r->flags, nlohmann::json::object());
  EXPECT_EQ(r->name, "");
}

TEST(TuneSpecTest, MethodDefaultsToRandomWithDistributions) {
  Result<TuneSpec> r = Parse("command: [t]\nsearch: {lr: {uniform: [0, 1]}, b: [1, 2]}\n"
                             "max_trials: 5\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "random");
}

TEST(TuneSpecTest, NoSearchIsOneGridPoint) {
  Result<TuneSpec> r = Parse("command: [t]\nflags: {lr: 0.1}\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "grid");
  EXPECT_TRUE(r->space.dims.empty());
}

TEST(TuneSpecTest, CommandStringRunsInShell) {
  Result<TuneSpec> r = Parse("command: python3 train.py --data=$HOME/data\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->command,
            (std::vector<std::string>{"/bin/sh", "-c", "python3 train.py --data=$HOME/data"}));
}

TEST(TuneSpecTest, ScalarsAreTypedLikeFlagValues) {
  Result<TuneSpec> r = Parse(R"(command: [t]
flags:
  a: 32
  b: '32'
  c: 1.0e-4
  d: 1e-4
  e: true
  f: yes
  g: 007
  h: "true"
  i: ''
  j: -3
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const nlohmann::json& f = r->flags;
  EXPECT_TRUE(f["a"].is_number_integer());
  EXPECT_EQ(f["a"], 32);
  EXPECT_EQ(f["b"], "32");
  EXPECT_TRUE(f["c"].is_number_float());
  EXPECT_DOUBLE_EQ(f["c"].get<double>(), 1e-4);
  EXPECT_DOUBLE_EQ(f["d"].get<double>(), 1e-4);
  EXPECT_EQ(f["e"], true);
  EXPECT_EQ(f["f"], "yes");  // YAML 1.2: only true/false are booleans
  EXPECT_EQ(f["g"], "007");
  EXPECT_EQ(f["h"], "true");
  EXPECT_EQ(f["i"], "");
  EXPECT_EQ(f["j"], -3);
}

TEST(TuneSpecTest, KeepsDimensionOrderAsWritten) {
  Result<TuneSpec> r = Parse("command: [t]\nsearch:\n  zeta: [1]\n  alpha: [2]\n  mid: [3]\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->space.dims.size(), 3u);
  EXPECT_EQ(r->space.dims[0].name, "zeta");
  EXPECT_EQ(r->space.dims[1].name, "alpha");
  EXPECT_EQ(r->space.dims[2].name, "mid");
  EXPECT_EQ(r->space.dims[2].line, 5);
}

TEST(TuneSpecTest, BlockStyleDimensions) {
  Result<TuneSpec> r = Parse(R"(command: [t]
search:
  lr:
    loguniform:
      - 0.001
      - 0.3
  batch:
    - 32
    - 64
max_trials: 4
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->space.dims[0].line, 3);
  EXPECT_EQ(r->space.dims[0].kind, Kind::kLogUniform);
  EXPECT_EQ(r->space.dims[1].values.size(), 2u);
}

TEST(TuneSpecTest, GridWithSample) {
  Result<TuneSpec> r = Parse("command: [t]\nsearch: {a: [1, 2, 3]}\nsample: 0.5\nseed: 3\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "grid");
  EXPECT_EQ(r->sample, 0.5);
  EXPECT_EQ(r->seed, 3);
}

TEST(TuneSpecTest, EarlyStoppingTakesObjectiveDefaults) {
  Result<TuneSpec> r = Parse(R"(command: [t]
search: {lr: {uniform: [0, 1]}}
max_trials: 3
objective: {metric: val_loss, goal: min}
early_stopping: {method: median, grace: 2, min_trials: 4, unit: step}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->objective->maximize);
  EXPECT_EQ(r->objective->reduce, "last");
  EXPECT_EQ(r->early_stopping.method, "median");
  EXPECT_EQ(r->early_stopping.metric, "val_loss");
  EXPECT_FALSE(r->early_stopping.maximize);
  EXPECT_EQ(r->early_stopping.grace, 2);
  EXPECT_EQ(r->early_stopping.min_trials, 4);
  EXPECT_EQ(r->early_stopping.unit, "step");
}

TEST(TuneSpecTest, EarlyStoppingOnAnotherMetricWithItsGoal) {
  Result<TuneSpec> r = Parse(R"(command: [t]
search: {a: [1, 2]}
early_stopping: {method: asha, metric: val_loss, goal: minimize}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->early_stopping.metric, "val_loss");
  EXPECT_FALSE(r->early_stopping.maximize);
  EXPECT_EQ(r->early_stopping.reduction, 3);
  EXPECT_EQ(r->early_stopping.max_t, 0);
}

TEST(TuneSpecTest, Durations) {
  for (auto [text, seconds] : std::vector<std::pair<std::string, double>>{
           {"90", 90}, {"1.5", 1.5}, {"90s", 90}, {"30m", 1800}, {"2h", 7200}, {"1d", 86400},
           {"0.5h", 1800}}) {
    Result<TuneSpec> r = Parse("command: [t]\nresources: {timeout: " + text + "}\n");
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    EXPECT_EQ(r->resources.timeout_s, seconds) << text;
  }
}

TEST(TuneSpecTest, Executors) {
  auto executor = [](const std::string& text) {
    Result<TuneSpec> r = Parse("command: [t]\nexecutor: " + text + "\n");
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
    return r.ok() ? r->executor : nlohmann::json();
  };
  EXPECT_EQ(executor("local"), "local");
  EXPECT_EQ(executor("{local: }"), "local");
  EXPECT_EQ(executor("{ssh: nodes.yaml}"), nlohmann::json({{"ssh", "nodes.yaml"}}));
  EXPECT_EQ(executor("{ssh: [a, b]}"), nlohmann::json::parse(R"({"ssh": ["a", "b"]})"));
  EXPECT_EQ(executor("{slurm: {partition: gpu, time: 60}}"),
            nlohmann::json::parse(R"({"slurm": {"partition": "gpu", "time": 60}})"));
  EXPECT_EQ(executor("slurm"), nlohmann::json::parse(R"({"slurm": {}})"));
  EXPECT_EQ(executor("{slurm: }"), nlohmann::json::parse(R"({"slurm": {}})"));
}

TEST(TuneSpecTest, LoadTuneSpecReadsFileAndNamesIt) {
  std::string path = ::testing::TempDir() + "/orchard_tune_spec_test.yaml";
  {
    std::ofstream out(path);
    out << "command: [t]\nmethod: bayes\n";
  }
  Result<TuneSpec> r = LoadTuneSpec(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), path + ":2: method: expected grid, random or tpe, got 'bayes'");
  std::remove(path.c_str());
  Result<TuneSpec> missing = LoadTuneSpec(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kIoError);
  EXPECT_NE(missing.status().message().find(path), std::string::npos);
}

TEST(TuneSpecTest, ExampleSpecsParse) {
  // This file sits in flags/; the examples two levels up from it.
  std::string root = __FILE__;
  root = root.substr(0, root.rfind("/flags/"));
  Result<TuneSpec> r = LoadTuneSpec(root + "/examples/fashion_mlp/tune.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->method, "tpe");
  EXPECT_EQ(r->command, (std::vector<std::string>{"/usr/bin/python3", "train.py"}));
  EXPECT_EQ(r->space.dims.size(), 4u);
  EXPECT_EQ(r->early_stopping.metric, "val_acc");
  EXPECT_EQ(r->resources.gpus_per_trial, 0);
}

TEST(TuneSpecJsonTest, CanonicalAndComplete) {
  Result<TuneSpec> r = Parse(kFull);
  ASSERT_TRUE(r.ok()) << r.status().message();
  nlohmann::json j = TuneSpecToJson(*r);
  EXPECT_EQ(j["method"], "tpe");
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["max_trials"], 30);
  EXPECT_TRUE(j["sample"].is_null());
  EXPECT_EQ(j["search"][0], nlohmann::json::parse(
                                R"({"name": "lr", "kind": "loguniform", "low": 0.0001, "high": 0.1})"));
  EXPECT_EQ(j["search"][2]["values"], nlohmann::json::parse("[32, 64, 128]"));
  EXPECT_EQ(j["search"][4], nlohmann::json::parse(
                                R"({"name": "unfreeze", "kind": "int", "low": 0, "high": 4, "log": false})"));
  EXPECT_TRUE(j["search"][4]["low"].is_number_integer());
  EXPECT_EQ(j["objective"], nlohmann::json::parse(
                                R"({"metric": "val_acc", "goal": "max", "reduce": "best"})"));
  EXPECT_EQ(j["early_stopping"]["goal"], "max");
  EXPECT_FALSE(j["early_stopping"].contains("min_trials"));  // median only
  EXPECT_EQ(j["resources"]["gpus"], nlohmann::json::parse(R"(["0", "1"])"));
  EXPECT_EQ(j["executor"], "local");
  EXPECT_FALSE(j.contains("source"));
  EXPECT_EQ(j["command"][1], "train.py");
}

TEST(TuneSpecJsonTest, SpelledOutDefaultsGiveTheSameJson) {
  Result<TuneSpec> a = Parse(R"(command: [t]
search: {b: [1, 2], a: [3]}
objective: {metric: acc, goal: max}
early_stopping: {method: asha}
)");
  Result<TuneSpec> b = ParseTuneSpec(R"(# the same, with every default written out
command: [t]
search:
  b: [1, 2]
  a: [3]
method: grid
seed: 0
objective: {goal: maximize, metric: acc, reduce: last}
early_stopping: {method: asha, metric: acc, goal: max, grace: 1, reduction: 3, max_t: 0, unit: epoch}
resources: {concurrency: 1, gpus_per_trial: 0, retries: 0, timeout: 0}
executor: local
)",
                                   "other.yaml");
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(TuneSpecToJson(*a).dump(), TuneSpecToJson(*b).dump());
}

TEST(TuneSpecJsonTest, DimensionOrderMatters) {
  Result<TuneSpec> a = Parse("command: [t]\nsearch: {a: [1, 2], b: [3, 4]}\n");
  Result<TuneSpec> b = Parse("command: [t]\nsearch: {b: [3, 4], a: [1, 2]}\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(TuneSpecToJson(*a), TuneSpecToJson(*b));  // the grid enumerates differently
}

}  // namespace
}  // namespace orchard::flags
