#!/usr/bin/env bash
# Puts a slogate binary at hand for the action's next step and says where (`bin` output).
#
# - SLOGATE_VERSION empty and slogate on PATH: that one.
# - Otherwise the released binary for the runner's OS and architecture, from
#   <server>/<repository>/releases/download/v<version>/slogate-<target>[.exe]
#   (or releases/latest/download/... for `latest`), checked against the release's SHA256SUMS.
#
# Environment: SLOGATE_VERSION, SLOGATE_REPOSITORY, SLOGATE_ACTION_REPOSITORY, SLOGATE_ACTION_REF,
# RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_OUTPUT,
# GITHUB_PATH; SLOGATE_RELEASES_URL replaces <server>/<repository>/releases (a mirror, the tests).
set -euo pipefail

fail() {
  echo "::error title=slogate::$1"
  exit 1
}

out() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1" >>"$GITHUB_OUTPUT"; fi
}

version=${SLOGATE_VERSION:-}
if [ -z "$version" ] && existing=$(command -v slogate 2>/dev/null); then
  echo "Using $existing: $("$existing" --version)"
  out "bin=$existing"
  exit 0
fi
if [ -z "$version" ]; then
  case "${SLOGATE_ACTION_REF:-}" in
    v[0-9]*) version=$SLOGATE_ACTION_REF ;;
    *) version=latest ;;
  esac
fi

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) fail "no released slogate binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}: put slogate on PATH before this step" ;;
esac
exe=""
if [ "${RUNNER_OS}" = Windows ]; then exe=.exe; fi
asset="slogate-$target$exe"

repository=${SLOGATE_REPOSITORY:-${SLOGATE_ACTION_REPOSITORY:-${GITHUB_REPOSITORY:-}}}
releases=${SLOGATE_RELEASES_URL:-${GITHUB_SERVER_URL:-https://github.com}/$repository/releases}
if [ "$version" = latest ]; then
  url="$releases/latest/download"
else
  url="$releases/download/v${version#v}"
fi

dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/slogate-$version-$target"
mkdir -p "$dir"
echo "Downloading $url/$asset"
curl -fsSL --retry 3 --retry-delay 2 -o "$dir/$asset" "$url/$asset" ||
  fail "cannot download $url/$asset (is there a release v${version#v} with binaries?)"
curl -fsSL --retry 3 --retry-delay 2 -o "$dir/SHA256SUMS" "$url/SHA256SUMS" ||
  fail "cannot download $url/SHA256SUMS"

# SHA256SUMS lines: "<hex>  <asset>" (sha256sum format; `*` marks binary mode).
expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$dir/SHA256SUMS")
[ -n "$expected" ] || fail "$asset is not listed in SHA256SUMS"
if command -v sha256sum >/dev/null 2>&1; then
  actual=$(sha256sum "$dir/$asset" | awk '{ print $1 }')
else
  actual=$(shasum -a 256 "$dir/$asset" | awk '{ print $1 }')
fi
[ "$actual" = "$expected" ] || fail "SHA-256 of $asset is $actual, SHA256SUMS says $expected: not running it"

mv "$dir/$asset" "$dir/slogate$exe"
chmod +x "$dir/slogate$exe"
echo "Verified $asset ($actual): $("$dir/slogate$exe" --version)"
if [ -n "${GITHUB_PATH:-}" ]; then echo "$dir" >>"$GITHUB_PATH"; fi
out "bin=$dir/slogate$exe"
