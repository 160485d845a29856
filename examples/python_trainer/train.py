#!/usr/bin/env python3
"""The smallest useful Orchard trainer: standard library only.

Fits y = 3x - 2 + noise by mini-batch SGD and speaks the trainer protocol
(docs/protocol.md): flags arrive as --name=value, ORCHARD_SEED seeds the
random numbers, metrics go to stdout as '@orchard {json}' lines, the model is
written into ORCHARD_RUN_DIR, SIGTERM saves a checkpoint and stops, and
--resume-from=CHECKPOINT continues from one.

    orchard run --lr=0.05 --epochs=20 -- python3 examples/python_trainer/train.py
"""
import json
import os
import random
import signal
import sys


# The protocol's core: one JSON object per line, behind the marker.
def report(**values):
    print("@orchard " + json.dumps(values), flush=True)


DEFAULTS = {"lr": 0.05, "epochs": 20, "batch": 16, "noise": 0.1, "samples": 512,
            "resume-from": ""}


def parse_flags(argv):
    flags = dict(DEFAULTS)
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, text = arg[2:].partition("=")
        if arg == "--resume-from" and args:  # also accept the two-word form
            name, eq, text = "resume-from", "=", args.pop(0)
        if not arg.startswith("--") or name not in DEFAULTS or not eq:
            sys.exit(f"train.py: bad flag {arg!r}; known: " +
                     ", ".join(f"--{k}=" for k in DEFAULTS))
        kind = type(DEFAULTS[name])
        try:
            flags[name] = kind(text)
        except ValueError:
            sys.exit(f"train.py: --{name} expects {kind.__name__}, got {text!r}")
    return flags


def main():
    flags = parse_flags(sys.argv[1:])
    rng = random.Random(int(os.environ.get("ORCHARD_SEED", "0")))
    run_dir = os.environ.get("ORCHARD_RUN_DIR", ".")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    xs = [rng.uniform(-1, 1) for _ in range(flags["samples"])]
    data = [(x, 3 * x - 2 + rng.gauss(0, flags["noise"])) for x in xs]
    train, val = data[: len(data) * 4 // 5], data[len(data) * 4 // 5:]
    state = {"w": 0.0, "b": 0.0, "epoch": 0, "step": 0}
    if flags["resume-from"]:
        with open(flags["resume-from"]) as f:
            state = json.load(f)
        version, internal, gauss = state.pop("rng")  # resume the exact sequence
        rng.setstate((version, tuple(internal), gauss))
        print(f"resumed from {flags['resume-from']} at epoch {state['epoch']}", flush=True)

    def mse(rows):
        return sum((state["w"] * x + state["b"] - y) ** 2 for x, y in rows) / len(rows)

    while state["epoch"] < flags["epochs"]:
        order = list(range(len(train)))
        rng.shuffle(order)  # depends only on the rng state, so a resume matches
        for i in range(0, len(order), flags["batch"]):
            rows = [train[j] for j in order[i:i + flags["batch"]]]
            gw = sum(2 * (state["w"] * x + state["b"] - y) * x for x, y in rows) / len(rows)
            gb = sum(2 * (state["w"] * x + state["b"] - y) for x, y in rows) / len(rows)
            state["w"] -= flags["lr"] * gw
            state["b"] -= flags["lr"] * gb
            state["step"] += 1
        state["epoch"] += 1
        report(step=state["step"], epoch=state["epoch"],
               train_loss=mse(train), val_loss=mse(val), w=state["w"], b=state["b"])
        if stop:  # SIGTERM: checkpoint and stop, as the protocol asks
            path = os.path.join(run_dir, "checkpoint.json")
            with open(path, "w") as f:
                json.dump(dict(state, rng=rng.getstate()), f)
            print(f"SIGTERM: checkpoint saved to {path}, stopping", flush=True)
            return 0

    with open(os.path.join(run_dir, "model.json"), "w") as f:
        json.dump({"w": state["w"], "b": state["b"]}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
