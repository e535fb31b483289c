#!/usr/bin/env bash
# The three integrations with the real slogate against the Dynatrace simulator (tools/dtsim),
# on loopback: the release loop of slo-examples/demo (checkout 40 % slower after a deployment),
# marked and gated through
#   - the GitHub Action's run.sh (GITHUB_ACTIONS=true): outputs result=fail, exit 1;
#   - the GitLab component's job script (GITLAB_CI=true): slogate.env says fail, junit.xml;
#   - the Azure DevOps task's index.js (TF_BUILD=True): task failed, SLOGATE_RESULT fail,
#     JUnit published.
# Needs the Rust build (cargo build -p slogate -p dtsim) besides what dist/test.sh needs; run
# dist/test.sh first (it installs the Azure task's node_modules).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet -p slogate -p dtsim
bin_dir="${CARGO_TARGET_DIR:-$root/target}/debug"
slogate="$bin_dir/slogate"
work=$(mktemp -d)
[ -z "${KEEP:-}" ] || echo "work folder $work"
log="$work/dtsim.log"
"$bin_dir/dtsim" --scenario slo-examples/demo/scenario.json --port 0 --max-seconds 300 >"$log" 2>&1 &
sim=$!
trap 'kill "$sim" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
for _ in $(seq 1 100); do grep -q listening "$log" && break; sleep 0.05; done
dt_url=$(sed -n 's/^listening on //p' "$log" | head -1)
token=dt0c01.SIMULATOR.TOKEN
passed=0
failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); else
    failed=$((failed + 1))
    printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
  fi
}
clean_env() { env -u DT_URL -u DT_API_TOKEN -u TF_BUILD -u GITHUB_ACTIONS -u GITLAB_CI -u GITHUB_OUTPUT -u GITHUB_STEP_SUMMARY "$@"; }

echo "== GitHub Action: mark, then gate"
gh="$work/github"
mkdir -p "$gh"
: >"$gh/output"
clean_env GITHUB_ACTIONS=true GITHUB_OUTPUT="$gh/output" GITHUB_STEP_SUMMARY="$gh/summary" SLOGATE_BIN="$slogate" \
  INPUT_COMMAND=mark INPUT_CONFIG="$root/slo-examples/demo" INPUT_ARGS="--version 2.0.0 --time now-30m" \
  INPUT_DT_URL="$dt_url" INPUT_DT_API_TOKEN="$token" SLOGATE_HISTORY="$work/h.sqlite" \
  bash dist/github-action/run.sh >"$gh/mark.log" 2>&1 || { cat "$gh/mark.log"; exit 1; }
rc=0
(cd "$gh" && clean_env GITHUB_ACTIONS=true GITHUB_OUTPUT="$gh/output" GITHUB_STEP_SUMMARY="$gh/summary" SLOGATE_BIN="$slogate" \
  INPUT_COMMAND=gate INPUT_CONFIG="$root/slo-examples/demo" INPUT_TIMEFRAME=25m INPUT_REPORT_DIR=slogate-report \
  INPUT_DT_URL="$dt_url" INPUT_DT_API_TOKEN="$token" SLOGATE_HISTORY="$work/h.sqlite" \
  bash "$root/dist/github-action/run.sh" >"$gh/gate.log" 2>&1) || rc=$?
check "github: gate exit" 1 "$rc"
check "github: result output" "result=fail" "$(grep '^result=' "$gh/output")"
check "github: exit-code output" "exit-code=1" "$(grep '^exit-code=' "$gh/output" | tail -1)"
check "github: failed_objectives named" 1 "$(grep -c '^failed_objectives=.\+' "$gh/output")"
check "github: junit written" yes "$([ -f "$gh/slogate-report/junit.xml" ] && echo yes)"
check "github: error annotations" yes "$(grep -q '^::error' "$gh/gate.log" && echo yes)"

echo "== GitLab component: the job script, gate"
gl="$work/gitlab"
mkdir -p "$gl"
python3 - "$gl/job.sh" <<'PY'
import sys, yaml
text = open("templates/slogate.yml").read()
job = list(yaml.safe_load(text.split("\n---\n", 1)[1].replace("$[[ inputs.job-name ]]", "slo-gate")).values())[0]
open(sys.argv[1], "w").write("\n".join(job["script"]))
PY
rc=0
(cd "$gl" && clean_env GITLAB_CI=true PATH="$(dirname "$slogate"):$PATH" DT_URL="$dt_url" DT_API_TOKEN="$token" \
  SLOGATE_HISTORY="$work/h.sqlite" SLOGATE_COMMAND=gate SLOGATE_CONFIG="$root/slo-examples/demo" SLOGATE_SERVICES="" \
  SLOGATE_STAGE="" SLOGATE_TIMEFRAME=25m SLOGATE_WAIT="" SLOGATE_SINCE_DEPLOYMENT=true SLOGATE_FAIL_ON="" \
  SLOGATE_ARGS="" SLOGATE_VERSION=latest SLOGATE_RELEASES_URL="" sh job.sh >"$gl/job.log" 2>&1) || rc=$?
check "gitlab: job exit" 1 "$rc"
check "gitlab: dotenv result" "SLOGATE_RESULT=fail" "$(grep '^SLOGATE_RESULT=' "$gl/slogate-report/slogate.env")"
check "gitlab: junit has failures" yes "$(grep -q '<failure' "$gl/slogate-report/junit.xml" && echo yes)"

echo "== Azure DevOps task: index.js, gate"
az="$work/azure"
mkdir -p "$az"
rc=0
(cd "$az" && clean_env TF_BUILD=True AGENT_TEMPDIRECTORY="$az" SLOGATE_HISTORY="$work/h.sqlite" \
  INPUT_COMMAND=gate INPUT_CONFIGPATH="$root/slo-examples/demo" INPUT_SINCEDEPLOYMENT=true INPUT_TIMEFRAME=25m \
  INPUT_REPORTDIR="$az/report" INPUT_PUBLISHTESTRESULTS=true INPUT_DYNATRACEURL="$dt_url" \
  INPUT_DYNATRACETOKEN="$token" INPUT_SLOGATEPATH="$slogate" INPUT_WORKINGDIRECTORY="$az" \
  node "$root/dist/azure-devops/tasks/slogate/index.js" >"$az/task.log" 2>&1) || rc=$?
check "azure: SLOGATE_RESULT" 1 "$(grep -c '^##vso\[task.setvariable variable=SLOGATE_RESULT\]fail' "$az/task.log")"
check "azure: JUnit published" 1 "$(grep -c '^##vso\[results.publish type=JUnit;.*resultFiles=.*junit.xml' "$az/task.log")"
check "azure: summary uploaded" yes "$(grep -q '^##vso\[task.uploadsummary\]' "$az/task.log" && echo yes)"
check "azure: task failed" 1 "$(grep -c '^##vso\[task.complete result=Failed;\]slogate: fail, score' "$az/task.log")"
# getInput debug-logs input values (##vso[task.debug], shown only with system.debug); a secret
# variable or the service connection is masked by the agent there.
check "azure: token not printed" 0 "$(grep -v 'task.setsecret\|task.debug' "$az/task.log" | grep -c "$token" || true)"

echo "dist e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
