#!/usr/bin/env python3
"""Writes the benchmark's config roots and dtsim scenarios into a folder (argument 1).

gate/   one service, 20 metric SLIs sharing one entity selector (benchmark a)
fleet/  1,000 services x 5 metric SLIs, objectives at the stage level (benchmark b)
"""
import json
import os
import sys

out = sys.argv[1]
latency_ms = int(sys.argv[2]) if len(sys.argv) > 2 else 100
services = int(sys.argv[3]) if len(sys.argv) > 3 else 1000

METRICS = {
    "builtin:service.response.time": {
        "unit": "MicroSecond", "default_aggregation": "avg", "resolution_inf_supported": True,
        "baseline": {"avg": 250000, "percentile(95)": 480000, "percentile(90)": 400000,
                     "percentile(50)": 200000, "min": 50000, "max": 900000, "median": 200000},
        "noise": 0.05},
    "builtin:service.errors.total.rate": {"unit": "Percent", "baseline": {"avg": 0.4, "min": 0.1, "max": 0.9}, "noise": 0.1},
    "builtin:service.requestCount.total": {"unit": "Count", "default_aggregation": "sum",
                                          "baseline": {"sum": 1200, "count": 1200}, "noise": 0.05},
}


def scenario(n_services):
    return {
        "seed": 7,
        "now": "2026-11-17T12:00:00Z",
        "tokens": [{"token": "dt0c01.BENCH.TOKEN", "scopes": ["metrics.read"]}],
        "services": [
            {"id": f"SERVICE-{i:016d}", "name": f"svc{i:04d}",
             "tags": ["keptn_project:bench", "keptn_stage:production", f"keptn_service:svc{i:04d}"]}
            for i in range(n_services)
        ],
        "metrics": METRICS,
        "faults": {"latency_ms": latency_ms},
    }


def selector(metric):
    return (f"metricSelector={metric}&entitySelector=type(SERVICE),"
            "tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),tag(keptn_service:$SERVICE)")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def config(root, slis, stage_level):
    lines = ["spec_version: \"1.0\"", "indicators:"]
    for name, metric in slis:
        lines.append(f"  {name}: {json.dumps(selector(metric))}")
    objectives = ["spec_version: \"1.0\"", "objectives:"]
    for name, _ in slis:
        objectives += [f"  - sli: {name}", "    pass:", "      - criteria: [\">=0\"]"]
    objectives += ["total_score:", "  pass: \"90%\"", "  warning: \"75%\""]
    base = os.path.join(root, "production") if stage_level else root
    write(os.path.join(base, "sli.yaml"), "\n".join(lines) + "\n")
    write(os.path.join(base, "slo.yaml"), "\n".join(objectives) + "\n")
    write(os.path.join(root, "slogate.yaml"),
          "defaults:\n  project: bench\n  stage: production\n" + ("" if stage_level else "  service: svc0000\n"))


rt = 'builtin:service.response.time:merge("dt.entity.service")'
er = 'builtin:service.errors.total.rate:merge("dt.entity.service")'
rc = 'builtin:service.requestCount.total:merge("dt.entity.service")'
gate_slis = [(f"rt_{a.replace('(', '').replace(')', '')}", f"{rt}:{a}") for a in
             ["avg", "min", "max", "median", "percentile(50)", "percentile(75)", "percentile(90)",
              "percentile(95)", "percentile(99)"]]
gate_slis += [(f"rt_ms_{a.replace('(', '').replace(')', '')}", f"{rt}:{a}:toUnit(MicroSecond,MilliSecond)") for a in
              ["avg", "min", "max", "percentile(90)", "percentile(95)"]]
gate_slis += [(f"err_{a}", f"{er}:{a}") for a in ["avg", "min", "max"]]
gate_slis += [("requests_sum", f"{rc}:sum"), ("requests_count", f"{rc}:count"), ("requests_auto", f"{rc}:auto")]
assert len(gate_slis) == 20

fleet_slis = [("rt_avg", f"{rt}:avg"), ("rt_p95", f"{rt}:percentile(95)"), ("err_avg", f"{er}:avg"),
              ("requests", f"{rc}:sum"), ("rt_max", f"{rt}:max")]

config(os.path.join(out, "gate"), gate_slis, stage_level=False)
config(os.path.join(out, "fleet"), fleet_slis, stage_level=True)
write(os.path.join(out, "gate.json"), json.dumps(scenario(1)))
write(os.path.join(out, "fleet.json"), json.dumps(scenario(services)))
with open(os.path.join(out, "services.txt"), "w") as f:
    f.write("\n".join(f"svc{i:04d}" for i in range(services)) + "\n")
