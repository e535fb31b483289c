#!/usr/bin/env bash
# The README's test command: installs what the tests need that cargo does not bring, then runs
# every test of the workspace. `.ci/run` calls this same script.
#
#   - the Debian package `chromium` and the npm package `axe-core` (history page tests);
#   - the Debian package `prometheus` (its server and promtool): tests/cli/prom_server.rs runs the
#     Prometheus tests against a real server. Installed with apt-get (through sudo when not root);
#     on a machine without apt-get, install Prometheus 2.x so that `prometheus` and `promtool` are
#     on PATH and run this again.
#
# A missing server fails its tests here instead of skipping them (SLOGATE_TEST_REQUIRE_PROMETHEUS).
# Extra arguments go to cargo test: `bash tests/run.sh prometheus` runs the tests matching it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "== installing the Debian package prometheus (for the real-Prometheus tests)"
  if ! command -v apt-get >/dev/null; then
    echo "tests/run.sh: no apt-get here: install Prometheus (prometheus and promtool on PATH), then run this again" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  # The package's own service is not needed: the tests start servers of their own.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
echo "== $(prometheus --version 2>&1 | head -1)"

# Headless Chromium and axe-core: tests/cli/history_page.rs renders the history page in the
# browser and checks it with axe-core (npm), kept in target/test-tools.
if ! command -v chromium >/dev/null; then
  echo "== installing the Debian package chromium (for the history page tests)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -f target/test-tools/node_modules/axe-core/axe.min.js ]; then
  echo "== installing axe-core (npm) into target/test-tools"
  mkdir -p target/test-tools
  (cd target/test-tools && npm install --silent --no-audit --no-fund axe-core@4 >/dev/null)
fi
echo "== $(chromium --version 2>&1 | head -1)"

echo "== cargo test --workspace"
SLOGATE_TEST_REQUIRE_PROMETHEUS=1 SLOGATE_TEST_REQUIRE_CHROMIUM=1 cargo test --workspace --locked "$@"
