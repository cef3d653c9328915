#!/bin/bash
# First start: a cluster whose superuser and database are the ones named in the environment, then the scripts in
# /docker-entrypoint-initdb.d/ against a server listening on its socket only (as postgres:15 does).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s' "${POSTGRES_PASSWORD:?}" > "$password_file"
    "$bin/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$password_file" \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$password_file"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    database=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
    if [ "$database" != postgres ]; then
        echo "CREATE DATABASE \"$database\" OWNER \"${POSTGRES_USER:-postgres}\";" \
            | "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
    fi
    scripts=$(find /docker-entrypoint-initdb.d -maxdepth 1 -name '*.sh' 2>/dev/null | sort)
    if [ -n "$scripts" ]; then
        "$bin/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
        for script in $scripts; do
            POSTGRES_USER=${POSTGRES_USER:-postgres} POSTGRES_DB=$database PGHOST=/var/run/postgresql sh "$script"
        done
        "$bin/pg_ctl" -D "$PGDATA" -w -m fast stop >/dev/null
    fi
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*'
