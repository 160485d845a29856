#!/usr/bin/env bash
# Installs every Debian package Orchard needs to build, test and benchmark.
# Idempotent: packages already present are not fetched again. Needs root.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config ccache git ca-certificates
  libsqlite3-dev libboost-dev libboost-filesystem-dev libcli11-dev nlohmann-json3-dev
  libcpp-httplib-dev libyaml-cpp-dev libstb-dev libgtest-dev libgmock-dev
  libtorch-dev libopenblas0-pthread
  # data: Fashion-MNIST as gzipped IDX files under /usr/share/datasets/fashion-mnist
  dataset-fashion-mnist
  # tests and benchmarks: the peers run side by side; torchvision exports the
  # ResNet-18 the TorchScript-backbone test fine-tunes, PIL writes test images
  python3 python3-torch python3-torchvision python3-pil python3-optuna python3-pandas
  chromium  # the dashboard's end-to-end tests drive it headless (tests/e2e/)
  # executor tests (tests/fixtures): a single-node Slurm with munge, and sshd hosts in
  # network namespaces (ip); the fixtures run their own daemons, apart from any system ones
  slurmctld slurmd slurm-client munge openssh-server openssh-client iproute2
)

# Node.js and npm install the pinned front-end and model packages (package.json).
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

top=$(cd "$(dirname "$0")/.." && pwd)
# npm packages (package-lock.json pins them): the pretrained MobileNetV2 in
# nsfwjs and @tensorflow/tfjs for reference outputs. Re-installed only when
# the lockfile changed since the last install.
npm_install() {
  if [ -f "$top/node_modules/.package-lock.json" ] &&
     [ "$top/node_modules/.package-lock.json" -nt "$top/package-lock.json" ] &&
     [ -f "$top/node_modules/nsfwjs/package.json" ] &&
     [ -f "$top/node_modules/echarts/package.json" ] &&
     [ -f "$top/node_modules/diff2html/package.json" ] &&
     [ -f "$top/node_modules/playwright-core/package.json" ]; then
    echo "install-deps: npm packages present"
    return
  fi
  echo "install-deps: npm ci"
  (cd "$top" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  npm_install
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
npm_install
echo "install-deps: done"
