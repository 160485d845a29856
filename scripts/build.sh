#!/usr/bin/env bash
# Configures and builds Orchard into ./build (or $ORCHARD_BUILD). Idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ORCHARD_BUILD:-$top/build}
jobs=${ORCHARD_JOBS:-$(nproc)}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j "$jobs"
echo "build: $build/orchestrator/orchard"
