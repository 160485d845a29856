#!/usr/bin/env bash
# Feature caching: the same tuning run of a linear probe (orchard-train
# finetune with a frozen MobileNetV2; tests/bench/feature_cache_tune.yaml),
# run by `orchard tune` twice: with --cache_features=false (every trial
# computes the backbone features of its images) and with --cache_features=true
# from an empty cache (the first trial computes them, the others read them).
# Reports the sessions' wall times, the trials' durations and the speed-up, and
# checks that both arms produced the same metrics for every trial.
#
# Usage: tests/bench/feature_cache_bench.sh [options]
#   --trials=N             trials per session (default 10)
#   --epochs=N             epochs per trial (default 10)
#   --image-size=N         input size (default 96)
#   --labels-per-class=N   training images per class (default 100)
#   --val-per-class=N      validation images per class (default 100)
#   --concurrency=N        trials at once (default 1; each uses 1 thread)
#   --order=ORDER          nocache-first (default) or cache-first
#   --timeout=S            limit per session in seconds (default 1800)
#   --write-doc            replace the results in docs/benchmarks.md
#   --keep                 keep the scratch folder
# Environment: ORCHARD (default REPO/build/orchestrator/orchard), ORCHARD_TRAIN
# (default REPO/build/trainer/orchard-train), BENCH_TMPDIR (or TMPDIR).
# Python (the report) is /usr/bin/python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
trials=10
epochs=10
size=96
lpc=100
vpc=100
concurrency=1
order=nocache-first
timeout_s=1800
write_doc=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --trials=*) trials=${arg#*=} ;;
    --epochs=*) epochs=${arg#*=} ;;
    --image-size=*) size=${arg#*=} ;;
    --labels-per-class=*) lpc=${arg#*=} ;;
    --val-per-class=*) vpc=${arg#*=} ;;
    --concurrency=*) concurrency=${arg#*=} ;;
    --order=*) order=${arg#*=} ;;
    --timeout=*) timeout_s=${arg#*=} ;;
    --write-doc) write_doc=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "feature_cache_bench: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
for v in trials epochs size lpc vpc concurrency timeout_s; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || (( ${!v} < 1 )); then
    echo "feature_cache_bench: $v needs a positive integer, got '${!v}'" >&2; exit 2
  fi
done
case "$order" in
  nocache-first) arms=(nocache cache) ;;
  cache-first) arms=(cache nocache) ;;
  *) echo "feature_cache_bench: --order is nocache-first or cache-first" >&2; exit 2 ;;
esac

abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
orchard=${ORCHARD:-$repo/build/orchestrator/orchard}
train=${ORCHARD_TRAIN:-$repo/build/trainer/orchard-train}
[[ -x $orchard ]] || { echo "feature_cache_bench: no orchard at $orchard (build it, or set ORCHARD)" >&2; exit 2; }
[[ -x $train ]] || { echo "feature_cache_bench: no orchard-train at $train (build it, or set ORCHARD_TRAIN)" >&2; exit 2; }
orchard=$(abs "$orchard"); train=$(abs "$train")
py=/usr/bin/python3

scratch_base=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$scratch_base/orchard-feature-cache-XXXXXX")
cleanup() { if (( keep )); then echo "feature_cache_bench: kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT
log() { echo "feature_cache_bench: $*" >&2; }
now() { echo "$EPOCHREALTIME"; }

# The pretrained weights are converted once into a cache that both arms start
# from (a copy each), so neither pays the conversion; neither copy holds
# features (the warm-up run does not cache them).
log "scratch $work; $trials trials x $epochs epochs, $((lpc * 10)) + $((vpc * 10)) images at ${size}px, concurrency $concurrency"
(cd "$work" && timeout 600 "$train" finetune --labels_per_class=1 --val_per_class=1 --epochs=1 \
    --image_size="$size" --threads=1 --export=none --cache_features=false \
    --cache_dir="$work/weights-cache" --out="$work/warmup-out") >"$work/warmup.log" 2>&1 \
  || { log "FAILED: the warm-up run of orchard-train:"; tail -5 "$work/warmup.log" >&2; keep=1; exit 1; }
[[ ! -e $work/weights-cache/features ]] || { log "FAILED: the warm-up left features in the cache"; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A wall
for arm in "${arms[@]}"; do
  dir="$work/$arm"
  mkdir -p "$dir"
  cp -r "$work/weights-cache" "$dir/cache"
  cache=false; [[ $arm == cache ]] && cache=true
  sed -e "s|@ORCHARD_TRAIN@|$train|" -e "s|@LABELS_PER_CLASS@|$lpc|" -e "s|@VAL_PER_CLASS@|$vpc|" \
      -e "s|@IMAGE_SIZE@|$size|" -e "s|@EPOCHS@|$epochs|" -e "s|@CACHE_FEATURES@|$cache|" \
      -e "s|@CACHE_DIR@|$dir/cache|" -e "s|@TRIALS@|$trials|" -e "s|@CONCURRENCY@|$concurrency|" \
      "$here/feature_cache_tune.yaml" >"$dir/tune.yaml"
  log "$arm: orchard tune (cache_features=$cache) ..."
  t0=$(now)
  (cd "$dir" && timeout "$timeout_s" "$orchard" --home "$dir/home" tune "$dir/tune.yaml") \
      >"$dir/tune.out" 2>&1 \
    || { log "FAILED: orchard tune ($arm):"; tail -20 "$dir/tune.out" >&2; keep=1; exit 1; }
  t1=$(now)
  wall[$arm]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  "$orchard" --home "$dir/home" --format json runs -n 0 -c id,name,status,started,finished,duration,flags,metrics \
      >"$dir/runs.json" 2>"$dir/runs.err" \
    || { log "FAILED: orchard runs ($arm):"; cat "$dir/runs.err" >&2; keep=1; exit 1; }
  # Each trial's log says how many features it computed and how long that took.
  for f in "$dir"/home/logs/*.stdout; do
    [[ -f $f ]] || continue
    echo "$(basename "$f" .stdout) $(grep -m1 '^features: ' "$f" || true)"
  done >"$dir/features.txt"
  log "$arm: ${wall[$arm]} s"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

export B_WORK=$work B_WALL_CACHE=${wall[cache]} B_WALL_NOCACHE=${wall[nocache]} B_ORDER=$order
export B_LOAD_BEFORE="$load_before" B_LOAD_AFTER="$load_after" B_REPO=$repo B_HERE=$here
export B_WRITE_DOC=$write_doc B_TRIALS=$trials B_EPOCHS=$epochs B_SIZE=$size B_LPC=$lpc B_VPC=$vpc
export B_CONCURRENCY=$concurrency B_BUILD=${ORCHARD_BUILD:-$(dirname "$(dirname "$orchard")")}
"$py" - <<'EOF'
import datetime, json, os, re, statistics, sys
sys.path.insert(0, os.environ["B_HERE"])
import bench_machine

e = os.environ
work = e["B_WORK"]
TIMING = {"images_per_sec", "epoch_seconds"}  # the only metrics allowed to differ

import sqlite3

def load(arm):
    runs = json.load(open(os.path.join(work, arm, "runs.json")))
    feats = {}
    for line in open(os.path.join(work, arm, "features.txt")):
        rid, _, text = line.strip().partition(" ")
        feats[rid] = text
    db = sqlite3.connect(f"file:{os.path.join(work, arm, 'home', 'orchard.db')}?mode=ro", uri=True)
    trial = dict(db.execute("SELECT id, trial FROM runs"))
    flags = {}
    for rid, name, value in db.execute("SELECT run_id, name, value FROM run_flags"):
        if name not in ("cache_features", "cache_dir"):
            flags.setdefault(rid, {})[name] = value
    series = {}
    for rid, name, step, epoch, value in db.execute(
            "SELECT run_id, name, step, epoch, value FROM metrics ORDER BY run_id, name, step, time"):
        series.setdefault(rid, {}).setdefault(name, []).append((step, epoch, value))
    return runs, feats, trial, flags, series

def dur(r):
    d = r.get("duration")
    if not isinstance(d, (int, float)):
        raise SystemExit(f"cannot read a duration from {d!r}")
    return float(d)

arms = {a: load(a) for a in ("nocache", "cache")}
for a, (runs, *_ ) in arms.items():
    bad = [r for r in runs if r.get("status") != "completed"]
    if len(runs) != int(e["B_TRIALS"]) or bad:
        raise SystemExit(f"{a}: {len(runs)} runs, {len(bad)} not completed: {bad[:2]}")

# The same trial number in both sessions: the same flags, and (features being
# deterministic) the same metric series, point for point.
by_trial = {a: {v[2][r["id"]]: r["id"] for r in v[0]} for a, v in arms.items()}
if set(by_trial["nocache"]) != set(by_trial["cache"]):
    raise SystemExit("the two sessions ran different trial numbers")
diffs, compared, identical = [], 0, 0
for t in sorted(by_trial["nocache"]):
    ra, rb = by_trial["nocache"][t], by_trial["cache"][t]
    if arms["nocache"][3].get(ra) != arms["cache"][3].get(rb):
        raise SystemExit(f"trial {t}: different flags {arms['nocache'][3].get(ra)} / {arms['cache'][3].get(rb)}")
    sa, sb = arms["nocache"][4].get(ra, {}), arms["cache"][4].get(rb, {})
    for name in sorted(set(sa) | set(sb)):
        if name in TIMING:
            continue
        pa, pb = sa.get(name, []), sb.get(name, [])
        if len(pa) != len(pb):
            diffs.append((name, float("inf")))
            continue
        for (step_a, ep_a, va), (step_b, ep_b, vb) in zip(pa, pb):
            compared += 1
            if (step_a, ep_a, va) == (step_b, ep_b, vb):
                identical += 1
            else:
                diffs.append((name, abs(va - vb) if va is not None and vb is not None else float("inf")))

def best(runs):
    return max(float(r["metrics.val_acc"]) for r in runs)

summary = {}
for a in arms:
    runs, feats = arms[a][0], arms[a][1]
    ds = sorted(((r.get("started") or 0, dur(r), feats.get(str(r.get("id")), ""), r.get("id")) for r in runs))
    durs = [d for _, d, _, _ in ds]
    fsecs = []
    for _, _, text, _ in ds:
        m = re.search(r"\(([\d.]+) s", text)
        fsecs.append(float(m.group(1)) if m else float("nan"))
    summary[a] = {"wall": float(e[f"B_WALL_{a.upper()}"]), "durs": durs, "mean": statistics.mean(durs),
                  "median": statistics.median(durs), "sum": sum(durs), "first": durs[0],
                  "rest_mean": statistics.mean(durs[1:]) if len(durs) > 1 else durs[0],
                  "feature_secs": fsecs, "feature_lines": [t for _, _, t, _ in ds], "best": best(runs)}

n, c = summary["nocache"], summary["cache"]
speedup = n["wall"] / c["wall"]
fmt_list = lambda xs: ", ".join(f"{x:.1f}" for x in xs)
print(f"\nfeature caching: {e['B_TRIALS']} trials x {e['B_EPOCHS']} epochs, "
      f"{int(e['B_LPC']) * 10} + {int(e['B_VPC']) * 10} images at {e['B_SIZE']}px, concurrency {e['B_CONCURRENCY']}\n")
for a, s in (("cache_features=false", n), ("cache_features=true, empty cache", c)):
    print(f"{a:<34} session {s['wall']:7.1f} s; trials: mean {s['mean']:.1f} s, median {s['median']:.1f} s, "
          f"first {s['first']:.1f} s, later ones mean {s['rest_mean']:.1f} s; best val_acc {s['best']:.4f}")
    print(f"{'':<34} trial durations (start order): {fmt_list(s['durs'])}")
    print(f"{'':<34} feature step (s): {fmt_list(s['feature_secs'])}")
print(f"\nspeed-up of the session: {speedup:.2f}x; of the mean trial: {n['mean'] / c['mean']:.2f}x; "
      f"of a trial after the first: {n['rest_mean'] / c['rest_mean']:.2f}x")
same = not diffs
print(f"metrics of the same trial in both sessions: {identical} of {compared} values identical"
      + ("" if same else f"; largest difference {max(d for _, d in diffs):.3g} ({', '.join(sorted({nm for nm, _ in diffs}))})"))
print(f"load average before/after: {e['B_LOAD_BEFORE']} / {e['B_LOAD_AFTER']}")
machine = bench_machine.machine(e["B_BUILD"])
print(f"machine: {machine}")
if e["B_WRITE_DOC"] != "1":
    sys.exit(0)

when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
# One single-threaded trial at a time holds the 1-minute load near 1; more
# means other work shared the cores.
busy = float(e["B_LOAD_BEFORE"].split()[0]) >= 1.0 or float(e["B_LOAD_AFTER"].split()[0]) >= 2.0
first = "cache_features=false" if e["B_ORDER"] == "nocache-first" else "cache_features=true"
lines = [
    f"Measured {when} on {machine}. {e['B_TRIALS']} trials of {e['B_EPOCHS']} epochs, "
    f"{int(e['B_LPC']) * 10} training + {int(e['B_VPC']) * 10} validation images at "
    f"{e['B_SIZE']}×{e['B_SIZE']}, 1 thread per trial, concurrency {e['B_CONCURRENCY']}; the session "
    f"with {first} ran first. Load average (1, 5, 15 min) before / after: "
    f"{e['B_LOAD_BEFORE']} / {e['B_LOAD_AFTER']}"
    + (" (the machine was otherwise busy: other work shared its 2 cores)." if busy else "."),
    "",
    "| Session | Wall time | Trial mean | First trial | Later trials, mean | Backbone features per trial | Best val_acc |",
    "|---|---:|---:|---:|---:|---|---:|",
    f"| `cache_features=false` | {n['wall']:.1f} s | {n['mean']:.1f} s | {n['first']:.1f} s | {n['rest_mean']:.1f} s | "
    f"computed by every trial ({statistics.median(n['feature_secs']):.1f} s median) | {n['best']:.4f} |",
    f"| `cache_features=true`, empty cache | {c['wall']:.1f} s | {c['mean']:.1f} s | {c['first']:.1f} s | {c['rest_mean']:.1f} s | "
    f"computed by the first ({c['feature_secs'][0]:.1f} s), read by the others "
    f"({statistics.median(c['feature_secs'][1:]) if len(c['feature_secs']) > 1 else float('nan'):.2f} s median) | {c['best']:.4f} |",
    "",
    f"Speed-up of the tuning session: **{speedup:.2f}x** ({n['wall']:.1f} s → {c['wall']:.1f} s); "
    f"of the mean trial {n['mean'] / c['mean']:.2f}x; of a trial after the first {n['rest_mean'] / c['rest_mean']:.2f}x. "
    f"Trial durations (`orchard runs`, in start order), without the cache: {fmt_list(n['durs'])} s; "
    f"with it: {fmt_list(c['durs'])} s.",
    "",
    (f"Metrics: every trial reported the same values in both sessions ({identical} of {compared} "
     f"metric points compared, every epoch of every metric but images_per_sec and epoch_seconds, bit for bit)."
     if same else
     f"Metrics: {identical} of {compared} values identical in both sessions; the others differ by at most "
     f"{max(d for _, d in diffs):.3g} ({', '.join(sorted({nm for nm, _ in diffs}))})."),
]
results = "\n".join(lines)
bench_machine.write_results(e["B_REPO"], "feature-cache", "Feature caching: a tuning run of the head", results)
EOF
