#!/usr/bin/python3
"""The peer of `orchard-train finetune` for tests/bench/finetune_speed.sh: the same
fine-tuning, written as ordinary eager PyTorch (Debian's python3-torch, the same
libtorch 1.13 that orchard-train links), and timed the same way.

What is the same as orchard-train (trainer/train/finetune.cc, network.cc,
preprocess.cc, model/mobilenet_v2.cc):
  - the network: Keras-layout MobileNetV2 cut after --cut (default block_10):
    stride-2 convolutions preceded by a bottom/right zero pad (0, 1, 0, 1) and
    'valid', stride-1 ones padded kernel // 2; bias-free convs; BatchNorm eps
    1e-3, momentum 0.1; ReLU6 as clamp(0, 6) (the op orchard-train calls);
    residual adds where stride 1 and in == out. Head: global average pool ->
    BatchNorm1d(D, affine=False) -> Dropout -> Linear(D, classes).
  - the weights: torchvision's initialisation (what orchard-train does with
    --pretrained=false); speed does not depend on the values.
  - the data: the Fashion-MNIST training IDX file, --labels_per_class images of
    each class for training and --val_per_class for validation; per batch the
    uint8 28x28 images become float / 255, grey is repeated to 3 channels,
    bilinear F.interpolate to --image_size (align_corners=False, antialias only
    when shrinking), then (x - mean) / std with mean 0, std 1 (the backbone's).
  - training: units before the last --unfreeze are frozen (requires_grad False,
    eval mode), trainable units keep BatchNorm in eval mode (--bn=frozen) or
    not (--bn=train); the head trains; cross-entropy with --label_smoothing;
    Adam / AdamW / SGD with two parameter groups (head --lr, backbone
    --backbone_lr) and the cosine schedule set on both groups before every step;
    zero_grad(), backward(), step(); torch.manual_seed per batch (dropout);
    loss.item() and argmax(1).eq(y).sum().item() per batch for the running
    metrics, as orchard-train does.
  - timing: images_per_sec = training images / wall seconds of the epoch's
    batch loop (the shuffle before it and validation after it excluded).

Prints `@orchard {...}` lines like orchard-train, and first a line
`peer: {...}` with the versions and thread counts.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BLOCKS = [  # (expansion, out channels, stride) of expanded_conv, block_1 .. block_16
    (1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 2), (6, 32, 1), (6, 32, 1),
    (6, 64, 2), (6, 64, 1), (6, 64, 1), (6, 64, 1), (6, 96, 1), (6, 96, 1), (6, 96, 1),
    (6, 160, 2), (6, 160, 1), (6, 160, 1), (6, 320, 1),
]


def unit_specs():
    """[(name, [(in, out, kernel, stride, depthwise, relu6)], residual)] of the whole network."""
    units = [("Conv1", [(3, 32, 3, 2, False, True)], False)]
    c = 32
    for i, (t, out, stride) in enumerate(BLOCKS):
        name = "expanded_conv" if i == 0 else f"block_{i}"
        hidden = c * t
        layers = []
        if t != 1:
            layers.append((c, hidden, 1, 1, False, True))
        layers.append((hidden, hidden, 3, stride, True, True))
        layers.append((hidden, out, 1, 1, False, False))
        units.append((name, layers, stride == 1 and c == out))
        c = out
    units.append(("Conv_1", [(320, 1280, 1, 1, False, True)], False))
    return units


class Unit(nn.Module):
    def __init__(self, layers, residual):
        super().__init__()
        self.residual = residual
        self.strides = [s for _, _, _, s, _, _ in layers]
        self.relu6 = [r for _, _, _, _, _, r in layers]
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        for cin, cout, k, s, dw, _ in layers:
            conv = nn.Conv2d(cin, cout, k, stride=s, padding=k // 2 if s == 1 else 0,
                             groups=cin if dw else 1, bias=False)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            self.convs.append(conv)
            self.bns.append(nn.BatchNorm2d(cout, eps=1e-3, momentum=0.1))

    def forward(self, x):
        inp = x
        for conv, bn, s, r in zip(self.convs, self.bns, self.strides, self.relu6):
            if s == 2:
                x = F.pad(x, (0, 1, 0, 1))
            x = bn(conv(x))
            if r:
                x = x.clamp(0, 6)
        return x + inp if self.residual else x


class Net(nn.Module):
    def __init__(self, cut, classes, dropout):
        super().__init__()
        self.units = nn.ModuleList()
        self.unit_names = []
        for name, layers, residual in unit_specs():
            self.units.append(Unit(layers, residual))
            self.unit_names.append(name)
            if name == cut:
                break
        else:
            raise SystemExit(f"finetune_peer: unknown --cut {cut}")
        dim = self.units[-1].convs[-1].out_channels
        self.norm = nn.BatchNorm1d(dim, affine=False)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, classes)
        self.first_trainable = 0

    def features(self, x):
        for u in self.units:
            x = u(x)
        return x.mean((2, 3))

    def forward(self, x):
        return self.head(self.dropout(self.norm(self.features(x))))

    def set_unfrozen(self, n):
        count = len(self.units)
        self.first_trainable = 0 if n < 0 else max(0, count - n)
        for i, u in enumerate(self.units):
            for p in u.parameters():
                p.requires_grad_(i >= self.first_trainable)

    def set_training(self, training, bn_train):
        self.train(training)
        if not training:
            return
        for i, u in enumerate(self.units):
            if i < self.first_trainable:
                u.eval()
            elif not bn_train:
                for m in u.modules():
                    if isinstance(m, nn.BatchNorm2d):
                        m.eval()


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def make_batch(images_u8, size, mean, std):
    """uint8 [B, 28, 28] -> float [B, 3, size, size], as preprocess.cc's MakeBatch."""
    x = images_u8.unsqueeze(1).to(torch.float32).div_(255.0).expand(-1, 3, -1, -1).contiguous()
    h, w = x.shape[2], x.shape[3]
    if h != size or w != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=h > size or w > size)
    return x.sub(mean).div_(std).contiguous()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--labels_per_class", type=int, default=50)
    ap.add_argument("--val_per_class", type=int, default=10)
    ap.add_argument("--image_size", type=int, default=96)
    ap.add_argument("--cut", default="block_10")
    ap.add_argument("--unfreeze", type=int, default=-1)
    ap.add_argument("--bn", choices=["frozen", "train"], default="frozen")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--optimizer", choices=["sgd", "adam", "adamw"], default="adam")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--backbone_lr", type=float, default=0.001)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight_decay", type=float, default=0.0)
    ap.add_argument("--label_smoothing", type=float, default=0.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--interop_threads", type=int, default=0,
                    help="0 = libtorch's default (as orchard-train, which does not set it)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--flush_denormal", action="store_true",
                    help="torch.set_flush_denormal(True) before any work (diagnosis only; "
                         "orchard-train does not do it)")
    ap.add_argument("--profile", default="",
                    help="write a torch.profiler table of the last epoch to this file")
    a = ap.parse_args()

    if a.flush_denormal:
        torch.set_flush_denormal(True)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    if a.interop_threads > 0:
        torch.set_num_interop_threads(a.interop_threads)
    torch.manual_seed(a.seed)

    images = read_idx(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    rng = np.random.default_rng(a.seed)
    train_idx, val_idx = [], []
    for c in range(int(labels.max()) + 1):
        members = rng.permutation(np.flatnonzero(labels == c))
        val_idx.extend(members[:a.val_per_class])
        train_idx.extend(members[a.val_per_class:a.val_per_class + a.labels_per_class])
    train_x = torch.from_numpy(images[np.array(train_idx)].copy())
    train_y = torch.from_numpy(labels[np.array(train_idx)].copy())
    val_x = torch.from_numpy(images[np.array(val_idx)].copy())
    val_y = torch.from_numpy(labels[np.array(val_idx)].copy())
    n_train = train_x.shape[0]
    classes = int(labels.max()) + 1

    net = Net(a.cut, classes, a.dropout)
    mean = torch.zeros(3).view(1, 3, 1, 1)
    std = torch.ones(3).view(1, 3, 1, 1)
    net.set_unfrozen(a.unfreeze)
    head_params = list(net.head.parameters())
    backbone_params = [p for p in net.units.parameters() if p.requires_grad]

    def group(params, lr):
        g = {"params": params, "lr": lr, "weight_decay": a.weight_decay}
        if a.optimizer == "sgd":
            g["momentum"] = a.momentum
        return g
    groups = [group(head_params, a.lr)]
    if backbone_params:
        groups.append(group(backbone_params, a.backbone_lr))
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[a.optimizer](
        groups, lr=a.lr)
    base_lr = [g["lr"] for g in opt.param_groups]

    batches = (n_train + a.batch - 1) // a.batch
    total = batches * a.epochs
    trainable = sum(p.numel() for g in groups for p in g["params"])
    print("peer: " + json.dumps({
        "torch": torch.__version__, "python": sys.version.split()[0],
        "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "train_images": n_train, "val_images": int(val_x.shape[0]), "units": len(net.units),
        "trainable_units": len(net.units) - net.first_trainable,
        "trainable_parameters": trainable}), flush=True)

    step = 0
    gen = torch.Generator().manual_seed(a.seed)
    for epoch in range(a.epochs):
        order = torch.randperm(n_train, generator=gen)
        prof = None
        if a.profile and epoch == a.epochs - 1:
            prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
            prof.__enter__()
        net.set_training(True, a.bn == "train")
        loss_sum, correct, seen = 0.0, 0, 0
        t0 = time.perf_counter()
        for b in range(batches):
            where = order[b * a.batch:(b + 1) * a.batch]
            y = train_y.index_select(0, where)
            torch.manual_seed(a.seed * 1000003 + epoch * 10007 + b + 1)
            x = make_batch(train_x.index_select(0, where), a.image_size, mean, std)
            logits = net(x)
            loss = F.cross_entropy(logits, y, label_smoothing=a.label_smoothing)
            factor = 0.5 * (1.0 + math.cos(math.pi * step / total))
            for g, lr in zip(opt.param_groups, base_lr):
                g["lr"] = lr * factor
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            count = where.numel()
            loss_sum += loss.item() * count
            correct += logits.argmax(1).eq(y).sum().item()
            seen += count
        seconds = time.perf_counter() - t0
        if prof is not None:
            prof.__exit__(None, None, None)
            with open(a.profile, "w") as f:
                f.write(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
        # Validation (not timed), in chunks of 64 like orchard-train.
        net.set_training(False, False)
        vl, vc = 0.0, 0
        with torch.no_grad():
            for b in range(0, val_x.shape[0], 64):
                lg = net(make_batch(val_x[b:b + 64], a.image_size, mean, std))
                vl += F.cross_entropy(lg, val_y[b:b + 64], reduction="sum").item()
                vc += lg.argmax(1).eq(val_y[b:b + 64]).sum().item()
        print("@orchard " + json.dumps({
            "step": step, "epoch": epoch + 1, "train_loss": loss_sum / seen,
            "train_acc": correct / seen, "val_loss": vl / val_x.shape[0],
            "val_acc": vc / val_x.shape[0], "images_per_sec": seen / seconds,
            "epoch_seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
