#!/usr/bin/env python3
"""Trains a small MLP on Fashion-MNIST and reports metrics to Orchard.

A real trainer speaking Orchard's protocol (docs/protocol.md): flags arrive as
--name=value, ORCHARD_SEED seeds everything, metrics go to stdout as
'@orchard {json}' lines, the model is saved into ORCHARD_RUN_DIR, and SIGTERM
saves a checkpoint and stops. Data: Debian's dataset-fashion-mnist package.

Run it through Orchard:
    orchard run --lr=0.05 --epochs=3 -- /usr/bin/python3 examples/fashion_mlp/train.py
"""
import argparse
import gzip
import json
import os
import signal
import struct
import sys
import time

import torch

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def report(**values):
    print("@orchard " + json.dumps(values), flush=True)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load(split, limit, generator):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(f"{DATA}/{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(f"{DATA}/{prefix}-labels-idx1-ubyte.gz").long()
    if limit and limit < len(labels):
        keep = torch.randperm(len(labels), generator=generator)[:limit]
        images, labels = images[keep], labels[keep]
    x = images.float().div(255.0).sub(0.2860).div(0.3530).reshape(len(labels), -1)
    return x, labels


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--train_size", type=int, default=10000)
    p.add_argument("--val_size", type=int, default=2000)
    args = p.parse_args()

    seed = int(os.environ.get("ORCHARD_SEED", "0"))
    run_dir = os.environ.get("ORCHARD_RUN_DIR", ".")
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    g = torch.Generator().manual_seed(seed)

    x_train, y_train = load("train", args.train_size, g)
    x_val, y_val = load("test", args.val_size, g)
    print(f"data: {len(y_train)} train / {len(y_val)} validation images", flush=True)

    model = torch.nn.Sequential(
        torch.nn.Linear(784, args.hidden), torch.nn.ReLU(), torch.nn.Linear(args.hidden, 10))
    if args.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    stop = {"requested": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))

    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(y_train), generator=g)
        start, total, seen = time.time(), 0.0, 0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            step += 1
            if stop["requested"]:
                break
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(1) == y_val).float().mean().item()
        report(step=step, epoch=epoch, train_loss=total / max(seen, 1), val_loss=val_loss,
               val_acc=val_acc, images_per_s=seen / max(time.time() - start, 1e-9))
        torch.save({"model": model.state_dict(), "epoch": epoch, "classes": CLASSES},
                   os.path.join(run_dir, "checkpoint.pt"))
        if stop["requested"]:
            print("SIGTERM: checkpoint saved, stopping", flush=True)
            return 0
    torch.save(model.state_dict(), os.path.join(run_dir, "model.pt"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
