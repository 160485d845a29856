#!/usr/bin/python3
"""The Optuna side of the ingest benchmark.

Records the same metric points as tests/bench/ingest_emit.cc through Optuna's
own API for intermediate values, ``trial.report(value, step)``, into an RDB
storage on a fresh SQLite file (``sqlite:///TMP/optuna.db``): one study, one
trial, one report per point. Optuna commits every report in its own
transaction, so its cost per point is constant, and 200,000 reports (minutes
at a few hundred per second) are not needed to know the rate: by default it
times 5,000 points, and also 1,000 points on a second fresh file to show the
rate does not depend on the count (``check_ratio``, and ``rates_agree`` when
within 25%). The rates over the first and the last fifth of the main run
(``first_fifth_per_s``, ``last_fifth_per_s``) show the same within one file.
On a disk the rate is bound by fsync latency and varies with other I/O on the
machine; on tmpfs (``--dir /dev/shm``) it is bound by Python and SQLAlchemy.

Run with Debian's interpreter, which has python3-optuna 3.1:
    /usr/bin/python3 tests/bench/ingest_optuna.py [--points 5000] [--check-points 1000]

Prints one JSON object on stdout.
"""

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings


def ingest_value(i, k=0):
    # Same formula as ingest_emit.cc and ingest_ceiling.cc.
    return 2.0 / (1.0 + 0.001 * i) + 0.01 * ((i * 7919 + k * 104729) % 100) / 100.0 + k


def measure(points, base_dir=None):
    import optuna

    with tempfile.TemporaryDirectory(prefix="orchard-optuna-", dir=base_dir) as tmp:
        url = "sqlite:///" + os.path.join(tmp, "optuna.db")
        storage = optuna.storages.RDBStorage(url)
        study = optuna.create_study(study_name="ingest", storage=storage, direction="minimize")
        trial = study.ask()
        cpu0 = time.process_time()
        stamps = [time.perf_counter()]
        for i in range(points):
            trial.report(ingest_value(i), i)
            stamps.append(time.perf_counter())
        seconds = stamps[-1] - stamps[0]
        cpu = time.process_time() - cpu0
        # The rate over the first and the last fifth of the points: if the
        # cost of a report grew with the points already stored, the last
        # fifth would be slower.
        fifth = max(points // 5, 1)
        first = fifth / (stamps[fifth] - stamps[0])
        last = fifth / (stamps[-1] - stamps[-1 - fifth])
        stored = len(storage.get_trial(trial._trial_id).intermediate_values)
        if stored != points:
            raise SystemExit(f"ingest_optuna: Optuna stored {stored} of {points} points")
        study.tell(trial, ingest_value(points - 1))
        storage.engine.dispose()
    return {"points": points, "seconds": round(seconds, 6),
            "points_per_s": round(points / seconds, 1),
            "cpu_seconds": round(cpu, 6),
            "first_fifth_per_s": round(first, 1), "last_fifth_per_s": round(last, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=5000,
                        help="points reported in the main measurement (default 5000)")
    parser.add_argument("--check-points", type=int, default=1000,
                        help="points in the second, smaller measurement that checks the "
                             "rate is per point (0 skips it; default 1000)")
    parser.add_argument("--dir", default=None,
                        help="folder for the temporary database (default: $TMPDIR or /tmp); "
                             "put it on the same file system as the store it is compared with")
    parser.add_argument("--warmup", type=int, default=200,
                        help="points reported first on a throwaway file and not timed, so "
                             "imports and SQLAlchemy's statement cache are warm (default 200)")
    args = parser.parse_args()
    if args.points < 1 or args.check_points < 0 or args.warmup < 0:
        parser.error("--points must be >= 1, --check-points and --warmup >= 0")

    try:
        import optuna
        import sqlalchemy
    except ImportError as e:
        raise SystemExit(f"ingest_optuna: {e}; run it with /usr/bin/python3 "
                         "(Debian's python3-optuna)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")

    if args.warmup > 0:
        measure(args.warmup, args.dir)
    main_run = measure(args.points, args.dir)
    out = {
        "system": "optuna",
        "optuna": optuna.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "python": sys.version.split()[0],
        "points": main_run["points"],
        "seconds": main_run["seconds"],
        "points_per_s": main_run["points_per_s"],
        "cpu_seconds": main_run["cpu_seconds"],
        "first_fifth_per_s": main_run["first_fifth_per_s"],
        "last_fifth_per_s": main_run["last_fifth_per_s"],
        "dir": os.path.realpath(args.dir or tempfile.gettempdir()),
        "warmup_points": args.warmup,
    }
    if args.check_points:
        check = measure(args.check_points, args.dir)
        out["check"] = check
        ratio = check["points_per_s"] / main_run["points_per_s"]
        out["check_ratio"] = round(ratio, 3)
        out["rates_agree"] = 0.75 <= ratio <= 1.25
    print(json.dumps(out))


if __name__ == "__main__":
    main()
