#!/usr/bin/env bash
# The whole release loop on a simulated Dynatrace, no account needed:
#   1. a simulated environment in which checkout got 40 % slower 30 minutes ago,
#   2. `slogate mark` records the deployment of checkout 2.0.0 at that time,
#   3. `slogate gate --since-deployment` compares the 25 minutes after it with the 25 before,
#   4. the gate fails, names the objectives, writes every report and publishes the release
#      comparison dashboard, whose link the demo prints at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-target/demo-report}

echo "== building slogate and the Dynatrace simulator"
cargo build --quiet -p slogate -p dtsim
SLOGATE=target/debug/slogate

LOG=$(mktemp)
target/debug/dtsim --scenario slo-examples/demo/scenario.json --port 0 --max-seconds 300 >"$LOG" 2>&1 &
SIM=$!
trap 'kill "$SIM" 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do grep -q listening "$LOG" && break; sleep 0.05; done
export DT_URL; DT_URL=$(sed -n 's/^listening on //p' "$LOG" | head -1)
export DT_API_TOKEN=dt0c01.SIMULATOR.TOKEN
echo "   simulated Dynatrace at $DT_URL"

# The history of this demo lives beside its reports, not in the repository.
mkdir -p "$OUT"
export SLOGATE_HISTORY="$OUT/history.sqlite"
rm -f "$SLOGATE_HISTORY"

echo
echo "== earlier releases: three evaluations recorded in the history (slogate eval --record)"
for i in 0 1 2; do
  start=$((180 - 45 * i))
  verdict=$($SLOGATE eval --config slo-examples/demo --from "now-${start}m" --to "now-$((start - 25))m" \
    --record --label "version=1.$((7 + i)).0") || true
  echo "   1.$((7 + i)).0: ${verdict%%$'\n'*}"
done

echo
echo "== slogate mark: checkout 2.0.0 was deployed 30 minutes ago"
$SLOGATE mark --config slo-examples/demo --version 2.0.0 --time now-30m

echo
echo "== slogate gate: after vs before the deployment"
set +e
$SLOGATE gate --config slo-examples/demo --since-deployment --timeframe 25m --report-dir "$OUT" --push-result --publish-dashboard
CODE=$?
set -e

echo
echo "== slogate history report: the four releases as a heatmap (docs/history.md)"
$SLOGATE history report -o "$OUT/history.html"

echo
echo "== exit code $CODE (0 pass, 1 fail, 2 invalid input, 3 could not evaluate)"
echo "   reports: $(ls "$OUT" | tr '\n' ' ')in $OUT/ (open report.html for the charts)"
if [ "$CODE" -ne 1 ]; then
  echo "the demo expected the gate to fail (exit 1)" >&2
  exit 1
fi

echo
echo "== dashboard mode: the objectives of a KQG dashboard (slo-examples/dashboard, docs/dashboards.md)"
DLOG=$(mktemp)
target/debug/dtsim --scenario slo-examples/dashboard/scenario.json --port 0 --max-seconds 300 >"$DLOG" 2>&1 &
DSIM=$!
trap 'kill "$SIM" "$DSIM" 2>/dev/null || true; rm -f "$LOG" "$DLOG"' EXIT
for _ in $(seq 1 100); do grep -q listening "$DLOG" && break; sleep 0.05; done
DEMO_URL=$DT_URL
DT_URL=$(sed -n 's/^listening on //p' "$DLOG" | head -1)
$SLOGATE gate --config slo-examples/dashboard --deployment-time 2026-11-17T10:00Z --timeframe 1h --delay 0s --baseline window

echo
echo "== the release comparison dashboard (docs/release-dashboard.md): the gate's report, published again"
echo "   (the same dashboard is updated, never duplicated)"
DT_URL=$DEMO_URL $SLOGATE dashboard publish --config slo-examples/demo "$OUT/report.json"
