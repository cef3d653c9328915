#!/bin/bash
# The healthcheck: a Kafka ApiVersions request (key 18, version 0) on the broker's port, answered within 5 seconds.
# Usage as the real tool's: --bootstrap-server HOST:PORT.
set -euo pipefail
server=${2:-localhost:9092}
exec timeout 5 bash -c '
    exec 3<>"/dev/tcp/${0%:*}/${0##*:}"
    printf "\x00\x00\x00\x0c\x00\x12\x00\x00\x00\x00\x00\x01\x00\x02hc" >&3
    [ "$(head -c 4 <&3 | wc -c)" -eq 4 ]' "$server"
