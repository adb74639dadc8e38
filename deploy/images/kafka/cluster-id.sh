#!/bin/bash
# Print COUNT (default 1) new KRaft cluster ids: 16 random bytes in Kafka's base64url form (what
# `StorageTool random-uuid` prints, without a JVM), never one that starts with "-": the storage tool
# would read it as an option (1 in 64 random ids would; Kafka's own generator skips them too).
set -euo pipefail
for ((made = 0; made < ${1:-1}; )); do
  id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  if [ "${id:0:1}" != "-" ]; then
    echo "$id"
    made=$((made + 1))
  fi
done
