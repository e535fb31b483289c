#!/usr/bin/env bash
# Proves the static Linux binary is static and runs in an empty root: a temporary folder holding
# only the binary and the CA certificates (/etc/ssl/certs/ca-certificates.crt) -- the same files
# the FROM-scratch image (Dockerfile) holds -- entered with chroot (needs root).
#
#   1. `file` and `readelf` show no program interpreter and no NEEDED shared library;
#   2. in the root: --version, lint and score on a copy of slo-examples/web-service;
#   3. in the root: mark, gate and eval against the Dynatrace simulator (tools/dtsim, running
#      outside the root) on 127.0.0.1.
#
# Usage: dist/test-static.sh [BINARY]   (default: builds it with dist/build-static.sh)
# Without root (no chroot) it runs step 1 and then stops with exit 2.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${1:-$(bash dist/build-static.sh | tail -n 1)}
target_dir=${CARGO_TARGET_DIR:-$root/target}

passed=0
failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
  fi
}

echo "== static: $bin"
file "$bin"
check "file: statically linked" yes "$(file -L "$bin" | grep -Eq 'static(ally|-pie) linked' && echo yes)"
check "readelf: no program interpreter" 0 "$(readelf -l "$bin" | grep -c 'Requesting program interpreter' || true)"
check "readelf: no NEEDED library" 0 "$(readelf -d "$bin" | grep -c '(NEEDED)' || true)"

if [ "$(id -u)" -ne 0 ] || ! command -v chroot >/dev/null; then
  echo "the empty-root test needs root and chroot" >&2
  exit 2
fi

cargo build --quiet --locked -p dtsim
work=$(mktemp -d)
chroot=$(command -v chroot)
sim=""
cleanup() {
  [ -z "$sim" ] || kill "$sim" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# The root: the binary, the CA bundle, a copy of the examples, and an empty /tmp for the outputs.
r="$work/root"
mkdir -p "$r/etc/ssl/certs" "$r/tmp" "$r/work"
cp "$bin" "$r/slogate"
cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
cp -r slo-examples/web-service slo-examples/demo "$r/work/"
echo "== the root, besides the examples copied to /work and an empty /tmp:"
(cd "$r" && find . -type f -not -path './work/*' | sort)
in_root() { env -i PATH=/ "$chroot" "$r" /slogate "$@"; }

rc=0
out=$(in_root --version) || rc=$?
check "root: --version exit" 0 "$rc"
check "root: --version says slogate" yes "$(echo "$out" | grep -q '^slogate ' && echo yes)"
echo "   $out"
rc=0
in_root lint /work/web-service >"$work/lint.log" 2>&1 || rc=$?
check "root: lint exit" 0 "$rc"
rc=0
in_root score --slo /work/web-service/slo.yaml --values /work/web-service/values.json \
  --previous /work/web-service/previous.json --format json >"$work/score.json" 2>"$work/score.err" || rc=$?
check "root: score runs (exit 0 or 1)" yes "$([ "$rc" -le 1 ] && echo yes)"
check "root: score result" yes "$(grep -Eq '"result": *"(pass|warning|fail)"' "$work/score.json" && echo yes)"

echo "== the simulator outside the root, on loopback"
: >"$work/dtsim.log"
"$target_dir/debug/dtsim" --scenario slo-examples/demo/scenario.json --port 0 --max-seconds 120 >"$work/dtsim.log" 2>&1 &
sim=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$work/dtsim.log" && break; sleep 0.05; done
dt_url=$(sed -n 's/^listening on //p' "$work/dtsim.log" | head -n 1)
check "dtsim listening" yes "$([ -n "$dt_url" ] && echo yes)"
echo "   $dt_url"
dt() { env -i PATH=/ DT_URL="$dt_url" DT_API_TOKEN=dt0c01.SIMULATOR.TOKEN SLOGATE_HISTORY=/tmp/history.sqlite \
  "$chroot" "$r" /slogate "$@"; }
rc=0
dt mark --config /work/demo --version 2.0.0 --time now-30m >"$work/mark.log" 2>&1 || rc=$?
check "root: mark exit" 0 "$rc"
rc=0
dt gate --config /work/demo --since-deployment --timeframe 25m --report-dir /tmp/report >"$work/gate.log" 2>&1 || rc=$?
check "root: gate exit (the demo fails: 40 % slower)" 1 "$rc"
check "root: gate wrote junit.xml" yes "$([ -f "$r/tmp/report/junit.xml" ] && echo yes)"
rc=0
dt eval --config /work/demo --from now-30m --to now-5m --format json >"$work/eval.json" 2>"$work/eval.err" || rc=$?
check "root: eval ran (exit 0 or 1)" yes "$([ "$rc" -le 1 ] && echo yes)"
check "root: eval result" yes "$(grep -Eq '"result": *"(pass|warning|fail)"' "$work/eval.json" && echo yes)"
check "root: history written" yes "$([ -s "$r/tmp/history.sqlite" ] && echo yes)"

if [ "$failed" -ne 0 ]; then
  for f in "$work"/*.log "$work"/*.err; do echo "--- $f"; tail -n 20 "$f"; done
fi
echo "static: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
