#!/usr/bin/env bash
# Builds the static Linux binary: x86_64-unknown-linux-musl, bundled SQLite, rustls (ring).
# Installs what is missing: the rustup target, and musl-tools (musl-gcc, for the C parts:
# SQLite and ring) with apt-get when running as root.
#
#   dist/build-static.sh            -> prints the path of the binary on its last line
#   TARGET=aarch64-unknown-linux-musl dist/build-static.sh   (needs an aarch64 musl C compiler)
#
# Honours CARGO_TARGET_DIR, SLOGATE_COMMIT, SOURCE_DATE_EPOCH and CARGO_BUILD_JOBS (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${TARGET:-x86_64-unknown-linux-musl}

if ! rustup target list --installed | grep -qx "$target"; then
  echo "== rustup target add $target" >&2
  rustup target add "$target" >&2
fi
if ! command -v musl-gcc >/dev/null; then
  echo "== apt-get install musl-tools" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "musl-gcc missing: apt-get install musl-tools (as root)" >&2; exit 2; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends musl-tools >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends musl-tools >&2; }
fi

cc_var="CC_$(echo "$target" | tr - _)"
export "$cc_var=${!cc_var:-musl-gcc}"
# musl targets link statically by default; say so anyway, so a changed default cannot slip by.
export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static"
cargo build --release --locked --target "$target" -p slogate -j "${CARGO_BUILD_JOBS:-2}" >&2
echo "${CARGO_TARGET_DIR:-$root/target}/$target/release/slogate"
