#!/usr/bin/env bash
# Batch inference: `orchard infer` against a python3-torch `inference_mode`
# loop (tests/bench/infer_peer.py, Debian's python3-torch: the same libtorch
# 1.13) over the same TorchScript model (a bundle exported by orchard-train),
# the same image files and the same intra-op thread count, side by side in one
# run, at batch 1 and batch 64. Both decode PNG files, resize them to the
# model's input, run the model, take softmax top-5 and write one JSON line per
# image. Goal: Orchard at least 1.3x Python's images/s at batch 1 and at least
# 1.0x at batch 64. Also checks that both give the same top-1 labels.
#
# Usage: tests/bench/infer_bench.sh [options]
#   --images=N        Fashion-MNIST test images written as PNG files (default 2000)
#   --image-size=N    the model's input size (default 64, as in
#                     examples/fashion_transfer)
#   --batches=LIST    batch sizes (default 1,64)
#   --threads=LIST    intra-op thread counts (default 1,2)
#   --reps=N          runs of each system per setting, alternating; the
#                     median is reported (default 3)
#   --write-doc       replace the results in docs/benchmarks.md
#   --keep            keep the scratch folder
# Environment: ORCHARD (default REPO/build/orchestrator/orchard), ORCHARD_TRAIN
# (default REPO/build/trainer/orchard-train), FASHION_MNIST_DIR, BENCH_TMPDIR
# (or TMPDIR). Python is /usr/bin/python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
images=2000
size=64
batches=1,64
threads=1,2
reps=3
write_doc=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --images=*) images=${arg#*=} ;;
    --image-size=*) size=${arg#*=} ;;
    --batches=*) batches=${arg#*=} ;;
    --threads=*) threads=${arg#*=} ;;
    --reps=*) reps=${arg#*=} ;;
    --write-doc) write_doc=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "infer_bench: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
for v in images size reps; do
  if ! [[ "${!v}" =~ ^[0-9]+$ ]] || (( ${!v} < 1 )); then
    echo "infer_bench: $v needs a positive integer, got '${!v}'" >&2; exit 2
  fi
done
for v in batches threads; do
  [[ "${!v}" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "infer_bench: $v needs a list like 1,64, got '${!v}'" >&2; exit 2; }
done

orchard=${ORCHARD:-$repo/build/orchestrator/orchard}
train=${ORCHARD_TRAIN:-$repo/build/trainer/orchard-train}
[[ -x $orchard ]] || { echo "infer_bench: no orchard at $orchard (build it, or set ORCHARD)" >&2; exit 2; }
[[ -x $train ]] || { echo "infer_bench: no orchard-train at $train (build it, or set ORCHARD_TRAIN)" >&2; exit 2; }
orchard=$(cd "$(dirname "$orchard")" && pwd)/$(basename "$orchard")
train=$(cd "$(dirname "$train")" && pwd)/$(basename "$train")
py=/usr/bin/python3
"$py" -c 'import torch, PIL' 2>/dev/null || { echo "infer_bench: $py lacks torch or PIL (apt install python3-torch python3-pil)" >&2; exit 2; }
data_dir=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
[[ -f $data_dir/t10k-images-idx3-ubyte.gz ]] || { echo "infer_bench: no Fashion-MNIST in $data_dir" >&2; exit 2; }

scratch_base=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$scratch_base/orchard-infer-bench-XXXXXX")
cleanup() { if (( keep )); then echo "infer_bench: kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT
log() { echo "infer_bench: $*" >&2; }

# The model: a MobileNetV2 (cut at block_10, the trainer's default) with a
# 10-class head, exported by orchard-train as a bundle. Random backbone
# weights: speed does not depend on their values.
log "exporting a ${size}px MobileNetV2 bundle with $train"
(cd "$work" && "$train" finetune --data="fashion-mnist:$data_dir" --labels_per_class=10 --val_per_class=5 \
    --image_size="$size" --epochs=1 --pretrained=false --threads=2 --out="$work/train") >"$work/train.log" 2>&1 \
  || { log "FAILED: orchard-train finetune:"; tail -5 "$work/train.log" >&2; keep=1; exit 1; }
bundle=$work/train/model

# The images: the first N Fashion-MNIST test images as 28x28 grey PNG files
# in one folder per class, and the same files as a list for the peer.
"$py" - "$data_dir" "$work/images" "$images" <<'EOF'
import gzip, os, sys
import numpy as np
from PIL import Image
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pixels = gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")).read()
labels = gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")).read()[8:]
images = np.frombuffer(pixels, np.uint8, offset=16).reshape(-1, 28, 28)
if n > len(images):
    sys.exit(f"only {len(images)} test images")
for i in range(n):
    folder = os.path.join(out, f"class-{labels[i]}")
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(images[i]).save(os.path.join(folder, f"{i:05d}.png"))
EOF
(cd "$work/images" && find . -name '*.png' | sed 's|^\./||' | LC_ALL=C sort) >"$work/list.txt"
(cd "$work/images" && cp "$work/list.txt" images.list)
log "$images PNG images in $work/images; orchard $orchard"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
results="$work/results.jsonl"
: >"$results"
IFS=',' read -r -a batch_list <<<"$batches"
IFS=',' read -r -a thread_list <<<"$threads"
for t in "${thread_list[@]}"; do
  for b in "${batch_list[@]}"; do
    for ((r = 1; r <= reps; r++)); do
      for sys in orchard python; do
        out="$work/out-$sys-b$b-t$t-$r.jsonl"
        txt="$work/log-$sys-b$b-t$t-$r.txt"
        load=$(cut -d' ' -f1 /proc/loadavg)
        start=$(date +%s.%N)
        if [[ $sys == orchard ]]; then
          "$orchard" infer "$bundle" --input "$work/images" --output "$out" --cpu --workers 1 \
              --batch "$b" --threads "$t" --work "$work/job-b$b-t$t-$r" --keep-work --worker "$train" >"$txt" 2>&1 \
            || { log "FAILED: orchard infer (batch $b, threads $t):"; tail -5 "$txt" >&2; keep=1; exit 1; }
          # The worker's own figure: images / seconds since its model was loaded.
          cat "$work/job-b$b-t$t-$r"/worker-*.stdout >>"$txt"
        else
          "$py" "$here/infer_peer.py" --bundle "$bundle" --inputs "$work/images/images.list" --output "$out" \
              --batch "$b" --threads "$t" >"$txt" 2>&1 \
            || { log "FAILED: infer_peer.py (batch $b, threads $t):"; tail -5 "$txt" >&2; keep=1; exit 1; }
        fi
        end=$(date +%s.%N)
        "$py" - "$txt" "$sys" "$b" "$t" "$r" "$load" "$start" "$end" "$out" >>"$results" <<'EOF'
import json, sys
txt, system, batch, threads, rep, load, start, end, out = sys.argv[1:]
last = None
for line in open(txt):
    if line.startswith("@orchard ") and '"images_per_sec"' in line:
        last = json.loads(line[len("@orchard "):])
if last is None:
    sys.exit(f"no images_per_sec in {txt}")
print(json.dumps({"system": system, "batch": int(batch), "threads": int(threads), "rep": int(rep),
                  "load": float(load), "ips": last["images_per_sec"], "images": last["images"],
                  "wall": float(end) - float(start), "out": out}))
EOF
        log "batch $b, $t thread(s), rep $r, $sys: $(tail -1 "$results" | "$py" -c 'import json,sys; d=json.loads(sys.stdin.read()); print("%.1f images/s, %.2f s wall" % (d["ips"], d["wall"]))')"
      done
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

export B_RESULTS=$results B_LOAD_BEFORE="$load_before" B_LOAD_AFTER="$load_after" B_REPO=$repo
export B_WRITE_DOC=$write_doc B_IMAGES=$images B_SIZE=$size B_REPS=$reps B_HERE=$here
export B_BUILD=${ORCHARD_BUILD:-$(dirname "$(dirname "$orchard")")}
"$py" - <<'EOF'
import datetime, json, os, statistics, sys
sys.path.insert(0, os.environ["B_HERE"])
import bench_machine
import torch

e = os.environ
rows = [json.loads(l) for l in open(e["B_RESULTS"])]
med = statistics.median
goal = {1: 1.3}

def records(path):
    return {r["input"]: r for r in map(json.loads, open(path))}

settings = []
for r in rows:
    if (r["batch"], r["threads"]) not in settings:
        settings.append((r["batch"], r["threads"]))
table = []
for b, t in settings:
    o = [r for r in rows if (r["batch"], r["threads"], r["system"]) == (b, t, "orchard")]
    p = [r for r in rows if (r["batch"], r["threads"], r["system"]) == (b, t, "python")]
    # Agreement of the two outputs of the first rep: same inputs, same top-1.
    ro, rp = records(o[0]["out"]), records(p[0]["out"])
    same_inputs = set(ro) == set(rp)
    agree = sum(ro[k]["top"][0]["index"] == rp[k]["top"][0]["index"] for k in ro if k in rp)
    diff = max(abs(a["prob"] - c["prob"]) for k in ro if k in rp
               for a, c in zip(ro[k]["top"], rp[k]["top"]) if a["index"] == c["index"])
    table.append({"batch": b, "threads": t, "orchard": med(r["ips"] for r in o), "python": med(r["ips"] for r in p),
                  "orchard_wall": med(r["wall"] for r in o), "python_wall": med(r["wall"] for r in p),
                  "pairs": [a["ips"] / c["ips"] for a, c in zip(o, p)], "same_inputs": same_inputs,
                  "agree": agree, "n": len(ro), "diff": diff})

machine = bench_machine.machine(e["B_BUILD"], f"torch {torch.__version__} (python3-torch; orchard-train links the same libtorch)")
when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
loads = [r["load"] for r in rows]
print(f"\nbatch inference: {e['B_IMAGES']} PNG images, {e['B_SIZE']}px MobileNetV2 (block_10), {e['B_REPS']} reps\n")
print(f"{'batch':>6}{'threads':>8}{'orchard img/s':>15}{'python img/s':>14}{'ratio':>8}{'wall o/p s':>16}  per-run ratios; top-1 agreement")
for t in table:
    print(f"{t['batch']:>6}{t['threads']:>8}{t['orchard']:>15.1f}{t['python']:>14.1f}{t['orchard'] / t['python']:>7.2f}x"
          f"{t['orchard_wall']:>8.2f}/{t['python_wall']:<7.2f}  " + " ".join(f"{x:.2f}" for x in t["pairs"])
          + f"; {t['agree']}/{t['n']} (max prob diff {t['diff']:.1e})")
print(f"load average before/after: {e['B_LOAD_BEFORE']} / {e['B_LOAD_AFTER']}; at each run's start {min(loads):.2f}-{max(loads):.2f}")
print(f"machine: {machine}")
bad = [t for t in table if not t["same_inputs"] or t["agree"] != t["n"]]
if bad:
    sys.exit("infer_bench: Orchard and Python disagree on some images (see above)")
if e["B_WRITE_DOC"] != "1":
    sys.exit(0)

busy = max(loads) >= 2.5 or float(e["B_LOAD_BEFORE"].split()[0]) >= 1.0
lines = [
    f"Measured {when} on {machine}. {int(e['B_IMAGES']):,} Fashion-MNIST test images as 28×28 PNG files, "
    f"a {e['B_SIZE']}×{e['B_SIZE']} MobileNetV2 bundle (cut at block_10, 10 classes) exported by orchard-train; "
    f"`orchard infer --cpu --workers 1` against `infer_peer.py`, {e['B_REPS']} runs of each per setting, alternating. "
    f"Images/s are each program's own figure from its first image to its last record (process start-up and model "
    f"loading excluded for both; the wall column includes them). Load average (1, 5, 15 min) before / after: "
    f"{e['B_LOAD_BEFORE']} / {e['B_LOAD_AFTER']}"
    + (" (other work shared the machine)." if busy else "."),
    "",
    "| Batch | Threads | `orchard infer` images/s | python3-torch images/s | Orchard / Python | Per-run ratios | Wall s, Orchard / Python | Same top-1 | Goal |",
    "|---:|---:|---:|---:|---:|---|---:|---|---|",
]
for t in table:
    r = t["orchard"] / t["python"]
    g = goal.get(t["batch"], 1.0)
    lines.append(f"| {t['batch']} | {t['threads']} | {t['orchard']:.1f} | {t['python']:.1f} | **{r:.2f}x** | "
                 + ", ".join(f"{x:.2f}" for x in t["pairs"])
                 + f" | {t['orchard_wall']:.2f} / {t['python_wall']:.2f} | {t['agree']:,}/{t['n']:,} (max prob diff {t['diff']:.1e}) | "
                 f"≥ {g:.1f}x: {'met' if r >= g else 'NOT met'} |")
bench_machine.write_results(e["B_REPO"], "infer-bench", "Batch inference: orchard infer vs python3-torch", "\n".join(lines))
EOF
