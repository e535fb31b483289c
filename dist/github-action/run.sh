#!/usr/bin/env bash
# Runs slogate with the action's inputs and passes on its exit code.
#
# slogate itself writes the outputs `result`, `score` and `failed_objectives` to $GITHUB_OUTPUT
# (also when it stops early); this script adds `exit-code`. Inputs the action refuses before
# slogate runs end like slogate's own invalid input: result=invalid, exit 2, one annotation.
set -euo pipefail

bin=${SLOGATE_BIN:-slogate}
command=${INPUT_COMMAND:-gate}

invalid() {
  echo "::error title=slogate::$1"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'result=invalid\nscore=\nfailed_objectives=\nexit-code=2\n' >>"$GITHUB_OUTPUT"
  fi
  exit 2
}

# Only the flags the command has; a value given to a command without it is a mistake to say.
only_for() { # only_for INPUT VALUE COMMANDS...
  local name=$1 value=$2
  shift 2
  [ -z "$value" ] && return 1
  local c
  for c in "$@"; do [ "$c" = "$command" ] && return 0; done
  invalid "input $name does not apply to $command"
}

case "$command" in
  gate | eval | mark) ;;
  *) invalid "input command must be gate, eval or mark, not '$command'" ;;
esac

args=("$command" --config "${INPUT_CONFIG:-slo}")
if [ -n "${INPUT_STAGE:-}" ]; then args+=(--stage "$INPUT_STAGE"); fi
while IFS= read -r service || [ -n "$service" ]; do
  service=${service%$'\r'}
  service=$(echo "$service" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  if [ -n "$service" ]; then args+=(--service "$service"); fi
done <<<"${INPUT_SERVICES:-}"

if only_for timeframe "${INPUT_TIMEFRAME:-}" gate eval; then args+=(--timeframe "$INPUT_TIMEFRAME"); fi
if only_for wait "${INPUT_WAIT:-}" gate; then args+=(--wait "$INPUT_WAIT"); fi
if only_for fail-on "${INPUT_FAIL_ON:-}" gate eval; then args+=(--fail-on "$INPUT_FAIL_ON"); fi
if [ "$command" = gate ]; then
  case "${INPUT_SINCE_DEPLOYMENT:-true}" in
    true) args+=(--since-deployment) ;;
    false) ;;
    *) invalid "input since-deployment must be true or false, not '$INPUT_SINCE_DEPLOYMENT'" ;;
  esac
fi
if [ "$command" != mark ] && [ -n "${INPUT_REPORT_DIR-slogate-report}" ]; then
  args+=(--report-dir "${INPUT_REPORT_DIR-slogate-report}")
fi
# Extra flags: split on whitespace, no globbing, no quoting.
set -f
# shellcheck disable=SC2206
extra=(${INPUT_ARGS:-})
set +f
args+=(${extra[@]+"${extra[@]}"})

if [ -n "${INPUT_DT_URL:-}" ]; then export DT_URL="$INPUT_DT_URL"; fi
if [ -n "${INPUT_DT_API_TOKEN:-}" ]; then
  echo "::add-mask::$INPUT_DT_API_TOKEN"
  export DT_API_TOKEN="$INPUT_DT_API_TOKEN"
fi
unset INPUT_DT_API_TOKEN

echo "slogate ${args[*]}"
rc=0
"$bin" "${args[@]}" || rc=$?
if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "exit-code=$rc" >>"$GITHUB_OUTPUT"; fi
exit "$rc"
