#!/usr/bin/env bash
# Cross-builds slogate for Windows: x86_64-pc-windows-gnu with mingw-w64 (bundled SQLite,
# rustls on ring). Installs what is missing: the rustup target, and gcc-mingw-w64-x86-64 with
# apt-get when running as root. Prints the path of slogate.exe on its last line.
#
# Releases build x86_64-pc-windows-msvc on a Windows runner (.github/workflows/release.yml); this
# build is what Linux CI can make and run (under Wine: dist/test-windows.sh).
# Honours CARGO_TARGET_DIR, SLOGATE_COMMIT, SOURCE_DATE_EPOCH and CARGO_BUILD_JOBS (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=x86_64-pc-windows-gnu

if ! rustup target list --installed | grep -qx "$target"; then
  echo "== rustup target add $target" >&2
  rustup target add "$target" >&2
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  echo "== apt-get install gcc-mingw-w64-x86-64" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "x86_64-w64-mingw32-gcc missing: apt-get install gcc-mingw-w64-x86-64 (as root)" >&2; exit 2; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64 >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64 >&2; }
fi

export CC_x86_64_pc_windows_gnu=${CC_x86_64_pc_windows_gnu:-x86_64-w64-mingw32-gcc}
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=${CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER:-x86_64-w64-mingw32-gcc}
cargo build --release --locked --target "$target" -p slogate -j "${CARGO_BUILD_JOBS:-2}" >&2
echo "${CARGO_TARGET_DIR:-$root/target}/$target/release/slogate.exe"
