#!/usr/bin/env bash
# A replay trainer for the early-stopping benchmark (asha_bench.sh): it speaks
# the trainer protocol (docs/protocol.md) and, instead of training, prints the
# recorded learning curve of one configuration, one epoch at a time.
#
# Usage: asha_replay.sh --config=K --curves=FILE [--epoch_seconds=S]
#   --config=K         the configuration: line K+1 of FILE (0-based)
#   --curves=FILE      one line per configuration: its per-epoch val_acc values,
#                      separated by spaces (asha_bench.sh writes it from
#                      asha_curves.json)
#   --epoch_seconds=S  how long each "epoch" takes (default 0.05)
# Prints, for epoch e = 1..n after S seconds each:
#   @orchard {"step": e, "epoch": e, "val_acc": V}
# SIGTERM (a pruned trial) stops it at once with exit 0, as a trainer that
# checkpoints and stops. Other flags are ignored.
set -u
config="" curves="" epoch_seconds=0.05
for arg in "$@"; do
  case "$arg" in
    --config=*) config=${arg#*=} ;;
    --curves=*) curves=${arg#*=} ;;
    --epoch_seconds=*) epoch_seconds=${arg#*=} ;;
  esac
done
[[ $config =~ ^[0-9]+$ ]] || { echo "asha_replay: --config=K needs an integer, got '$config'" >&2; exit 2; }
[[ -r $curves ]] || { echo "asha_replay: --curves=FILE: cannot read '$curves'" >&2; exit 2; }
line=$(sed -n "$((config + 1))p" "$curves")
read -r -a values <<<"$line"
(( ${#values[@]} > 0 )) || { echo "asha_replay: no configuration $config in $curves" >&2; exit 2; }

sleeper=""
trap '[[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null; echo "SIGTERM: stopping"; exit 0' TERM
echo "replaying configuration $config: ${#values[@]} epochs"
epoch=0
for v in "${values[@]}"; do
  sleep "$epoch_seconds" &
  sleeper=$!
  wait "$sleeper"
  sleeper=""
  epoch=$((epoch + 1))
  echo "@orchard {\"step\": $epoch, \"epoch\": $epoch, \"val_acc\": $v}"
done
exit 0
