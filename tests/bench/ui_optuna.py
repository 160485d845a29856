#!/usr/bin/python3
"""Dashboard benchmark peer (tests/bench/ui_bench.sh).

build:   copies an Orchard store filled by ui_fill into the equivalent Optuna 3.1
         SQLite study, row for row, and checks it through Optuna's own API.
measure: p95 latency of the two dashboard requests against `orchard ui`
         (over HTTP, as a page makes them) and of the same reads through Optuna,
         in one process, one after the other.

The equivalent study. Optuna stores per trial its params, one objective value,
one series of intermediate values and JSON user attributes. Each Orchard run
becomes one COMPLETE trial: its five flags are the params (with the
distributions they were drawn from), the last val_acc is the value, the
val_acc series (100 steps) is the intermediate values -- what Optuna's own
plot_intermediate_values draws -- and each of the other nine series is a user
attribute holding its 100 values as a JSON list. Same numbers, stored the way
Optuna stores them (9 series as 9 JSON rows rather than 900 rows: compact, in
Optuna's favour). Rows are written with SQL into a study created through
Optuna's API (so the schema and version rows are Optuna's own): going through
study.add_trial() would take hours for 10,000 trials of 1,000 values.
"""
import argparse
import http.client
import json
import random
import sqlite3
import statistics
import sys
import time
import urllib.parse


def p95(samples):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def summary(samples):
    return {"n": len(samples), "p50_ms": 1000 * statistics.median(samples),
            "p95_ms": 1000 * p95(samples), "max_ms": 1000 * max(samples)}


def build(args):
    import optuna
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution, distribution_to_json)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    src = sqlite3.connect(f"file:{args.orchard_db}?mode=ro", uri=True)
    t0 = time.perf_counter()
    study = optuna.create_study(study_name="ui_bench", storage=f"sqlite:///{args.optuna_db}",
                                direction="maximize")
    study_id = study._study_id
    dists = {
        "lr": FloatDistribution(1e-4, 1e-1, log=True),
        "batch": CategoricalDistribution([16, 32, 64, 128]),
        "optimizer": CategoricalDistribution(["sgd", "adam", "adamw"]),
        "dropout": FloatDistribution(0.0, 0.5),
        "unfreeze": IntDistribution(0, 4),
    }
    dist_json = {k: distribution_to_json(d) for k, d in dists.items()}
    runs = src.execute("SELECT id, seq, flags, started_at, finished_at FROM runs ORDER BY seq").fetchall()
    dst = sqlite3.connect(args.optuna_db)
    dst.execute("PRAGMA synchronous=OFF")
    iso = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) + ".000000"
    trials, params, values, inter, attrs = [], [], [], [], []
    series = {}
    for run_id, name, step, value in src.execute(
            "SELECT run_id, name, step, value FROM metrics ORDER BY run_id, name, step"):
        series.setdefault(run_id, {}).setdefault(name, []).append((step, value))
    for number, (run_id, seq, flags_text, started, finished) in enumerate(runs):
        trial_id = number + 1
        flags = json.loads(flags_text)
        trials.append((trial_id, number, study_id, "COMPLETE", iso(started), iso(finished)))
        for k, d in dists.items():
            params.append((trial_id, k, d.to_internal_repr(flags[k]), dist_json[k]))
        s = series[run_id]
        values.append((trial_id, 0, s["val_acc"][-1][1], "FINITE"))
        inter.extend((trial_id, st, v, "FINITE") for st, v in s["val_acc"])
        for name, pts in s.items():
            if name != "val_acc":
                attrs.append((trial_id, name, json.dumps([v for _, v in pts])))
    with dst:
        dst.executemany("INSERT INTO trials (trial_id, number, study_id, state, datetime_start, "
                        "datetime_complete) VALUES (?, ?, ?, ?, ?, ?)", trials)
        dst.executemany("INSERT INTO trial_params (trial_id, param_name, param_value, "
                        "distribution_json) VALUES (?, ?, ?, ?)", params)
        dst.executemany("INSERT INTO trial_values (trial_id, objective, value, value_type) "
                        "VALUES (?, ?, ?, ?)", values)
        dst.executemany("INSERT INTO trial_intermediate_values (trial_id, step, "
                        "intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?)", inter)
        dst.executemany("INSERT INTO trial_user_attributes (trial_id, key, value_json) "
                        "VALUES (?, ?, ?)", attrs)
    dst.close()
    built = time.perf_counter() - t0
    # Check through Optuna itself that the study holds what the store holds.
    loaded = optuna.load_study(study_name="ui_bench", storage=f"sqlite:///{args.optuna_db}")
    ts = loaded.get_trials(deepcopy=False)
    errors = []
    if len(ts) != len(runs):
        errors.append(f"{len(ts)} trials, expected {len(runs)}")
    t = ts[len(ts) // 2]
    run_id = runs[len(ts) // 2][0]
    if [v for _, v in series[run_id]["val_acc"]] != [t.intermediate_values[k] for k in sorted(t.intermediate_values)]:
        errors.append("intermediate values differ from the store's val_acc")
    if len(t.user_attrs) != len(series[run_id]) - 1:
        errors.append(f"{len(t.user_attrs)} user attrs, expected {len(series[run_id]) - 1}")
    if t.params["optimizer"] != json.loads(runs[len(ts) // 2][2])["optimizer"]:
        errors.append("params differ")
    points = sum(len(t.intermediate_values) + sum(len(v) for v in t.user_attrs.values()) for t in ts)
    if errors:
        print(json.dumps({"error": "; ".join(errors)}))
        sys.exit(1)
    print(json.dumps({"trials": len(ts), "points": points, "seconds": built,
                      "optuna": optuna.__version__}))


def measure(args):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(7)
    ids = [r[0] for r in sqlite3.connect(f"file:{args.orchard_db}?mode=ro", uri=True)
           .execute("SELECT id FROM runs ORDER BY seq")]
    metrics = ["val_acc", "train_loss", "val_loss", "train_acc", "lr_now", "grad_norm",
               "top5_acc", "f1", "precision", "recall"]
    url = urllib.parse.urlparse(args.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)

    def get(path):
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        dt = time.perf_counter() - t0
        if resp.status != 200:
            sys.exit(f"ui_optuna: GET {path[:80]} -> {resp.status} {body[:300]!r}")
        return dt, json.loads(body)

    def runs_list(i):
        return "/api/runs?" + urllib.parse.urlencode(
            {"sort": "-metrics." + metrics[i % len(metrics)], "limit": 50})

    def chart(i):
        pick = rng.sample(ids, 100)
        return "/api/metrics?" + urllib.parse.urlencode(
            {"runs": ",".join(pick), "names": "val_acc", "max_points": 2000})

    for i in range(5):  # warm-up: connections, statement caches, page cache
        get(runs_list(i))
        get(chart(i))
    out = {}
    samples = []
    for i in range(args.reps):
        dt, body = get(runs_list(i))
        if body["total"] != len(ids) or len(body["runs"]) != 50:
            sys.exit(f"ui_optuna: runs list gave total {body['total']}, {len(body['runs'])} rows")
        samples.append(dt)
    out["orchard_list"] = summary(samples)
    samples = []
    for i in range(args.reps):
        dt, body = get(chart(i))
        if len(body["series"]) != 100 or any(len(s["points"]) != s["count"] for s in body["series"]):
            sys.exit("ui_optuna: the chart request did not return 100 whole series")
        samples.append(dt)
    out["orchard_chart"] = summary(samples)
    out["orchard_chart_points"] = sum(len(s["points"]) for s in body["series"])

    storage = f"sqlite:///{args.optuna_db}"

    def optuna_list(study):
        df = study.trials_dataframe()
        top = df.sort_values("value", ascending=False).head(50)
        assert len(top) == 50 and len(df) == len(ids)
        return top

    def optuna_chart(study):
        trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        pick = rng.sample(range(len(trials)), 100)
        lines = [sorted(trials[i].intermediate_values.items()) for i in pick]
        assert len(lines) == 100 and all(len(l) > 0 for l in lines)
        return lines

    # Cold: what a request costs when it reads the study from the file, as
    # Orchard's server does for every request (load_study + the read).
    for key, fn in (("optuna_list_cold", optuna_list), ("optuna_chart_cold", optuna_chart)):
        samples = []
        for _ in range(args.optuna_cold_reps):
            t0 = time.perf_counter()
            fn(optuna.load_study(study_name="ui_bench", storage=storage))
            samples.append(time.perf_counter() - t0)
        out[key] = summary(samples)
    # Warm: one long-lived study object whose storage caches finished trials
    # (Optuna 3.1's _CachedStorage), as a dashboard process would keep it.
    study = optuna.load_study(study_name="ui_bench", storage=storage)
    optuna_list(study)
    for key, fn in (("optuna_list_warm", optuna_list), ("optuna_chart_warm", optuna_chart)):
        samples = []
        for _ in range(args.optuna_warm_reps):
            t0 = time.perf_counter()
            fn(study)
            samples.append(time.perf_counter() - t0)
        out[key] = summary(samples)
    out["optuna"] = optuna.__version__
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--orchard-db", required=True)
    b.add_argument("--optuna-db", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--url", required=True)
    m.add_argument("--orchard-db", required=True)
    m.add_argument("--optuna-db", required=True)
    m.add_argument("--reps", type=int, default=200)
    m.add_argument("--optuna-cold-reps", type=int, default=3)
    m.add_argument("--optuna-warm-reps", type=int, default=10)
    args = ap.parse_args()
    build(args) if args.cmd == "build" else measure(args)


if __name__ == "__main__":
    main()
