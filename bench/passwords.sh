#!/usr/bin/env bash
# Signing in under a flood, next to the machine's own hashing rate measured
# in the same run:
#   1. Argon2id verifications per second on one thread (`cargo bench --bench passwords`);
#   2. wrk with 32 connections posting a right password to POST /auth/login for
#      SECONDS: sign-ins per second (200s), refusals (503, a full queue), the
#      server's peak RSS against its resting RSS (after start and one sign-in),
#      its RSS once the workers have idled, and GET /healthz meanwhile.
# Targets: peak ≤ resting + workers × 20 MiB + 32 MiB; sign-ins/s ≥ 70 % of
# (one thread's rate × cores); resting ≤ 48 MiB.
# Usage: bench/passwords.sh [SECONDS]. Needs: wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-10}
port=5079
base="http://127.0.0.1:$port"
cores=$(nproc)
work=$(mktemp -d)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

# SECURESTAMP_BINARY measures another build (an earlier commit's, say) the same way.
if [ -z "${SECURESTAMP_BINARY:-}" ]; then cargo build --release -j2 -q; fi
binary=${SECURESTAMP_BINARY:-$PWD/target/release/securestamp}
single=$(cargo bench -q -j2 --bench passwords -- 3 2>/dev/null | awk -F': ' '/^verifications/ {print $2}')

echo "# SecureStamp sign-in benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $cores cores)"
mkdir -p "$work/server"
(cd "$work/server" && SECRET_KEY=benchmark-secret-key-benchmark-secret-key BIND=127.0.0.1:$port \
  RUST_LOG=warn exec "$binary" serve) &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
rss() { awk "/$1/ {print int(\$2 / 1024)}" /proc/$server/status; }

jar="$work/jar"
json() { curl -s -c "$jar" -b "$jar" -H 'Accept: application/json' "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
csrf=$(json "$base/auth/login" | field csrf_token)
json -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"benchmark password"}' "$base/auth/register" >/dev/null
# A visitor who has not signed in: its pre-session cookie and CSRF token serve every attempt.
rm -f "$jar"
csrf=$(json "$base/auth/login" | field csrf_token)
cookie=$(awk '{sub(/^#HttpOnly_/, "")} !/^#/ && NF >= 7 {printf "%s%s=%s", sep, $6, $7; sep="; "}' "$jar")
body='{"username":"bench","password":"benchmark password"}'
sign_in() {
  curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/json' -H "Cookie: $cookie" \
    -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d "$body" "$base/auth/login"
}
status=$(sign_in)
[ "$status" = 200 ] || { echo "the sign-in failed: $status" >&2; exit 1; }
# At rest: the password workers free their memory after 5 s without work.
sleep 7
resting=$(rss VmRSS)

cat > "$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-CSRF-Token"] = "$csrf"
wrk.headers["Cookie"] = "$cookie"
LUA

echo 5 > /proc/$server/clear_refs
wrk -t2 -c32 -d"${duration}s" --latency -s "$work/login.lua" "$base/auth/login" > "$work/wrk.txt" &
flood=$!
sleep 2
slowest=0
for _ in $(seq 1 20); do
  took=$(curl -s -o /dev/null -w '%{time_total}' "$base/healthz")
  slowest=$(python3 -c "print(max($slowest, $took))")
  sleep 0.2
done
wait "$flood"
peak=$(rss VmHWM)
total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
refused=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
refused=${refused:-0}
p99=$(awk '/ 99%/ {print $2}' "$work/wrk.txt")
sleep 7
after=$(rss VmRSS)
status=$(sign_in)
[ "$status" = 200 ] || { echo "the sign-in after the flood failed: $status" >&2; exit 1; }

signed_in=$(python3 -c "print(f'{($total - $refused) / $duration:.1f}')")
target_rate=$(python3 -c "print(f'{0.7 * $single * $cores:.1f}')")
target_peak=$((resting + cores * 20 + 32))
cat <<REPORT

| measure | result | target |
|---|---|---|
| Argon2id (19 MiB, t=2) verifications/s on one thread | ${single} | machine limit |
| sign-ins/s under the flood (32 connections, ${duration} s) | ${signed_in}, p99 ${p99} | ≥ ${target_rate} (70 % of one thread × ${cores} cores) |
| refused with 503 (queue full) during the flood | ${refused} of ${total} | — |
| GET /healthz during the flood, slowest of 20 | $(python3 -c "print(f'{1000 * $slowest:.1f}')") ms | — |
| resting RSS (after start and one sign-in, 7 s later) | ${resting} MiB | ≤ 48 MiB |
| peak RSS during the flood (VmHWM) | ${peak} MiB | ≤ ${target_peak} MiB (resting + ${cores} workers × 20 + 32) |
| RSS 7 s after the flood (the workers have idled) | ${after} MiB | back near resting |
REPORT
