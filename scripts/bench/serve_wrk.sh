#!/usr/bin/env bash
# Load test of `nlpc serve` with wrk (Debian package `wrk`): 64 connections for 30 s POSTing
# /v1/predict with one text per request. Prints wrk's latency percentiles and requests/s, the
# server's batch-size histogram, and fails when any request got a non-2xx answer or a socket error.
#
# usage: scripts/bench/serve_wrk.sh MODEL_DIR [DURATION=30s] [CONNECTIONS=64] [THREADS=4]
#   env: NLPC=build/nlpc  PORT=18080  SERVE_ARGS="--threads 2"
set -euo pipefail
model=${1:?usage: $0 MODEL_DIR [DURATION] [CONNECTIONS] [THREADS]}
duration=${2:-30s}
conns=${3:-64}
wthreads=${4:-4}
nlpc=${NLPC:-build/nlpc}
port=${PORT:-18080}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 2; }

server=
tmp=$(mktemp -d)
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$tmp"' EXIT

cat > "$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local texts = {
  "The striker scored twice in the second half to win the cup final.",
  "Shares fell sharply after the company cut its profit forecast.",
  "Scientists used a telescope to observe a distant galaxy forming stars.",
  "Parliament passed the budget after a long debate on Tuesday night.",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, "/v1/predict", nil, '{"texts": ["' .. texts[(i % #texts) + 1] .. '"]}')
end
local non2xx = 0
response = function(status, headers, body)
  if status ~= 200 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("p50_ms %.3f\np90_ms %.3f\np99_ms %.3f\nrequests %d\nrps %.1f\nerrors %d\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.requests / (summary.duration / 1e6),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout +
    summary.errors.status))
end
LUA

# shellcheck disable=SC2086
"$nlpc" ${SERVE_ARGS:-} serve --model "$model" --host 127.0.0.1 --port "$port" --http-threads $((conns + 8)) \
  > "$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$tmp/server.log"; exit 1; }

echo "== wrk -t$wthreads -c$conns -d$duration --latency POST /v1/predict (1 text/request)"
wrk -t"$wthreads" -c"$conns" -d"$duration" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port" | tee "$tmp/wrk.txt"
echo "== server batch sizes"
curl -s "http://127.0.0.1:$port/metrics" | grep -E '^nlpc_(batch_size_(sum|count)|batches_total|texts_predicted_total|http_requests_total)'
kill -TERM $server
wait $server && echo "server exited 0 after SIGTERM"
server=
errors=$(awk '/^errors /{print $2}' "$tmp/wrk.txt")
if [ "${errors:-1}" != "0" ] || grep -q "Non-2xx\|Socket errors" "$tmp/wrk.txt"; then
  echo "FAIL: errors during the load test" >&2
  exit 1
fi
echo "OK: no errors"
