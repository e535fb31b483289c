#!/usr/bin/env bash
# Tests of the GitHub Action's scripts without GitHub: run.sh (inputs -> the slogate command
# line, outputs, exit code) against a stub slogate, and install.sh (download, SHA-256 check,
# choice of the target) against a fake release folder served as file:// URLs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
  fi
}

# A stub slogate: prints its argv one per line to $work/argv, and behaves like slogate on
# GitHub: writes result/score/failed_objectives and exits with $STUB_RC.
mkdir -p "$work/bin"
cat >"$work/bin/slogate" <<'STUB'
#!/usr/bin/env bash
if [ "${1:-}" = --version ]; then echo "slogate 9.9.9 (commit stub, built 2026-01-01)"; exit 0; fi
printf '%s\n' "$@" >"$STUB_ARGV"
echo "DT_URL=${DT_URL:-} DT_API_TOKEN=${DT_API_TOKEN:-}" >"$STUB_ARGV.env"
printf 'result=%s\nscore=%s\nfailed_objectives=%s\n' "${STUB_RESULT:-pass}" "${STUB_SCORE-100}" "${STUB_FAILED:-}" >>"$GITHUB_OUTPUT"
exit "${STUB_RC:-0}"
STUB
chmod +x "$work/bin/slogate"

run_action() { # run_action VAR=VALUE... ; sets rc, argv (space-joined), outputs
  : >"$work/out"
  rc=0
  env -i PATH="$PATH" HOME="$HOME" SLOGATE_BIN="$work/bin/slogate" STUB_ARGV="$work/argv" \
    GITHUB_OUTPUT="$work/out" "$@" bash "$here/run.sh" >"$work/log" 2>&1 || rc=$?
  argv=""; if [ -f "$work/argv" ]; then argv=$(tr "\n" " " <"$work/argv" | sed "s/ $//"); fi
  outputs=$(tr '\n' ';' <"$work/out")
  rm -f "$work/argv"
}

# gate with everything the inputs offer
run_action INPUT_COMMAND=gate INPUT_CONFIG=slo INPUT_SERVICES=$'checkout\n  cart \r\n\n' INPUT_STAGE=production \
  INPUT_TIMEFRAME=30m INPUT_WAIT=45m INPUT_FAIL_ON=warning INPUT_REPORT_DIR=slogate-report \
  INPUT_SINCE_DEPLOYMENT=true INPUT_ARGS="--push-result  --history dynatrace" \
  INPUT_DT_URL=https://dt.example INPUT_DT_API_TOKEN=dt0c01.secret STUB_RC=1 STUB_RESULT=fail STUB_SCORE=40 STUB_FAILED=checkout:rt
check "gate argv" "gate --config slo --stage production --service checkout --service cart --timeframe 30m --wait 45m --fail-on warning --since-deployment --report-dir slogate-report --push-result --history dynatrace" "$argv"
check "gate exit code passes through" 1 "$rc"
check "gate outputs" "result=fail;score=40;failed_objectives=checkout:rt;exit-code=1;" "$outputs"
check "gate env" "DT_URL=https://dt.example DT_API_TOKEN=dt0c01.secret" "$(cat "$work/argv.env")"
check "token masked, never echoed" "1 0" "$(grep -c '::add-mask::dt0c01.secret' "$work/log") $(grep -v add-mask "$work/log" | grep -c secret || true)"

# defaults: gate --since-deployment with the report folder; DT_* from the environment stay
run_action DT_URL=https://from-env DT_API_TOKEN=envtoken
check "defaults argv" "gate --config slo --since-deployment --report-dir slogate-report" "$argv"
check "defaults exit" 0 "$rc"
check "env token kept" "DT_URL=https://from-env DT_API_TOKEN=envtoken" "$(cat "$work/argv.env")"

# gate without --since-deployment
run_action INPUT_SINCE_DEPLOYMENT=false INPUT_SERVICES=checkout STUB_RC=3 STUB_RESULT=error STUB_SCORE=
check "window ending now" "gate --config slo --service checkout --report-dir slogate-report" "$argv"
check "error is exit 3" 3 "$rc"
check "error outputs" "result=error;score=;failed_objectives=;exit-code=3;" "$outputs"

# eval: timeframe, no wait, no since-deployment
run_action INPUT_COMMAND=eval INPUT_SERVICES=checkout INPUT_STAGE=staging INPUT_TIMEFRAME=1h INPUT_ARGS="--to now-1h"
check "eval argv" "eval --config slo --stage staging --service checkout --timeframe 1h --report-dir slogate-report --to now-1h" "$argv"

# mark: no report folder, no gate flags
run_action INPUT_COMMAND=mark INPUT_SERVICES=checkout INPUT_STAGE=production INPUT_ARGS="--version 1.4.0"
check "mark argv" "mark --config slo --stage production --service checkout --version 1.4.0" "$argv"

# refused before slogate runs: invalid, exit 2, outputs set
run_action INPUT_COMMAND=mark INPUT_WAIT=45m
check "wait on mark is invalid" "2 result=invalid;score=;failed_objectives=;exit-code=2;" "$rc $outputs"
check "slogate did not run" "" "$argv"
run_action INPUT_COMMAND=deploy
check "unknown command is invalid" 2 "$rc"
check "annotation for a bad command" 1 "$(grep -c "::error title=slogate::input command must be gate, eval or mark" "$work/log")"
run_action INPUT_SINCE_DEPLOYMENT=yes
check "since-deployment must be a boolean" 2 "$rc"

# action.yml's outputs carry the names slogate writes: `failed_objectives` (with the old
# `failed-objectives` as an alias of the same value), so one name works with and without the action.
mapped=$(python3 - "$here/../../action.yml" <<'PY'
import sys, yaml
outputs = yaml.safe_load(open(sys.argv[1]))["outputs"]
print(";".join(f"{k}={outputs[k]['value'].strip()}" for k in ("failed_objectives", "failed-objectives")))
PY
)
check "failed_objectives output" "failed_objectives=\${{ steps.run.outputs.failed_objectives }};failed-objectives=\${{ steps.run.outputs.failed_objectives }}" "$mapped"

# install.sh: a fake release of v1.2.3 and a latest release
rel="$work/releases"
mkdir -p "$rel/download/v1.2.3" "$rel/latest/download"
for d in "$rel/download/v1.2.3" "$rel/latest/download"; do
  for t in x86_64-unknown-linux-musl aarch64-apple-darwin x86_64-pc-windows-msvc.exe; do
    cp "$work/bin/slogate" "$d/slogate-$t"
  done
  (cd "$d" && sha256sum slogate-* >SHA256SUMS)
done

install() { # install VAR=VALUE... ; sets rc, bin
  : >"$work/out"
  : >"$work/path"
  mkdir -p "$work/tmp"
  rc=0
  env -i PATH="/usr/bin:/bin" HOME="$HOME" RUNNER_TEMP="$work/tmp" GITHUB_OUTPUT="$work/out" GITHUB_PATH="$work/path" \
    SLOGATE_RELEASES_URL="file://$rel" "$@" bash "$here/install.sh" >"$work/log" 2>&1 || rc=$?
  bin=$(sed -n 's/^bin=//p' "$work/out")
}

install SLOGATE_VERSION=1.2.3 RUNNER_OS=Linux RUNNER_ARCH=X64
check "download v1.2.3" "0 $work/tmp/slogate-1.2.3-x86_64-unknown-linux-musl/slogate" "$rc $bin"
check "added to PATH" "$work/tmp/slogate-1.2.3-x86_64-unknown-linux-musl" "$(cat "$work/path")"
check "runs" "slogate 9.9.9 (commit stub, built 2026-01-01)" "$("$bin" --version)"

install SLOGATE_ACTION_REF=v1.2.3 RUNNER_OS=macOS RUNNER_ARCH=ARM64
check "version from the action's ref" "0 $work/tmp/slogate-v1.2.3-aarch64-apple-darwin/slogate" "$rc $bin"

install SLOGATE_ACTION_REF=main RUNNER_OS=Windows RUNNER_ARCH=X64
check "latest for a branch ref, .exe on Windows" "0 $work/tmp/slogate-latest-x86_64-pc-windows-msvc/slogate.exe" "$rc $bin"

install SLOGATE_VERSION=1.2.3 RUNNER_OS=Linux RUNNER_ARCH=ARM
check "unknown platform refused" 1 "$rc"

install SLOGATE_VERSION=9.0.0 RUNNER_OS=Linux RUNNER_ARCH=X64
check "missing release refused" 1 "$rc"

echo tampered >>"$rel/download/v1.2.3/slogate-x86_64-unknown-linux-musl"
rm -rf "$work/tmp"
install SLOGATE_VERSION=1.2.3 RUNNER_OS=Linux RUNNER_ARCH=X64
check "checksum mismatch refused" "1 " "$rc $bin"
check "says the checksums differ" 1 "$(grep -c "SHA-256 of slogate-x86_64-unknown-linux-musl is" "$work/log")"

# slogate on PATH and no version: used as it is, nothing downloaded
install RUNNER_OS=Linux RUNNER_ARCH=X64 PATH="$work/bin:/usr/bin:/bin"
check "slogate on PATH" "0 $work/bin/slogate" "$rc $bin"

echo "github action: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
