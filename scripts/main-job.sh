#!/usr/bin/env bash
# The main job: install, build, then a real tuning run of the transfer-learning
# example recorded in the embedded SQLite store, ending with where to see the
# results. Idempotent: re-running adds another tuning session.
#
# examples/fashion_transfer/tune.yaml fine-tunes the pretrained MobileNetV2
# (Keras ImageNet weights from npm nsfwjs@4.3.0) on Fashion-MNIST with 30
# labelled images per class: TPE chooses how much of the backbone to train and
# the learning rates, ASHA prunes weak trials, two trials run at a time. Then
# the same network is trained from scratch on the same 300 labels, and the two
# test accuracies are shown side by side. Last, the tuning's best model is
# exported as a bundle and run over 2,000 test images saved as PNG files.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
orchard="$top/build/orchestrator/orchard"
export PATH="$top/build/trainer:$PATH"  # orchard-train, as the spec names it
cd "$top/examples/fashion_transfer"

echo
echo "== orchard tune tune.yaml (store: $PWD/.orchard) =="
# --new: each main job is a fresh session (without it, an unfinished one resumes).
"$orchard" tune tune.yaml --new

tune=$("$orchard" tunes --limit 1 --format csv | tail -n 1 | cut -d, -f1)
best=$("$orchard" runs --filter "tune = $tune and status = completed" \
        --sort '-metrics.val_acc.last' --limit 1 --columns id --format csv | tail -n 1)

echo
echo "== The same network from scratch, on the same 300 labels =="
"$orchard" run --quiet --seed 1 --name scratch-baseline \
  data=fashion-mnist labels_per_class=30 val_per_class=50 image_size=64 batch=32 threads=2 \
  eval_test=true test_limit=2000 pretrained=false unfreeze=-1 bn=train optimizer=adam \
  lr=0.01 backbone_lr=0.01 epochs=20 -- orchard-train finetune
scratch=$("$orchard" runs --filter "name = scratch-baseline" --limit 1 --columns id --format csv | tail -n 1)

echo
echo "== Accuracy with 30 labels per class: pretrained and tuned, against from scratch =="
echo "   (test_acc: the first 2,000 Fashion-MNIST test images, which no run trained or validated on)"
"$orchard" runs --filter "id = $best or id = $scratch" \
  --columns id,name,flags.pretrained,flags.unfreeze,metrics.val_acc.max,metrics.test_acc

echo
echo "== orchard export: the tuning's best run becomes a bundle; orchard infer runs it over files =="
rm -rf bundle-best predictions.jsonl predictions.jsonl.parts   # this session's, not the last one's
"$orchard" export --tune "$tune" --output bundle-best
/usr/bin/python3 test_images.py write test-images 2000
"$orchard" infer bundle-best --input test-images --output predictions.jsonl --top-k 3 --workers 2 --shards 4
/usr/bin/python3 test_images.py score predictions.jsonl
echo "   (the same 2,000 images as the runs' test_acc above: the exported model gives the same accuracy)"

echo
echo "Results are in $PWD/.orchard/orchard.db (run folders, checkpoints and the exported"
echo "model bundles in $PWD/.orchard/runs/)."
echo "Look closer:  cd $PWD"
echo "              $orchard runs 'tune = $tune' --sort -metrics.val_acc.last"
echo "              $orchard show $best        # the best fine-tuned run"
echo "              $orchard show $scratch        # the scratch baseline"
echo "              $orchard compare $best $scratch"
echo "The best model: $PWD/bundle-best (bundle.json describes it); its predictions on the"
echo "test images: $PWD/predictions.jsonl (docs/inference.md)."
