#!/usr/bin/env bash
# One large upload into object storage: its rate and the server's peak RSS,
# beside a plain PUT of the same bytes to the store by curl (the store's and
# loopback's limit). Usage: bench/bucket.sh [SIZE_MIB]
# The bucket comes from STORAGE_URL and the AWS_* variables; unset, the
# single-node Garage that .ci/run starts. Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib=${1:-1024}
port=5078
base="http://127.0.0.1:$port"
work=$(mktemp -d)
trap 'kill "$server" "$sampler" 2>/dev/null || true; rm -rf "$work"' EXIT

: "${STORAGE_URL:=s3://securestamp-test/bench-$(date +%s)}"
: "${AWS_ENDPOINT_URL:=http://127.0.0.1:3900}"
: "${AWS_REGION:=garage}"
: "${AWS_ACCESS_KEY_ID:=GK5ec0125ea3b7e57a1c0ffee0}"
: "${AWS_SECRET_ACCESS_KEY:=5ec0125ea3b7e57a1c0ffee05ec0125ea3b7e57a1c0ffee05ec0125ea3b7e57a}"
export STORAGE_URL AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

# SECURESTAMP_BINARY measures another build the same way.
if [ -z "${SECURESTAMP_BINARY:-}" ]; then cargo build --release -j2 -q; fi
binary=${SECURESTAMP_BINARY:-$PWD/target/release/securestamp}

echo "# SecureStamp object storage benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
head -c $((size_mib * 1048576)) /dev/urandom > "$work/big.zip"
seconds() { python3 -c "import time; print(time.perf_counter())"; }
rate() { python3 -c "print(f'{$1 / 1048576 / ($3 - $2):.0f}')"; }
bytes=$(stat -c %s "$work/big.zip")

# The store's own rate for the same bytes: one signed PUT by curl.
bucket=${STORAGE_URL#s3://}; bucket=${bucket%%/*}
start=$(seconds)
put_url="$AWS_ENDPOINT_URL/$bucket/bench-put-$(date +%s)"
curl -sf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -T "$work/big.zip" "$put_url" >/dev/null
end=$(seconds)
curl -sf --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" -X DELETE "$put_url" >/dev/null
echo "store: curl PUT of ${size_mib} MiB: $(rate "$bytes" "$start" "$end") MiB/s"

DATABASE_URL="sqlite:$work/db.sqlite3" SECRET_KEY="bench secret key that is long enough" \
  BIND=127.0.0.1:$port DATA_DIR=$work/data UPLOAD_FOLDER=$work/uploads ALLOWED_EXTENSIONS='*' \
  MAX_CONTENT_LENGTH=$((64 << 30)) "$binary" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
jar=$work/jar
token() { python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])'; }
json=(-s -c "$jar" -b "$jar" -H 'Accept: application/json')
csrf=$(curl "${json[@]}" "$base/auth/login" | token)
curl "${json[@]}" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"long enough"}' "$base/auth/register" >/dev/null
csrf=$(curl "${json[@]}" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
  -d '{"username":"bench","password":"long enough"}' "$base/auth/login" | token)

resting=$(ps -o rss= -p "$server")
( while kill -0 "$server" 2>/dev/null; do ps -o rss= -p "$server"; sleep 0.05; done ) > "$work/rss" &
sampler=$!
start=$(seconds)
status=$(curl -s -o "$work/answer" -w '%{http_code}' -b "$jar" -H 'Accept: application/json' \
  -H "X-CSRF-Token: $csrf" -F "files=@$work/big.zip" "$base/upload")
end=$(seconds)
kill "$sampler"
peak=$(sort -n "$work/rss" | tail -n1)
[ "$status" = 201 ] || { echo "the upload answered $status: $(cat "$work/answer")" >&2; exit 1; }
echo "securestamp: ${size_mib} MiB upload into the bucket: $(rate "$bytes" "$start" "$end") MiB/s (hashed, signed, stamped, multipart)"
echo "securestamp: RSS at rest $((resting / 1024)) MiB, peak during the upload $((peak / 1024)) MiB"
# The upload leaves the bucket with its file.
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["id"])' "$work/answer")
curl -s -o /dev/null -b "$jar" -H "X-CSRF-Token: $csrf" -X DELETE "$base/files/$id"
