#!/usr/bin/env bash
# Benchmark of slogate against dtsim with injected latency (not part of the test suite).
#   (a) one gate of 20 SLIs at 100 ms latency: target within 1.3x of one round trip + process start
#   (b) 1,000 services x 5 SLIs at concurrency 16: target within 1.5x of the ideal, < 100 MB RSS
# Usage: benches/run.sh [latency_ms] [services]
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY_MS=${1:-100}
SERVICES=${2:-1000}
CONCURRENCY=16

cargo build --release -q -p slogate -p dtsim
BIN=target/release/slogate
SIM=target/release/dtsim
WORK=$(mktemp -d)
SIM_PIDS=()
cleanup() { for p in "${SIM_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

python3 benches/make_fixtures.py "$WORK" "$LATENCY_MS" "$SERVICES"

# Starts dtsim in this shell (so the trap can stop it) and sets URL.
start_sim() { # scenario name
  "$SIM" --scenario "$1" --port 0 --max-seconds 600 >"$WORK/sim.$2.out" 2>&1 &
  SIM_PIDS+=($!)
  for _ in $(seq 1 100); do
    if grep -q listening "$WORK/sim.$2.out" 2>/dev/null; then break; fi
    sleep 0.05
  done
  URL=$(sed -n 's/^listening on //p' "$WORK/sim.$2.out" | head -1)
}

# wall seconds, peak RSS (KiB) of a command; its stdout goes to $WORK/out.json
measure() {
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >"$WORK/out.json" 2>"$WORK/err" || true
  cat "$WORK/time"
}

export DT_API_TOKEN=dt0c01.BENCH.TOKEN
WINDOW=(--from 2026-11-17T10:00:00Z --to 2026-11-17T11:00:00Z)

# Process start: the same binary doing no network work.
read -r START_S _ < <(measure "$BIN" --version)
START_MS=$(python3 -c "print(round($START_S*1000))")

# (a)
start_sim "$WORK/gate.json" gate
export DT_URL=$URL
read -r A_S A_KB < <(measure "$BIN" eval --config "$WORK/gate" "${WINDOW[@]}" --format json --concurrency "$CONCURRENCY")
A_REQ=$(python3 -c "import json;print(json.load(open('$WORK/out.json'))['source']['requests'])")
A_RESULT=$(python3 -c "import json;print(json.load(open('$WORK/out.json'))['result'])")
A_IDEAL_MS=$((LATENCY_MS + START_MS))

# (b)
start_sim "$WORK/fleet.json" fleet
export DT_URL=$URL
SVC_ARGS=()
while read -r s; do SVC_ARGS+=(--service "$s"); done <"$WORK/services.txt"
read -r B_S B_KB < <(measure "$BIN" eval --config "$WORK/fleet" --stage production "${SVC_ARGS[@]}" "${WINDOW[@]}" --format json --concurrency "$CONCURRENCY")
B_REQ=$(python3 -c "import json;d=json.load(open('$WORK/out.json'));print(d[0]['source']['requests'])")
B_PASS=$(python3 -c "import json;d=json.load(open('$WORK/out.json'));print(sum(r['result']=='pass' for r in d), '/', len(d))")
# one round trip per service (5 SLIs batched into one request)
B_IDEAL_MS=$(python3 -c "print(round($SERVICES*$LATENCY_MS/$CONCURRENCY + $START_MS))")

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
A_MS=$(python3 -c "print(round($A_S*1000))")
B_MS=$(python3 -c "print(round($B_S*1000))")
cat <<TXT
latency ${LATENCY_MS} ms, concurrency ${CONCURRENCY}, process start ${START_MS} ms
(a) 1 service x 20 SLIs:  ${A_MS} ms wall, ${A_REQ} requests, peak RSS $((A_KB / 1024)) MiB, result ${A_RESULT}; ideal ${A_IDEAL_MS} ms (1 round trip + start) -> $(ratio "$A_MS" "$A_IDEAL_MS")x (target <= 1.3x)
(b) ${SERVICES} services x 5 SLIs: ${B_MS} ms wall, ${B_REQ} requests, peak RSS $((B_KB / 1024)) MiB, pass ${B_PASS}; ideal ${B_IDEAL_MS} ms (${SERVICES} round trips x ${LATENCY_MS} ms / ${CONCURRENCY} + start) -> $(ratio "$B_MS" "$B_IDEAL_MS")x (target <= 1.5x, < 100 MiB)
TXT
