#!/usr/bin/env bash
# The load benchmark: mognad against the GraphQL engine's ceiling (gqlconst) and
# PostgreSQL's write ceiling, in one run, on SQLite and on PostgreSQL.
#
#   bash benches/load.sh            (needs wrk: apt-get install -y wrk; pgbench, psql)
#
# It builds mognad (release) and benches/ceiling, starts gqlconst and mognad on
# loopback with the demo data (an SQLite file; a throwaway PostgreSQL database
# mognad_load), runs benches/write-ceiling/run.sh, and measures four workloads,
# each after a checked warm-up (every response 2xx without errors, or the run stops):
#
#   kommun    myComparison(2023), tokens rotating over the 290 kommuner
#   skr       maturityAggregates(2023, GROUP) with an analyst's token
#   anonymous maturityAggregates(2023, NATIONAL) without a token
#   save      saveAnswers of 9 answers in an open round, 290 kommuner, alternating
#             two answer sets so that every save changes something
#
# One line per workload: req/s, p50, p99, errors, server CPU per request, RSS, and the
# ratio to its reference from the same run (reads: gqlconst; saves: the write ceiling).
# Not part of `cargo test` or CI. Env: DURATION (10), CONNECTIONS (64), THREADS (2),
# PG_URL (postgres://postgres@127.0.0.1:5432/postgres); to look at one
# part while working on it, DATABASES ("sqlite postgres") and WORKLOADS ("kommun skr
# anonymous save") narrow the run (the references are always measured).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DURATION=${DURATION:-10}
DATABASES=${DATABASES:-sqlite postgres}
WORKLOADS=${WORKLOADS:-kommun skr anonymous save}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
SECRET=load-benchmark-secret-that-is-long-enough
ROUND_2023=00000000-0000-0000-0000-000000002023
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  psql -X -q "$PG_URL" -c 'DROP DATABASE IF EXISTS mognad_load WITH (FORCE)' >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

echo "== build (release)"
cargo build --release --quiet
CARGO_TARGET_DIR="$root/target/ceiling" cargo build --release --quiet \
  --manifest-path "$root/benches/ceiling/Cargo.toml"
bin=$root/target/release/mognad

echo "== $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr)"

# Server CPU (user + system, in clock ticks) and RSS (kB) of a process.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
tick=$(getconf CLK_TCK)

wait_ready() {
  for _ in $(seq 1 120); do
    curl -sf "$1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "not ready: $1" >&2
  return 1
}

# run NAME URL PID TOKENS BODIES REFERENCE_RPS: a strict warm-up, then the measured run.
run() {
  local name=$1 url=$2 pid=$3 tokens=$4 bodies=$5 reference=$6
  local warm
  warm=$(GQL_NAME="$name" WRK_STRICT=1 GQL_TOKENS_FILE="$tokens" GQL_BODIES_FILE="$bodies" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d3s -s benches/rotate.lua "$url" | grep '^RESULT')
  local bad
  bad=$(awk -F'\t' '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END { print v["non2xx"] + v["sockerr"] + v["gqlerr"] }' <<<"$warm")
  if [ "$bad" != "0" ]; then
    echo "$name: the warm-up had errors: $warm" >&2
    exit 1
  fi
  local before after result
  before=$(cpu_ticks "$pid")
  result=$(GQL_NAME="$name" GQL_TOKENS_FILE="$tokens" GQL_BODIES_FILE="$bodies" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s benches/rotate.lua "$url" | grep '^RESULT')
  after=$(cpu_ticks "$pid")
  awk -F'\t' -v cpu=$((after - before)) -v tick="$tick" -v rss="$(rss_kb "$pid")" \
    -v hwm="$(hwm_kb "$pid")" -v ref="$reference" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
    END {
      errors = v["non2xx"] + v["sockerr"]
      us = v["requests"] > 0 ? cpu / tick * 1e6 / v["requests"] : 0
      printf "%-22s %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  errors %d  cpu %5.0f us/req  rss %3.0f MB (max %3.0f)  ratio %5.1f %%\n",
        v["name"], v["rps"], v["p50_ms"], v["p99_ms"], errors, us, rss / 1024, hwm / 1024,
        (ref > 0 ? 100 * v["rps"] / ref : 0)
    }' <<<"$result"
}

# The references: gqlconst and the write ceiling.
echo "== references"
BIND=127.0.0.1:18082 "$root/target/ceiling/release/gqlconst" >/dev/null 2>&1 &
pids+=($!)
gql_pid=$!
sleep 1
printf '\n' > "$work/no-token"
echo '{"query":"query($y: Int!) { myMaturity(roundYear: $y) { nodes { area level groupMean nationalMean } } }","variables":{"y":2023}}' > "$work/gqlconst.json"
ceiling_line=$(run gqlconst http://127.0.0.1:18082/graphql "$gql_pid" "$work/no-token" "$work/gqlconst.json" 0)
echo "$ceiling_line"
ceiling=$(awk '{ print $2 }' <<<"$ceiling_line")
kill "$gql_pid"
write_line=$(bash "$root/benches/write-ceiling/run.sh" "$PG_URL")
echo "$write_line"
write_ceiling=$(sed -n 's/^write-ceiling: \([0-9.]*\) tx\/s.*/\1/p' <<<"$write_line")

# Tokens and bodies.
export MOGNAD_JWT_SECRET=$SECRET
tail -n +2 migration/data/municipalities.csv | cut -d, -f1 | while read -r code; do
  "$bin" token --role kommun --kommun "$code" --ttl 2h
done > "$work/kommun-tokens"
"$bin" token --role skr_analyst --ttl 2h > "$work/analyst-token"
"$bin" token --role skr_admin --ttl 2h > "$work/admin-token"
echo "{\"query\":\"query(\$r: ID!) { myComparison(roundId: \$r) { area { number } level groupMean nationalMean baselineLevel baselineGroupMean baselineNationalMean } }\",\"variables\":{\"r\":\"$ROUND_2023\"}}" > "$work/kommun.json"
echo "{\"query\":\"query(\$r: ID!) { maturityAggregates(roundId: \$r, grouping: GROUP) { area { number } segment { code } meanLevel respondents suppressed } }\",\"variables\":{\"r\":\"$ROUND_2023\"}}" > "$work/skr.json"
echo "{\"query\":\"query(\$r: ID!) { maturityAggregates(roundId: \$r, grouping: NATIONAL) { area { number } meanLevel respondents } }\",\"variables\":{\"r\":\"$ROUND_2023\"}}" > "$work/anonymous.json"

wanted() { [[ " $WORKLOADS " == *" $1 "* ]]; }

# Starts mognad (NAME, then env assignments), measures the four workloads.
measure() {
  local label=$1 port=$2
  shift 2
  env "$@" MOGNAD_LISTEN="127.0.0.1:$port" "$bin" serve > "$work/$label.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_ready "http://127.0.0.1:$port/health/ready"
  local url="http://127.0.0.1:$port/graphql" admin
  admin=$(cat "$work/admin-token")
  # An open round to save into, and the save's two answer sets.
  local round
  round=$(curl -sf "$url" -H 'content-type: application/json' -H "authorization: Bearer $admin" \
    -d "{\"query\":\"mutation(\$f: ID!) { createSurveyRound(input: { year: 2031, title: \\\"load\\\", copyFrom: \$f }) { id } }\",\"variables\":{\"f\":\"$ROUND_2023\"}}" \
    | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  curl -sf "$url" -H 'content-type: application/json' -H "authorization: Bearer $admin" \
    -d "{\"query\":\"mutation(\$r: ID!) { openSurveyRound(id: \$r) { status } }\",\"variables\":{\"r\":\"$round\"}}" >/dev/null
  local keys
  keys=$(curl -sf "$url" -H 'content-type: application/json' \
    -d "{\"query\":\"query(\$r: ID!) { surveyRound(id: \$r) { areas { questions { key maturity } } } }\",\"variables\":{\"r\":\"$round\"}}" \
    | grep -o '"key":"[a-z0-9_]*","maturity":true' | sed 's/"key":"\([^"]*\)".*/\1/')
  for choice in yes_fully no; do
    local answers=""
    for k in $keys; do
      answers="$answers{\"questionKey\":\"$k\",\"value\":{\"choice\":\"$choice\"}},"
    done
    echo "{\"query\":\"mutation(\$r: ID!, \$a: [AnswerInput!]!) { saveAnswers(roundId: \$r, answers: \$a) { version } }\",\"variables\":{\"r\":\"$round\",\"a\":[${answers%,}]}}"
  done > "$work/save-$label.json"
  wanted kommun && run "$label kommun" "$url" "$pid" "$work/kommun-tokens" "$work/kommun.json" "$ceiling"
  wanted skr && run "$label skr" "$url" "$pid" "$work/analyst-token" "$work/skr.json" "$ceiling"
  wanted anonymous && run "$label anonymous" "$url" "$pid" "$work/no-token" "$work/anonymous.json" "$ceiling"
  wanted save && run "$label save" "$url" "$pid" "$work/kommun-tokens" "$work/save-$label.json" "${write_ceiling:-0}"
  if wanted save && [ "$label" = postgres ]; then
    # Every acknowledged save changed nine answers: nine audit rows per version.
    local audit
    audit=$(psql -X -At "$pg_db" -c "SELECT (SELECT COALESCE(SUM(version), 0) FROM response WHERE round_id = '$round'), (SELECT COUNT(*) FROM answer_event WHERE round_id = '$round')")
    awk -F'|' '{ printf "postgres save audit: %d versions, %d events (9 per version: %s)\n", $1, $2, ($2 == 9 * $1 ? "ok" : "MISSING") ; exit ($2 == 9 * $1 ? 0 : 1) }' <<<"$audit"
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

if [[ " $DATABASES " == *" sqlite "* ]]; then
  echo "== SQLite (embedded, demo data)"
  measure sqlite 18180 MOGNAD_DATA_DIR="$work/sqlite"
fi

if [[ " $DATABASES " == *" postgres "* ]]; then
echo "== PostgreSQL (demo data)"
psql -X -q "$PG_URL" -c 'DROP DATABASE IF EXISTS mognad_load WITH (FORCE)' -c 'CREATE DATABASE mognad_load'
pg_db=${PG_URL%/*}/mognad_load
MOGNAD_DATABASE_URL=$pg_db "$bin" seed --demo > "$work/seed.log" 2>&1
measure postgres 18181 MOGNAD_DATABASE_URL="$pg_db"
fi
echo "(ratios: reads to gqlconst, saves to the write ceiling; write ceiling $write_ceiling tx/s)"
