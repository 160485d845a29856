#!/usr/bin/python3
"""The peer of `orchard infer` for tests/bench/infer_bench.sh: batch inference
written the way a PyTorch user writes it — one process, a loop over the
images, `torch.inference_mode()`, the same TorchScript model (the bundle's
model.pt), the same images and the same intra-op thread count.

Per batch: each file is decoded with Pillow, turned into float RGB in [0, 1]
(grey repeated over three channels, as the bundle's card says), resized with
F.interpolate (bilinear, align_corners=False, antialiased only when
shrinking: the trainer's own pre-processing), the batch goes through the
model, softmax, top-k, and one JSON line per image is written — the same
records `orchard infer` writes. An unreadable file gets an error record.

Timing: images / wall seconds of the loop (model loading and `import torch`
excluded; Orchard's figure likewise starts once its model is loaded).
Prints `peer: {...}` with versions and threads, and a last line
`@orchard {"images": N, "errors": E, "images_per_sec": R, "seconds": S}`.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--inputs", required=True, help="a list file, one path per line")
    ap.add_argument("--output", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--top_k", type=int, default=5)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    card = json.load(open(os.path.join(a.bundle, "bundle.json")))
    classes = card["classes"]
    height, width = card["input"]["height"], card["input"]["width"]
    k = min(a.top_k, len(classes))
    model = torch.jit.load(os.path.join(a.bundle, "model.pt"))
    model.eval()
    root = os.path.dirname(os.path.abspath(a.inputs))
    paths = [line.rstrip("\n") for line in open(a.inputs) if line.strip()]
    print("peer: " + json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                                 "interop_threads": torch.get_num_interop_threads(),
                                 "images": len(paths), "batch": a.batch}), flush=True)

    def load(path):
        img = Image.open(path if os.path.isabs(path) else os.path.join(root, path)).convert("RGB")
        x = torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div_(255.0)
        if x.shape[1] != height or x.shape[2] != width:
            shrinking = x.shape[1] > height or x.shape[2] > width
            x = F.interpolate(x.unsqueeze(0), size=(height, width), mode="bilinear",
                              align_corners=False, antialias=shrinking).squeeze(0)
        return x

    errors = 0
    start = time.perf_counter()
    with open(a.output, "w") as out, torch.inference_mode():
        for first in range(0, len(paths), a.batch):
            names, tensors, failed = [], [], []
            for path in paths[first:first + a.batch]:
                try:
                    tensors.append(load(path))
                    names.append(path)
                except Exception as e:  # an unreadable file is a record, not a failure
                    failed.append({"input": path, "error": str(e)})
            if tensors:
                probs = model(torch.stack(tensors)).softmax(1)
                top_p, top_i = probs.topk(k, 1)
                for name, ps, idx in zip(names, top_p.tolist(), top_i.tolist()):
                    out.write(json.dumps({"input": name, "top": [
                        {"label": classes[i], "index": i, "prob": p} for p, i in zip(ps, idx)]}) + "\n")
            for record in failed:
                errors += 1
                out.write(json.dumps(record) + "\n")
    seconds = time.perf_counter() - start
    print("@orchard " + json.dumps({"images": len(paths), "errors": errors,
                                    "images_per_sec": len(paths) / seconds, "seconds": seconds}),
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
