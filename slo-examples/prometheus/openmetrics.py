#!/usr/bin/env python3
"""OpenMetrics backfill for the example (the same data as tests/cli/prom_server.rs):
2026-11-17 10:00Z to 12:00Z every 15 s, job checkout-shop-production-canary. Until 11:00 10
requests/s with 10 % errors and most answers under 100 ms; the release at 11:00 doubles the
traffic and moves most answers over 200 ms (p95 387.5 ms -> 750 ms)."""
START, STEP, STEPS, RELEASE = 1794909600, 15, 480, 1794913200
JOB = "checkout-shop-production-canary"
LE = ["50", "100", "200", "500", "1000", "+Inf"]
BEFORE, AFTER = [30, 90, 135, 147, 150, 150], [0, 60, 150, 270, 300, 300]


def series(name, labels, step_inc):
    v = 0
    for i in range(STEPS + 1):
        t = START + i * STEP
        if i > 0:
            v += step_inc(t > RELEASE)
        print(f"{name}{{{labels}}} {v} {t}")


print("# TYPE http_requests counter")
for status, n in (("200", 135), ("500", 15)):
    series("http_requests_total", f'job="{JOB}",status="{status}"', lambda after, n=n: 2 * n if after else n)
print("# TYPE http_response_time_milliseconds histogram")
for b, le in enumerate(LE):
    series("http_response_time_milliseconds_bucket", f'job="{JOB}",le="{le}"',
           lambda after, b=b: AFTER[b] if after else BEFORE[b])
series("http_response_time_milliseconds_count", f'job="{JOB}"', lambda after: 300 if after else 150)
print("# EOF")
