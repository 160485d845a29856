#!/usr/bin/env bash
# Launch-overhead benchmark (issue 7): makespan over ideal for many short
# trials on each executor — local, ssh (two sshd hosts in network namespaces)
# and slurm (a single-node Slurm with fake GPUs) — side by side with the bare
# transport as the peer: the same trainer started the same number of times,
# the same number at once, by `xargs -P` over a plain fork, `ssh` (a shared
# ControlMaster connection, the fastest ssh can do) and `srun`.
#
# Each trial is a shell trainer that prints one metric and sleeps --sleep
# seconds. ideal = trials x sleep / concurrency; the overhead per trial is
# (makespan - ideal) x concurrency / trials: what one trial costs beyond its
# own work (recording, code snapshot and shipping, placement, artifacts).
#
# Usage: tests/bench/launch_bench.sh [BUILD_DIR] [options]
#   BUILD_DIR          holds orchard (default: $ORCHARD_BUILD, else REPO/build)
#   --trials=N         trials per executor (default 40)
#   --concurrency=C    trials at once (default 2)
#   --sleep=S          seconds each trial works (default 0.5)
#   --executors=LIST   comma-separated, of local,ssh,slurm (default all three)
#   --write-doc        replace the launch section of docs/benchmarks.md
# Needs root (the fixtures start sshd in namespaces and Slurm); it starts and
# stops tests/fixtures/{sshd,slurm}.sh itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=""
trials=40
conc=2
sleep_s=0.5
executors=local,ssh,slurm
write_doc=0
for arg in "$@"; do
  case "$arg" in
    --trials=*) trials=${arg#*=} ;;
    --concurrency=*) conc=${arg#*=} ;;
    --sleep=*) sleep_s=${arg#*=} ;;
    --executors=*) executors=${arg#*=} ;;
    --write-doc) write_doc=1 ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "launch_bench: unknown option $arg (see --help)" >&2; exit 2 ;;
    *) build=$arg ;;
  esac
done
[[ "$trials" =~ ^[1-9][0-9]*$ && "$conc" =~ ^[1-9][0-9]*$ ]] ||
  { echo "launch_bench: --trials and --concurrency need positive integers" >&2; exit 2; }
[[ "$sleep_s" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "launch_bench: --sleep needs seconds" >&2; exit 2; }
build=${build:-${ORCHARD_BUILD:-$repo/build}}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "launch_bench: no build dir $build" >&2; exit 2; }
orchard=$build/orchestrator/orchard
[[ -x $orchard ]] || { echo "launch_bench: no $orchard (cmake --build $build --target orchard)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "launch_bench: needs root (sshd in namespaces, Slurm)" >&2; exit 2; }

work=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/orchard-launch.XXXXXX")
chmod 755 "$work"  # munged refuses a socket folder that is not a+x
# Its own daemons, apart from the test suite's (other folders, namespaces, subnet and ports), so
# it can run while the tests' fixtures are up.
export ORCHARD_SSH_DIR=$work/sshd ORCHARD_SLURM_DIR=$work/slurm
export ORCHARD_SSH_PREFIX=olb ORCHARD_SSH_NET=10.231.8
export ORCHARD_SLURMCTLD_PORT=6827 ORCHARD_SLURMD_PORT=6828
started=()
cleanup() {
  for f in "${started[@]}"; do "$repo/tests/fixtures/$f.sh" stop >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The project: a trainer and a tuning spec of `trials` grid points.
proj=$work/proj
mkdir -p "$proj"
cat > "$proj/train.sh" <<EOF
#!/bin/sh
# One metric, then the trial's work.
echo "@orchard {\"step\": 1, \"score\": \$(echo "\$1" | tr -dc 0-9)}"
sleep $sleep_s
EOF
chmod +x "$proj/train.sh"
points=$(seq -s, 1 "$trials")
spec() {  # $1: executor line
  cat > "$proj/tune.yaml" <<EOF
command: [./train.sh]
search: {i: [$points]}
method: grid
resources: {concurrency: $conc}
$1
EOF
}
now() { date +%s.%N; }

# Orchard on an executor: makespan of `orchard tune` in a fresh store.
run_orchard() {  # $1: executor line of the spec
  spec "$1"
  rm -rf "$proj/.orchard"
  local t0 t1
  t0=$(now)
  (cd "$proj" && "$orchard" tune tune.yaml --new > "$work/tune.log" 2>&1) ||
    { echo "launch_bench: orchard tune failed:" >&2; tail -20 "$work/tune.log" >&2; exit 1; }
  t1=$(now)
  local done
  done=$(cd "$proj" && "$orchard" runs 'status = completed' --format csv | tail -n +2 | wc -l)
  [[ $done -eq $trials ]] || { echo "launch_bench: $done of $trials trials completed" >&2; exit 1; }
  echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}'
}

# The bare transport: xargs -P over the same command.
run_peer() {  # $@: the command; {} stands for the trial's number
  local t0 t1
  t0=$(now)
  seq 1 "$trials" | xargs -P "$conc" -I{} "$@" > /dev/null
  t1=$(now)
  echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}'
}

# Starts tests/fixtures/$1.sh (stopped on exit) and takes its environment.
start_fixture() {
  "$repo/tests/fixtures/$1.sh" start > "$work/$1.log" 2>&1 || { cat "$work/$1.log" >&2; exit 1; }
  started+=("$1")
  eval "$("$repo/tests/fixtures/$1.sh" env)"
}

rows=()
ideal=$(awk -v n="$trials" -v s="$sleep_s" -v c="$conc" 'BEGIN {printf "%.3f", n * s / c}')
per_trial() { awk -v m="$1" -v i="$ideal" -v n="$trials" -v c="$conc" 'BEGIN {printf "%.0f", (m - i) * c / n * 1000}'; }

IFS=, read -r -a wanted <<< "$executors"
for ex in "${wanted[@]}"; do
  case "$ex" in
    local)
      o=$(run_orchard "executor: local")
      p=$(run_peer "$proj/train.sh" {})
      label="local (fork)" ;;
    ssh)
      start_fixture sshd
      {
        echo "nodes:"
        tail -n +2 "$ORCHARD_SSH_INVENTORY" | while IFS=$'\t' read -r name addr port user key w; do
          echo "  - {host: $addr, name: $name, port: $port, user: $user, key: $key, work: $w, slots: $conc,"
          echo "     ssh_options: [UserKnownHostsFile=$ORCHARD_SSH_KNOWN_HOSTS]}"
        done
      } > "$proj/nodes.yaml"
      o=$(run_orchard "executor: {ssh: nodes.yaml}")
      # The peer: ssh through a ControlMaster to node1, the trainer already on the node.
      node_dir=$ORCHARD_SSH_WORK/bench
      ssh -F "$ORCHARD_SSH_CONFIG" node1 "mkdir -p $node_dir && cat > $node_dir/train.sh && chmod +x $node_dir/train.sh" < "$proj/train.sh"
      cm=$work/cm-node1
      ssh -F "$ORCHARD_SSH_CONFIG" -o ControlMaster=yes -o ControlPath="$cm" -o ControlPersist=60 -fN node1
      p=$(run_peer ssh -F "$ORCHARD_SSH_CONFIG" -o ControlPath="$cm" node1 "$node_dir/train.sh {}")
      ssh -F "$ORCHARD_SSH_CONFIG" -o ControlPath="$cm" -O exit node1 2>/dev/null || true
      label="ssh (2 nodes; peer: ssh over a ControlMaster)" ;;
    slurm)
      start_fixture slurm
      o=$(run_orchard "executor: {slurm: {partition: $ORCHARD_SLURM_PARTITION}}")
      p=$(run_peer srun --quiet -p "$ORCHARD_SLURM_PARTITION" -n1 --chdir "$proj" "$proj/train.sh" {})
      label="slurm (1 node; peer: srun)" ;;
    *) echo "launch_bench: unknown executor $ex (local, ssh, slurm)" >&2; exit 2 ;;
  esac
  po=$(per_trial "$o"); pp=$(per_trial "$p")
  ratio=$(awk -v a="$po" -v b="$pp" 'BEGIN {if (b <= 0) print "n/a"; else printf "%.2fx", a / b}')
  rows+=("| $label | $ideal | $o | **$po** | $p | $pp | $ratio |")
  echo "launch_bench: $ex: orchard $o s ($po ms/trial), bare $p s ($pp ms/trial)" >&2
done

machine=$(cd "$here" && /usr/bin/python3 -c 'import sys, bench_machine; print(bench_machine.machine(sys.argv[1]))' "$build" 2>/dev/null || uname -srm)
table=$(
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $machine. $trials trials of ${sleep_s} s each, $conc at a time; load average after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| Executor | Ideal (s) | Orchard makespan (s) | Orchard overhead per trial (ms) | Bare transport makespan (s) | Bare overhead per trial (ms) | Orchard / bare overhead |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
)
echo "$table"
if (( write_doc )); then
  doc=$repo/docs/benchmarks.md
  /usr/bin/python3 - "$doc" "$table" <<'EOF'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- launch:results:begin -->", "<!-- launch:results:end -->"
if begin not in text:
    sys.exit("launch_bench: docs/benchmarks.md has no launch section markers")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(path, "w").write(head + begin + "\n" + table + "\n" + end + tail)
EOF
fi
