#!/usr/bin/env bash
# The release loop on a real Prometheus, no cluster needed (Debian: apt-get install prometheus):
#   1. promtool backfills two hours of checkout's metrics; a release at 11:00 doubled p95,
#   2. a Prometheus server on 127.0.0.1 serves them (stopped when this script ends),
#   3. slogate lint, then eval of the hour before the release,
#   4. gate --deployment-time for a clean deployment at 10:30 (passes) and the release at 11:00
#      (fails, naming the objective, with every report written).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-target/prometheus-report}
for bin in prometheus promtool python3; do
  command -v "$bin" >/dev/null || { echo "$bin is needed (apt-get install -y --no-install-recommends prometheus python3)" >&2; exit 2; }
done
if [ -z "${SLOGATE:-}" ]; then
  echo "== building slogate"
  cargo build --quiet -p slogate
  SLOGATE=target/debug/slogate
fi

W=$(mktemp -d)
PROM=""
trap '[ -n "$PROM" ] && kill "$PROM" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
echo "== backfilling 2026-11-17 10:00Z..12:00Z (release at 11:00Z)"
python3 slo-examples/prometheus/openmetrics.py >"$W/data.om"
promtool tsdb create-blocks-from openmetrics "$W/data.om" "$W/data" >/dev/null
printf 'global: {}\nscrape_configs: []\n' >"$W/prometheus.yml"
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/data" \
  --web.listen-address="127.0.0.1:$PORT" >"$W/log" 2>&1 &
PROM=$!
for _ in $(seq 1 200); do
  curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1 && break
  sleep 0.05
done
export PROMETHEUS_URL="http://127.0.0.1:$PORT"
# Verdicts of this run only: a second run starts from the same state.
export SLOGATE_HISTORY="$W/history.sqlite"
echo "   Prometheus at $PROMETHEUS_URL"

echo
echo "== slogate lint"
$SLOGATE lint slo-examples/prometheus

echo
echo "== slogate eval: the half hour before the release"
$SLOGATE eval --config slo-examples/prometheus --from 2026-11-17T10:30:00Z --to 2026-11-17T11:00:00Z

echo
echo "== slogate gate: a clean deployment at 10:30 (after vs before)"
$SLOGATE gate --config slo-examples/prometheus --deployment-time 2026-11-17T10:30:00Z --timeframe 30m

echo
echo "== slogate gate: the release at 11:00"
set +e
$SLOGATE gate --config slo-examples/prometheus --deployment-time 2026-11-17T11:00:00Z --timeframe 30m --report-dir "$OUT"
CODE=$?
set -e
echo
echo "== exit code $CODE (0 pass, 1 fail, 2 invalid input, 3 could not evaluate)"
echo "   reports: $(ls "$OUT" | tr '\n' ' ')in $OUT/ (open report.html for the charts)"
if [ "$CODE" -ne 1 ]; then
  echo "the example expected the release gate to fail (exit 1)" >&2
  exit 1
fi
