#!/usr/bin/env bash
# Installs the Azure DevOps extension's npm packages (locally, from the lock files), runs the
# task's tests under the task library's mock-run harness, and packs the .vsix with tfx-cli.
#
#   SLOGATE_BINARIES=DIR  a folder with release binaries slogate-<target>[.exe] to bundle
#                         (bin/<os>-<arch>/ in the task); without it the .vsix has none and the
#                         task uses slogate on the agent's PATH.
#   SLOGATE_PUBLISHER=ID  the Marketplace publisher the .vsix is packed for (vss-extension.json
#                         holds the placeholder `your-publisher`, which no organization can
#                         install). A .vsix for a publisher must bundle every binary: with it
#                         set, a missing Linux, Windows or macOS binary is an error.
#
# Needs node (16 or later) and npm. Writes dist/azure-devops/out/*.vsix.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

echo "== npm ci (tfx-cli) and npm ci --omit=dev (the task's azure-pipelines-task-lib)"
npm ci --no-audit --no-fund --loglevel=error
(cd tasks/slogate && npm ci --omit=dev --no-audit --no-fund --loglevel=error)

echo "== versions: Cargo.toml, vss-extension.json and task.json agree"
python3 - "$root/Cargo.toml" <<'PY'
import json, re, sys
cargo = re.search(r'^version = "([^"]+)"', open(sys.argv[1]).read(), re.M).group(1)
ext = json.load(open("vss-extension.json"))["version"]
v = json.load(open("tasks/slogate/task.json"))["version"]
task = f'{v["Major"]}.{v["Minor"]}.{v["Patch"]}'
print(f"Cargo.toml {cargo}, vss-extension.json {ext}, task.json {task}")
sys.exit(0 if cargo == ext == task else 1)
PY

echo "== the task's tests (mock-run harness)"
node --test tests/

echo "== bundle the binaries"
rm -rf tasks/slogate/bin
if [ -n "${SLOGATE_BINARIES:-}" ]; then
  for pair in x86_64-unknown-linux-musl:linux-x64/slogate aarch64-unknown-linux-musl:linux-arm64/slogate \
    x86_64-pc-windows-msvc.exe:win32-x64/slogate.exe x86_64-pc-windows-gnu.exe:win32-x64/slogate.exe \
    x86_64-apple-darwin:darwin-x64/slogate aarch64-apple-darwin:darwin-arm64/slogate; do
    src="$SLOGATE_BINARIES/slogate-${pair%%:*}"
    dst="tasks/slogate/bin/${pair#*:}"
    if [ -f "$src" ]; then
      mkdir -p "$(dirname "$dst")"
      cp "$src" "$dst"
      chmod +x "$dst"
      echo "bundled $src as $dst"
    fi
  done
else
  echo "(SLOGATE_BINARIES not set: no binaries bundled)"
fi
publisher_flags=()
if [ -n "${SLOGATE_PUBLISHER:-}" ]; then
  case "$SLOGATE_PUBLISHER" in
    your-publisher | *[!A-Za-z0-9-]*)
      echo "SLOGATE_PUBLISHER=$SLOGATE_PUBLISHER is not a Marketplace publisher ID (letters, digits, -)" >&2
      exit 1
      ;;
  esac
  missing=()
  for want in linux-x64/slogate linux-arm64/slogate win32-x64/slogate.exe darwin-x64/slogate darwin-arm64/slogate; do
    [ -f "tasks/slogate/bin/$want" ] || missing+=("$want")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "a .vsix for publisher $SLOGATE_PUBLISHER must bundle every binary; missing in SLOGATE_BINARIES: ${missing[*]}" >&2
    exit 1
  fi
  publisher_flags=(--publisher "$SLOGATE_PUBLISHER")
  echo "== packing for publisher $SLOGATE_PUBLISHER"
else
  echo "(SLOGATE_PUBLISHER not set: packed for the placeholder publisher your-publisher, for tests only)"
fi

echo "== pack the .vsix"
rm -rf out
npx --no-install tfx extension create --manifest-globs vss-extension.json "${publisher_flags[@]}" --output-path out --no-prompt --no-color >out.log 2>&1 || {
  cat out.log
  exit 1
}
rm -f out.log
python3 - out/*.vsix "${SLOGATE_PUBLISHER:-your-publisher}" <<'PY'
import re, sys, zipfile
path, publisher = sys.argv[1], sys.argv[2]
archive = zipfile.ZipFile(path)
names = set(archive.namelist())
manifest = archive.read("extension.vsixmanifest").decode()
found = re.search(r'<Identity[^>]*Publisher="([^"]*)"', manifest)
if not found or found.group(1) != publisher:
    print(f"the .vsix names publisher {found.group(1) if found else None!r}, not {publisher!r}")
    sys.exit(1)
need = ["extension.vsixmanifest", "extension.vsomanifest", "tasks/slogate/task.json",
        "tasks/slogate/index.js", "tasks/slogate/icon.png",
        "tasks/slogate/node_modules/azure-pipelines-task-lib/task.js"]
missing = [n for n in need if n not in names]
bins = sorted(n for n in names if n.startswith("tasks/slogate/bin/"))
print(f"{path}: {len(names)} files; binaries: {', '.join(bins) or 'none'}")
if missing:
    print("missing: " + ", ".join(missing))
sys.exit(1 if missing else 0)
PY

# With a binary for this machine bundled: unpack the .vsix as an agent does (a zip: no executable
# bit) and run the task for real. Without a token slogate stops with invalid (exit 2), which the
# task must turn into a failed task with SLOGATE_RESULT=invalid.
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) mine=linux-x64/slogate ;;
  Linux-aarch64) mine=linux-arm64/slogate ;;
  *) mine="" ;;
esac
if [ -n "$mine" ] && [ -f "tasks/slogate/bin/$mine" ]; then
  echo "== run the task from the unpacked .vsix with the bundled $mine"
  agent=$(mktemp -d)
  trap 'rm -rf "$agent"' EXIT
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" out/*.vsix "$agent"
  mkdir -p "$agent/work/slo"
  out=$(env -u DT_URL -u DT_API_TOKEN TF_BUILD=True INPUT_COMMAND=gate INPUT_CONFIGPATH=slo INPUT_SINCEDEPLOYMENT=false \
    INPUT_TIMEFRAME=30m INPUT_WORKINGDIRECTORY="$agent/work" AGENT_TEMPDIRECTORY="$agent" \
    node "$agent/tasks/slogate/index.js" 2>&1 || true)
  echo "$out" | grep -E '^\[command\]|SLOGATE_RESULT|task\.complete' | grep -v '##vso\[task\.debug'
  echo "$out" | grep -q '##vso\[task\.setvariable variable=SLOGATE_RESULT\]invalid' || { echo "slogate did not run from the .vsix"; exit 1; }
  echo "$out" | grep -q '##vso\[task\.complete result=Failed;\]slogate: invalid input' || { echo "the task did not fail on invalid"; exit 1; }
fi
echo "azure devops: task tests passed, $(ls out/*.vsix) packed"
