#!/usr/bin/env bash
# Time-stamps per second from POST /tsa under concurrency, next to the
# machine's raw ECDSA P-256 signing rate (openssl speed) measured in the same
# run. Usage: bench/tsa.sh [SECONDS]. Needs: openssl, wrk, curl.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10}
port=5078
base="http://127.0.0.1:$port"
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -j2 -q
binary="$PWD/target/release/securestamp"

echo "# SecureStamp /tsa benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
# The machine: single-core ECDSA P-256 signatures per second (OpenSSL's assembly).
openssl_rate=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa/ {print $(NF-1)}')

mkdir -p "$work/server"
(cd "$work/server" && SECRET_KEY=benchmark-secret-key-benchmark-secret-key BIND=127.0.0.1:$port \
  TSA_RATE=1000000 RUST_LOG=warn "$binary" serve) &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

echo "benchmark data" > "$work/data.txt"
openssl ts -query -data "$work/data.txt" -sha256 -cert -out "$work/request.tsq" 2>/dev/null
cat > "$work/post.lua" <<LUA
local file = io.open("$work/request.tsq", "rb")
wrk.method = "POST"
wrk.body = file:read("*all")
wrk.headers["Content-Type"] = "application/timestamp-query"
file:close()
LUA
# One reply must verify before the load counts.
curl -s -H 'Content-Type: application/timestamp-query' --data-binary @"$work/request.tsq" "$base/tsa" -o "$work/reply.tsr"
curl -s "$base/keys/tsa-chain.pem" -o "$work/chain.pem"
openssl ts -verify -queryfile "$work/request.tsq" -in "$work/reply.tsr" -CAfile "$work/chain.pem" >/dev/null 2>&1

# The same server's ceiling for a request that signs nothing, with wrk on the same cores.
read -r health_rate _ < <(wrk -t2 -c32 -d"${duration}s" --latency "$base/healthz" | awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}')
read -r rate p99 < <(wrk -t2 -c32 -d"${duration}s" --latency -s "$work/post.lua" "$base/tsa" | awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}')
target=$(python3 -c "print(round(0.5 * $openssl_rate * $(nproc)))")
cat <<REPORT

| measure | result |
|---|---|
| openssl speed ecdsap256, signatures/s on one core | ${openssl_rate} |
| target: 50 % of that × $(nproc) cores | ${target} stamps/s |
| GET /healthz, same server and middleware (the HTTP ceiling here) | ${health_rate} req/s |
| POST /tsa (wrk, 32 connections, ${duration} s) | ${rate} stamps/s, p99 ${p99} |
REPORT
