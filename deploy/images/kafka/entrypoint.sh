#!/bin/bash
# One KRaft node: render server.properties from the environment, format the data dir once, run Kafka.
#   KAFKA_ADVERTISED_LISTENERS  default PLAINTEXT://<hostname>:9092,EXTERNAL://127.0.0.1:19092
#   KAFKA_PARTITIONS (6), KAFKA_NODE_ID (1), KAFKA_CLUSTER_ID (fixed per data dir), KAFKA_HEAP_OPTS,
#   KAFKA_JVM_OPTS (extra JVM flags, e.g. -XX:TieredStopAtLevel=1 for a small local broker)
set -euo pipefail
data=${KAFKA_DATA_DIR:-/var/lib/kafka/data}
config=/var/lib/kafka/server.properties
advertised=${KAFKA_ADVERTISED_LISTENERS:-PLAINTEXT://$(hostname):9092,EXTERNAL://127.0.0.1:19092}
node=${KAFKA_NODE_ID:-1}
sed -e "s|@ADVERTISED@|${advertised}|" -e "s|@DATA@|${data}|" -e "s|@NODE@|${node}|" \
    -e "s|@PARTITIONS@|${KAFKA_PARTITIONS:-6}|" /opt/kafka/config/server.properties.template > "$config"
# shellcheck disable=SC2206
java_cmd=(java ${KAFKA_HEAP_OPTS:-} ${KAFKA_JVM_OPTS:-} -XX:+UseSerialGC -Djava.awt.headless=true
          -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties -cp "/opt/kafka/libs/*")
if [ ! -f "$data/meta.properties" ]; then
  # --cluster-id=<id>: a given KAFKA_CLUSTER_ID that starts with "-" is not read as an option either.
  cluster=${KAFKA_CLUSTER_ID:-$(/opt/kafka/config/cluster-id.sh)}
  "${java_cmd[@]}" kafka.tools.StorageTool format --ignore-formatted --cluster-id="$cluster" --config "$config"
fi
exec "${java_cmd[@]}" kafka.Kafka "$config"
