#!/usr/bin/env bash
# Verdict quality of `slogate gate`, Keptn vs --judge statistical, on simulated releases with
# ground truth (not part of the test suite; docs/judge.md has the figures and how to read them).
#   benches/judge.sh            100 releases a cell (300 unchanged), 10,800 gates, about 3 minutes
#   benches/judge.sh --quick    25 releases a cell, under a minute
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slogate -p dtsim
exec python3 benches/judge.py "$@"
