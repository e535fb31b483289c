#!/usr/bin/env bash
# The release builds, built and run here (issue 12 items 1 and 2):
#
#   1. dist/build-static.sh + dist/test-static.sh    static musl binary: proven static, run in an
#                                                    empty root (chroot) incl. a gate against dtsim;
#      dist/test-image.sh                            the FROM-scratch image, when buildah works here
#   2. dist/build-windows.sh + dist/test-windows.sh  the Windows .exe under Wine, incl. a gate
#
# Installs what it needs (as root): rustup targets x86_64-unknown-linux-musl and
# x86_64-pc-windows-gnu; apt-get packages musl-tools, gcc-mingw-w64-x86-64, wine, wine64 (and
# buildah for the image step; SKIP_IMAGE=1 skips it). Prints the time of every step; exits non-zero
# when any step fails, and says which. Builds are release builds, one target at a time, -j2
# (CARGO_BUILD_JOBS overrides).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
total=$SECONDS

failed=()
ran=0
step() { # step NAME COMMAND...
  local name=$1 start=$SECONDS
  shift
  ran=$((ran + 1))
  echo
  echo "=== $name"
  if "$@"; then
    echo "=== $name: ok ($((SECONDS - start)) s)"
  else
    echo "=== $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
}

apt_install() { # apt_install PACKAGE... -- installs the ones dpkg does not know as installed
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then echo "missing ${missing[*]}: install them as root" >&2; return 1; fi
  echo "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}
tools() {
  rustup target add x86_64-unknown-linux-musl x86_64-pc-windows-gnu &&
    apt_install musl-tools gcc-mingw-w64-x86-64 wine wine64 file binutils
}
step "tools (rustup targets, apt-get)" tools

static_bin=""
build_static() { static_bin=$(bash dist/build-static.sh | tail -n 1) && [ -x "$static_bin" ] && ls -l "$static_bin"; }
step "build: static Linux binary (x86_64-unknown-linux-musl)" build_static
if [ -n "$static_bin" ]; then
  step "test: static, empty root, gate against dtsim" bash dist/test-static.sh "$static_bin"
  if [ -z "${SKIP_IMAGE:-}" ]; then
    step "image: FROM scratch (buildah)" bash dist/test-image.sh "$static_bin"
  fi
fi

exe=""
build_windows() { exe=$(bash dist/build-windows.sh | tail -n 1) && [ -f "$exe" ] && ls -l "$exe"; }
step "build: Windows (x86_64-pc-windows-gnu)" build_windows
if [ -n "$exe" ]; then
  step "test: Windows .exe under Wine, gate against dtsim" env SLOGATE_LINUX="$static_bin" bash dist/test-windows.sh "$exe"
fi

echo
echo "builds: $((ran - ${#failed[@]})) passed, ${#failed[@]} failed in $((SECONDS - total)) s${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
