#!/usr/bin/env bash
# Ingest benchmark: metric points per second recorded through `orchard run`
# from a trainer printing 200,000 metric lines, measured side by side with
#   - Optuna 3.1: trial.report(value, step) into an RDB storage on SQLite, and
#   - the ceiling: a prepared INSERT loop into the same store schema in one
#     transaction (tests/bench/ingest_ceiling.cc).
# Goal (issue 2): Orchard >= 100x Optuna and >= 30% of the ceiling.
#
# Usage: tests/bench/ingest_bench.sh [BUILD_DIR] [options]
#   BUILD_DIR                 the CMake build tree (default: $ORCHARD_BUILD, else
#                             REPO/build); it must already hold orchard,
#                             ingest_emit and ingest_ceiling:
#       cmake --build BUILD_DIR --target orchard ingest_emit ingest_ceiling
#   --lines=N                 metric lines from the trainer (default 200000)
#   --metrics-per-line=K      metrics per line (default 1: lines == points)
#   --reps=R                  repetitions of emitter, Orchard and ceiling; the
#                             median is reported (default 3)
#   --optuna-points=N         points Optuna reports (default 5000: its cost is
#                             per point, see ingest_optuna.py)
#   --optuna-check-points=N   a second, smaller Optuna count that checks the
#                             rate does not depend on the count (default 1000)
#   --no-tmpfs                skip the extra Optuna reading on /dev/shm
#   --write-doc               replace the ingest section of docs/benchmarks.md
#   --keep                    keep the scratch folder
# Environment: BENCH_TMPDIR (or TMPDIR) is where every database goes; all
# three systems write to the same file system.
#
# Builds nothing. Exits non-zero, loudly, when a run does not record exactly
# lines*K points.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=""
lines=200000
per_line=1
reps=3
optuna_points=5000
optuna_check=1000
tmpfs=1
write_doc=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --lines=*) lines=${arg#*=} ;;
    --metrics-per-line=*) per_line=${arg#*=} ;;
    --reps=*) reps=${arg#*=} ;;
    --optuna-points=*) optuna_points=${arg#*=} ;;
    --optuna-check-points=*) optuna_check=${arg#*=} ;;
    --no-tmpfs) tmpfs=0 ;;
    --write-doc) write_doc=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "ingest_bench: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) if [[ -n "$build" ]]; then echo "ingest_bench: two build dirs: $build, $arg" >&2; exit 2; fi
       build=$arg ;;
  esac
done
for v in lines per_line reps optuna_points optuna_check; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || { [[ $v != optuna_check ]] && (( ${!v} < 1 )); }; then
    echo "ingest_bench: --${v//_/-} needs a positive integer, got '${!v}'" >&2; exit 2
  fi
done
build=${build:-${ORCHARD_BUILD:-$repo/build}}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "ingest_bench: no build dir $build" >&2; exit 2; }
points=$(( lines * per_line ))

py=/usr/bin/python3
[[ -x $py ]] || { echo "ingest_bench: $py not found (Debian's python3 with python3-optuna)" >&2; exit 2; }

find_bin() {  # find_bin NAME: the executable in the build tree
  local p
  for p in "$build/$2/$1" "$build/$1" "$build/bin/$1"; do
    [[ -x $p && -f $p ]] && { echo "$p"; return; }
  done
  p=$(find "$build" -maxdepth 4 -type f -name "$1" -perm -u+x 2>/dev/null | head -1)
  [[ -n $p ]] || { echo "ingest_bench: $1 is not built in $build; run: cmake --build $build --target orchard ingest_emit ingest_ceiling" >&2; exit 2; }
  echo "$p"
}
orchard=$(find_bin orchard orchestrator)
emit=$(find_bin ingest_emit tests/bench)
ceiling=$(find_bin ingest_ceiling tests/bench)

scratch_base=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$scratch_base/orchard-ingest-XXXXXX")
cleanup() { if (( keep )); then echo "ingest_bench: kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

now() { echo "$EPOCHREALTIME"; }               # bash 5: no fork
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%s", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
log() { echo "ingest_bench: $*" >&2; }

# Prints the store's orchard.db under an --home folder.
store_db() {
  local f
  for f in "$1/orchard.db" "$1/.orchard/orchard.db"; do [[ -f $f ]] && { echo "$f"; return; }; done
  find "$1" -maxdepth 3 -name orchard.db | head -1
}

# verify_store DB: exactly $points points of one completed run, all steps,
# and a summary row per metric that counts them.
verify_store() {
  "$py" - "$1" "$points" "$lines" "$per_line" <<'EOF'
import sqlite3, sys
db, points, lines, per_line = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
errors = []
runs = c.execute("SELECT id, status, exit_code FROM runs").fetchall()
if len(runs) != 1:
    errors.append(f"expected 1 run, found {len(runs)}")
elif runs[0][1] != "completed":
    errors.append(f"run {runs[0][0]} is {runs[0][1]} (exit code {runs[0][2]}), not completed")
n, steps, lo, hi = c.execute(
    "SELECT count(*), count(DISTINCT step), min(step), max(step) FROM metrics").fetchone()
if n != points:
    errors.append(f"metrics holds {n} points, expected {points}")
if steps != lines or lo != 0 or hi != lines - 1:
    errors.append(f"metrics has {steps} distinct steps in [{lo}, {hi}], expected {lines} in [0, {lines - 1}]")
summ = c.execute("SELECT name, count, last_step FROM metric_summary").fetchall()
if len(summ) != per_line or any(cnt != lines or last != lines - 1 for _, cnt, last in summ):
    errors.append(f"metric_summary is {summ[:5]}, expected {per_line} rows with count {lines}")
bad = c.execute("SELECT count(*) FROM metrics WHERE name = 'loss' AND step = 1000 "
                "AND abs(value - (2.0 / 2.0 + 0.01 * ((1000 * 7919) % 100) / 100.0)) > 1e-12"
                ).fetchone()[0] if lines > 1000 else 0
if bad:
    errors.append("the value stored for loss at step 1000 is not what the trainer printed")
if errors:
    print("; ".join(errors))
    sys.exit(1)
EOF
}

json_field() { "$py" -c 'import json, sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

log "build $build; scratch $work; $lines lines x $per_line metric(s) = $points points; $reps reps"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# 1. The emitter alone, to /dev/null and through a pipe (what orchard reads).
emit_null=(); emit_pipe=()
for ((r = 1; r <= reps; r++)); do
  t0=$(now); "$emit" --lines="$lines" --metrics-per-line="$per_line" >/dev/null; t1=$(now)
  emit_null+=("$(rate "$points" "$(secs "$t0" "$t1")")")
  t0=$(now); "$emit" --lines="$lines" --metrics-per-line="$per_line" | cat >/dev/null; t1=$(now)
  emit_pipe+=("$(rate "$points" "$(secs "$t0" "$t1")")")
done
emit_bytes=$("$emit" --lines="$lines" --metrics-per-line="$per_line" | wc -c)
log "emitter alone: ${emit_null[*]} points/s to /dev/null; ${emit_pipe[*]} through a pipe"

# 2. Orchard end to end: launch to exit, which includes the store set-up,
#    the trainer, and the final flush and run bookkeeping.
orch_rates=(); orch_secs=()
for ((r = 1; r <= reps; r++)); do
  home="$work/orchard-home-$r"
  t0=$(now)
  if ! (cd "$work" && "$orchard" --home "$home" run --quiet --no-snapshot -- \
          "$emit" --lines="$lines" --metrics-per-line="$per_line") \
       >"$work/orchard-$r.out" 2>"$work/orchard-$r.err"; then
    log "FAILED: orchard run exited non-zero (rep $r):"; cat "$work/orchard-$r.err" >&2; keep=1; exit 1
  fi
  t1=$(now)
  db=$(store_db "$home")
  [[ -n $db ]] || { log "FAILED: no orchard.db under $home"; keep=1; exit 1; }
  if ! why=$(verify_store "$db"); then
    log "FAILED: rep $r: $why ($db)"; cat "$work/orchard-$r.err" >&2; keep=1; exit 1
  fi
  s=$(secs "$t0" "$t1")
  orch_secs+=("$s"); orch_rates+=("$(rate "$points" "$s")")
  rm -rf "$home"
done
log "orchard run: ${orch_rates[*]} points/s (${orch_secs[*]} s), every run verified: $points points"

# Fixed cost of a run that records nothing (store open, run rows, git probe,
# fork/exec, bookkeeping): shows how much of the wall time is not ingest.
overhead=()
for ((r = 1; r <= reps; r++)); do
  t0=$(now)
  (cd "$work" && "$orchard" --home "$work/empty-$r" run --quiet --no-snapshot -- \
      "$emit" --lines=0) >/dev/null 2>&1 || { log "FAILED: empty orchard run"; exit 1; }
  t1=$(now); overhead+=("$(secs "$t0" "$t1")"); rm -rf "$work/empty-$r"
done

# 3. The ceiling on the same file system.
ceil_rates=()
for ((r = 1; r <= reps; r++)); do
  out=$("$ceiling" --lines="$lines" --metrics-per-line="$per_line" --db="$work/ceiling-$r.db")
  [[ $(json_field points <<<"$out") == "$points" ]] || { log "FAILED: ceiling: $out"; exit 1; }
  ceil_rates+=("$(json_field points_per_s <<<"$out")")
  rm -f "$work/ceiling-$r.db"*
done
log "ceiling: ${ceil_rates[*]} points/s"

# 4. Optuna on the same file system (and, for reference, on tmpfs where its
#    per-commit fsyncs cost nothing).
optuna_json=$("$py" "$here/ingest_optuna.py" --points="$optuna_points" \
                --check-points="$optuna_check" --dir="$work")
log "optuna: $optuna_json"
optuna_tmpfs_json=""
if (( tmpfs )) && [[ -d /dev/shm && -w /dev/shm ]]; then
  optuna_tmpfs_json=$("$py" "$here/ingest_optuna.py" --points="$optuna_points" \
                        --check-points="$optuna_check" --dir=/dev/shm)
  log "optuna on tmpfs: $optuna_tmpfs_json"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Summary, table and (optionally) the doc section.
export B_LINES=$lines B_PER_LINE=$per_line B_POINTS=$points B_REPS=$reps B_EMIT_BYTES=$emit_bytes
export B_EMIT_NULL="${emit_null[*]}" B_EMIT_PIPE="${emit_pipe[*]}"
export B_ORCH="${orch_rates[*]}" B_ORCH_SECS="${orch_secs[*]}" B_OVERHEAD="${overhead[*]}"
export B_CEIL="${ceil_rates[*]}" B_OPTUNA="$optuna_json" B_OPTUNA_TMPFS="$optuna_tmpfs_json"
export B_LOAD_BEFORE="$load_before" B_LOAD_AFTER="$load_after" B_WORK_FS
B_WORK_FS=$(df -PT "$work" | awk 'NR == 2 { print $2 " (" $7 ")" }')
export B_BUILD=$build B_REPO=$repo B_WRITE_DOC=$write_doc B_ORCHARD=$orchard
"$py" - <<'EOF'
import datetime, json, os, statistics, sys
sys.path.insert(0, os.path.join(os.environ["B_REPO"], "tests", "bench"))
import bench_machine

e = os.environ
floats = lambda k: [float(x) for x in e[k].split()]
med = statistics.median
points, lines, per_line, reps = (int(e[k]) for k in ("B_POINTS", "B_LINES", "B_PER_LINE", "B_REPS"))
emit_null, emit_pipe = med(floats("B_EMIT_NULL")), med(floats("B_EMIT_PIPE"))
orch, ceil = med(floats("B_ORCH")), med(floats("B_CEIL"))
orch_secs, overhead = med(floats("B_ORCH_SECS")), med(floats("B_OVERHEAD"))
opt = json.loads(e["B_OPTUNA"])
opt_tmpfs = json.loads(e["B_OPTUNA_TMPFS"]) if e["B_OPTUNA_TMPFS"] else None
vs_optuna, vs_ceiling = orch / opt["points_per_s"], orch / ceil
ingest_only = points / max(orch_secs - overhead, 1e-9)

import sqlite3
machine = (bench_machine.machine(e["B_BUILD"], f"Optuna {opt['optuna']}, SQLAlchemy {opt['sqlalchemy']}") +
           f"; SQLite {sqlite3.sqlite_version}; databases on {e['B_WORK_FS']}")
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
fmt = lambda x: f"{x:,.0f}"
goal = lambda ok: "met" if ok else "NOT met"

def optuna_note(o):
    note = (f"{fmt(o['points'])} points, {fmt(o['points'] / o['cpu_seconds'])} per CPU-second; "
            f"first / last fifth {fmt(o['first_fifth_per_s'])} / {fmt(o['last_fifth_per_s'])}/s")
    if "check" in o:
        note += f"; on {fmt(o['check']['points'])} points: {fmt(o['check']['points_per_s'])}/s"
    return note

rows = [
    ("ingest_emit alone, to /dev/null", emit_null, f"median of {reps}; {int(e['B_EMIT_BYTES']):,} bytes"),
    ("ingest_emit alone, through a pipe", emit_pipe, f"median of {reps}; `ingest_emit | cat >/dev/null`"),
    ("**Orchard** `orchard run`, end to end", orch,
     f"median of {reps}: {fmt(points)} points in {orch_secs:.3f} s, launch to exit; each run verified"),
    ("Ceiling: prepared INSERT loop, one transaction", ceil, f"median of {reps}"),
    ("**Optuna** `trial.report()`, SQLite", opt["points_per_s"], optuna_note(opt)),
]
if opt_tmpfs:
    rows.append(("Optuna, database on tmpfs (no fsync cost)", opt_tmpfs["points_per_s"],
                 optuna_note(opt_tmpfs)))
ratios = [
    ("Orchard / Optuna", f"{vs_optuna:,.0f}x", "goal: at least 100x", goal(vs_optuna >= 100)),
    ("Orchard / ceiling", f"{100 * vs_ceiling:.0f}%", "goal: at least 30%", goal(vs_ceiling >= 0.30)),
]
if opt_tmpfs:
    r = orch / opt_tmpfs["points_per_s"]
    ratios.append(("Orchard / Optuna on tmpfs", f"{r:,.0f}x", "(reference)", goal(r >= 100)))

# The console table.
w = max(len(r[0]) for r in rows) + 2
print(f"\ningest benchmark: {fmt(points)} points ({fmt(lines)} lines x {per_line})\n")
print(f"{'system':<{w}}{'points/s':>14}  notes")
for name, val, note in rows:
    print(f"{name.replace('**', '').replace('`', ''):<{w}}{fmt(val):>14}  {note.replace('`', '')}")
print()
for name, val, g, ok in ratios:
    print(f"{name:<{w}}{val:>14}  {g}: {ok}")
print(f"\nOrchard fixed cost per run (--lines=0): {overhead:.3f} s; "
      f"ingest-only rate {fmt(ingest_only)} points/s")
if "rates_agree" in opt:
    print(f"Optuna rate at {opt['check']['points']} vs {opt['points']} points: x{opt['check_ratio']} "
          f"({'agree' if opt['rates_agree'] else 'DIFFER'} within 25%)")
print(f"load average before/after: {e['B_LOAD_BEFORE']} / {e['B_LOAD_AFTER']}")
print(f"machine: {machine}")

if e["B_WRITE_DOC"] != "1":
    sys.exit(0)

table = ["| System | Points/s | Notes |", "|---|---:|---|"]
cell = lambda t: str(t).replace("|", "\\|")
table += [f"| {cell(n)} | {fmt(v)} | {cell(note)} |" for n, v, note in rows]
ratio_table = ["| Ratio | Value | Goal | |", "|---|---:|---|---|"]
ratio_table += [f"| {n} | {v} | {g} | {ok} |" for n, v, g, ok in ratios]
check = ""
if "check" in opt:
    check = (f" Optuna was also timed at {fmt(opt['check']['points'])} points on a fresh file: "
             f"{fmt(opt['check']['points_per_s'])}/s, {opt['check_ratio']}x the rate at "
             f"{fmt(opt['points'])} points ({'within' if opt['rates_agree'] else 'NOT within'} 25%)"
             + (", so its rate is per point and does not depend on how many are recorded."
                if opt["rates_agree"] else "; the rates disagree in this run (other load on the "
                "machine?), compare the first and last fifth of the 5,000."))
results = "\n".join([
    f"Measured {when} on {machine}. "
    f"Load average (1, 5, 15 min) before / after the run: {e['B_LOAD_BEFORE']} / {e['B_LOAD_AFTER']}.",
    "",
    *table,
    "",
    *ratio_table,
    "",
    f"A run that records nothing (`ingest_emit --lines=0`) takes {overhead:.3f} s launch to exit "
    f"(store open, run rows, environment and git probe, fork/exec, bookkeeping); "
    f"without it the ingest rate is {fmt(ingest_only)} points/s." + check,
])
bench_machine.write_results(e["B_REPO"], "ingest-bench", "Ingest: metric points per second", results)
EOF
