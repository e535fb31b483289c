#!/usr/bin/env bash
# Builds the FROM-scratch image (dist/container/Dockerfile: the static binary and the CA
# certificates) with buildah, daemonless, in a throw-away storage folder, and runs slogate from
# the image's root filesystem (buildah mount + chroot: --version, lint, score). Needs root;
# installs buildah (apt-get) when missing. Exits 2 when buildah cannot work here.
#
# Usage: dist/test-image.sh [BINARY]   (default: builds it with dist/build-static.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${1:-$(bash dist/build-static.sh | tail -n 1)}

if ! command -v buildah >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then echo "buildah missing: apt-get install buildah (as root)" >&2; exit 2; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends buildah >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends buildah >&2; }
fi

work=$(mktemp -d)
chroot=$(command -v chroot)
ctr=""
b() { buildah --root "$work/storage" --runroot "$work/run" --storage-driver vfs "$@"; }
cleanup() {
  [ -z "$ctr" ] || { b umount "$ctr" >/dev/null 2>&1 || true; b rm "$ctr" >/dev/null 2>&1 || true; }
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

ctx="$work/context"
mkdir -p "$ctx"
cp "$bin" "$ctx/slogate"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
b bud --isolation chroot -f "$root/dist/container/Dockerfile" -t localhost/slogate:test "$ctx"
b images
config=$(b inspect --type image --format 'entrypoint={{.OCIv1.Config.Entrypoint}} user={{.OCIv1.Config.User}} workdir={{.OCIv1.Config.WorkingDir}}' localhost/slogate:test)
echo "image config: $config"
[ "$config" = "entrypoint=[/slogate] user=65534:65534 workdir=/work" ]

ctr=$(b from localhost/slogate:test)
mnt=$(b mount "$ctr")
echo "== the image's files:"
(cd "$mnt" && find . -mindepth 1 | sort)
[ "$(cd "$mnt" && find . -type f | sort | tr '\n' ' ')" = "./etc/ssl/certs/ca-certificates.crt ./slogate " ]
mkdir -p "$mnt/work"
cp -r slo-examples/web-service "$mnt/work/"
env -i PATH=/ "$chroot" --userspec=65534:65534 "$mnt" /slogate --version
env -i PATH=/ "$chroot" --userspec=65534:65534 "$mnt" /slogate lint /work/web-service
rc=0
env -i PATH=/ "$chroot" --userspec=65534:65534 "$mnt" /slogate score --slo /work/web-service/slo.yaml \
  --values /work/web-service/values.json --previous /work/web-service/previous.json || rc=$?
[ "$rc" -le 1 ]
echo "image: ok"
