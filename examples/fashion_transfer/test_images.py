#!/usr/bin/python3
"""Fashion-MNIST test images as files, and the accuracy of predictions on them.

  test_images.py write DIR [N]      the first N (default 2000) images of the
                                    official test set as 28x28 PNG files in
                                    DIR/<label>-<class>/<index>.png
  test_images.py score FILE         the top-1 accuracy of `orchard infer`
                                    output (JSONL) on files written by `write`

These are the images that `eval_test` with `test_limit=2000` scores, so the
accuracy of the exported best model on them equals its run's `test_acc`.
Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""
import gzip
import json
import os
import sys

SOURCE = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"]


def write(folder, count):
    import numpy as np
    from PIL import Image
    pixels = gzip.open(os.path.join(SOURCE, "t10k-images-idx3-ubyte.gz")).read()
    labels = gzip.open(os.path.join(SOURCE, "t10k-labels-idx1-ubyte.gz")).read()[8:]
    images = np.frombuffer(pixels, np.uint8, offset=16).reshape(-1, 28, 28)
    if not 0 < count <= len(images):
        sys.exit(f"test_images.py: N must be 1..{len(images)}")
    for i in range(count):
        sub = os.path.join(folder, f"{labels[i]}-{CLASSES[labels[i]]}")
        os.makedirs(sub, exist_ok=True)
        path = os.path.join(sub, f"{i:05d}.png")
        if not os.path.exists(path):
            Image.fromarray(images[i]).save(path)
    print(f"{count} test images in {folder}")


def score(path):
    right = total = errors = 0
    for line in open(path):
        record = json.loads(line)
        if "error" in record:
            errors += 1
            continue
        truth = int(record["input"].split("/")[0].split("-")[0])
        right += record["top"][0]["index"] == truth
        total += 1
    print(f"top-1 accuracy {right / max(total, 1):.4f} on {total} images"
          + (f" ({errors} unreadable)" if errors else ""))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "write":
        write(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2000)
    elif len(sys.argv) == 3 and sys.argv[1] == "score":
        score(sys.argv[2])
    else:
        sys.exit(__doc__)
