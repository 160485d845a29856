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
  # tests and benchmarks: the peers run side by side
  python3 python3-torch python3-optuna
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
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
echo "install-deps: done"
