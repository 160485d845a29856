#!/usr/bin/env bash
# The whole test suite: install, build, run every test with CTest.
# Idempotent; runs as root on a fresh Debian bookworm (CI calls exactly this).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
cd "$top/build"
# Everything is installed above, so a browser test that cannot run is a failure, not a skip.
export ORCHARD_REQUIRE_E2E=1
ctest --output-on-failure -j "${ORCHARD_TEST_JOBS:-2}" --timeout 600
