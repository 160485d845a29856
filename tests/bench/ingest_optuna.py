#!/usr/bin/python3
"""The Optuna side of the ingest benchmark.

Records the same metric points as tests/bench/ingest_emit.cc through Optuna's
own API for intermediate values, ``trial.report(value, step)``, into an RDB
storage on a fresh SQLite file (``sqlite:///TMP/optuna.db``): one study, one
trial, one report per point. Optuna commits every report in its own
transaction, so its cost per point is constant, and 200,000 reports (about
seven minutes at ~470/s) are not needed to know the rate: by default it times
5,000 points, and also 1,000 points on a second fresh file to show the rate
does not depend on the count (the ``rates_agree`` field; within 25%).

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
        t0 = time.perf_counter()
        for i in range(points):
            trial.report(ingest_value(i), i)
        seconds = time.perf_counter() - t0
        stored = len(storage.get_trial(trial._trial_id).intermediate_values)
        if stored != points:
            raise SystemExit(f"ingest_optuna: Optuna stored {stored} of {points} points")
        study.tell(trial, ingest_value(points - 1))
        storage.engine.dispose()
    return {"points": points, "seconds": round(seconds, 6),
            "points_per_s": round(points / seconds, 1)}


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
    args = parser.parse_args()
    if args.points < 1 or args.check_points < 0:
        parser.error("--points must be >= 1 and --check-points >= 0")

    try:
        import optuna
        import sqlalchemy
    except ImportError as e:
        raise SystemExit(f"ingest_optuna: {e}; run it with /usr/bin/python3 "
                         "(Debian's python3-optuna)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")

    main_run = measure(args.points, args.dir)
    out = {
        "system": "optuna",
        "optuna": optuna.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "python": sys.version.split()[0],
        "points": main_run["points"],
        "seconds": main_run["seconds"],
        "points_per_s": main_run["points_per_s"],
        "dir": os.path.realpath(args.dir or tempfile.gettempdir()),
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
