#!/usr/bin/env bash
# The write ceiling: how many saveAnswers-shaped transactions per second PostgreSQL itself
# runs on this machine (lock and bump the response row, upsert 9 answers, append 9 audit
# rows; see save_answers.sql), with pgbench and prepared statements, no API in between.
#   benches/write-ceiling/run.sh [PG_URL]   (default postgres://postgres@127.0.0.1:5432/postgres)
# Creates a throwaway database write_ceiling, runs a 3 s warm-up and a 10 s measured run
# (CLIENTS=16, DURATION=10, MODE=prepared), checks that every committed call left exactly
# 9 audit rows, drops the database, and prints one line: `write-ceiling: N tx/s ...`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url=${1:-postgres://postgres@127.0.0.1:5432/postgres}
db_url=${url%/*}/write_ceiling
CLIENTS=${CLIENTS:-16} DURATION=${DURATION:-10} MODE=${MODE:-prepared}
psql -X -q "$url" -c 'DROP DATABASE IF EXISTS write_ceiling' -c 'CREATE DATABASE write_ceiling'
trap 'psql -X -q "$url" -c "DROP DATABASE IF EXISTS write_ceiling" >/dev/null 2>&1 || true' EXIT
psql -X -q -v ON_ERROR_STOP=1 "$db_url" -f "$here/schema.sql" -f "$here/seed.sql" >/dev/null
pgbench -n -M "$MODE" -c "$CLIENTS" -j 2 -T 3 -f "$here/save_answers.sql" "$db_url" >/dev/null 2>&1
out=$(pgbench -n -M "$MODE" -c "$CLIENTS" -j 2 -T "$DURATION" -f "$here/save_answers.sql" "$db_url" 2>&1)
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
lat=$(sed -n 's/^latency average = \(.*\)$/\1/p' <<<"$out")
check=$(psql -X -At -v ON_ERROR_STOP=1 "$db_url" -f "$here/check.sql" 2>&1 | tail -1)
echo "write-ceiling: $tps tx/s, latency average $lat, $CLIENTS clients, -M $MODE; check: $check"
