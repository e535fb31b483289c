#!/usr/bin/env bash
# Linear-time diagnostics (issue 13 E): times `lint`, `config` and `score` on hostile inputs that
# once took 10-80 s (a quadratic duplicate scan and a file scan per problem). Each should take
# well under a second with a release build. Not part of the test suite (timings vary by machine).
# Usage: benches/hostile-lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p slogate
BIN=$PWD/target/release/slogate
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
python3 - <<'PY'
import os
slo = 'spec_version: "1.0"\nobjectives:\n  - sli: rt\n    pass: [{criteria: ["<600"]}]\ntotal_score: {pass: "90%", warning: "75%"}\n'
def case(name, sli, slo_text=slo):
    os.makedirs(name)
    open(f"{name}/sli.yaml", "w").write('spec_version: "1.0"\nindicators:\n' + sli)
    open(f"{name}/slo.yaml", "w").write(slo_text)
# 0.6 MB: 49,990 distinct keys (just under the 100,000-value limit)
case("keys", "".join(f"  k{i:05d}: x\n" for i in range(49990)))
# 49,990 duplicate keys
case("dups", "  rt: x\n" * 49990)
# 33,000 objectives naming undefined SLIs
case("undef", "  rt: x\n", 'spec_version: "1.0"\nobjectives:\n' + "".join(f"  - sli: u{i}\n" for i in range(33000)) + 'total_score: {pass: "90%"}\n')
# an sli.yaml entry and an objective repeated 5,000 times
case("rep", '  rt: "metricSelector=builtin:service.response.time:avg&entitySelector=type(SERVICE)"\n' * 5000,
     'spec_version: "1.0"\nobjectives:\n' + '  - sli: rt\n    pass: [{criteria: ["<600"]}]\n' * 5000 + 'total_score: {pass: "90%"}\n')
open("values.json", "w").write('{"rt": 100}')
PY
run() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "$label: %e s wall, %U s user, %M KB" "$@" >/dev/null 2>"$WORK/err" || true
  tail -1 "$WORK/err"
}
for d in keys dups undef rep; do run "lint $d" "$BIN" --color never lint "$d"; done
run "config rep" "$BIN" --color never config --config rep
run "score rep" "$BIN" --color never score --slo rep/slo.yaml --values values.json
