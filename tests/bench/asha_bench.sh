#!/usr/bin/env bash
# Early-stopping benchmark (issue 3): on real learning curves of a real
# trainer, does ASHA find a configuration as good as the full search with at
# most a third of the epochs? Orchard and Optuna 3.1 side by side in one run.
#
#   1. Curves: tests/bench/asha_curves_val10k.json holds the per-epoch val_acc
#      of 40 configurations of examples/fashion_mlp/train.py trained 9 epochs
#      each on 6,000 images and validated on 10,000 (recorded once by
#      `asha_record.sh --val-size=10000`; again with --record).
#      tests/bench/asha_curves.json is the first recording, validated on only
#      2,000 images: its noise (SE ~0.008) reorders the curves from epoch to
#      epoch, and there ASHA at grace 1 / reduction 3 misses the best (see
#      docs/benchmarks.md).
#   2. Orchard: the real `orchard tune`, running tests/bench/asha_replay.sh as
#      the trainer (it prints configuration K's recorded curve, one epoch per
#      --epoch-seconds), over the grid config: [0 .. n-1]:
#        - the full search: no early stopping, every configuration 9 epochs;
#        - ASHA {grace, reduction, max_t: 9, unit: epoch} at concurrency 1;
#        - the same at concurrency 4 (asynchronous: decisions depend on
#          timing, so it runs --reps times).
#      Epochs used = the val_acc points stored for the session's runs; best =
#      the best final val_acc of a trial that ran to max_t (completed).
#   3. Optuna 3.1 (asha_optuna.py): the same configurations in the same order,
#      SuccessiveHalvingPruner(min_resource=grace, reduction_factor=reduction)
#      and NopPruner, in memory; plus --orders shuffled orders.
# Goal: ASHA's best >= the full search's best - 0.005 and epochs <= 1/3 of the
# full search's.
#
# Usage: tests/bench/asha_bench.sh [BUILD_DIR] [options]
#   BUILD_DIR          the CMake build tree holding orchestrator/orchard
#                      (default: $ORCHARD_BUILD, else REPO/build)
#   --record           record the curves again (about 10 to 25 minutes)
#   --curves=FILE      the curves (default tests/bench/asha_curves_val10k.json)
#   --grace=N          ASHA's first rung (default 1)
#   --reduction=N      ASHA's reduction factor (default 3)
#   --epoch-seconds=S  the replay's time per epoch (default 0.05)
#   --reps=N           runs of the concurrency-4 ASHA session (default 3)
#   --orders=N         shuffled trial orders replayed through Optuna (default 20)
#   --explore=LIST     also run Orchard ASHA at concurrency 1 (and Optuna) for
#                      each GRACE:REDUCTION in LIST, e.g. 1:2,1:4,2:3
#                      (default 1:2,1:4,2:3,2:4; --explore= for none)
#   --write-doc        rewrite the "Early stopping (ASHA)" section of
#                      docs/benchmarks.md
#   --keep             keep the scratch folder (the Orchard store, the specs)
#
# Builds nothing (cmake --build BUILD_DIR --target orchard). Without --record
# it takes about a minute, nearly all of it replayed epochs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
curves=$here/asha_curves_val10k.json
build="" record=0 grace=1 reduction=3 epoch_seconds=0.05 reps=3 orders=20 write_doc=0 keep=0
explore="1:2,1:4,2:3,2:4"
for arg in "$@"; do
  case "$arg" in
    --record) record=1 ;;
    --curves=*) curves=${arg#*=} ;;
    --grace=*) grace=${arg#*=} ;;
    --reduction=*) reduction=${arg#*=} ;;
    --epoch-seconds=*) epoch_seconds=${arg#*=} ;;
    --reps=*) reps=${arg#*=} ;;
    --orders=*) orders=${arg#*=} ;;
    --explore=*) explore=${arg#*=} ;;
    --write-doc) write_doc=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "asha_bench: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) if [[ -n "$build" ]]; then echo "asha_bench: two build dirs: $build, $arg" >&2; exit 2; fi
       build=$arg ;;
  esac
done
for v in grace reduction reps; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || (( ${!v} < 1 )); then
    echo "asha_bench: --${v} needs a positive integer, got '${!v}'" >&2; exit 2
  fi
done
[[ $orders =~ ^[0-9]+$ ]] || { echo "asha_bench: --orders needs an integer >= 0, got '$orders'" >&2; exit 2; }
(( reduction >= 2 )) || { echo "asha_bench: --reduction must be at least 2" >&2; exit 2; }
[[ $epoch_seconds =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "asha_bench: --epoch-seconds needs a number, got '$epoch_seconds'" >&2; exit 2; }
explore_list=()
if [[ -n $explore ]]; then
  IFS=, read -r -a explore_list <<<"$explore"
  for e in "${explore_list[@]}"; do
    [[ $e =~ ^[1-9][0-9]*:([2-9]|[1-9][0-9]+)$ ]] || { echo "asha_bench: --explore: expected GRACE:REDUCTION (e.g. 1:4), got '$e'" >&2; exit 2; }
  done
fi
build=${build:-${ORCHARD_BUILD:-$repo/build}}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "asha_bench: no build dir $build" >&2; exit 2; }
orchard=$build/orchestrator/orchard
[[ -x $orchard ]] || orchard=$(find "$build" -maxdepth 3 -type f -name orchard -perm -u+x 2>/dev/null | head -1)
[[ -n $orchard && -x $orchard ]] || { echo "asha_bench: orchard is not built in $build; run: cmake --build $build --target orchard" >&2; exit 2; }

py=/usr/bin/python3
[[ -x $py ]] || { echo "asha_bench: $py not found (Debian's python3 with python3-optuna)" >&2; exit 2; }
"$py" -c 'import optuna' 2>/dev/null || { echo "asha_bench: $py cannot import optuna (apt-get install python3-optuna)" >&2; exit 2; }

if (( record )) || [[ ! -f $curves ]]; then
  echo "asha_bench: recording learning curves (asha_record.sh)..." >&2
  "$here/asha_record.sh" --val-size=10000 --out="$curves"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/asha_bench.XXXXXX")
if (( keep )); then echo "asha_bench: keeping $scratch" >&2; else trap 'rm -rf "$scratch"' EXIT; fi
home=$scratch/home

# The curves as the replay reads them: line K+1 = configuration K's val_acc values.
"$py" - "$curves" "$scratch/curves.txt" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
cs = data["configs"]
assert [c["config"] for c in cs] == list(range(len(cs))), "configurations must be numbered 0..n-1"
n_epochs = {len(c["val_acc"]) for c in cs}
assert len(n_epochs) == 1, f"curves of different lengths: {sorted(n_epochs)}"
with open(sys.argv[2], "w") as f:
    for c in cs:
        f.write(" ".join(repr(float(v)) for v in c["val_acc"]) + "\n")
EOF
n_configs=$(wc -l < "$scratch/curves.txt")
max_t=$(head -1 "$scratch/curves.txt" | wc -w)
grid=$(seq -s ', ' 0 $((n_configs - 1)))

write_spec() {  # write_spec NAME CONCURRENCY [GRACE REDUCTION]: the spec's path
  local f=$scratch/$1.yaml
  {
    echo "name: $1"
    echo "command: [/bin/bash, $here/asha_replay.sh]"
    echo "flags: {curves: $scratch/curves.txt, epoch_seconds: $epoch_seconds}"
    echo "search:"
    echo "  config: [$grid]"
    echo "method: grid"
    echo "objective: {metric: val_acc, goal: max}"
    [[ -n ${3:-} ]] && echo "early_stopping: {method: asha, metric: val_acc, grace: $3, reduction: $4, max_t: $max_t, unit: epoch}"
    echo "resources: {concurrency: $2}"
  } > "$f"
  echo "$f"
}

sessions=()
run_tune() {  # run_tune NAME CONCURRENCY [GRACE REDUCTION]
  local spec t0 t1 rc=0 id
  spec=$(write_spec "$@")
  echo "asha_bench: orchard tune $1 ($n_configs trials, concurrency $2${3:+, ASHA grace $3 reduction $4})..." >&2
  t0=$(date +%s.%N)
  (cd "$scratch" && "$orchard" --home "$home" tune "$spec" --new > "$scratch/$1.log" 2>&1) || rc=$?
  t1=$(date +%s.%N)
  if (( rc != 0 )); then
    echo "asha_bench: orchard tune $1 exited $rc:" >&2; tail -20 "$scratch/$1.log" >&2; exit 1
  fi
  id=$("$orchard" --home "$home" tunes --format json | "$py" -c '
import json, sys
ids = [t["id"] for t in json.load(sys.stdin) if t.get("name") == sys.argv[1]]
assert len(ids) == 1, ids
print(ids[0])' "$1")
  "$orchard" --home "$home" runs --filter "tune = $id" --format json --limit 0 \
    --columns id,status,flags.config,metrics.val_acc.count,metrics.val_acc.last > "$scratch/$1.runs.json"
  "$py" -c 'import json, sys; json.dump({"name": sys.argv[1], "tune": sys.argv[2], "concurrency": int(sys.argv[3]),
             "grace": int(sys.argv[4]) if sys.argv[4] else None, "reduction": int(sys.argv[5]) if sys.argv[5] else None,
             "wall_s": float(sys.argv[6]), "runs": json.load(open(sys.argv[7]))}, open(sys.argv[8], "w"))' \
    "$1" "$id" "$2" "${3:-}" "${4:-}" "$(echo "$t1 - $t0" | bc)" "$scratch/$1.runs.json" "$scratch/$1.json"
  sessions+=("$scratch/$1.json")
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
run_tune full 4
run_tune asha-c1 1 "$grace" "$reduction"
for r in $(seq 1 "$reps"); do run_tune "asha-c4-r$r" 4 "$grace" "$reduction"; done
for e in "${explore_list[@]}"; do
  [[ $e == "$grace:$reduction" ]] && continue
  run_tune "explore-g${e%:*}-r${e#*:}-c1" 1 "${e%:*}" "${e#*:}"
done

echo "asha_bench: Optuna 3.1 (NopPruner, SuccessiveHalvingPruner, $orders shuffled orders)..." >&2
optuna_runs=("$scratch/optuna.json")
"$py" "$here/asha_optuna.py" "$curves" --grace="$grace" --reduction="$reduction" --orders="$orders" > "$scratch/optuna.json"
for e in "${explore_list[@]}"; do
  [[ $e == "$grace:$reduction" ]] && continue
  "$py" "$here/asha_optuna.py" "$curves" --grace="${e%:*}" --reduction="${e#*:}" --orders="$orders" \
    > "$scratch/optuna-g${e%:*}-r${e#*:}.json"
  optuna_runs+=("$scratch/optuna-g${e%:*}-r${e#*:}.json")
done
load_after=$(load)

args=(--curves "$curves" --build "$build" --doc "$repo/docs/benchmarks.md" --grace "$grace"
      --reduction "$reduction" --epoch-seconds "$epoch_seconds" --orders "$orders"
      --load-before "$load_before" --load-after "$load_after")
(( write_doc )) && args+=(--write-doc)
"$py" "$here/asha_report.py" "${args[@]}" --sessions "${sessions[@]}" --optuna "${optuna_runs[@]}"
