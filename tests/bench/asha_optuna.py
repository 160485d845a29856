#!/usr/bin/python3
"""Optuna 3.1's side of the early-stopping benchmark (asha_bench.sh).

Replays the recorded learning curves (asha_curves.json) through an in-memory
Optuna study: one trial per configuration, enqueued in the same order as
Orchard's grid (configuration 0, 1, ..., n-1), each reporting its val_acc epoch
by epoch with trial.report(value, epoch) and asking trial.should_prune() after
every epoch but the last (the last epoch is Orchard's max_t, the last rung,
where no decision is taken; Optuna's pruner has no max_t). A pruned trial has
used the epochs it reported. Two pruners:
  - SuccessiveHalvingPruner(min_resource=GRACE, reduction_factor=ETA,
    min_early_stopping_rate=0): Optuna's ASHA;
  - NopPruner: the full search, every configuration trained to the end.

Prints one JSON object: for each pruner, the best final val_acc of a completed
trial, the epochs used, and per trial the epochs used and the state; with
--orders=N also the same for N shuffled orders of the configurations
(random.Random(seed) for seed 1..N), to show how much the order matters.

Usage: /usr/bin/python3 asha_optuna.py CURVES.json [--grace=1] [--reduction=3] [--orders=0]
"""
import argparse
import json
import random
import sys
import time

import optuna


def run_study(curves, order, pruner):
    """Runs one study over the configurations in `order`; returns its summary."""
    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    n_configs = len(curves)
    for k in order:
        study.enqueue_trial({"config": k})
    used = {}

    def objective(trial):
        k = trial.suggest_categorical("config", list(range(n_configs)))
        curve = curves[k]
        for epoch, value in enumerate(curve, start=1):
            trial.report(value, epoch)
            used[trial.number] = epoch
            if epoch < len(curve) and trial.should_prune():
                raise optuna.TrialPruned()
        return curve[-1]

    start = time.perf_counter()
    study.optimize(objective, n_trials=len(order))
    seconds = time.perf_counter() - start
    trials = []
    for t in study.trials:
        trials.append({"trial": t.number, "config": t.params["config"], "epochs": used[t.number],
                       "state": t.state.name.lower(),
                       "value": t.value if t.state == optuna.trial.TrialState.COMPLETE else None})
    done = [t for t in trials if t["state"] == "complete"]
    best = max(done, key=lambda t: t["value"])
    return {"best": best["value"], "best_config": best["config"],
            "epochs": sum(t["epochs"] for t in trials), "trials": len(trials),
            "completed": len(done), "pruned": len(trials) - len(done),
            "seconds": round(seconds, 3), "per_trial": trials}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("curves")
    p.add_argument("--grace", type=int, default=1)
    p.add_argument("--reduction", type=int, default=3)
    p.add_argument("--orders", type=int, default=0)
    args = p.parse_args()
    with open(args.curves) as f:
        data = json.load(f)
    curves = [c["val_acc"] for c in data["configs"]]
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def sha():
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=args.grace, reduction_factor=args.reduction, min_early_stopping_rate=0)

    order = list(range(len(curves)))
    out = {"optuna": optuna.__version__, "grace": args.grace, "reduction": args.reduction,
           "full": run_study(curves, order, optuna.pruners.NopPruner()),
           "asha": run_study(curves, order, sha())}
    shuffled = []
    for seed in range(1, args.orders + 1):
        o = order[:]
        random.Random(seed).shuffle(o)
        r = run_study(curves, o, sha())
        shuffled.append({"seed": seed, "best": r["best"], "epochs": r["epochs"],
                         "pruned": r["pruned"]})
    out["shuffled"] = shuffled
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
