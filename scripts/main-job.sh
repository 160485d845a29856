#!/usr/bin/env bash
# The main job: install, build, then a real (small) tuning sweep of the
# Fashion-MNIST example recorded in the embedded SQLite store, ending with
# where to see the results. Idempotent: re-running adds another sweep.
#
# Until `orchard tune` lands (issue 3) the sweep is a grid of `orchard run`
# calls; each is a real training run of examples/fashion_mlp/train.py.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
orchard="$top/build/orchestrator/orchard"
cd "$top/examples/fashion_mlp"

echo
echo "== A learning-rate x optimizer grid on Fashion-MNIST (store: $PWD/.orchard) =="
for opt in sgd adam; do
  for lr in 0.003 0.03; do
    "$orchard" run --quiet --tag demo --seed 7 --optimizer=$opt --lr=$lr --epochs=3 \
      -- /usr/bin/python3 train.py
  done
done

echo
echo "== Runs, best validation accuracy first =="
"$orchard" runs --filter 'tag = demo' --sort '-metrics.val_acc.max' --limit 8 \
  --columns id,status,flags.optimizer,flags.lr,metrics.val_acc.max,metrics.val_loss.min,duration
best=$("$orchard" runs --filter 'tag = demo and status = completed' \
        --sort '-metrics.val_acc.max' --limit 1 --columns id --format csv | tail -n 1)
echo
echo "Results are in $PWD/.orchard/orchard.db (run folders in $PWD/.orchard/runs/)."
echo "Look closer:  cd $PWD && $orchard show $best"
echo "              $orchard compare <id> <id>   ·   $orchard diff <id> <id>"
