#!/usr/bin/env bash
# Every check of the pipeline integrations that needs no Rust toolchain:
#
#   1. dist/lint-workflows.sh     actionlint on .github/workflows/*, the example workflow and
#                                 action.yml; the action's scripts against a stub and a fake release
#   2. dist/gitlab/test_template.py  the GitLab CI/CD component parses, and its job script works
#   3. dist/azure-devops/test.sh  the Azure task's mock-run tests and the .vsix pack
#
# Needs bash, node and npm (packages install into local folders: target/dist-tools and
# dist/azure-devops/**/node_modules), python3 with PyYAML, curl, sha256sum; shellcheck and busybox
# are used when installed (apt-get install shellcheck busybox). Exits non-zero when
# any check fails; says which.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

failed=()
step() { # step NAME COMMAND...
  local name=$1 start=$SECONDS
  shift
  echo
  echo "=== $name"
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
}

if ! python3 -c "import yaml" 2>/dev/null; then
  echo "== installing PyYAML (pip, user site)"
  python3 -m pip install --quiet --user "PyYAML>=6" || python3 -m pip install --quiet "PyYAML>=6"
fi

step "GitHub workflows and action (actionlint)" bash dist/lint-workflows.sh
step "GitLab CI/CD component" python3 dist/gitlab/test_template.py
step "Azure DevOps task and .vsix" bash dist/azure-devops/test.sh

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "dist: 3 passed, 0 failed"
else
  echo "dist: $((3 - ${#failed[@]})) passed, ${#failed[@]} failed: ${failed[*]}"
  exit 1
fi
