#!/usr/bin/env python3
"""Verdict quality of `slogate gate`: Keptn's comparison vs `--judge statistical`.

Simulated releases with ground truth, served by dtsim's request-level traffic model
(per-minute Poisson request counts, heavy-tailed log-normal latencies per request, errors per
request). Default: the production effects of issue 20 (slow drift, latency following load with
the deployment in a morning ramp, warm-up, error bursts, low traffic, an incident in the
baseline window), each with latency regressions of 0, +20 and +50 % from the deployment on.
`--grid`: the older noise x traffic x size grid. `--canary`: canary/control pairs (the canary
with 10, 25 or 50 % of the traffic, sharing load, drift and incidents with its control), Keptn's
before/after on the canary next to the judge's `--control-service` gate. Each release is gated twice through the real
binary (`--deployment-time T --timeframe 30m`, window baseline), once per judge, and the
outcomes are tallied. Prints a Markdown table and writes JSON figures.

Usage: benches/judge.py [--quick] [--grid | --canary] [--effect NAME] [--releases N] [--jobs N] [--out FILE]
       (benches/judge.sh builds the release binaries and runs this.)
"""
import argparse
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [0, 3, 5, 10, 20, 50]
NOISE = {
    # A steady level: only request sampling noise.
    "steady": {"drift_sd": 0.0, "drift_rho": 0.9},
    # A level drifting slowly from minute to minute: between-window p95 noise about 5 %.
    "drifting": {"drift_sd": 0.06, "drift_rho": 0.95},
    # Stronger drift: between-window p95 noise about 10 %.
    "strong drift": {"drift_sd": 0.12, "drift_rho": 0.95},
}
TRAFFIC = {"low": [60.0, 150.0], "high": [300.0, 600.0]}
DEPLOYMENT = "2026-01-05T10:00:00Z"
# Minutes since the epoch of the deployment, for placing it in a ramp.
DEPLOY_TIME = datetime.datetime(2026, 1, 5, 10, tzinfo=datetime.timezone.utc)
DEPLOY_MIN = int(DEPLOY_TIME.timestamp()) // 60
RT_KEY = "builtin:service.response.time"
ERR_KEY = "builtin:service.errors.total.count"


def at(minutes):
    """The deployment time shifted by `minutes`, as RFC 3339."""
    t = DEPLOY_TIME + datetime.timedelta(minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# Production effects (issue 20). Each: traffic overrides, and regressions every release of the
# effect gets (besides its own latency regression from the deployment on).
BASE = {"requests_per_minute": [300.0, 600.0], "ramp_minutes": 120, "drift_sd": 0.03,
        "drift_rho": 0.95}
EFFECTS = {
    "none (slow drift)": ({"drift_sd": 0.06}, []),
    # A 6-hour morning ramp 200 → 700 requests a minute, the deployment 60 % up it; latency
    # proportional to load: traffic after is about 9 % above the window before.
    "latency follows load, deploy in the ramp": (
        {"requests_per_minute": [200.0, 700.0], "ramp_minutes": 360, "load_exponent": 1.0,
         "ramp_offset_minutes": 216 - DEPLOY_MIN % 720}, []),
    # 1.5x as slow for 2 minutes, 1.2x for 2 more.
    "warm-up after the deployment": ({}, [(RT_KEY, 0, 2, 1.5), (RT_KEY, 2, 4, 1.2)]),
    # 3 % of minutes start a 2-minute burst of 20x the error probability (10 % errors).
    "errors in short bursts": ({"requests_per_minute": [200.0, 400.0], "error_burst_share": 0.03,
                                "error_burst_minutes": 2, "error_burst_factor": 20.0}, []),
    "low traffic (5-30 requests/min)": ({"requests_per_minute": [5.0, 30.0]}, []),
    # 10 minutes of 2.5x latency and 5x errors, 25 to 15 minutes before the deployment.
    "10-minute incident in the baseline window": (
        {}, [(RT_KEY, -25, -15, 2.5), (ERR_KEY, -25, -15, 5.0)]),
}
EFFECT_SIZES = [0, 20, 50]
# Canary against control (`--control-service`): the canary takes a share of the traffic, both
# sides share the load ramp (latency following load, the deployment 60 % up a morning ramp),
# the latency drift and any incident; the canary's latency regresses from the deployment on.
CANARY_TRAFFIC = {"requests_per_minute": [200.0, 700.0], "ramp_minutes": 360, "load_exponent": 1.0,
                  "ramp_offset_minutes": 216 - DEPLOY_MIN % 720, "drift_sd": 0.06, "drift_rho": 0.95}
CANARY = {
    "canary 10 % of the traffic": (0.10, []),
    "canary 25 % of the traffic": (0.25, []),
    "canary 50 % of the traffic": (0.50, []),
    # 10 minutes of 2.5x latency and 5x errors on both sides, 10 to 20 minutes after the deployment.
    "canary 25 %, incident on both sides after the deployment": (
        0.25, [(RT_KEY, 10, 20, 2.5), (ERR_KEY, 10, 20, 5.0)]),
}
TOKEN = "dt0c01.BENCH.JUDGE"

RT = 'builtin:service.response.time:merge("dt.entity.service")'
ER = 'builtin:service.errors.total.rate:merge("dt.entity.service")'
SLIS = {
    "response_time_p95": f"{RT}:percentile(95)",
    "response_time_avg": f"{RT}:avg",
    "error_rate": f"{ER}:avg",
}
SLO = """spec_version: "1.0"
comparison:
  compare_with: single_result
  aggregate_function: avg
objectives:
  - sli: response_time_p95
    pass:
      - criteria: ["<=+10%"]
    warning:
      - criteria: ["<=+20%"]
  - sli: response_time_avg
    pass:
      - criteria: ["<=+10%"]
  - sli: error_rate
    pass:
      - criteria: ["<=+50%"]
total_score:
  pass: "90%"
  warning: "75%"
"""


def effect_services(releases, only=None):
    out = []
    n = 0
    for effect, (over, regs) in EFFECTS.items():
        if only and only not in effect:
            continue
        for size in EFFECT_SIZES:
            # Unchanged releases get 2x as many: the false-failure target is 1 %.
            for i in range(releases * (2 if size == 0 else 1)):
                n += 1
                out.append({"id": f"SERVICE-{n:016X}", "name": f"e{list(EFFECTS).index(effect)}-{size}-{i}",
                            "row": effect, "size": size, "traffic_def": {**BASE, **over},
                            "regs": regs})
    return out


def canary_services(releases, only=None):
    """Canary/control pairs: the canary is the gated service, `pair` its control."""
    out = []
    n = 0
    for row, (share, regs) in CANARY.items():
        if only and only not in row:
            continue
        for size in EFFECT_SIZES:
            for i in range(releases * (2 if size == 0 else 1)):
                n += 2
                scale = lambda k: {**CANARY_TRAFFIC, "shared_noise": f"pair-{n}",
                                   "requests_per_minute": [v * k for v in CANARY_TRAFFIC["requests_per_minute"]]}
                name = f"c{list(CANARY).index(row)}-{size}-{i}"
                control = {"id": f"SERVICE-{n - 1:016X}", "name": f"{name}-control", "size": 0,
                           "traffic_def": scale(1 - share), "regs": regs}
                out.append({"id": f"SERVICE-{n:016X}", "name": name, "row": row, "size": size,
                            "traffic_def": scale(share), "regs": regs, "pair": control})
    return out


def services(releases):
    out = []
    n = 0
    for noise in NOISE:
        for traffic in TRAFFIC:
            for size in SIZES:
                # Unchanged releases get 3x as many: the false-failure target is 1 %.
                for i in range(releases * (3 if size == 0 else 1)):
                    n += 1
                    name = f"{noise.replace(' ', '_')}-{traffic}-{size}-{i}"
                    out.append({"id": f"SERVICE-{n:016X}", "name": name,
                                "row": (noise, traffic), "size": size, "regs": [],
                                "traffic_def": {"requests_per_minute": TRAFFIC[traffic],
                                                "ramp_minutes": 120, **NOISE[noise]}})
    return out


def scenario(svcs):
    svcs = svcs + [s["pair"] for s in svcs if "pair" in s]
    metric = lambda unit, baseline: {"unit": unit, "baseline": baseline}
    return {
        "seed": 14,
        "tokens": [{"token": TOKEN, "scopes": ["metrics.read", "entities.read"]}],
        "services": [{"id": s["id"], "name": s["name"],
                      "tags": ["keptn_project:bench", "keptn_stage:production",
                               f"keptn_service:{s['name']}"]} for s in svcs],
        "metrics": {
            "builtin:service.response.time": metric("MicroSecond", {"avg": 100000}),
            "builtin:service.requestCount.total": metric("Count", {"sum": 300}),
            "builtin:service.errors.total.count": metric("Count", {"sum": 1}),
            "builtin:service.errors.total.rate": metric("Percent", {"avg": 0.5}),
        },
        "traffic": [dict(service=s["id"], median_us=100000, sigma=0.5, tail_share=0.02,
                         tail_alpha=2.5, error_rate=0.005, **s["traffic_def"]) for s in svcs],
        "regressions": [{"service": s["id"], "metric": RT_KEY,
                         "from": DEPLOYMENT, "factor": 1 + s["size"] / 100}
                        for s in svcs if s["size"]]
        + [{"service": s["id"], "metric": key, "from": at(a), "to": at(b), "factor": f}
           for s in svcs for (key, a, b, f) in s["regs"]],
    }


def config(root, url, min_events=None):
    os.makedirs(root, exist_ok=True)
    sel = "type(SERVICE),tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),tag(keptn_service:$SERVICE)"
    with open(os.path.join(root, "sli.yaml"), "w") as f:
        f.write('spec_version: "1.0"\nindicators:\n')
        for name, metric in SLIS.items():
            f.write(f"  {name}: {json.dumps(f'metricSelector={metric}&entitySelector={sel}')}\n")
    with open(os.path.join(root, "slo.yaml"), "w") as f:
        f.write(SLO)
    with open(os.path.join(root, "slogate.yaml"), "w") as f:
        f.write(f"dynatrace:\n  url: {url}\n  token_env: BENCH_DT_TOKEN\n"
                "defaults:\n  project: bench\n  stage: production\n"
                + (f"judge:\n  min_events: {min_events}\n" if min_events is not None else ""))


def gate(slogate, root, svc, judge, history, extra=()):
    """judge: 0 Keptn, 1 the statistical judge (against the control when the service has one),
    2 the statistical judge before/after without the control."""
    cmd = [slogate, "gate", "--config", root, "--service", svc["name"],
           "--deployment-time", DEPLOYMENT, "--timeframe", "30m", "--format", "json",
           "--history", history, "--settle", "0s"]
    if judge:
        cmd += ["--judge", "statistical", *extra]
        if judge == 1 and "pair" in svc:
            cmd += ["--control-service", svc["pair"]["name"]]
    env = dict(os.environ, BENCH_DT_TOKEN=TOKEN, NO_COLOR="1")
    for k in [k for k in env if k.startswith(("GITHUB_", "GITLAB_", "CI", "TF_BUILD", "BUILDKITE"))]:
        del env[k]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    ms = (time.perf_counter() - t0) * 1000
    try:
        report = json.loads(p.stdout)
    except json.JSONDecodeError:
        sys.exit(f"slogate gave no JSON (exit {p.returncode}): {p.stderr[:2000]}")
    result = report["result"]
    if result not in ("pass", "warning", "fail"):
        sys.exit(f"{svc['name']}: {result}: {report.get('error')}")
    ind = {i["value"]["metric"]: i for i in report["indicatorResults"]}
    p95 = ind["response_time_p95"].get("changePercent")
    why = [(i.get("judge") or {}).get("summary", "") for i in ind.values()
           if i.get("status") == "fail"]
    every = [(i.get("judge") or {}).get("summary", "") for i in ind.values()]
    return {"result": result, "ms": ms, "p95_change": p95, "why": why, "every": every,
            "inconclusive": sum(1 for i in ind.values()
                                if (i.get("judge") or {}).get("decision") == "inconclusive")}


def start_sim(dtsim, path, workdir):
    out = open(os.path.join(workdir, "sim.out"), "w+")
    p = subprocess.Popen([dtsim, "--scenario", path, "--port", "0", "--max-seconds", "1800"],
                         stdout=out, stderr=subprocess.STDOUT)
    for _ in range(400):
        out.seek(0)
        line = out.readline()
        if line.startswith("listening on "):
            return p, line.split()[-1]
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    out.seek(0)
    sys.exit(f"dtsim did not start: {out.read()[:2000]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="25 releases a cell instead of 100 (x3 unchanged)")
    ap.add_argument("--releases", type=int)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--slogate", default=os.path.join(ROOT, "target/release/slogate"))
    ap.add_argument("--dtsim", default=os.path.join(ROOT, "target/release/dtsim"))
    ap.add_argument("--out", help="write the figures as JSON here")
    ap.add_argument("--min-events", type=int, help="the judge's min_events (default: slogate's)")
    ap.add_argument("--grid", action="store_true", help="the noise x traffic x size grid instead of the production effects")
    ap.add_argument("--effect", help="only the production effects whose name contains this")
    ap.add_argument("--canary", action="store_true",
                    help="canary/control pairs: Keptn's before/after on the canary vs the judge's canary against control")
    ap.add_argument("--explain", action="store_true",
                    help="print the judge's summaries of unchanged releases it failed and of regressions it passed")
    ap.add_argument("--judge-flag", action="append", default=[],
                    help="extra flag for the judged gate (repeatable), e.g. --judge-flag=--warm-up=0m")
    a = ap.parse_args()
    releases = a.releases or (25 if a.quick else 100)
    if a.grid:
        svcs = services(releases)
    elif a.canary:
        svcs = canary_services(releases, a.effect)
    else:
        svcs = effect_services(releases, a.effect)
    work = tempfile.mkdtemp(prefix="judge-bench-")
    sim = None
    try:
        path = os.path.join(work, "scenario.json")
        with open(path, "w") as f:
            json.dump(scenario(svcs), f)
        sim, url = start_sim(a.dtsim, path, work)
        root = os.path.join(work, "config")
        config(root, url, a.min_events)
        modes = (0, 1, 2) if a.canary else (0, 1)
        tasks = [(s, judge) for s in svcs for judge in modes]

        def run(i_task):
            i, (s, judge) = i_task
            history = os.path.join(work, f"history-{i % a.jobs}-{int(judge)}.sqlite")
            return s, judge, gate(a.slogate, root, s, judge, history, a.judge_flag if judge else ())

        started = time.time()
        with ThreadPoolExecutor(a.jobs) as ex:
            results = list(ex.map(run, enumerate(tasks)))
        elapsed = time.time() - started
    finally:
        if sim:
            sim.kill()
            sim.wait()
        shutil.rmtree(work, ignore_errors=True)

    cells = {}
    for s, judge, r in results:
        key = (s["row"], s["size"])
        c = cells.setdefault(key, {"keptn": [], "judge": [], "before_after": [], "p95": []})
        c[["keptn", "judge", "before_after"][judge]].append(r)
        if not judge and r["p95_change"] is not None:
            c["p95"].append(r["p95_change"])

    def rates(rs):
        n = len(rs)
        return {k: 100.0 * sum(r["result"] == k for r in rs) / n for k in ("fail", "warning", "pass")}

    rows = []
    unchanged = (3 if a.grid else 2) * releases
    print(f"# slogate gate verdicts: Keptn vs --judge statistical ({releases} releases a cell, {unchanged} unchanged)\n")
    if a.grid:
        print("| noise | traffic | regression | between-window p95 sd | Keptn fail / warn / pass | judge fail / warn / pass | judge inconclusive objectives |")
        print("|---|---|---|---|---|---|---|")
        order = lambda kv: (list(NOISE).index(kv[0][0][0]), list(TRAFFIC).index(kv[0][0][1]), kv[0][1])
    elif a.canary:
        print("| canary / control | regression | between-window p95 sd | Keptn before/after on the canary: fail / warn / pass | judge, canary against control: fail / warn / pass | judge inconclusive objectives | judge before/after on the canary: fail / warn / pass |")
        print("|---|---|---|---|---|---|---|")
        order = lambda kv: (list(CANARY).index(kv[0][0]), kv[0][1])
    else:
        print("| production effect | regression | between-window p95 sd | Keptn fail / warn / pass | judge fail / warn / pass | judge inconclusive objectives |")
        print("|---|---|---|---|---|---|")
        order = lambda kv: (list(EFFECTS).index(kv[0][0]), kv[0][1])
    for (row, size), c in sorted(cells.items(), key=order):
        k, j = rates(c["keptn"]), rates(c["judge"])
        logs = [math.log1p(p / 100) for p in c["p95"]]
        m = sum(logs) / len(logs) if logs else 0
        sd = 100 * math.sqrt(sum((x - m) ** 2 for x in logs) / max(1, len(logs) - 1)) if logs else float("nan")
        inc = sum(r["inconclusive"] for r in c["judge"]) / len(c["judge"])
        size_s = "none" if size == 0 else f"+{size} %"
        label = " | ".join(row) if a.grid else row
        print(f"| {label} | {size_s} | {sd:.1f} % | "
              f"{k['fail']:.0f} / {k['warning']:.0f} / {k['pass']:.0f} | "
              f"{j['fail']:.0f} / {j['warning']:.0f} / {j['pass']:.0f} | {inc:.2f} |"
              + (" {fail:.0f} / {warning:.0f} / {pass:.0f} |".format(**rates(c["before_after"]))
                 if c["before_after"] else ""))
        rows.append({"row": row, "regression_percent": size,
                     "between_window_p95_sd_percent": sd, "keptn": k, "judge": j,
                     "judge_inconclusive_per_gate": inc,
                     **({"judge_before_after": rates(c["before_after"])} if c["before_after"] else {})})
    if a.explain:
        for s, judge, r in results:
            if judge and s["size"] == 0 and r["result"] == "fail":
                print(f"\n{s['name']} ({s['row']}, mode {judge}): " + " | ".join(r["why"]))
            if judge and s["size"] > 0 and r["result"] == "pass":
                print(f"\nmissed {s['name']} ({s['row']}, +{s['size']} %, mode {judge}): "
                      + " | ".join(r["every"]))
    km = [r["ms"] for _, judge, r in results if not judge]
    jm = [r["ms"] for _, judge, r in results if judge == 1]
    med = lambda v: sorted(v)[len(v) // 2]
    mean = lambda v: sum(v) / len(v)
    print(f"\nper gate: Keptn median {med(km):.1f} ms (mean {mean(km):.1f}), "
          f"judge median {med(jm):.1f} ms (mean {mean(jm):.1f}); "
          f"added by the judge: median {med(jm) - med(km):+.1f} ms, mean {mean(jm) - mean(km):+.1f} ms")
    print(f"{len(results)} gates in {elapsed:.0f} s with {a.jobs} workers")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"releases_per_cell": releases, "rows": rows,
                       "ms": {"keptn_median": med(km), "judge_median": med(jm),
                              "keptn_mean": mean(km), "judge_mean": mean(jm)}}, f, indent=1)


if __name__ == "__main__":
    main()
