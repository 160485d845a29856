#!/usr/bin/env bash
# Records real learning curves for the early-stopping benchmark (asha_bench.sh).
#
# Samples N configurations of examples/fashion_mlp/train.py (a real PyTorch
# trainer) from a fixed seed:
#   lr        loguniform 1e-4 .. 0.5
#   hidden    {32, 64, 128, 256}
#   optimizer {sgd, adam}
#   batch     {32, 64, 128}
# trains each for 9 epochs on 6,000 training / 2,000 validation images of
# Fashion-MNIST (the trainer's seed, ORCHARD_SEED, is the same for every
# configuration: same data subset, same initialisation for a given width), and
# writes every configuration's per-epoch val_acc to tests/bench/asha_curves.json.
# The trainer is run directly (not through `orchard run`): this is data capture,
# the orchestrator is measured when the curves are replayed.
#
# Usage: tests/bench/asha_record.sh [options]
#   --configs=N     configurations (default 40)
#   --epochs=N      epochs each (default 9)
#   --jobs=N        trainers at once (default 2)
#   --seed=N        the sampling seed (default 1)
#   --train-seed=N  ORCHARD_SEED given to every trainer (default 1)
#   --val-size=N    validation images per evaluation (default 2000)
#   --out=FILE      default tests/bench/asha_curves.json
#
# Trainers run with OPENBLAS_NUM_THREADS=1 (the trainer itself asks torch for
# two threads): with OpenBLAS's own threads on top, two trainers on two cores
# ran several times slower. Progress is kept in FILE.partial, so an interrupted
# recording resumes where it stopped. Takes 10 to 25 minutes on 2 shared cores.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
configs=40 epochs=9 jobs=2 seed=1 train_seed=1 val_size=2000 out=$here/asha_curves.json
for arg in "$@"; do
  case "$arg" in
    --configs=*) configs=${arg#*=} ;;
    --epochs=*) epochs=${arg#*=} ;;
    --jobs=*) jobs=${arg#*=} ;;
    --seed=*) seed=${arg#*=} ;;
    --train-seed=*) train_seed=${arg#*=} ;;
    --val-size=*) val_size=${arg#*=} ;;
    --out=*) out=${arg#*=} ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "asha_record: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
for v in configs epochs jobs seed train_seed val_size; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "asha_record: --${v//_/-} needs an integer, got '${!v}'" >&2; exit 2; }
done
py=/usr/bin/python3
[[ -x $py ]] || { echo "asha_record: $py not found (Debian's python3 with python3-torch)" >&2; exit 2; }
[[ -d /usr/share/datasets/fashion-mnist ]] || { echo "asha_record: no Fashion-MNIST (apt-get install dataset-fashion-mnist)" >&2; exit 2; }

exec "$py" - "$repo/examples/fashion_mlp/train.py" "$out" "$configs" "$epochs" "$jobs" "$seed" "$train_seed" "$val_size" <<'EOF'
import concurrent.futures as cf
import datetime
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time

train, out, n, epochs, jobs, seed, train_seed = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:8])
TRAIN_SIZE, VAL_SIZE = 6000, int(sys.argv[8])

rng = random.Random(seed)
configs = []
for i in range(n):
    lr = math.exp(rng.uniform(math.log(1e-4), math.log(0.5)))
    configs.append({"config": i, "lr": float(f"{lr:.4g}"), "hidden": rng.choice([32, 64, 128, 256]),
                    "optimizer": rng.choice(["sgd", "adam"]), "batch": rng.choice([32, 64, 128])})

partial = out + ".partial"
done = {}
if os.path.exists(partial):
    with open(partial) as f:
        for line in f:
            rec = json.loads(line)
            key = {k: rec[k] for k in ("config", "lr", "hidden", "optimizer", "batch")}
            if key == configs[rec["config"]] and len(rec["val_acc"]) == epochs:
                done[rec["config"]] = rec
    print(f"asha_record: resuming, {len(done)} of {n} already recorded", flush=True)

lock = threading.Lock()
t0 = time.time()


def record(c):
    flags = [f"--{k}={c[k]}" for k in ("lr", "hidden", "optimizer", "batch")]
    flags += [f"--epochs={epochs}", f"--train_size={TRAIN_SIZE}", f"--val_size={VAL_SIZE}"]
    env = dict(os.environ, ORCHARD_SEED=str(train_seed), OPENBLAS_NUM_THREADS="1")
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="asha_record.") as run_dir:
        env["ORCHARD_RUN_DIR"] = run_dir
        p = subprocess.run([sys.executable, train] + flags, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"config {c['config']} {' '.join(flags)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    points = [json.loads(l[len("@orchard "):]) for l in p.stdout.splitlines() if l.startswith("@orchard ")]
    acc = [pt["val_acc"] for pt in points if "val_acc" in pt]
    if len(acc) != epochs or [pt["epoch"] for pt in points] != list(range(1, epochs + 1)):
        raise RuntimeError(f"config {c['config']}: expected {epochs} epochs, got {len(acc)}")
    rec = dict(c, val_acc=[round(a, 6) for a in acc],
               val_loss=[round(pt["val_loss"], 6) for pt in points],
               seconds=round(time.time() - start, 1))
    with lock:
        with open(partial, "a") as f:
            f.write(json.dumps(rec) + "\n")
        done[c["config"]] = rec
        print(f"asha_record: [{len(done):2d}/{n}] config {c['config']:2d} {' '.join(flags[:4])}: "
              f"val_acc {acc[0]:.4f} -> {acc[-1]:.4f} ({rec['seconds']:.0f} s; {time.time() - t0:.0f} s so far)",
              flush=True)


# Smallest batches first (most steps per epoch), so the slowest start early.
remaining = sorted((c for c in configs if c["config"] not in done), key=lambda c: (c["batch"], -c["hidden"]))
with cf.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
    for fut in cf.as_completed([pool.submit(record, c) for c in remaining]):
        fut.result()

try:
    import torch
    torch_version = torch.__version__
except Exception:  # the recording itself succeeded; the version is provenance only
    torch_version = "unknown"
doc = {
    "description": "Per-epoch validation accuracy of examples/fashion_mlp/train.py, recorded by "
                   "tests/bench/asha_record.sh; replayed by tests/bench/asha_bench.sh.",
    "trainer": "examples/fashion_mlp/train.py",
    "fixed_flags": {"epochs": epochs, "train_size": TRAIN_SIZE, "val_size": VAL_SIZE},
    "orchard_seed": train_seed,
    "sampling": {"seed": seed, "lr": "loguniform [1e-4, 0.5]", "hidden": [32, 64, 128, 256],
                 "optimizer": ["sgd", "adam"], "batch": [32, 64, 128]},
    "recorded": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "machine": f"{platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, torch {torch_version}",
    "recording_seconds": round(time.time() - t0),
    "configs": [done[i] for i in range(n)],
}
with open(out + ".tmp", "w") as f:
    f.write("{\n")
    items = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in doc.items() if k != "configs"]
    f.write(",\n".join(items) + ',\n  "configs": [\n')
    f.write(",\n".join("    " + json.dumps(c) for c in doc["configs"]) + "\n  ]\n}\n")
os.replace(out + ".tmp", out)
os.remove(partial)
best = max(doc["configs"], key=lambda c: c["val_acc"][-1])
print(f"asha_record: wrote {out}: {n} configurations x {epochs} epochs in {doc['recording_seconds']} s; "
      f"best final val_acc {best['val_acc'][-1]:.4f} (config {best['config']})", flush=True)
EOF
