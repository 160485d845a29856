#!/usr/bin/env bash
# Search benchmarks, each side by side with Optuna 3.1 in one run:
#   - sampler overhead: ms per trial spent proposing trials (random, grid,
#     TPE) in studies of 10, 100 and 1,000 trials (search_overhead vs
#     search_optuna.py overhead). Goal: TPE >= 20x faster at 1,000 trials.
#   - search quality: median best value over 30 seeds x 60 trials on three
#     mixed-dimension test functions, Orchard TPE vs Optuna TPE vs random
#     (search_quality vs search_optuna.py quality). Goal: Orchard's median
#     no worse than Optuna's.
#
# Usage: tests/bench/search_bench.sh [BUILD_DIR] [options]
#   BUILD_DIR        the CMake build tree (default: $ORCHARD_BUILD, else
#                    REPO/build); it must hold the two executables:
#       cmake --build BUILD_DIR --target search_overhead search_quality
#   --reps=N         Orchard studies per size; the median is reported (default 5)
#   --optuna-reps=N  Optuna studies per size below 1,000 trials (default 3;
#                    one at 1,000, which takes tens of seconds)
#   --seeds=N        search quality: seeds per sampler and function (default 30)
#   --orchard-seeds=N  search quality: Orchard TPE also over this many seeds,
#                    to pin its median down (default 1000; seconds)
#   --trials=N       search quality: trials per study (default 60)
#   --more-seeds=N   search quality: also compare over N seeds (Optuna runs
#                    them too: about 3 s of Optuna per seed; default off)
#   --variants       search quality: also tabulate Orchard's TPE models
#                    (default, earlier default, independent, Optuna's
#                    multivariate settings) at 30, 60, 100 and 200 trials
#   --variant-seeds=N  seeds per model and budget for --variants (default
#                    1000; several minutes)
#   --skip-overhead  run only the search-quality benchmark
#   --skip-quality   run only the overhead benchmark
#   --write-doc      rewrite the "Sampler overhead" and "Search quality"
#                    sections of docs/benchmarks.md (only the section of each
#                    benchmark that ran)
#
# Builds nothing. Takes about three minutes, nearly all of it Optuna.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=""
reps=5
optuna_reps=3
seeds=30
orchard_seeds=1000
trials=60
more_seeds=0
variants=0
variant_seeds=1000
overhead=1
quality=1
write_doc=0
for arg in "$@"; do
  case "$arg" in
    --reps=*) reps=${arg#*=} ;;
    --optuna-reps=*) optuna_reps=${arg#*=} ;;
    --seeds=*) seeds=${arg#*=} ;;
    --orchard-seeds=*) orchard_seeds=${arg#*=} ;;
    --trials=*) trials=${arg#*=} ;;
    --more-seeds=*) more_seeds=${arg#*=} ;;
    --variants) variants=1 ;;
    --variant-seeds=*) variant_seeds=${arg#*=} ;;
    --skip-overhead) overhead=0 ;;
    --skip-quality) quality=0 ;;
    --write-doc) write_doc=1 ;;
    -h|--help) sed -n '2,/^set /{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "search_bench: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) if [[ -n "$build" ]]; then echo "search_bench: two build dirs: $build, $arg" >&2; exit 2; fi
       build=$arg ;;
  esac
done
for v in reps optuna_reps seeds orchard_seeds trials variant_seeds; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || (( ${!v} < 1 )); then
    echo "search_bench: --${v//_/-} needs a positive integer, got '${!v}'" >&2; exit 2
  fi
done
[[ "$more_seeds" =~ ^[0-9]+$ ]] || { echo "search_bench: --more-seeds needs an integer, got '$more_seeds'" >&2; exit 2; }
(( overhead || quality )) || { echo "search_bench: nothing to run" >&2; exit 2; }
build=${build:-${ORCHARD_BUILD:-$repo/build}}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "search_bench: no build dir $build" >&2; exit 2; }

py=/usr/bin/python3
[[ -x $py ]] || { echo "search_bench: $py not found (Debian's python3 with python3-optuna)" >&2; exit 2; }
"$py" -c 'import optuna' 2>/dev/null || { echo "search_bench: $py cannot import optuna (apt-get install python3-optuna)" >&2; exit 2; }

find_bin() {  # find_bin NAME: the executable in the build tree
  local p
  for p in "$build/tests/bench/$1" "$build/$1" "$build/bin/$1"; do
    [[ -x $p && -f $p ]] && { echo "$p"; return; }
  done
  p=$(find "$build" -maxdepth 4 -type f -name "$1" -perm -u+x 2>/dev/null | head -1)
  [[ -n $p ]] || { echo "search_bench: $1 is not built in $build; run: cmake --build $build --target search_overhead search_quality" >&2; exit 2; }
  echo "$p"
}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/search_bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
args=()
if (( overhead )); then
  bin=$(find_bin search_overhead)
  echo "search_bench: Orchard sampler overhead ($reps studies per size)..." >&2
  "$bin" --reps="$reps" > "$scratch/orchard_overhead.json"
  echo "search_bench: Optuna sampler overhead (a TPE study of 1,000 trials takes a while)..." >&2
  "$py" "$here/search_optuna.py" overhead --reps="$optuna_reps" --reps-large=1 > "$scratch/optuna_overhead.json"
  args+=(--orchard-overhead "$scratch/orchard_overhead.json" --optuna-overhead "$scratch/optuna_overhead.json")
fi
if (( quality )); then
  bin=$(find_bin search_quality)
  echo "search_bench: Orchard search quality ($seeds seeds x $trials trials)..." >&2
  # Orchard also runs many more seeds (seconds): its median is then known
  # precisely; the report uses the first $seeds for the head-to-head.
  most=$(( seeds > more_seeds ? seeds : more_seeds ))
  "$bin" --seeds=$(( most > orchard_seeds ? most : orchard_seeds )) --trials="$trials" > "$scratch/orchard_quality.json"
  if (( more_seeds > seeds )); then
    # Optuna's seeds 0..N-1 once; the head-to-head takes the first $seeds
    # (Optuna is deterministic per seed, so that is what a $seeds run gives).
    echo "search_bench: Optuna search quality ($more_seeds seeds; about $(( more_seeds * 3 / 60 + 1 )) minutes)..." >&2
    "$py" "$here/search_optuna.py" quality --seeds="$more_seeds" --trials="$trials" > "$scratch/optuna_more.json"
    "$py" -c 'import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
d["seeds"] = n; d["problems"] = {k: {"tpe": v["tpe"][:n]} for k, v in d["problems"].items()}
json.dump(d, sys.stdout)' "$scratch/optuna_more.json" "$seeds" > "$scratch/optuna_quality.json"
    args+=(--optuna-quality-more "$scratch/optuna_more.json")
  else
    echo "search_bench: Optuna search quality..." >&2
    "$py" "$here/search_optuna.py" quality --seeds="$seeds" --trials="$trials" > "$scratch/optuna_quality.json"
  fi
  args+=(--orchard-quality "$scratch/orchard_quality.json" --optuna-quality "$scratch/optuna_quality.json")
  if (( variants )); then
    echo "search_bench: Orchard's TPE models at 30, 60, 100 and 200 trials ($variant_seeds seeds)..." >&2
    vfiles=()
    for t in 30 60 100 200; do
      "$bin" --seeds="$variant_seeds" --trials="$t" \
        --methods=tpe,tpe_multivariate:sigma0=0.1:ei=24,tpe_independent,tpe_multivariate:sigma0=0.2:clip=1:ei=24 \
        > "$scratch/variants_$t.json"
      vfiles+=("$scratch/variants_$t.json")
    done
    args+=(--orchard-variants "${vfiles[@]}")
  fi
fi
load_after=$(load)
(( write_doc )) && args+=(--write-doc)
"$py" "$here/search_report.py" "${args[@]}" --build "$build" --doc "$repo/docs/benchmarks.md" \
  --load-before "$load_before" --load-after "$load_after"
