#!/usr/bin/env bash
# The transparency log under load, on PostgreSQL:
#  1. sustained appends per second, two server processes on one database
#     stamping through POST /tsa at once (every token is an entry);
#  2. the sequencers alone placing 1,000,000 waiting entries;
#  3. inclusion-proof latency over HTTP in a log of over 1,000,000 leaves
#     (GET /log/proof/inclusion at random indexes).
# Usage: bench/log.sh [SECONDS]. Needs: wrk, curl, psql, openssl, and a local
# PostgreSQL that `psql -U postgres` reaches (the database securestamp_bench
# is created afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

duration=${1:-10}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# SECURESTAMP_BINARY measures another build (an earlier commit's, say) the same way.
if [ -z "${SECURESTAMP_BINARY:-}" ]; then cargo build --release -j2 -q; fi
binary=${SECURESTAMP_BINARY:-$PWD/target/release/securestamp}
psql -q -U postgres -h 127.0.0.1 -c "DROP DATABASE IF EXISTS securestamp_bench WITH (FORCE)" -c "CREATE DATABASE securestamp_bench"
database=postgres://postgres@127.0.0.1:5432/securestamp_bench

start() { # port
  (cd "$work" && DATABASE_URL=$database DATA_DIR="$work/data" UPLOAD_FOLDER="$work/uploads" \
    SECRET_KEY=benchmark-secret-key-benchmark-secret-key BIND=127.0.0.1:$1 TSA_RATE=1000000 \
    RUST_LOG=warn "$binary" serve) &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return; sleep 0.1; done
  echo "server on port $1 did not start" >&2; exit 1
}
size() { curl -sf "http://127.0.0.1:5081/log/checkpoint" | sed -n 2p; }
wait_for() { # size → seconds waited
  local begin; begin=$(date +%s.%N)
  until [ "$(size)" -ge "$1" ]; do sleep 0.05; done
  python3 -c "print(f'{$(date +%s.%N) - $begin:.2f}')"
}

start 5081
start 5082
echo "# SecureStamp transparency log benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, PostgreSQL)"

tsa_load "$work"

# 1. Two processes stamping at once.
before=$(size)
wrk -t1 -c16 -d"${duration}s" -s "$work/post.lua" http://127.0.0.1:5081/tsa > "$work/a.txt" &
wrk_a=$!
wrk -t1 -c16 -d"${duration}s" -s "$work/post.lua" http://127.0.0.1:5082/tsa > "$work/b.txt"
wait "$wrk_a"
stamped=$(awk '/requests in/ {n += $1} END {print n}' "$work/a.txt" "$work/b.txt")
errors=$(cat "$work/a.txt" "$work/b.txt" | awk '/Non-2xx/ {n += $NF} END {print n + 0}')
lag=$(wait_for $((before + stamped)))
appended=$(( $(size) - before ))
append_rate=$(python3 -c "print(round($appended / $duration))")

# 2. A million entries waiting at once, as after an outage of the sequencers.
before=$(size)
psql -q -U postgres -h 127.0.0.1 -d securestamp_bench -c "
  INSERT INTO log_entries (leaf_hash, body)
  SELECT sha256('\\x00'::bytea || convert_to('bench entry ' || g, 'UTF8')), convert_to('bench entry ' || g, 'UTF8')
  FROM generate_series(1, 1000000) AS g"
sequenced_in=$(wait_for $((before + 1000000)))
sequence_rate=$(python3 -c "print(round(1000000 / $sequenced_in))")

# 3. Inclusion proofs at random indexes of the whole tree, once the bulk load
# has been vacuumed and analysed (as autovacuum would soon do by itself).
leaves=$(size)
psql -q -U postgres -h 127.0.0.1 -d securestamp_bench -c "VACUUM ANALYZE log_entries, log_leaves, log_nodes, log_state"
cat > "$work/proof.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/log/proof/inclusion?index=" .. math.random(0, $leaves - 1) .. "&tree_size=$leaves")
end
LUA
curl -sf "http://127.0.0.1:5081/log/proof/inclusion?index=12345" > /dev/null
proofs() { # connections
  wrk -t1 -c"$1" -d"${duration}s" --latency -s "$work/proof.lua" http://127.0.0.1:5081 \
    | awk '/Requests\/sec/ {r=$2} / 50%/ {m=$2} / 99%/ {p=$2} END {print r, m, p}'
}
read -r one_rate one_p50 one_p99 < <(proofs 1)
read -r proof_rate p50 p99 < <(proofs 8)

cat <<REPORT

| measure | result |
|---|---|
| POST /tsa on two processes at once (wrk, 2 × 16 connections, ${duration} s) | ${stamped} stamps, ${errors} errors |
| entries appended to the log per second, sustained | ${append_rate} |
| log behind the last stamp when the load stopped | ${lag} s |
| 1,000,000 waiting entries placed by the sequencers | ${sequenced_in} s = ${sequence_rate} entries/s |
| GET /log/proof/inclusion at ${leaves} leaves, one client at a time | ${one_rate} req/s, p50 ${one_p50}, p99 ${one_p99} |
| the same, 8 connections (both cores busy, wrk among them) | ${proof_rate} req/s, p50 ${p50}, p99 ${p99} |
REPORT
