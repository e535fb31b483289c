#!/usr/bin/env bash
# Smoke test of the Windows build (x86_64-pc-windows-gnu) under Wine, headless, in a fresh
# WINEPREFIX (a temporary folder):
#
#   1. --version; lint and score on the bundled examples, given as Windows paths (backslashes,
#      relative and Z:\ absolute) and as copies with CRLF line endings;
#   2. a broken SLO file with CRLF endings: the diagnostics name the file as given, and no
#      carriage return leaks into the output;
#   3. mark, gate and eval against the Dynatrace simulator (tools/dtsim, a Linux process) on
#      127.0.0.1 (DT_URL=http://127.0.0.1:PORT); Ctrl-C (SIGINT, which Wine delivers as
#      CTRL_C_EVENT) during eval's wait ends it with exit 130; no colour codes in piped output.
#
# bcryptprimitives.dll: Rust's std imports ProcessPrng from it; Debian's Wine 8 lacks it, and the
# .exe then exits 53 before main. A stand-in built from dist/windows-shim/ (mingw, on
# RtlGenRandom) is put beside the .exe in the temporary folder -- a test-harness shim only,
# never shipped. Real Windows (10 and later) has the DLL.
#
# Usage: dist/test-windows.sh [slogate.exe]   (default: builds it with dist/build-windows.sh)
# Installs wine (apt-get, as root) when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
exe=${1:-$(bash dist/build-windows.sh | tail -n 1)}
target_dir=${CARGO_TARGET_DIR:-$root/target}

if ! command -v wine >/dev/null; then
  echo "== apt-get install wine" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "wine missing: apt-get install wine wine64 (as root)" >&2; exit 2; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wine wine64 >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wine wine64 >&2; }
fi

passed=0
failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
  fi
}

work=$(mktemp -d)
sim=""
cleanup() {
  [ -z "$sim" ] || kill "$sim" 2>/dev/null || true
  # The prefix's wineserver lingers a few seconds after the last process; stop it before removal.
  WINEPREFIX="$work/prefix" wineserver -k 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# The .exe with the shim beside it (Windows looks for DLLs in the .exe's folder first).
mkdir -p "$work/bin"
cp "$exe" "$work/bin/slogate.exe"
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bin/bcryptprimitives.dll" \
  dist/windows-shim/bcryptprimitives.c dist/windows-shim/bcryptprimitives.def -ladvapi32

export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEARCH=win64
# No mono/gecko install prompts, no display.
export WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=""
start=$SECONDS
wineboot --init >/dev/null 2>&1 || true
echo "== fresh WINEPREFIX ready in $((SECONDS - start)) s"
win() { wine "$work/bin/slogate.exe" "$@"; }

rc=0
out=$(win --version 2>&1) || rc=$?
check "wine: --version exit" 0 "$rc"
check "wine: --version says slogate" yes "$(echo "$out" | grep -q '^slogate ' && echo yes)"
echo "   $out"

# Windows paths: relative with backslashes, and absolute on Z: (Wine's drive for /).
rc=0
win lint 'slo-examples\web-service' >"$work/lint.log" 2>&1 || rc=$?
check "wine: lint slo-examples\\web-service exit" 0 "$rc"
zroot="Z:${root//\//\\}"
rc=0
win score --slo "$zroot\\slo-examples\\web-service\\slo.yaml" --values "$zroot\\slo-examples\\web-service\\values.json" \
  --previous 'slo-examples\web-service\previous.json' --format json >"$work/score.json" 2>"$work/score.err" || rc=$?
check "wine: score exit (the example: 0 or 1)" yes "$([ "$rc" -le 1 ] && echo yes)"
check "wine: score result" yes "$(grep -Eq '"result": *"(pass|warning|fail)"' "$work/score.json" && echo yes)"
# The same verdict as the Linux build's, when one is at hand (SLOGATE_LINUX, else the debug build).
linux=${SLOGATE_LINUX:-$target_dir/debug/slogate}
if [ -x "$linux" ]; then
  "$linux" score --slo slo-examples/web-service/slo.yaml --values slo-examples/web-service/values.json \
    --previous slo-examples/web-service/previous.json --format json >"$work/score-linux.json" 2>/dev/null || true
  check "wine: score result and score equal the Linux build's" \
    "$(grep -E '"(result|score)":' "$work/score-linux.json" | head -n 2)" "$(tr -d '\r' <"$work/score.json" | grep -E '"(result|score)":' | head -n 2)"
fi

# CRLF: the examples as a Windows checkout (git autocrlf) has them.
crlf="$work/crlf"
mkdir -p "$crlf"
for f in slo-examples/web-service/*; do sed 's/$/\r/' "$f" >"$crlf/$(basename "$f")"; done
rc=0
win lint "$crlf" >"$work/lint-crlf.log" 2>&1 || rc=$?
check "wine: lint of CRLF files exit" 0 "$rc"
rc=0
win score --slo "$crlf/slo.yaml" --values "$crlf/values.json" --previous "$crlf/previous.json" --format json \
  >"$work/score-crlf.json" 2>"$work/score-crlf.err" || rc=$?
check "wine: score of CRLF files equals LF" "$(grep -E '"(result|score)":' "$work/score.json" | tr -d '\r' | head -n 2)" \
  "$(grep -E '"(result|score)":' "$work/score-crlf.json" | tr -d '\r' | head -n 2)"

# Broken criteria in a CRLF file (the lint fixture): the diagnostic points at the same line and
# column as for the LF file, names the file as given (backslashes), and no carriage return leaks.
mkdir -p "$work/broken"
sed 's/$/\r/' tests/fixtures/lint/bad-criteria/criteria.bad.slo.yaml >"$work/broken/criteria.bad.slo.yaml"
rc=0
(cd "$work" && win lint 'broken\criteria.bad.slo.yaml' >"$work/lint-broken.log" 2>&1) || rc=$?
check "wine: lint of broken criteria (CRLF) exit" 2 "$rc"
check "wine: diagnostic at broken\\criteria.bad.slo.yaml:5:20" yes \
  "$(grep -Fq 'broken\criteria.bad.slo.yaml:5:20' "$work/lint-broken.log" && echo yes)"
check "wine: three bad-criteria diagnostics" 3 "$(grep -c 'slogate::bad-criteria' "$work/lint-broken.log" || true)"
check "wine: no carriage return inside a diagnostic line" 0 \
  "$(sed 's/\r$//' "$work/lint-broken.log" | grep -c $'\r' || true)"

echo "== the simulator (Linux) on loopback"
cargo build --quiet --locked -p dtsim
: >"$work/dtsim.log"
"$target_dir/debug/dtsim" --scenario slo-examples/demo/scenario.json --port 0 --max-seconds 120 >"$work/dtsim.log" 2>&1 &
sim=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$work/dtsim.log" && break; sleep 0.05; done
dt_url=$(sed -n 's/^listening on //p' "$work/dtsim.log" | head -n 1)
check "dtsim listening" yes "$([ -n "$dt_url" ] && echo yes)"
echo "   $dt_url"
export DT_URL="$dt_url" DT_API_TOKEN=dt0c01.SIMULATOR.TOKEN SLOGATE_HISTORY="$work/history.sqlite"
rc=0
win mark --config 'slo-examples\demo' --version 2.0.0 --time now-30m >"$work/mark.log" 2>&1 || rc=$?
check "wine: mark exit" 0 "$rc"
rc=0
win gate --config 'slo-examples\demo' --since-deployment --timeframe 25m --report-dir "$work/report" >"$work/gate.log" 2>&1 || rc=$?
check "wine: gate exit (the demo fails: 40 % slower)" 1 "$rc"
check "wine: gate wrote junit.xml" yes "$([ -f "$work/report/junit.xml" ] && echo yes)"
rc=0
win eval --config 'slo-examples\demo' --from now-30m --to now-5m --format json >"$work/eval.json" 2>"$work/eval.err" || rc=$?
check "wine: eval ran (exit 0 or 1)" yes "$([ "$rc" -le 1 ] && echo yes)"
check "wine: eval result" yes "$(grep -Eq '"result": *"(pass|warning|fail)"' "$work/eval.json" && echo yes)"
check "wine: history written" yes "$([ -s "$work/history.sqlite" ] && echo yes)"
# Ctrl-C: Wine turns SIGINT into a CTRL_C_EVENT. A window that ends now makes eval wait for the
# data to settle; interrupted there, slogate must exit 130 and say so (the default handler
# exited 0 under Wine: an interrupted gate would have passed).
: >"$work/interrupt.log"
# Job control on: a non-interactive shell starts background jobs with SIGINT ignored.
set -m
wine "$work/bin/slogate.exe" eval --config 'slo-examples\demo' --from now-10m --to now --settle 30s \
  >"$work/interrupt.log" 2>&1 &
pid=$!
set +m
for _ in $(seq 1 200); do grep -q 'waiting' "$work/interrupt.log" && break; sleep 0.05; done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
check "wine: Ctrl-C while waiting: exit 130" 130 "$rc"
check "wine: Ctrl-C says interrupted" yes "$(grep -q 'interrupted; no verdict' "$work/interrupt.log" && echo yes)"
check "wine: no ANSI colour in piped output" 0 "$(cat "$work"/*.log | grep -c $'\e\\[' || true)"

if [ "$failed" -ne 0 ] || [ -n "${VERBOSE:-}" ]; then
  for f in "$work"/*.log "$work"/*.err; do echo "--- $f"; tail -n 25 "$f"; done
fi
echo "windows: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
