#!/usr/bin/env bash
# A reproducible training job for CI, runnable on a laptop the same way:
#
#   1. build orchard (only the `orchard` target; the trainer here is Python),
#   2. train examples/fashion_mlp with pinned flags and seed, gated on its
#      validation accuracy and loss (--expect),
#   3. re-run the recorded run from its own code snapshot and verify that
#      every metric point reproduces bit for bit (rerun --verify),
#   4. write JUnit XML (for the CI's test view) and a Markdown summary (for
#      the pull request), and archive both runs into one portable file that
#      a developer loads with `orchard import`.
#
# Everything goes to $OUT (default: out/ci at the top of the repository,
# ignored by git). Exit code: 0 when the run, its gates and the verification
# all pass; 1 otherwise (the reports are written either way).
#
# Environment:
#   ORCHARD        an orchard binary to use instead of building one
#   ORCHARD_BUILD  the build folder (default: build)
#   OUT            where reports, the store and the archive go (default: out/ci)
#   MIN_VAL_ACC    the accuracy gate (default: 0.75)
#   PYTHON         a Python with torch (default: /usr/bin/python3, Debian's python3-torch)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$top/out/ci}
python=${PYTHON:-/usr/bin/python3}
min_val_acc=${MIN_VAL_ACC:-0.75}

if [ -z "${ORCHARD:-}" ]; then
  build=${ORCHARD_BUILD:-$top/build}
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORCHARD_BUILD_TRAINER=OFF
  fi
  cmake --build "$build" --target orchard -j "${ORCHARD_JOBS:-$(nproc)}"
  ORCHARD=$build/orchestrator/orchard
fi

# A fresh store per job: the archive at the end is what outlives it.
rm -rf "$out"
mkdir -p "$out"
orchard() { "$ORCHARD" --home "$out/.orchard" "$@"; }
status=0

echo "== train (pinned flags and seed), gated =="
cd "$top/examples/fashion_mlp"
name="ci-${GITHUB_SHA:-local}"
orchard run --quiet --name "$name" --seed 1 --tag ci \
  lr=0.05 epochs=2 batch=64 hidden=64 optimizer=sgd train_size=3000 val_size=1000 \
  --expect "val_acc >= $min_val_acc" --expect 'val_loss < 0.9' \
  --junit "$out/train.xml" --summary "$out/train.md" \
  -- "$python" train.py || status=1
run=$(orchard runs --filter "name = '$name'" --columns id --limit 1 --format csv | tail -n 1)

echo "== re-run from the recorded code snapshot, verified =="
# images_per_s is a speed, not a result: it differs from run to run.
orchard rerun "$run" --verify --quiet --ignore-metric images_per_s --tag ci \
  --junit "$out/verify.xml" --summary "$out/verify.md" || status=1
rerun=$(orchard runs --filter "tag = 'rerun-of:$run'" --columns id --limit 1 --format csv | tail -n 1)

echo "== archive the results =="
orchard archive "$run" ${rerun:+"$rerun"} --output "$out/results.orchard"
# What a developer does with it, proven here on a scratch store.
"$ORCHARD" --home "$out/imported/.orchard" import "$out/results.orchard" >/dev/null

cat "$out/train.md" "$out/verify.md" > "$out/summary.md"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"; fi

echo
echo "reports:  $out/train.xml $out/verify.xml (JUnit), $out/summary.md (Markdown)"
echo "archive:  $out/results.orchard   (orchard import $out/results.orchard)"
if [ "$status" -ne 0 ]; then echo "CI job FAILED (see the reports)"; else echo "CI job passed"; fi
exit "$status"
