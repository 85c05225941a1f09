#!/usr/bin/env bash
# The public status page under load, against nginx serving a saved copy of the same page from
# disk, in the same run (the machine is shared: the ratio matters more than the figures).
#
#   bash benches/status.sh            (needs wrk and nginx: apt-get install wrk nginx)
#
# Prints requests/s and latency percentiles at 64 connections for both, the ratio, and how
# long after a publication the new version is served while the load runs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx" >&2; exit 2; }
cargo build --release -q
bin=$PWD/target/release/frontline
dir=$(mktemp -d)
trap 'kill $(cat "$dir"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$((20000 + RANDOM % 10000)); nport=$((port + 1))
db="sqlite://$dir/frontline.db"
FRONTLINE_CORRELATION__INTERVAL_MS=0 RUST_LOG=${RUST_LOG:-info} \
  "$bin" serve --listen "127.0.0.1:$port" --database "$db" >"$dir/serve.log" 2>&1 &
echo $! >"$dir/frontline.pid"
for _ in $(seq 50); do curl -sf "127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
tok() { "$bin" token create --role "$1" --name "$2" --database "$db"; }
COMMS=$(tok comms cora); SEC=$(tok security sam); CX=$(tok cx_lead carla)
api() { curl -sf "127.0.0.1:$port$2" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' "${@:3}"; }
say() { # incident title body
  local sid
  sid=$(api "$COMMS" "/api/v1/incidents/$1/statements" -d "{\"audience\":\"public\",\"title\":\"$2\",\"body\":\"$3\"}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  api "$SEC" "/api/v1/statements/$sid/approve" -X POST >/dev/null
  api "$CX" "/api/v1/statements/$sid/approve" -X POST >/dev/null
  api "$COMMS" "/api/v1/statements/$sid/publish" -X POST >/dev/null
}
# A realistic page: a few components, an open incident with updates, a history of ten.
for c in web app api payments login; do api "$COMMS" "/api/v1/components/$c" -X PUT -d '{"status":"operational"}' >/dev/null; done
for i in $(seq 10); do
  id=$(api "$SEC" /api/v1/incidents -d "{\"title\":\"internal $i\",\"severity\":\"SEV3\",\"services\":[\"web\"]}" | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
  say "$id" "Past incident $i" "Some customers saw errors when signing in. Fixed at 10:42; no data was affected."
done
open=$(api "$SEC" /api/v1/incidents -d '{"title":"internal now","severity":"SEV2","services":["payments"]}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
say "$open" "Payments delayed" "Card payments are delayed for some customers. We are working on it."
sleep 1.5
curl -sf "127.0.0.1:$port/status" -o "$dir/status.html"
echo "page: $(wc -c <"$dir/status.html") bytes"
cat >"$dir/nginx.conf" <<NGINX
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nport;
    location = /status { default_type text/html; alias $dir/status.html; }
  }
}
NGINX
nginx -c "$dir/nginx.conf"
sleep 0.3
run() { wrk -t2 -c64 -d10s --latency "$1" 2>&1; }
n=$(run "http://127.0.0.1:$nport/status")
f_out="$dir/wrk-frontline.txt"
run "http://127.0.0.1:$port/status" >"$f_out" &
wrk_pid=$!
sleep 4
# Publish while the load runs; time until the new words are served.
start=$(date +%s.%N)
say "$open" "Payments delayed" "Update: payments are flowing again; we are watching closely." &
until curl -sf "127.0.0.1:$port/status" | grep -q "flowing again"; do sleep 0.01; done
end=$(date +%s.%N)
wait "$wrk_pid"
f=$(cat "$f_out")
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p() { awk -v q="$2" '$1 == q {print $2}' <<<"$1"; }
echo "nginx:     $(rps "$n") req/s, p50 $(p "$n" 50%), p99 $(p "$n" 99%)"
echo "frontline: $(rps "$f") req/s, p50 $(p "$f" 50%), p99 $(p "$f" 99%)"
python3 -c "import sys; print(f'ratio frontline/nginx: {float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$(rps "$f")" "$(rps "$n")"
python3 -c "import sys; print(f'publish to served under load (including the approvals and publish calls): {float(sys.argv[2])-float(sys.argv[1]):.2f} s')" "$start" "$end"
