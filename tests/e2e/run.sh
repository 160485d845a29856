#!/usr/bin/env bash
# The dashboard's end-to-end tests (CTest: web.e2e): node's test runner runs
# tests/e2e/*.test.mjs, which start real `orchard` processes and drive
# Debian's chromium with playwright-core. Needs ORCHARD (the built binary).
#
# Without node, chromium or the npm packages it exits 77, which CTest
# reports as skipped; with ORCHARD_REQUIRE_E2E=1 that is a failure instead.
# scripts/install-deps.sh installs all of them.
#
# Screenshots: $ORCHARD_E2E_SCREENSHOTS, else the build folder's
# e2e-screenshots/ (CTest sets ORCHARD_E2E_SCREENSHOTS_DEFAULT), else
# build/e2e-screenshots/ of the source tree.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

missing() {
  if [ "${ORCHARD_REQUIRE_E2E:-0}" = 1 ]; then
    echo "web.e2e: FAILED: $1; run scripts/install-deps.sh (ORCHARD_REQUIRE_E2E=1 requires these tests)" >&2
    exit 1
  fi
  echo "web.e2e: skipped: $1; run scripts/install-deps.sh to run these tests"
  exit 77
}

command -v node >/dev/null 2>&1 || missing "node is not installed"
export ORCHARD_CHROMIUM=${ORCHARD_CHROMIUM:-/usr/bin/chromium}
[ -x "$ORCHARD_CHROMIUM" ] || missing "no chromium at $ORCHARD_CHROMIUM (Debian package chromium)"
for f in playwright-core/package.json echarts/dist/echarts.min.js diff2html/bundles/js/diff2html.min.js; do
  [ -f "$top/node_modules/$f" ] || missing "node_modules/$f is missing (npm ci)"
done
if [ -z "${ORCHARD:-}" ] || [ ! -x "$ORCHARD" ]; then
  echo "web.e2e: set ORCHARD to the built orchard binary (CTest does)" >&2
  exit 1
fi

export ORCHARD_E2E_SCREENSHOTS=${ORCHARD_E2E_SCREENSHOTS:-${ORCHARD_E2E_SCREENSHOTS_DEFAULT:-$top/build/e2e-screenshots}}
mkdir -p "$ORCHARD_E2E_SCREENSHOTS"
echo "web.e2e: $("$ORCHARD_CHROMIUM" --version 2>/dev/null || echo chromium); screenshots in $ORCHARD_E2E_SCREENSHOTS"
cd "$top"
# One file at a time (each starts its own servers and browser); every test
# and hook is bounded.
exec node --test --test-concurrency=1 --test-timeout=240000 tests/e2e/*.test.mjs
