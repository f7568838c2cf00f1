# Shared by the benchmark scripts; sourced, not run.

# tsa_load DIR: writes DIR/request.tsq (a TimeStampReq as `openssl ts -query
# -sha256 -cert` makes it) and DIR/post.lua, a wrk script that posts it.
tsa_load() {
  echo "benchmark data" > "$1/data.txt"
  openssl ts -query -data "$1/data.txt" -sha256 -cert -out "$1/request.tsq" 2>/dev/null
  cat > "$1/post.lua" <<LUA
local file = io.open("$1/request.tsq", "rb")
wrk.method = "POST"
wrk.body = file:read("*all")
wrk.headers["Content-Type"] = "application/timestamp-query"
file:close()
LUA
}
