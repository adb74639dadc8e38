#!/usr/bin/env bash
# `make images`: the base image (pulled, or built with debootstrap), then the service, Kafka and
# PostgreSQL images, each from a context staged under var/images/, with the time each build took.
#
# The CA bundle: registries may be reached through a TLS gateway whose CA is in this machine's system
# bundle. It is copied into each staged context as build-ca.crt (var/ is never committed) for the build
# steps that install from PyPI; on an ordinary machine it is just the public CAs, so a no-op.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
tag=${IMAGE_TAG:-local}
stage=$root/var/images
uv=$root/.tools/bin/uv
python=$root/.venv/bin/python
ca_bundle=${BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
only=${1:-all}

timed() {  # timed NAME COMMAND...: run, then print how long it took
  local name=$1 start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  printf '%-16s built in %4ds\n' "$name" $((end - start)) | tee -a "$stage/build-times.txt"
}

place_ca() {  # place_ca CONTEXT
  if [ -s "$ca_bundle" ]; then cp "$ca_bundle" "$1/build-ca.crt"; else : >"$1/build-ca.crt"; fi
}

build() {  # build NAME DOCKERFILE CONTEXT
  docker build --quiet -t "seevee-$1:$tag" -f "$2" "$3" >/dev/null
}

stage_service() {
  local ctx=$stage/service
  rm -rf "$ctx" && mkdir -p "$ctx/wheels"
  for package in seevee-shared bounce-ingest run-orchestrator task-service thread-service refund-service; do
    "$uv" build --quiet --wheel --package "$package" -o "$ctx/wheels"
  done
  "$uv" export --quiet --frozen --no-dev --no-emit-workspace --no-hashes --no-header --no-annotate \
    --package bounce-ingest --package run-orchestrator --package task-service --package thread-service \
    --package refund-service -o "$ctx/requirements.txt"
  place_ca "$ctx"
}

stage_kafka() {
  local ctx=$stage/kafka libs
  rm -rf "$ctx" && mkdir -p "$ctx"
  libs=$("$python" -c 'from seevee_deploy.kafka_jars import ensure_kafka_jars; print(ensure_kafka_jars().libs)')
  cp -r "$libs" "$ctx/libs"
  cp -r deploy/images/kafka "$ctx/kafka"
  place_ca "$ctx"
}

stage_postgres() {
  local ctx=$stage/postgres
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r deploy/images/postgres "$ctx/postgres"
  place_ca "$ctx"
}

mkdir -p "$stage"
: >"$stage/build-times.txt"
timed base bash deploy/images/base-image.sh
for name in service kafka postgres; do
  if [ "$only" = all ] || [ "$only" = "$name" ]; then
    "stage_$name"
    timed "seevee-$name" build "$name" "deploy/images/$name.Dockerfile" "$stage/$name"
  fi
done
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E "^seevee-.*:$tag |^debian:bookworm-slim " \
  | tee "$stage/image-sizes.txt"
