#!/usr/bin/env bash
# The main job: install, build, then a real (small) tuning sweep of the
# Fashion-MNIST example recorded in the embedded SQLite store, ending with
# where to see the results. Idempotent: re-running adds another sweep.
#
# The sweep is examples/fashion_mlp/tune.yaml: TPE over learning rate, width,
# optimizer and batch size of a real PyTorch trainer on Fashion-MNIST, with
# ASHA pruning the weak trials, two trials at a time.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
orchard="$top/build/orchestrator/orchard"
cd "$top/examples/fashion_mlp"

echo
echo "== orchard tune tune.yaml (store: $PWD/.orchard) =="
# --new: each main job is a fresh session (without it, an unfinished one resumes).
"$orchard" tune tune.yaml --new

echo
echo "== Tuning sessions =="
"$orchard" tunes --limit 5
tune=$("$orchard" tunes --limit 1 --format csv | tail -n 1 | cut -d, -f1)
best=$("$orchard" runs --filter "tune = $tune and status = completed" \
        --sort '-metrics.val_acc.last' --limit 1 --columns id --format csv | tail -n 1)
echo
echo "Results are in $PWD/.orchard/orchard.db (run folders in $PWD/.orchard/runs/)."
echo "Look closer:  cd $PWD"
echo "              $orchard runs 'tune = $tune' --sort -metrics.val_acc.last"
echo "              $orchard show $best"
echo "              $orchard compare <id> <id>   ·   $orchard diff <id> <id>"
