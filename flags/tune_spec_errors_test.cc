// Every validation error of ParseTuneSpec, with its exact message: the file,
// the 1-based line, the key path, and what was wrong.
#include <string>

#include <gtest/gtest.h>

#include "flags/tune_spec.h"

namespace orchard::flags {
namespace {

struct Case {
  const char* yaml;
  const char* error;
};

class TuneSpecErrorTest : public ::testing::TestWithParam<Case> {};

TEST_P(TuneSpecErrorTest, ReportsLineAndKey) {
  Result<TuneSpec> r = ParseTuneSpec(GetParam().yaml, "tune.yaml");
  ASSERT_FALSE(r.ok()) << "parsed:\n" << GetParam().yaml;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), GetParam().error);
}

const Case kCases[] = {
    // The examples of the brief.
    {"command: [t]\nmax_trials: 3\nsearch:\n  momentum: {uniform: [0.5, 0.9]}\n\n\n"
     "  lr: {loguniform: [0, 0.1]}\n",
     "tune.yaml:7: search.lr: loguniform needs 0 < low < high, got [0, 0.1]"},
    {"command: [t]\nflags: {a: 1}\nserach: {b: [1]}\n",
     "tune.yaml:3: unknown key 'serach' (did you mean 'search'?)"},
    {"command: [t]\nmethod: bayes\n",
     "tune.yaml:2: method: expected grid, random or tpe, got 'bayes'"},
    {"command: [t]\nmethod: gird\n",
     "tune.yaml:2: method: expected grid, random or tpe, got 'gird' (did you mean 'grid'?)"},
    {"command: [t]\nfoo: 1\n",
     "tune.yaml:2: unknown key 'foo' (expected command, flags, search, method, sample, "
     "max_trials, seed, objective, early_stopping, resources, executor or name)"},

    // YAML itself.
    {"command: [t]\nsearch: {a: [1, 2}\n",
     "tune.yaml:2: YAML syntax error: illegal flow end (column 18)"},
    {"command: [t]\nsearch: {a: [1, 2\nmax_trials: 3\n",
     "tune.yaml:3: YAML syntax error: end of sequence flow not found (column 11)"},
    {"command: [t]\n  flags: {}\n", "tune.yaml:2: YAML syntax error: end of map not found (column 3)"},
    {"command: [t]\nsearch:\n  a: [1]\n  a: [2]\n", "tune.yaml:4: search.a: duplicate key"},
    {"command: [t]\ncommand: [u]\n", "tune.yaml:2: command: duplicate key"},
    {"", "tune.yaml:1: the spec is empty: it needs at least 'command'"},
    {"- a\n- b\n",
     "tune.yaml:1: expected a map of settings (command:, search:, ...), got a list"},
    {"command: [t]\n---\ncommand: [u]\n",
     "tune.yaml:3: a spec is one YAML document, found 2 (remove '---')"},

    {"command: [t]\nsearch:\n\ta: [1]\n",
     "tune.yaml:3: YAML syntax error: illegal map value (column 3); line 3 is indented with a "
     "tab, which YAML forbids"},

    // command
    {"flags: {a: 1}\n",
     "tune.yaml:1: missing 'command' (the trainer to run, e.g. [/usr/bin/python3, train.py])"},
    {"command: []\n", "tune.yaml:1: command: needs at least the program, got []"},
    {"command: ''\n", "tune.yaml:1: command: the command is empty"},
    {"command: {a: 1}\n",
     "tune.yaml:1: command: expected a list [program, arg, ...] or a shell command string, got a map"},
    {"command: [t, [x]]\n", "tune.yaml:1: command[1]: expected a single argument, got a list"},

    // flags
    {"command: [t]\nflags:\n  2x: 1\n",
     "tune.yaml:3: flags.2x: not a valid flag name (letters, digits, '_', '.', '-'; starting "
     "with a letter or '_')"},
    {"command: [t]\nflags:\n  lr: [0.1, 0.2]\n",
     "tune.yaml:3: flags.lr: expected a single value, got a list (to try several values, put "
     "the flag under search:)"},
    {"command: [t]\nflags:\n  lr:\n", "tune.yaml:3: flags.lr: has no value (write '' for an empty string)"},
    {"command: [t]\nflags: [a]\n", "tune.yaml:2: flags: expected a map, got a list"},

    // search
    {"command: [t]\nflags: {lr: 0.1}\nsearch:\n  lr: [0.1, 0.2]\n",
     "tune.yaml:4: search.lr: 'lr' is also a fixed flag (flags:, line 2); a flag is either "
     "fixed or searched"},
    {"command: [t]\nsearch:\n  bad name: [1]\n",
     "tune.yaml:3: search.bad name: not a valid flag name (letters, digits, '_', '.', '-'; "
     "starting with a letter or '_')"},
    {"command: [t]\nsearch:\n  batch: []\n",
     "tune.yaml:3: search.batch: a list needs at least one value, got []"},
    {"command: [t]\nsearch:\n  batch: [32, [64]]\n",
     "tune.yaml:3: search.batch[1]: expected a single value, got a list"},
    {"command: [t]\nsearch:\n  batch: [32, {a: 1}]\n",
     "tune.yaml:3: search.batch[1]: expected a single value, got a map"},
    {"command: [t]\nsearch:\n  batch: [32, ~]\n",
     "tune.yaml:3: search.batch[1]: a value cannot be empty (write '' for an empty string)"},
    {"command: [t]\nsearch:\n  batch: [32, 64, 32]\n",
     "tune.yaml:3: search.batch[2]: duplicate value 32 (also item 0)"},
    {"command: [t]\nsearch:\n  lr: 0.1\n",
     "tune.yaml:3: search.lr: expected a list of values or a distribution "
     "({uniform|loguniform|int|choice: ...}), got '0.1' (put fixed values under flags:)"},
    {"command: [t]\nsearch:\n  lr: {normal: [0, 1]}\n",
     "tune.yaml:3: search.lr: unknown key 'normal' (expected uniform, loguniform, int, choice or log)"},
    {"command: [t]\nsearch:\n  lr: {unifrom: [0, 1]}\n",
     "tune.yaml:3: search.lr: unknown key 'unifrom' (did you mean 'uniform'?)"},
    {"command: [t]\nsearch:\n  lr: {uniform: [0, 1], int: [0, 1]}\n",
     "tune.yaml:3: search.lr: a dimension has one distribution, got both 'uniform' and 'int'"},
    {"command: [t]\nsearch:\n  lr: {log: true}\n",
     "tune.yaml:3: search.lr: expected a list of values or one of {uniform: [low, high]}, "
     "{loguniform: [low, high]}, {int: [low, high]}, {choice: [...]}"},
    {"command: [t]\nsearch:\n  lr: {uniform: [1, 0.5]}\n",
     "tune.yaml:3: search.lr: uniform needs low < high, got [1, 0.5]"},
    {"command: [t]\nsearch:\n  lr: {uniform: [0, 1, 2]}\n",
     "tune.yaml:3: search.lr: uniform needs [low, high], got [0, 1, 2]"},
    {"command: [t]\nsearch:\n  lr: {uniform: [0, x]}\n",
     "tune.yaml:3: search.lr: uniform needs [low, high], got [0, x]"},
    {"command: [t]\nsearch:\n  lr: {uniform: 0.5}\n",
     "tune.yaml:3: search.lr: uniform needs [low, high], got '0.5'"},
    {"command: [t]\nsearch:\n  lr:\n    loguniform: [-1, 1]\n",
     "tune.yaml:4: search.lr: loguniform needs 0 < low < high, got [-1, 1]"},
    {"command: [t]\nsearch:\n  n: {int: [0, 4.5]}\n",
     "tune.yaml:3: search.n: int needs integer bounds, got [0, 4.5]"},
    {"command: [t]\nsearch:\n  n: {int: [5, 4]}\n",
     "tune.yaml:3: search.n: int needs low <= high, got [5, 4]"},
    {"command: [t]\nsearch:\n  n: {int: [0, 1024], log: true}\n",
     "tune.yaml:3: search.n: int with log: true needs 1 <= low <= high, got [0, 1024]"},
    {"command: [t]\nsearch:\n  n: {int: [0, 99999999999999999]}\n",
     "tune.yaml:3: search.n: int bounds must lie within -2^53..2^53, got [0, 99999999999999999]"},
    {"command: [t]\nsearch:\n  n: {uniform: [0, 1], log: true}\n",
     "tune.yaml:3: search.n.log: only applies to int (use loguniform for floats)"},
    {"command: [t]\nsearch:\n  n: {int: [1, 4], log: maybe}\n",
     "tune.yaml:3: search.n.log: expected true or false, got 'maybe'"},
    {"command: [t]\nsearch:\n  o: {choice: []}\n",
     "tune.yaml:3: search.o: choice needs at least one value, got []"},
    {"command: [t]\nsearch:\n  o: {choice: sgd}\n",
     "tune.yaml:3: search.o: choice needs a list of values, got 'sgd'"},

    // method, sample, max_trials, seed
    {"command: [t]\nsearch:\n  a: [1, 2]\n  lr: {loguniform: [0.001, 0.1]}\nmethod: grid\n",
     "tune.yaml:4: search.lr: method grid needs a list of values, got a loguniform "
     "distribution (list the values to try, or use method: random or tpe)"},
    {"command: [t]\nsearch:\n  o: {choice: [sgd, adam]}\nmethod: grid\n",
     "tune.yaml:3: search.o: method grid needs a list of values, got a choice distribution "
     "(write it as a list [...], or use method: random or tpe)"},
    {"command: [t]\nsearch: {a: [1], lr: {uniform: [0, 1]}}\nmethod: random\nmax_trials: 3\n"
     "sample: 0.5\n",
     "tune.yaml:5: sample: only applies to method grid; this spec's method is random"},
    {"command: [t]\nsearch: {lr: {uniform: [0, 1]}}\nmax_trials: 3\nsample: 0.5\n",
     "tune.yaml:4: sample: only applies to method grid; this spec's method is random (the "
     "default when search has distributions)"},
    {"command: [t]\nsearch: {a: [1, 2]}\nsample: 0\n",
     "tune.yaml:3: sample: expected a fraction 0 < sample <= 1, got '0'"},
    {"command: [t]\nsearch: {a: [1, 2]}\nsample: 1.5\n",
     "tune.yaml:3: sample: expected a fraction 0 < sample <= 1, got '1.5'"},
    {"command: [t]\nsearch: {a: [1, 2]}\nsample: half\n",
     "tune.yaml:3: sample: expected a number, got 'half'"},
    {"command: [t]\nsearch: {lr: {uniform: [0, 1]}}\nmethod: tpe\nobjective: {metric: a, goal: max}\n",
     "tune.yaml:3: max_trials: required with method tpe: how many trials to run"},
    {"command: [t]\nsearch: {lr: {uniform: [0, 1]}}\n",
     "tune.yaml:2: max_trials: required with method random (the default when search has "
     "distributions): how many trials to run"},
    {"command: [t]\nsearch: {a: [1, 2]}\nmax_trials: 0\n",
     "tune.yaml:3: max_trials: expected an integer >= 1, got '0'"},
    {"command: [t]\nsearch: {a: [1, 2]}\nmax_trials: 2.5\n",
     "tune.yaml:3: max_trials: expected an integer, got '2.5'"},
    {"command: [t]\nmethod: random\nmax_trials: 3\n",
     "tune.yaml:2: method: random needs at least one dimension under search:"},
    {"command: [t]\nsearch: {lr: {uniform: [0, 1]}}\nmethod: tpe\nmax_trials: 3\n",
     "tune.yaml:3: method: tpe needs an objective: add objective: {metric: NAME, goal: max|min}"},
    {"command: [t]\nseed: -1\n", "tune.yaml:2: seed: expected an integer >= 0, got '-1'"},
    {"command: [t]\nsearch:\n"
     "  a: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  b: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  c: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  d: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  e: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  f: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  g: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  h: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  i: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  j: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  k: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  l: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n"
     "  m: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31]\n",
     "tune.yaml:2: search: the grid has more than 2^62 points; use method: random or tpe"},

    // objective
    {"command: [t]\nobjective: {metric: val_acc}\n",
     "tune.yaml:2: objective: missing 'goal' (max or min)"},
    {"command: [t]\nobjective: {goal: max}\n",
     "tune.yaml:2: objective: missing 'metric' (the metric to optimise, e.g. val_acc)"},
    {"command: [t]\nobjective:\n  metric: val_acc\n  goal: up\n",
     "tune.yaml:4: objective.goal: expected max or min, got 'up'"},
    {"command: [t]\nobjective: {metric: epoch, goal: max}\n",
     "tune.yaml:2: objective.metric: 'epoch' counts progress; the objective must be a metric"},
    {"command: [t]\nobjective: {metric: a, goal: max, reduce: mean}\n",
     "tune.yaml:2: objective.reduce: expected last or best, got 'mean'"},
    {"command: [t]\nobjective: {metirc: a, goal: max}\n",
     "tune.yaml:2: objective: unknown key 'metirc' (did you mean 'metric'?)"},
    {"command: [t]\nobjective: val_acc\n", "tune.yaml:2: objective: expected a map, got 'val_acc'"},

    // early_stopping
    {"command: [t]\nsearch: {a: [1]}\nearly_stopping: {method: asha}\n",
     "tune.yaml:3: early_stopping: needs a metric: add objective: {metric: NAME, goal: max|min} "
     "or early_stopping.metric and goal"},
    {"command: [t]\nearly_stopping: {method: asha, metric: val_loss}\n",
     "tune.yaml:2: early_stopping: missing 'goal' (max or min) for metric 'val_loss'"},
    {"command: [t]\nobjective: {metric: val_acc, goal: max}\n"
     "early_stopping: {method: asha, metric: val_loss}\n",
     "tune.yaml:3: early_stopping: missing 'goal' (max or min) for metric 'val_loss' (it "
     "differs from the objective's)"},
    {"command: [t]\nobjective: {metric: a, goal: max}\nearly_stopping: {grace: 1}\n",
     "tune.yaml:3: early_stopping: missing 'method' (asha or median)"},
    {"command: [t]\nobjective: {metric: a, goal: max}\nearly_stopping: {method: hyperband}\n",
     "tune.yaml:3: early_stopping.method: expected asha or median, got 'hyperband'"},
    {"command: [t]\nobjective: {metric: a, goal: max}\nearly_stopping: {method: asha, grace: 0}\n",
     "tune.yaml:3: early_stopping.grace: expected an integer >= 1, got '0'"},
    {"command: [t]\nobjective: {metric: a, goal: max}\n"
     "early_stopping: {method: asha, reduction: 1}\n",
     "tune.yaml:3: early_stopping.reduction: expected a number > 1, got '1'"},
    {"command: [t]\nobjective: {metric: a, goal: max}\n"
     "early_stopping: {method: asha, grace: 3, max_t: 2}\n",
     "tune.yaml:3: early_stopping.max_t: must be at least grace (3), got '2'"},
    {"command: [t]\nobjective: {metric: a, goal: max}\n"
     "early_stopping:\n  method: median\n  reduction: 3\n",
     "tune.yaml:5: early_stopping.reduction: only applies to method asha"},
    {"command: [t]\nobjective: {metric: a, goal: max}\n"
     "early_stopping: {method: asha, min_trials: 3}\n",
     "tune.yaml:3: early_stopping.min_trials: only applies to method median"},
    {"command: [t]\nobjective: {metric: a, goal: max}\n"
     "early_stopping: {method: asha, unit: second}\n",
     "tune.yaml:3: early_stopping.unit: expected epoch or step, got 'second'"},

    // resources
    {"command: [t]\nresources: {concurrency: 0}\n",
     "tune.yaml:2: resources.concurrency: expected an integer from 1 to 2^20, got '0'"},
    {"command: [t]\nresources: {gpus_per_trial: -1}\n",
     "tune.yaml:2: resources.gpus_per_trial: expected an integer from 0 to 2^20, got '-1'"},
    {"command: [t]\nresources: {retries: two}\n",
     "tune.yaml:2: resources.retries: expected an integer, got 'two'"},
    {"command: [t]\nresources: {gpus: []}\n",
     "tune.yaml:2: resources.gpus: an empty list (leave gpus out to detect them)"},
    {"command: [t]\nresources: {gpus: 2}\n",
     "tune.yaml:2: resources.gpus: expected a list of GPU ids such as [0, 1], got '2'"},
    {"command: [t]\nresources: {gpus: [0, 1, 0]}\n",
     "tune.yaml:2: resources.gpus[2]: GPU 0 is listed twice"},
    {"command: [t]\nresources: {gpus: [0, 1], gpus_per_trial: 3}\n",
     "tune.yaml:2: resources.gpus_per_trial: a trial needs 3 GPUs but resources.gpus lists 2"},
    {"command: [t]\nresources: {gpus_per_trial: 2, trials_per_gpu: 2}\n",
     "tune.yaml:2: resources.trials_per_gpu: sharing a GPU between trials needs gpus_per_trial: 1"},
    {"command: [t]\nresources: {timeout: 5 minutes}\n",
     "tune.yaml:2: resources.timeout: expected seconds or a duration such as 90s, 30m, 2h, got "
     "'5 minutes'"},
    {"command: [t]\nresources: {timeout: -5}\n",
     "tune.yaml:2: resources.timeout: expected seconds or a duration such as 90s, 30m, 2h, got '-5'"},
    {"command: [t]\nresources: {concurency: 2}\n",
     "tune.yaml:2: resources: unknown key 'concurency' (did you mean 'concurrency'?)"},

    // executor, name
    {"command: [t]\nexecutor: lcoal\n",
     "tune.yaml:2: executor: expected local, {ssh: NODES_FILE} or {slurm: {partition: ...}}, "
     "got 'lcoal' (did you mean 'local'?)"},
    {"command: [t]\nexecutor: ssh\n", "tune.yaml:2: executor: ssh needs its nodes: {ssh: nodes.yaml}"},
    {"command: [t]\nexecutor: {ssh: }\n",
     "tune.yaml:2: executor.ssh: needs a nodes file (ssh: nodes.yaml) or a list of hosts"},
    {"command: [t]\nexecutor: {slurm: gpu}\n",
     "tune.yaml:2: executor.slurm: expected a map of Slurm settings such as {partition: gpu}, "
     "got 'gpu'"},
    {"command: [t]\nexecutor: {slurm: {}, ssh: n.yaml}\n",
     "tune.yaml:2: executor: expected local, {ssh: NODES_FILE} or {slurm: {partition: ...}}, "
     "got a map with 2 keys"},
    {"command: [t]\nexecutor: {kubernetes: {}}\n",
     "tune.yaml:2: executor: unknown key 'kubernetes' (expected local, ssh or slurm)"},
    {"command: [t]\nexecutor:\n  slurm:\n    partition: gpu\n    partition: cpu\n",
     "tune.yaml:5: executor.slurm.partition: duplicate key"},
    {"command: [t]\nname: [a]\n", "tune.yaml:2: name: expected a name, got a list"},
};

INSTANTIATE_TEST_SUITE_P(All, TuneSpecErrorTest, ::testing::ValuesIn(kCases));

}  // namespace
}  // namespace orchard::flags
