#!/usr/bin/env bash
# Verdict quality of `slogate gate`, Keptn vs --judge statistical, on simulated releases with
# ground truth (not part of the test suite; docs/judge.md has the figures and how to read them).
#   benches/judge.sh            production effects, 100 releases a cell (200 unchanged), 4,800 gates
#   benches/judge.sh --quick    25 releases a cell
#   benches/judge.sh --grid     the older noise x traffic x size grid (10,800 gates)
#   benches/judge.sh --canary   canary/control pairs: Keptn before/after vs the judge against control
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slogate -p dtsim
exec python3 benches/judge.py "$@"
