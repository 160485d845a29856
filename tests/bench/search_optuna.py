"""Optuna 3.1's side of the search benchmarks (run with /usr/bin/python3).

  search_optuna.py overhead [--trials=10,100,1000] [--reps=3] [--reps-large=1]
      Milliseconds per trial spent in study.ask() (trial creation in the
      in-memory storage and sampling of every parameter) for RandomSampler,
      GridSampler and TPESampler (Optuna's defaults), on the same space and
      cheap objective as search_overhead.cc. tell() and the objective are
      outside the timed region. --reps-large applies to studies of 1,000+
      trials (a TPE study of 1,000 trials takes tens of seconds).

  search_optuna.py quality [--seeds=30] [--trials=60]
      The best value TPESampler(seed=s) finds on search_quality.cc's three
      functions (the definitions below must stay identical to those).

Prints one JSON object on stdout.
"""
import argparse
import json
import math
import statistics
import sys
import time

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ---- overhead --------------------------------------------------------------

OVERHEAD_SPACE = {
    "lr": FloatDistribution(1e-5, 1e-1, log=True),
    "dropout": FloatDistribution(0, 0.5),
    "batch": CategoricalDistribution([16, 32, 64, 128, 256]),
    "optimizer": CategoricalDistribution(["sgd", "momentum", "adam", "adamw"]),
    "unfreeze": IntDistribution(0, 4),
}
GRID_SPACE = {
    "lr": [10 ** (-5 + 0.5 * i) for i in range(10)],
    "batch": [16, 32, 64, 128, 256],
    "optimizer": ["sgd", "momentum", "adam", "adamw"],
    "unfreeze": [0, 1, 2, 3, 4],
}


def overhead_objective(p):
    s = (math.log10(p["lr"]) + 3) ** 2 + 0.1 * p["unfreeze"]
    if "dropout" in p:
        s += (p["dropout"] - 0.2) ** 2
    if p["optimizer"] != "adam":
        s += 0.3
    if p["batch"] != 64:
        s += 0.1
    return s


def run_overhead_study(method, trials, seed):
    if method == "grid":
        sampler = optuna.samplers.GridSampler(GRID_SPACE, seed=seed)
        space = {k: CategoricalDistribution(v) for k, v in GRID_SPACE.items()}
    elif method == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
        space = OVERHEAD_SPACE
    else:
        sampler = optuna.samplers.TPESampler(seed=seed)
        space = OVERHEAD_SPACE
    study = optuna.create_study(sampler=sampler, direction="minimize")
    total = tail = 0.0
    tail_from = trials - max(1, trials // 10)
    for n in range(trials):
        t0 = time.perf_counter()
        trial = study.ask(space)
        dt = time.perf_counter() - t0
        total += dt
        if n >= tail_from:
            tail += dt
        try:
            study.tell(trial, overhead_objective(trial.params))
        except RuntimeError:
            # GridSampler.after_trial calls study.stop() once the grid is
            # exhausted, which Optuna only allows inside optimize().
            if method != "grid" or n != trials - 1:
                raise
    return total * 1000 / trials, tail * 1000 / (trials - tail_from)


def overhead(args):
    sizes = [int(x) for x in args.trials.split(",")]
    out = {"system": "optuna", "version": optuna.__version__, "results": []}
    for method in ("random", "grid", "tpe"):
        for trials in sizes:
            if method == "grid" and trials > 1000:
                continue
            reps = args.reps_large if trials >= 1000 else args.reps
            runs = [run_overhead_study(method, trials, 1 + r) for r in range(reps)]
            out["results"].append({
                "method": method, "trials": trials, "reps": reps,
                "ms_per_trial": statistics.median(r[0] for r in runs),
                "ms_per_trial_last_tenth": statistics.median(r[1] for r in runs),
            })
    return out


# ---- quality (keep identical to search_quality.cc) --------------------------

def branin_cat(p):
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    f = (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10
    return f + {"a": 0.6, "b": 0.0, "c": 0.3, "d": 1.0}[p["c"]]


def rosen_log(p):
    x, y, u, n = p["x"], p["y"], math.log10(p["s"]), p["n"]
    return 100 * (y - x * x) ** 2 + (1 - x) ** 2 + 10 * (u - y) ** 2 + 0.2 * abs(n - 5)


def train_like(p):
    opt, lr, batch = p["optimizer"], p["lr"], p["batch"]
    best_lr = {"sgd": 1e-1, "momentum": 3e-2, "adam": 1e-3, "adamw": 2e-3}[opt]
    offset = {"sgd": 0.06, "momentum": 0.03, "adam": 0.01, "adamw": 0.0}[opt]
    best_lr *= math.sqrt(batch / 64)
    return (0.2 + offset + 0.05 * (math.log10(lr) - math.log10(best_lr)) ** 2
            + 0.004 * (p["layers"] - 5) ** 2 + 0.3 * (p["dropout"] - 0.25) ** 2
            + 0.005 * (math.log2(batch) - 6) ** 2)


PROBLEMS = {
    "branin_cat": ({"x1": FloatDistribution(-5, 10), "x2": FloatDistribution(0, 15),
                    "c": CategoricalDistribution(["a", "b", "c", "d"])}, branin_cat),
    "rosen_log": ({"x": FloatDistribution(-2, 2), "y": FloatDistribution(-1, 3),
                   "s": FloatDistribution(1e-2, 1e3, log=True), "n": IntDistribution(0, 10)},
                  rosen_log),
    "train_like": ({"lr": FloatDistribution(1e-5, 1, log=True),
                    "batch": CategoricalDistribution([16, 32, 64, 128, 256]),
                    "optimizer": CategoricalDistribution(["sgd", "momentum", "adam", "adamw"]),
                    "layers": IntDistribution(1, 8), "dropout": FloatDistribution(0, 0.6)},
                   train_like),
}


def quality(args):
    out = {"system": "optuna", "version": optuna.__version__, "seeds": args.seeds,
           "trials": args.trials, "problems": {}}
    for name, (space, f) in PROBLEMS.items():
        bests = []
        for seed in range(args.seeds):
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed),
                                        direction="minimize")
            for _ in range(args.trials):
                trial = study.ask(space)
                study.tell(trial, f(trial.params))
            bests.append(study.best_value)
        out["problems"][name] = {"tpe": bests}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["overhead", "quality"])
    ap.add_argument("--trials", default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--reps-large", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=30)
    args = ap.parse_args()
    if args.mode == "overhead":
        args.trials = args.trials or "10,100,1000"
        out = overhead(args)
    else:
        args.trials = int(args.trials or 60)
        out = quality(args)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
