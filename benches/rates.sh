#!/usr/bin/env bash
# Benchmark of the adaptive request rate against dtsim environments (not part of the test suite).
#   (1) one environment admitting 64 requests at once, 100 services x 5 SLIs at 50 ms:
#       default flags vs `--concurrency 8` (the old fixed default; the adaptive limit starts at the
#       ceiling when that is below 16, so a ceiling of 8 is the old behaviour). Target: default at least 1.6x faster.
#   (2) one environment admitting 4 (429 + Retry-After: 1 beyond): default flags vs
#       `--concurrency 4`. Target: one back-off only (no 429 after it), at most 10% slower.
# Usage: benches/rates.sh [latency_ms] [services] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
LATENCY_MS=${1:-50}
SERVICES=${2:-100}
RUNS=${3:-3}

cargo build --release -q -p slogate -p dtsim
BIN=target/release/slogate
SIM=target/release/dtsim
WORK=$(mktemp -d)
SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

python3 benches/make_fixtures.py "$WORK" "$LATENCY_MS" "$SERVICES"
# The fleet scenario's data in two environments: `wide` admits 64, `narrow` 4.
python3 - "$WORK/fleet.json" <<'PY'
import json, sys
p = sys.argv[1]
sc = json.load(open(p))
tokens = sc["tokens"]
sc["environments"] = {"list": [
    {"id": "wide", "tokens": tokens, "concurrency": 64},
    {"id": "narrow", "tokens": tokens, "concurrency": 4, "retry_after_s": 1},
]}
json.dump(sc, open(p, "w"))
PY

"$SIM" --scenario "$WORK/fleet.json" --port 0 --max-seconds 900 >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/sim.out" 2>/dev/null && break; sleep 0.05; done
URL=$(sed -n 's/^listening on //p' "$WORK/sim.out" | head -1)

export DT_API_TOKEN=dt0c01.BENCH.TOKEN
SVC_ARGS=()
while read -r s; do SVC_ARGS+=(--service "$s"); done <"$WORK/services.txt"

# run ENV [flags...]: prints "wall_ms throttled late_429s pass", best (lowest wall) of $RUNS
run() {
  local env=$1; shift
  local best=
  for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e" -o "$WORK/time" env DT_URL="$URL/e/$env" "$BIN" -v eval --config "$WORK/fleet" \
      --stage production "${SVC_ARGS[@]}" --from 2026-11-17T10:00:00Z --to 2026-11-17T11:00:00Z \
      --format json "$@" >"$WORK/out.json" 2>"$WORK/err" || true
    local ms throttled backoffs pass
    ms=$(python3 -c "print(round(float(open('$WORK/time').read().split()[-1])*1000))")
    throttled=$(grep -c -- '-> 429 (' "$WORK/err" || true)
    # 429s after the first answered request: the target is none once the first back-off is done
    # (the burst of the first round trip is one back-off, however many answers tighten it).
    backoffs=$(awk '/-> 200 \(/{ok=1} ok && /-> 429 \(/{n++} END{print n+0}' "$WORK/err")
    pass=$(python3 -c "import json;d=json.load(open('$WORK/out.json'));print(f\"{sum(r['result']=='pass' for r in d)}/{len(d)}\")")
    if [ -z "$best" ] || [ "$ms" -lt "${best%% *}" ]; then best="$ms $throttled $backoffs $pass"; fi
  done
  echo "$best"
}

read -r W8 _ _ W8P < <(run wide --concurrency 8)
read -r WA WAT _ WAP < <(run wide)
read -r N4 N4T _ N4P < <(run narrow --concurrency 4)
read -r NA NAT NAB NAP < <(run narrow)

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
cat <<TXT
latency ${LATENCY_MS} ms, ${SERVICES} services x 5 SLIs (one request each), best of ${RUNS}
(1) admits 64: --concurrency 8 ${W8} ms (pass ${W8P}); default ${WA} ms (pass ${WAP}, ${WAT} x 429) -> $(ratio "$W8" "$WA")x faster (target >= 1.6x)
(2) admits 4:  --concurrency 4 ${N4} ms (pass ${N4P}, ${N4T} x 429); default ${NA} ms (pass ${NAP}, ${NAT} x 429, all in the first round trip but ${NAB}) -> $(ratio "$NA" "$N4")x the time (target <= 1.10x, 0 x 429 after the first back-off)
TXT
