#!/usr/bin/python3
"""Reports the early-stopping benchmark (asha_bench.sh) and, with --write-doc,
rewrites the "Early stopping (ASHA)" section of docs/benchmarks.md: from its
"## " heading to the next one (or appended at the end); other sections are
left as they are.

Inputs: the recorded curves, one JSON file per Orchard tuning session (its
runs as `orchard runs --format json` lists them) and the output of
asha_optuna.py for each (grace, reduction) setting.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_machine import machine, sh  # noqa: E402

HEADING = "## Early stopping (ASHA)"
TOLERANCE = 0.005  # "as good as": best >= full best - 0.005 (0.5 points of accuracy)


def orchard_session(path, curves, max_t):
    """Summarises one Orchard session; checks every stored value against the curves."""
    s = json.load(open(path))
    runs = s["runs"]
    problems = []
    if len(runs) != len(curves):
        problems.append(f"{len(runs)} runs for {len(curves)} configurations")
    per_config = {}
    for r in runs:
        k, n, last = r.get("flags.config"), r.get("metrics.val_acc.count") or 0, r.get("metrics.val_acc.last")
        if k is None or not 0 <= int(k) < len(curves):
            problems.append(f"run {r['id']}: no configuration")
            continue
        k = int(k)
        if k in per_config:
            problems.append(f"configuration {k} ran twice")
        if n < 1 or n > max_t:
            problems.append(f"run {r['id']} (configuration {k}): {n} val_acc points")
        elif last is None or abs(last - curves[k][n - 1]) > 1e-9:
            problems.append(f"run {r['id']} (configuration {k}): last val_acc {last}, "
                            f"recorded curve has {curves[k][n - 1]} at epoch {n}")
        if r["status"] not in ("completed", "pruned"):
            problems.append(f"run {r['id']} (configuration {k}): status {r['status']}")
        if r["status"] == "completed" and n != max_t:
            problems.append(f"run {r['id']} (configuration {k}): completed after {n} of {max_t} epochs")
        per_config[k] = {"epochs": n, "status": r["status"], "last": last}
    overshoot = 0  # epochs a pruned trial printed after the rung that pruned it (before SIGTERM landed)
    if s["grace"]:
        rungs, t = [], s["grace"]
        while t < max_t:
            rungs.append(t)
            t = int(t * s["reduction"])
        rungs.append(max_t)
        for v in per_config.values():
            if v["status"] == "pruned":
                overshoot += v["epochs"] - max([r for r in rungs if r <= v["epochs"]], default=v["epochs"])
    # A trial that ran to max_t is a finished training whatever its status: Orchard's ASHA also
    # takes a decision at max_t (its last rung), recording the trials it does not promote there
    # as pruned although they used every epoch.
    done = [(v["last"], k) for k, v in per_config.items() if v["epochs"] == max_t]
    best, best_k = max(done) if done else (float("nan"), None)
    return {"name": s["name"], "tune": s["tune"], "concurrency": s["concurrency"], "grace": s["grace"],
            "reduction": s["reduction"], "wall_s": s["wall_s"], "best": best, "best_config": best_k,
            "epochs": sum(v["epochs"] for v in per_config.values()),
            "completed": sum(v["status"] == "completed" for v in per_config.values()),
            "pruned": sum(v["status"] == "pruned" for v in per_config.values()),
            "stopped_early": sum(v["epochs"] < max_t for v in per_config.values()),
            "to_max_t": len(done),
            "pruned_at_max_t": sum(v["status"] == "pruned" and v["epochs"] == max_t for v in per_config.values()),
            "per_config": per_config, "overshoot": overshoot, "problems": problems}


def rank(values, k):
    """1-based rank of values[k] among values, best (largest) first; ties share the better rank."""
    return 1 + sum(v > values[k] for v in values)


def ordinal(k):
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def goal(best, epochs, full_best, full_epochs):
    good = best >= full_best - TOLERANCE
    cheap = epochs * 3 <= full_epochs
    return good, cheap


def mark(good, cheap):
    if good and cheap:
        return "**met**"
    why = []
    if not good:
        why.append("worse")
    if not cheap:
        why.append("> 1/3 of the epochs")
    return "missed (" + ", ".join(why) + ")"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--curves", required=True)
    p.add_argument("--sessions", nargs="+", required=True)
    p.add_argument("--optuna", nargs="+", required=True)
    p.add_argument("--build", default="")
    p.add_argument("--doc", required=True)
    p.add_argument("--grace", type=int, required=True)
    p.add_argument("--reduction", type=int, required=True)
    p.add_argument("--epoch-seconds", required=True)
    p.add_argument("--orders", type=int, default=0)
    p.add_argument("--load-before", default="?")
    p.add_argument("--load-after", default="?")
    p.add_argument("--write-doc", action="store_true")
    a = p.parse_args()

    data = json.load(open(a.curves))
    curves = [c["val_acc"] for c in data["configs"]]
    n, max_t = len(curves), len(curves[0])
    finals = [c[-1] for c in curves]
    oracle_k = max(range(n), key=lambda k: finals[k])
    oracle = finals[oracle_k]
    full_epochs = n * max_t

    sessions = [orchard_session(s, curves, max_t) for s in a.sessions]
    problems = [f"{s['name']}: {msg}" for s in sessions for msg in s["problems"]]
    full = next(s for s in sessions if s["name"] == "full")
    if full["epochs"] != full_epochs or full["best"] != oracle:
        problems.append(f"full: {full['epochs']} epochs and best {full['best']}, expected "
                        f"{full_epochs} and {oracle}")
    main_c1 = next(s for s in sessions if s["name"] == "asha-c1")
    c4 = [s for s in sessions if s["name"].startswith("asha-c4-")]
    explored = [s for s in sessions if s["name"].startswith("explore-")]

    optuna = [json.load(open(f)) for f in a.optuna]
    opt_main = next(o for o in optuna if (o["grace"], o["reduction"]) == (a.grace, a.reduction))

    # Orchard at concurrency 1 and Optuna decide on the same trials in the same order:
    # their decisions should agree trial for trial.
    def agreement(sess, opt):
        by_config = {t["config"]: t["epochs"] for t in opt["asha"]["per_trial"]}
        diff = [k for k in range(n) if sess["per_config"].get(k, {}).get("epochs") != by_config.get(k)]
        return diff

    # ---- the table
    rows = []  # (system, setting, best, best_config, epochs, wall, pruned, goal)

    def row(system, setting, best, best_k, epochs, stopped, to_max_t, wall, is_asha):
        frac = epochs / full_epochs
        g = mark(*goal(best, epochs, full["best"], full_epochs)) if is_asha else ""
        wall_s = f"{wall:.1f} s" if wall is not None else "–"
        rows.append(f"| {system} | {setting} | {best:.4f} (config {best_k}, {ordinal(rank(finals, best_k))}) | "
                    f"{epochs} | {frac:.1%} | {stopped} | {to_max_t} | {wall_s} | {g} |")

    asha_setting = f"ASHA grace {a.grace}, reduction {a.reduction}, max_t {max_t}"
    row("Orchard", "full grid, no early stopping, concurrency 4", full["best"], full["best_config"],
        full["epochs"], full["stopped_early"], full["to_max_t"], full["wall_s"], False)
    row("Orchard", f"{asha_setting}, concurrency 1", main_c1["best"], main_c1["best_config"],
        main_c1["epochs"], main_c1["stopped_early"], main_c1["to_max_t"], main_c1["wall_s"], True)
    for i, s in enumerate(c4, 1):
        row("Orchard", f"{asha_setting}, concurrency 4 (run {i})", s["best"], s["best_config"],
            s["epochs"], s["stopped_early"], s["to_max_t"], s["wall_s"], True)
    of, oa = opt_main["full"], opt_main["asha"]
    row(f"Optuna {opt_main['optuna']}", "NopPruner (full search)", of["best"], of["best_config"],
        of["epochs"], of["pruned"], of["completed"], None, False)
    row(f"Optuna {opt_main['optuna']}",
        f"SuccessiveHalvingPruner(min_resource={a.grace}, reduction_factor={a.reduction})",
        oa["best"], oa["best_config"], oa["epochs"], oa["pruned"], oa["completed"], None, True)
    table = ("| System | Setting | Best final val_acc (config, rank of 40) | Epochs used | Fraction of full | "
             f"Trials stopped early | Trials run to epoch {max_t} | Wall | Goal |\n"
             "|---|---|---:|---:|---:|---:|---:|---:|---|\n" + "\n".join(rows)).replace("of 40", f"of {n}")

    # ---- order sensitivity and other settings
    def order_stats(o):
        sh_ = o.get("shuffled") or []
        if not sh_:
            return "–"
        fr = [r["epochs"] / full_epochs for r in sh_]
        met = sum(all(goal(r["best"], r["epochs"], o["full"]["best"], full_epochs)) for r in sh_)
        good = sum(goal(r["best"], r["epochs"], o["full"]["best"], full_epochs)[0] for r in sh_)
        return (f"{statistics.median(fr):.1%} [{min(fr):.1%}–{max(fr):.1%}]; as good in {good}/{len(sh_)}; "
                f"goal met in {met}/{len(sh_)}")

    explore_rows = []
    settings = [(a.grace, a.reduction, main_c1)] + [(s["grace"], s["reduction"], s) for s in explored]
    for g_, r_, s in settings:
        o = next((o for o in optuna if (o["grace"], o["reduction"]) == (g_, r_)), None)
        label = " (goal's setting)" if (g_, r_) == (a.grace, a.reduction) else ""
        ob = f"{o['asha']['best']:.4f} / {o['asha']['epochs']} ({o['asha']['epochs'] / full_epochs:.1%})" if o else "–"
        rungs = []
        t = g_
        while t < max_t:
            rungs.append(t)
            t *= r_
        rungs.append(max_t)
        explore_rows.append(
            f"| {g_} | {r_}{label} | {', '.join(map(str, rungs))} | {s['best']:.4f} / {s['epochs']} "
            f"({s['epochs'] / full_epochs:.1%}) | {mark(*goal(s['best'], s['epochs'], full['best'], full_epochs))} | "
            f"{ob} | {order_stats(o) if o else '–'} |")
    explore_table = ("| grace | reduction | rungs (epochs) | Orchard, concurrency 1: best / epochs | Goal | "
                     f"Optuna: best / epochs | Optuna over {a.orders} shuffled orders: epochs (median [range]) |\n"
                     "|---:|---:|---|---:|---|---:|---|\n" + "\n".join(explore_rows))

    agree = []
    for g_, r_, s in settings:
        o = next((o for o in optuna if (o["grace"], o["reduction"]) == (g_, r_)), None)
        if o:
            d = agreement(s, o)
            agree.append(f"grace {g_}, reduction {r_}: " + ("identical" if not d else
                         f"differ on configurations {d}"))

    near = sorted((k for k in range(n) if finals[k] >= oracle - TOLERANCE), key=lambda k: -finals[k])
    second = sorted(finals, reverse=True)[1]
    val_size = (data.get("fixed_flags") or {}).get("val_size")
    noise = (f" On {val_size:,} validation images an accuracy near {oracle:.2f} has a standard error of about "
             f"{(oracle * (1 - oracle) / val_size) ** 0.5:.3f}." if val_size else "")
    ranks = ", ".join(f"{ordinal(rank([c[e - 1] for c in curves], oracle_k))} after epoch {e}"
                      for e in sorted({1, 2, 3, max_t}) if e <= max_t)
    ok_c1 = all(goal(main_c1["best"], main_c1["epochs"], full["best"], full_epochs))
    ok_c4 = [all(goal(s["best"], s["epochs"], full["best"], full_epochs)) for s in c4]
    summary = (f"Goal with grace {a.grace}, reduction {a.reduction}: Orchard at concurrency 1 "
               f"{'met' if ok_c1 else 'missed'} ({main_c1['best']:.4f} vs {full['best']:.4f}, "
               f"{main_c1['epochs']}/{full_epochs} epochs = {main_c1['epochs'] / full_epochs:.1%}); "
               f"at concurrency 4 met in {sum(ok_c4)} of {len(ok_c4)} runs.")

    at_max = [f"{s['name']}: {s['pruned_at_max_t']}" for s in sessions if s["pruned_at_max_t"]]
    if at_max:
        summary += (f" Orchard's ASHA also takes a decision at max_t = {max_t}, its last rung: trials that had "
                    f"already run all {max_t} epochs and are not in the top 1/reduction there get SIGTERM "
                    "and are recorded as pruned (" + "; ".join(at_max) + "). They are counted above as run "
                    f"to epoch {max_t}, and their final values compete for the best (which they never are: "
                    "a trial that is the best at the last rung is promoted). Optuna is not asked after the last "
                    "epoch, so it completes them.")
    over = [f"{s['name']}: {s['overshoot']}" for s in sessions if s["overshoot"]]
    summary += (" Epochs a pruned trial printed after the rung that pruned it (the replay's next epoch "
                "landing before SIGTERM), counted in the figures above: " + ("; ".join(over) if over else "none") + ".")

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta = (f"Measured {stamp} on {machine(a.build, 'Optuna ' + opt_main['optuna'])}. Curves: {n} configurations × "
            f"{max_t} epochs, recorded {data.get('recorded', '?')} ({data.get('recording_seconds', '?')} s). "
            f"Replay: {a.epoch_seconds} s per epoch. Load average (1, 5, 15 min) before / after: "
            f"{a.load_before} / {a.load_after}.")
    results = "\n\n".join([
        meta, table, summary,
        f"The best configuration (#{oracle_k}: lr {data['configs'][oracle_k]['lr']}, hidden "
        f"{data['configs'][oracle_k]['hidden']}, {data['configs'][oracle_k]['optimizer']}, batch "
        f"{data['configs'][oracle_k]['batch']}; final val_acc {oracle:.4f}) ranks {ranks} (of {n}). "
        f"{len(near)} of the {n} configurations {'ends' if len(near) == 1 else 'end'} within {TOLERANCE} of it "
        f"({', '.join(f'config {k}: {finals[k]:.4f}' for k in near)}); the runner-up ends at {second:.4f}.{noise}",
        "Other ASHA settings (Orchard at concurrency 1 and Optuna in the grid's order; then Optuna over "
        "shuffled orders, \"as good\" meaning within 0.005 of the full search's best):",
        explore_table,
        "Epochs each configuration got, Orchard at concurrency 1 against Optuna in the same order: " + "; ".join(agree) + ".",
    ])
    if problems:
        results += "\n\n**Problems:** " + "; ".join(problems)

    print(f"\nEarly stopping (ASHA), {n} configurations x {max_t} epochs; full search = {full_epochs} epochs\n")
    print(table)
    print()
    print(summary)
    print()
    print(explore_table)
    print()
    print("Orchard c1 vs Optuna decisions: " + "; ".join(agree))
    print(f"Best configuration #{oracle_k} ranks {ranks}; {len(near)} configuration(s) within {TOLERANCE}; "
          f"runner-up {second:.4f}.{noise}")
    if problems:
        print("\nPROBLEMS:\n  " + "\n  ".join(problems), file=sys.stderr)

    if a.write_doc:
        fixed = data.get("fixed_flags", {})
        body = SECTION.format(heading=HEADING, results=results,
                              train_size=int(fixed.get("train_size", 6000)),
                              val_size=int(fixed.get("val_size", 2000)),
                              curves_file=os.path.basename(a.curves))
        text = open(a.doc).read()
        lines = text.split("\n")
        start = next((i for i, l in enumerate(lines) if l.strip() == HEADING), None)
        if start is None:
            text = text.rstrip("\n") + "\n\n" + body.rstrip("\n") + "\n"
        else:
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
            tail = "\n".join(lines[end:])
            text = "\n".join(lines[:start]) + "\n" + body.rstrip("\n") + "\n" + ("\n" + tail if tail else "")
        with open(a.doc + ".tmp", "w") as f:
            f.write(text)
        os.replace(a.doc + ".tmp", a.doc)
        print(f"\nasha_report: wrote the section '{HEADING[3:]}' of {a.doc}", file=sys.stderr)
    return 1 if problems else 0


SECTION = """{heading}

**What is measured.** Whether early stopping pays on a real tuning problem (issue 3): ASHA should
find a configuration as good as the full search (final val_acc within 0.005 of its best) with at
most a third of the epochs. The learning curves are real: `tests/bench/asha_record.sh` sampled 40
configurations of `examples/fashion_mlp/train.py` from a fixed seed (lr log-uniform in
[1e-4, 0.5], hidden {{32, 64, 128, 256}}, optimizer {{sgd, adam}}, batch {{32, 64, 128}}), trained
each for 9 epochs on {train_size:,} Fashion-MNIST training images ({val_size:,} for validation, `ORCHARD_SEED=1`
for all), and stored every epoch's val_acc in `tests/bench/{curves_file}` (committed data).
Tuning is then replayed, so every method sees exactly the same curves:

- **Orchard**: the real `orchard tune`, with `tests/bench/asha_replay.sh` as the trainer: given
  `--config=K` it prints configuration K's recorded curve as `@orchard {{"epoch": e, "val_acc":
  v}}` lines, one epoch per 0.05 s, and stops at once on SIGTERM. The spec is a grid
  `config: [0, 1, ..., 39]` (the order the configurations were sampled in, i.e. a random search)
  with `objective: {{metric: val_acc, goal: max}}`; the full search has no early stopping, the ASHA
  sessions add `early_stopping: {{method: asha, metric: val_acc, grace: 1, reduction: 3, max_t: 9,
  unit: epoch}}`, at concurrency 1 and at concurrency 4 (asynchronous: which trials a rung has
  seen depends on timing, so that session runs three times). Epochs used = the val_acc points the
  store holds for the session's runs (a pruned trial's epochs up to the SIGTERM count, including
  any it printed before the signal landed); best = the best final val_acc among trials that ran
  to epoch 9. The benchmark checks every stored value against the recorded curve.
- **Optuna 3.1** (`tests/bench/asha_optuna.py`): an in-memory study with the same 40
  configurations enqueued in the same order, `trial.report(val_acc, epoch)` each epoch and
  `trial.should_prune()` after every epoch but the 9th (Orchard's `max_t`: no decision at the last
  rung), with `SuccessiveHalvingPruner(min_resource=1, reduction_factor=3,
  min_early_stopping_rate=0)`, and with `NopPruner` as the full search. It is also replayed over
  shuffled orders of the configurations, since a sequential ASHA's savings depend on the order.

Orchard's ASHA follows Optuna's rule (`orchestrator/search/asha.h`): rungs at 1, 3 (and 9, the
last), a trial continues past a rung only if it is in the top `1/reduction` of the values seen
there so far — so the first trials to reach a rung always continue. Other grace/reduction settings
are run the same way for comparison; the goal is judged on the issue's setting, grace 1 and
reduction 3.

**How to run it.**

```sh
cmake --build build -j2 --target orchard
tests/bench/asha_bench.sh build              # prints the tables (about a minute)
tests/bench/asha_bench.sh build --write-doc  # and rewrites the results below
tests/bench/asha_bench.sh build --record     # records the curves again first (10-25 minutes)
```

Options: `--grace=N`, `--reduction=N`, `--epoch-seconds=S`, `--reps=N` (concurrency-4 sessions),
`--orders=N` (shuffled orders for Optuna), `--explore=G:R,...` (other settings), `--keep`.

**Reading the figures.** ASHA cannot pause a trial to wait for others, so the first trials to
reach a rung always go on, and later ones go on only if they are in the top `1/reduction` of every
value seen at that rung so far: how many epochs it saves, and which configurations it carries to the
end, depend on the order the configurations arrive in (one order is the grid's; the shuffled orders
show the spread) and, at concurrency 4, on timing. "As good" means within 0.005 of the full
search's best final val_acc, which is comparable to the sampling noise of an accuracy measured on
{val_size:,} validation images; when only one configuration ends that close, ASHA meets the goal only if
it keeps that one configuration to the last epoch, and a noisy curve can rank far from first at an
early rung. Orchard at concurrency 1 and Optuna take the same decision for every trial, so where
they differ from the goal it is the algorithm and the curves, not the implementation. The wall
column is the replay's time (0.05 s per epoch plus process starts), not training time.

**Results.**

<!-- asha-bench:results:begin -->
{results}
<!-- asha-bench:results:end -->
"""

if __name__ == "__main__":
    sys.exit(main())
