#!/usr/bin/env bash
# Time-stamps per second, next to the machine's raw ECDSA P-256 signing rate
# (openssl speed) measured in the same run:
#   1. the responder alone (`cargo bench -p securestamp-proofs --bench stamp`: parse, sign, encode
#      on one thread, no HTTP, no log), next to ring's bare signatures;
#   2. POST /tsa over HTTP with wrk (32 connections, a fixed request body),
#      every token's log entry stored before its reply (SQLite, the default),
#      a. with server and wrk sharing every core,
#      b. with the server pinned to core 0 and wrk to core 1 (taskset), so
#         that the load generator's work is not counted against the server.
# The target is 50 % of the single-core signing rate times the server's cores.
# Usage: bench/tsa.sh [SECONDS]. Needs: openssl, wrk, curl, python3, taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

duration=${1:-10}
port=5078
base="http://127.0.0.1:$port"
cores=$(nproc)
work=$(mktemp -d)
server=
stop_server() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi; }
trap 'stop_server; rm -rf "$work"' EXIT

# SECURESTAMP_BINARY measures another build (an earlier commit's, say) the same way.
if [ -z "${SECURESTAMP_BINARY:-}" ]; then cargo build --release -j2 -q; fi
binary=${SECURESTAMP_BINARY:-$PWD/target/release/securestamp}

echo "# SecureStamp /tsa benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $cores cores)"
# The machine: single-core ECDSA P-256 signatures per second (OpenSSL's assembly).
openssl_rate=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $(NF-1)}')
responder=$(cargo bench -q -j2 -p securestamp-proofs --bench stamp -- 3 2>/dev/null)
responder_rate=$(awk -F': ' '/^stamps/ {print $2}' <<<"$responder")
ring_rate=$(awk -F': ' '/^ECDSA/ {print $2}' <<<"$responder")

tsa_load "$work"

# start_server [CPU LIST]: a fresh data directory, optionally pinned.
start_server() {
  if curl -s -o /dev/null "$base/healthz"; then echo "port $port is taken" >&2; exit 1; fi
  rm -rf "$work/server" && mkdir -p "$work/server"
  local pin=()
  if [ -n "${1:-}" ]; then pin=(taskset -c "$1"); fi
  (cd "$work/server" && SECRET_KEY=benchmark-secret-key-benchmark-secret-key BIND=127.0.0.1:$port \
    TSA_RATE=1000000 RUST_LOG=warn exec "${pin[@]}" "$binary" serve) &
  server=$!
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.1; done
  echo "the server did not start" >&2
  exit 1
}

# load [CPU LIST] ARGS…: wrk's requests per second and p99.
load() {
  local pin=() threads=$cores
  if [ -n "$1" ]; then pin=(taskset -c "$1"); threads=1; fi
  shift
  "${pin[@]}" wrk -t"$threads" -c32 -d"${duration}s" --latency "$@" |
    awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {printf "%.0f %s\n", r, p}'
}

start_server
# One reply must verify before the load counts.
curl -s -H 'Content-Type: application/timestamp-query' --data-binary @"$work/request.tsq" "$base/tsa" -o "$work/reply.tsr"
curl -s "$base/keys/tsa-chain.pem" -o "$work/chain.pem"
openssl ts -verify -queryfile "$work/request.tsq" -in "$work/reply.tsr" -CAfile "$work/chain.pem" >/dev/null 2>&1
# The same server's ceiling for a request that signs nothing.
read -r shared_health _ < <(load "" "$base/healthz")
read -r shared_rate shared_p99 < <(load "" -s "$work/post.lua" "$base/tsa")
stop_server

pinned="(one core: not measured)"
if [ "$cores" -ge 2 ]; then
  start_server 0
  read -r pinned_health _ < <(load 1 "$base/healthz")
  read -r pinned_rate pinned_p99 < <(load 1 -s "$work/post.lua" "$base/tsa")
  stop_server
fi

target() { python3 -c "print(round(0.5 * $openssl_rate * $1))"; }
percent() { python3 -c "print(round(100 * $1 / $2))"; }
cat <<REPORT

| measure | result |
|---|---|
| openssl speed ecdsap256, signatures/s on one core | ${openssl_rate%.*} |
| ring, the library the server signs with, signatures/s on one thread | ${ring_rate} |
| the responder alone (parse, sign, encode), stamps/s on one thread | ${responder_rate} ($(percent "$responder_rate" "$openssl_rate") % of openssl's rate; target 50 %) |
| server and wrk on all $cores cores: GET /healthz (the HTTP ceiling) | ${shared_health} req/s |
| server and wrk on all $cores cores: POST /tsa | ${shared_rate} stamps/s, p99 ${shared_p99} (target $(target "$cores")) |
REPORT
if [ "$cores" -ge 2 ]; then
  cat <<REPORT
| server on core 0, wrk on core 1: GET /healthz | ${pinned_health} req/s |
| server on core 0, wrk on core 1: POST /tsa | ${pinned_rate} stamps/s, p99 ${pinned_p99} (target $(target 1), $(percent "$pinned_rate" "$(target 1)") % of it) |
REPORT
fi
