#!/usr/bin/env bash
# Upload and listing throughput of the release binary, next to the machine's
# own limits measured in the same run. Usage: bench/files.sh [SIZE_MIB]
# Needs: curl, openssl, wrk (apt-get install wrk), python3. Writes a summary to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${1:-1024}
port=5077
base="http://127.0.0.1:$port"
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# SECURESTAMP_BINARY measures another build (an earlier commit's, say) the same way.
if [ -z "${SECURESTAMP_BINARY:-}" ]; then cargo build --release -j2 -q; fi
binary=${SECURESTAMP_BINARY:-$PWD/target/release/securestamp}

mib_per_s() { python3 -c "print(f'{$1 / 1048576 / $2:.0f}')"; }
seconds() { python3 -c "import time; print(time.perf_counter())"; }

echo "# SecureStamp files benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
head -c $((size_mib * 1048576)) /dev/urandom > "$work/big.zip"
bytes=$(stat -c %s "$work/big.zip")
sync

# The machine's limits, best of two: SHA-256 (OpenSSL uses SHA-NI where
# present) and a copy to the same disk with fsync.
best_rate() { # command...
  local best=0 start end rate
  for _ in 1 2; do
    start=$(seconds); "$@"; end=$(seconds)
    rate=$(mib_per_s "$bytes" "$(python3 -c "print($end - $start)")")
    [ "$rate" -gt "$best" ] && best=$rate
  done
  echo "$best"
}
sha_rate=$(best_rate sh -c "openssl dgst -sha256 '$work/big.zip' >/dev/null")
copy_rate=$(best_rate dd if="$work/big.zip" of="$work/copy.bin" bs=1M conv=fsync status=none)
rm -f "$work/copy.bin"

mkdir -p "$work/server"
(cd "$work/server" && SECRET_KEY=benchmark-secret-key-benchmark-secret-key BIND=127.0.0.1:$port \
  MAX_CONTENT_LENGTH=20GiB RUST_LOG=warn "$binary" serve) &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

# An account and an API token, through the JSON API.
jar="$work/jar"
csrf=$(curl -s -c "$jar" -b "$jar" -H 'Accept: application/json' "$base/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
curl -s -c "$jar" -b "$jar" -H 'Accept: application/json' -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"benchmark password"}' "$base/auth/register" >/dev/null
csrf=$(curl -s -c "$jar" -b "$jar" -H 'Accept: application/json' -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"username":"bench","password":"benchmark password"}' "$base/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])')
token=$(curl -s -c "$jar" -b "$jar" -H 'Accept: application/json' -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"name":"bench"}' "$base/settings/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
auth="Authorization: Bearer $token"

# Signing up hashed a password (19 MiB of Argon2 memory); start the peak afresh.
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$server/status)
echo 5 > /proc/$server/clear_refs
upload_time=$(curl -s -o /dev/null -w '%{time_total}' -H "$auth" -H 'Accept: application/json' -F "files=@$work/big.zip" "$base/upload")
rss_peak=$(awk '/VmHWM/ {print $2}' /proc/$server/status)
upload_rate=$(mib_per_s "$bytes" "$upload_time")

# Many small files in one request: 1,000 of 4 KiB and 100 of 64 KiB, fresh
# contents each time, the median of three requests each. Beside them, what
# the disk does with the same files written and fsynced one after another,
# the way the server once stored them.
small_files() { # DIR COUNT BYTES
  rm -rf "$1" && mkdir -p "$1"
  python3 - "$@" <<'PY'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], f"f{i:04}.txt"), "wb") as f:
        f.write(os.urandom(int(sys.argv[3]) // 2).hex().encode())
PY
}
median_upload() { # COUNT BYTES: seconds
  local times=()
  for run in 1 2 3; do
    small_files "$work/small" "$1" "$2"
    local args=()
    for f in "$work"/small/*.txt; do args+=(-F "files=@$f"); done
    times+=("$(curl -s -o /dev/null -w '%{time_total}' -H "$auth" -H 'Accept: application/json' "${args[@]}" "$base/upload")")
  done
  python3 -c "import statistics, sys; print(statistics.median(map(float, sys.argv[1:])))" "${times[@]}"
}
small_time=$(median_upload 1000 4096)
small_rate=$(python3 -c "print(f'{1000 / $small_time:.0f}')")
medium_ms=$(python3 -c "print(f'{1000 * $(median_upload 100 65536):.0f}')")
one_by_one=$(python3 - "$work/disk" <<'PY'
import os, sys, time
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
data = os.urandom(4096)
start = time.perf_counter()
for i in range(1000):
    with open(os.path.join(d, f"f{i:04}"), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
fd = os.open(d, os.O_RDONLY)
os.fsync(fd)
os.close(fd)
print(f"{1000 / (time.perf_counter() - start):.0f}")
PY
)
rm -rf "$work/disk"
small_files "$work/small" 1000 4096
args=()
for f in "$work"/small/*.txt; do args+=(-F "files=@$f"); done

# Over 10,000 files in all, then the listing under load: page 1 and page 500.
for _ in $(seq 1 7); do curl -s -o /dev/null -H "$auth" -H 'Accept: application/json' "${args[@]}" "$base/upload"; done
top=$(curl -s -H "$auth" -H 'Accept: application/json' "$base/files?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["files"][0]["id"])')
deep=$((top - 499 * 20 + 1))
load() { wrk -t2 -c16 -d10s --latency -H "$auth" -H 'Accept: application/json' "$1" | awk '/Requests\/sec/ {r=$2} / 99%/ {p=$2} END {print r, p}'; }
read -r page1_rate page1_p99 < <(load "$base/files?limit=20")
read -r page500_rate page500_p99 < <(load "$base/files?limit=20&before=$deep")

limit=$(( sha_rate < copy_rate ? sha_rate : copy_rate ))
cat <<REPORT

| measure | result | target |
|---|---|---|
| SHA-256 of the file (openssl dgst) | ${sha_rate} MiB/s | machine limit |
| copy to the same disk with fsync (dd) | ${copy_rate} MiB/s | machine limit |
| upload of ${size_mib} MiB over loopback | ${upload_rate} MiB/s ($(python3 -c "print(f'{100 * $upload_rate / $limit:.0f}')") % of the smaller limit) | ≥ 70 % |
| server peak RSS (VmHWM) | $((rss_peak / 1024)) MiB (before the upload: $((rss_before / 1024)) MiB) | < 64 MiB |
| 1,000 files of 4 KiB written and fsynced one by one (python, same disk) | ${one_by_one} files/s | machine reference |
| 1,000 files of 4 KiB in one request (median of 3) | ${small_rate} files/s | ≥ 2,000 files/s |
| 100 files of 64 KiB in one request (median of 3) | ${medium_ms} ms | ≤ 40 ms |
| GET /files page 1 (10,000 files, 20 a page) | ${page1_rate} req/s, p99 ${page1_p99} | — |
| GET /files page 500 | ${page500_rate} req/s, p99 ${page500_p99} | within 10 % of page 1 |
REPORT
