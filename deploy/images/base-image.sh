#!/usr/bin/env bash
# Make sure the base image the Dockerfiles start FROM exists locally: pull it where a registry answers,
# else build the same Debian release with debootstrap (from Debian's own package mirror) and import it.
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
SUITE=${BASE_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image $BASE_IMAGE: present"
  exit 0
fi
if timeout 60 docker pull "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image $BASE_IMAGE: pulled"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
echo "base image $BASE_IMAGE: no registry answers; building it with debootstrap ($SUITE, minbase)"
rootfs=$(mktemp -d /var/tmp/seevee-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
  || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
# What the slim image leaves out: apt's downloaded lists and packages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
tar -C "$rootfs" --numeric-owner -c . \
  | docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$BASE_IMAGE" >/dev/null
echo "base image $BASE_IMAGE: built and imported"
