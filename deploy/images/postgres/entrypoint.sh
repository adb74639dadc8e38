#!/bin/bash
# First start: initdb, password for POSTGRES_USER, one database per name in POSTGRES_DATABASES.
# Every start: PostgreSQL in the foreground, listening on all interfaces: password (SCRAM) over TCP,
# trust on the local socket (only processes inside the container reach it).
set -euo pipefail
user=${POSTGRES_USER:-postgres}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE"); fi
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /var/run/postgresql" -w start >/dev/null
  IFS=',' read -ra names <<< "${POSTGRES_DATABASES:-}"
  for name in "${names[@]}"; do
    name=$(echo "$name" | tr -d '[:space:]')
    [ -n "$name" ] && psql -h /var/run/postgresql -U "$user" -d postgres -v ON_ERROR_STOP=1 -q \
      -c "CREATE DATABASE \"$name\""
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -k /var/run/postgresql \
  -c max_connections="${POSTGRES_MAX_CONNECTIONS:-300}" ${POSTGRES_EXTRA_ARGS:-}
