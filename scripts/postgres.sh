#!/usr/bin/env bash
# A throwaway PostgreSQL for the store's tests: Debian's `postgresql` package, one cluster in
# /tmp, reachable only through a Unix socket. Prints the SQLAlchemy URL for the tests.
set -euo pipefail
PORT="${CUSTTYPE_PG_PORT:-54329}"
DIR="${CUSTTYPE_PG_DIR:-/tmp/custtype-pg}"
URL="postgresql+psycopg://custtype@/custtype_test?host=/tmp&port=${PORT}"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bindir)" ]; then
  apt-get update -qq >&2 && apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(bindir)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if ! as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    as_pg "$BIN/initdb" -D "$DIR" -A trust -U custtype >/dev/null
  fi
  as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=''" start >/dev/null
fi
as_pg "$BIN/psql" -h /tmp -p "$PORT" -U custtype -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'custtype_test'" | grep -q 1 ||
  as_pg "$BIN/createdb" -h /tmp -p "$PORT" -U custtype custtype_test
echo "$URL"
