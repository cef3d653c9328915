#!/bin/bash
# KAFKA_* variables → server.properties (as apache/kafka does: lower case, _ → .), storage formatted once, the broker
# in the foreground so SIGTERM reaches it.
set -euo pipefail
properties=/tmp/server.properties
: > "$properties"
while IFS='=' read -r name value; do
    case "$name" in KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS) continue ;; esac
    key=$(echo "${name#KAFKA_}" | tr '[:upper:]' '[:lower:]' | tr '_' '.')
    echo "$key=$value" >> "$properties"
done < <(env | grep '^KAFKA_' || true)
grep -q '^log.dirs=' "$properties" || echo "log.dirs=/var/lib/kafka/data" >> "$properties"
java=(java -cp '/opt/kafka/libs/*' -Dlog4j2.level=WARN)
if [ ! -f /var/lib/kafka/data/meta.properties ]; then
    "${java[@]}" kafka.tools.StorageTool format -t "${CLUSTER_ID:-4L6g3nShT-eMCtK--X86sw}" -c "$properties" \
        --ignore-formatted >/dev/null
fi
# shellcheck disable=SC2086 # the heap options are words
exec "${java[@]}" ${KAFKA_HEAP_OPTS:--Xmx512m} kafka.Kafka "$properties"
