#!/usr/bin/env bash
# Memory over a long mixed load: the release binary on SQLite, CLIENTS clients
# (bench/soak.py) for MINUTES, then two idle minutes; the server's RSS is
# sampled every second. Prints the curve's landmarks and writes every sample
# to soak-rss.csv (seconds since start, RSS in KiB, phase).
# Usage: bench/soak.sh [MINUTES] [CLIENTS]  (default 10 and 50)
# Needs: curl, openssl, python3. SECURESTAMP_BINARY measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

minutes=${1:-10}
clients=${2:-50}
port=5079
base="http://127.0.0.1:$port"
work=$(mktemp -d)
trap 'kill "$server" "$sampler" 2>/dev/null || true; rm -rf "$work"' EXIT

if [ -z "${SECURESTAMP_BINARY:-}" ]; then cargo build --release -j2 -q; fi
binary=${SECURESTAMP_BINARY:-$PWD/target/release/securestamp}
tsa_load "$work"

mkdir -p "$work/server"
(cd "$work/server" && exec env SECRET_KEY=benchmark-secret-key-benchmark-secret-key \
  BIND=127.0.0.1:$port TSA_RATE=100000 RUST_LOG=warn "$binary" serve) &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

csv=soak-rss.csv
echo "second,rss_kib,phase" > "$csv"
phase="$work/phase"
echo start > "$phase"
(
  second=0
  while kill -0 "$server" 2>/dev/null; do
    echo "$second,$(awk '/VmRSS/ {print $2}' /proc/$server/status),$(cat "$phase")" >> "$csv"
    sleep 1
    second=$((second + 1))
  done
) &
sampler=$!
sleep 3
echo load > "$phase"
load=$(python3 bench/soak.py "$base" "$clients" $((minutes * 60)) "$work/request.tsq")
echo idle > "$phase"
sleep 120
kill "$sampler"

echo "# SecureStamp soak ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $minutes min, $clients clients)"
echo
echo "load: $load"
echo
python3 - "$csv" "$minutes" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rss = lambda r: int(r["rss_kib"]) / 1024
load = [r for r in rows if r["phase"] == "load"]
idle = [r for r in rows if r["phase"] == "idle"]
start = [r for r in rows if r["phase"] == "start"]
minute = lambda m: rss(load[min(len(load) - 1, m * 60)])
minutes = int(sys.argv[2])
print("| measure | RSS (MiB) |")
print("|---|---|")
print(f"| after start | {rss(start[-1]):.1f} |")
for m in sorted({1, 2, minutes // 2, minutes}):
    print(f"| after {m} min of load | {minute(m):.1f} |")
print(f"| highest under load | {max(map(rss, load)):.1f} |")
half = load[len(load) // 2:]
print(f"| second half of the load: lowest / highest | {min(map(rss, half)):.1f} / {max(map(rss, half)):.1f} |")
print(f"| after 2 idle minutes | {rss(idle[-1]):.1f} |")
PY
