#!/usr/bin/env bash
# Slow clients against the release build: for each attack size, that many
# slowloris connections from one address (a request head a byte every 3 s,
# never ended, reopened at once when cut) while a well-behaved client asks
# GET /healthz every 250 ms with a 5 s timeout (bench/slow_clients.py). The
# attack comes from the machine's first non-loopback address, the probe over
# loopback. The server runs with a file-descriptor limit of 1024, systemd's
# default soft limit.
# Prints per size: attack connections open at the end, cut off by the
# server, refused; the probe's successes, median and worst latency.
# Usage: bench/slow_clients.sh [SECONDS] [SIZES…]. Needs: python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
sizes=${*:-256 1000 2000}
port=5081
work=$(mktemp -d)
server=
trap 'if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

# SECURESTAMP_BINARY measures another build (an earlier commit's, say) the same way.
if [ -z "${SECURESTAMP_BINARY:-}" ]; then cargo build --release -j2 -q; fi
binary=${SECURESTAMP_BINARY:-$PWD/target/release/securestamp}

echo "# SecureStamp slow-client benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${seconds}s per size)"
mkdir -p "$work/server"
attack_host=$(hostname -I 2>/dev/null | awk '{print $1}')
attack_host=${attack_host:-127.0.0.1}
echo "attack from $attack_host, probe from 127.0.0.1"
(cd "$work/server" && ulimit -n 1024 && SECRET_KEY=benchmark-secret-key-benchmark-secret-key \
  BIND=0.0.0.0:$port RUST_LOG=error exec "$binary" serve) &
server=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# The attacker needs more descriptors than the server.
ulimit -n 20000
python3 bench/slow_clients.py 127.0.0.1 "$attack_host" "$port" "$seconds" $sizes
echo "server RSS at the end: $(awk '/VmRSS/ {print int($2 / 1024)}' /proc/$server/status) MiB"
