#!/usr/bin/env bash
# Fleet benchmark (docs/fleets.md, "Speed and memory"): one `slogate eval --environments all`
# over N environments x 1 service x 5 metric SLIs, each environment a dtsim tenant under
# /e/<id> answering after 50 ms and admitting 4 requests at once (429 + Retry-After beyond).
# Targets: wall <= 1.3 x (requests x 50 ms / the concurrency the fleet admits under the default
# global cap), no environment lost to throttling, peak RSS < 100 MB, the same RSS (+-20 %) at
# 10,000 environments.
# Usage: benches/fleet.sh [environments...]   (default: 2000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(2000 10000)
LATENCY_MS=50
PER_ENV=4

cargo build --release -q -p slogate -p dtsim
BIN=$PWD/target/release/slogate
SIM=$PWD/target/release/dtsim
WORK=$(mktemp -d)
SIM_PID=
cleanup() { [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# The global cap in effect by default (source::limit::DEFAULT_GLOBAL_CAP).
CAP=$(sed -n 's/^pub const DEFAULT_GLOBAL_CAP: usize = \([0-9_]*\);/\1/p' src/source/limit.rs | tr -d _)

for N in "${SIZES[@]}"; do
  python3 - "$WORK" "$N" "$LATENCY_MS" "$PER_ENV" <<'PY'
import json, os, sys
work, n, latency, per_env = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
width = len(str(n))
rt = 'builtin:service.response.time:merge("dt.entity.service")'
er = 'builtin:service.errors.total.rate:merge("dt.entity.service")'
rc = 'builtin:service.requestCount.total:merge("dt.entity.service")'
slis = [("rt_avg", f"{rt}:avg"), ("rt_p95", f"{rt}:percentile(95)"), ("err_avg", f"{er}:avg"),
        ("requests", f"{rc}:sum"), ("rt_max", f"{rt}:max")]
scenario = {
    "seed": 7, "now": "2026-11-17T12:00:00Z",
    "tokens": [{"token": "dt0c01.ROOT.TOKEN", "scopes": ["metrics.read"]}],
    "services": [{"id": "SERVICE-0000000000000001", "name": "checkout",
                  "tags": ["keptn_project:bench", "keptn_stage:production", "keptn_service:checkout"]}],
    "metrics": {
        "builtin:service.response.time": {"unit": "MicroSecond", "default_aggregation": "avg",
            "baseline": {"avg": 250000, "percentile(95)": 480000, "max": 900000}, "noise": 0.05},
        "builtin:service.errors.total.rate": {"unit": "Percent", "baseline": {"avg": 0.4}, "noise": 0.1},
        "builtin:service.requestCount.total": {"unit": "Count", "default_aggregation": "sum",
            "baseline": {"sum": 1200}, "noise": 0.05}},
    "environments": {"generate": {"count": n, "prefix": "env", "token_prefix": "dt0c01.FLEET.",
                                  "concurrency": per_env, "latency_ms": latency, "retry_after_s": 1}},
}
json.dump(scenario, open(os.path.join(work, "scenario.json"), "w"))
root = os.path.join(work, "slo")
os.makedirs(root, exist_ok=True)
with open(os.path.join(root, "sli.yaml"), "w") as f:
    f.write('spec_version: "1.0"\nindicators:\n')
    for name, m in slis:
        sel = f"metricSelector={m}&entitySelector=type(SERVICE),tag(keptn_service:$SERVICE)"
        f.write(f"  {name}: {json.dumps(sel)}\n")
with open(os.path.join(root, "slo.yaml"), "w") as f:
    f.write('spec_version: "1.0"\nobjectives:\n')
    for name, _ in slis:
        f.write(f'  - sli: {name}\n    pass:\n      - criteria: [">=0"]\n')
    f.write('total_score:\n  pass: "90%"\n  warning: "75%"\n')
with open(os.path.join(root, "slogate.yaml"), "w") as f:
    f.write("defaults: {project: bench, stage: production, service: checkout}\nenvironments:\n")
    for i in range(1, n + 1):
        e = f"env{i:0{width}d}"
        f.write(f"  {e}: {{url: URL/e/{e}, token_env: DT_TOKEN_{e.upper()}}}\n")
with open(os.path.join(work, "tokens.env"), "w") as f:
    for i in range(1, n + 1):
        e = f"env{i:0{width}d}"
        f.write(f"DT_TOKEN_{e.upper()}=dt0c01.FLEET.{e}\n")
PY
  "$SIM" --scenario "$WORK/scenario.json" --port 0 --max-seconds 900 >"$WORK/sim.out" 2>"$WORK/sim.err" &
  SIM_PID=$!
  for _ in $(seq 1 100); do grep -q listening "$WORK/sim.out" 2>/dev/null && break; sleep 0.05; done
  URL=$(sed -n 's/^listening on //p' "$WORK/sim.out" | head -1)
  sed -i "s|URL/e/|$URL/e/|" "$WORK/slo/slogate.yaml"
  # Every tenant's token in the environment, as a CI would expose its secrets.
  set -a; . "$WORK/tokens.env"; set +a
  /usr/bin/time -v -o "$WORK/time" ${PROFILE:+perf record -F 999 -g -o "$PROFILE"} "$BIN" eval --config "$WORK/slo" \
    --from 2026-11-17T10:00:00Z --to 2026-11-17T11:00:00Z --environments all --format jsonl ${PARALLEL:+--parallel $PARALLEL} \
    >"$WORK/out.jsonl" 2>"$WORK/err" || true
  cp -r "$WORK" /tmp/fleetwork; kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; SIM_PID=
  python3 - "$WORK" "$N" "$LATENCY_MS" "$PER_ENV" "$CAP" <<'PY'
import json, re, sys
work, n, latency, per_env, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
t = open(f"{work}/time").read()
wall_s = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split()[0]
parts = [float(x) for x in wall_s.split(":")]
wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
rows = [json.loads(l) for l in open(f"{work}/out.jsonl")]
end = rows[-1]
results = {}
for r in rows[:-1]:
    results[r["result"]] = results.get(r["result"], 0) + 1
sim = open(f"{work}/sim.err").read()
m = re.search(r"environments answered (\d+) requests, (\d+) of them 429", sim)
answered, throttled = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
useful = answered - throttled
admitted = min(cap, per_env * n)
ideal = useful * latency / 1000 / admitted
print(f"{n} environments x 1 service x 5 SLIs, {latency} ms, {per_env} admitted per environment, global cap {cap}")
print(f"  wall {wall:.2f} s, peak RSS {rss_kb / 1024:.1f} MiB, results {results}, fleet {end['result']}")
print(f"  requests answered {answered} ({throttled} of them 429), {useful} served; ideal {ideal:.2f} s "
      f"({useful} x {latency} ms / {admitted}) -> {wall / ideal:.2f}x (target <= 1.3x)")
err = open(f"{work}/err").read().strip().splitlines()
print("  last stderr line:", err[-1] if err else "")
cpu = re.search(r"Percent of CPU this job got: (\d+)", t).group(1)
print(f"  CPU {cpu} %")
PY
done
