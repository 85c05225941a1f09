#!/usr/bin/env bash
# The public status page under load, against nginx serving a saved copy of the same page from
# disk, in the same run (the machine is shared: the ratio matters more than the figures).
#
#   bash benches/status.sh            (needs wrk and nginx: apt-get install wrk nginx;
#                                      STATUS_SECONDS sets each round's length, default 8)
#
# Prints requests/s and p99 latency at 64 connections for both (medians of three interleaved
# rounds), the ratio, and how
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
# nginx's workers run as nobody when started by root: the saved page must be readable to
# them (a 403 is a smaller, faster answer, and the ratio would be against that).
chmod 755 "$dir"; chmod 644 "$dir/status.html"
nginx -c "$dir/nginx.conf"
sleep 0.3
curl -sf "127.0.0.1:$nport/status" | cmp -s - "$dir/status.html" \
  || { echo "nginx does not serve the saved page" >&2; exit 1; }
run() { wrk -t2 -c64 -d"${STATUS_SECONDS:-8}"s --latency "$1" 2>&1; }
rps() { awk '/Requests\/sec/ {print $2}' <<<"$1"; }
p() { awk -v q="$2" '$1 == q {print $2}' <<<"$1"; }
# Three rounds, nginx and frontline in turn, so a neighbour's burst hits both alike; the
# medians are reported. The second frontline round publishes while it runs.
ns=(); fs=(); np=(); fp=()
for round in 1 2 3; do
  n=$(run "http://127.0.0.1:$nport/status")
  f_out="$dir/wrk-frontline.txt"
  run "http://127.0.0.1:$port/status" >"$f_out" &
  wrk_pid=$!
  if [ "$round" = 2 ]; then
    sleep 3
    # Publish while the load runs; time until the new words are served.
    start=$(date +%s.%N)
    say "$open" "Payments delayed" "Update: payments are flowing again; we are watching closely." &
    until curl -sf "127.0.0.1:$port/status" | grep -q "flowing again"; do sleep 0.01; done
    end=$(date +%s.%N)
  fi
  wait "$wrk_pid"
  f=$(cat "$f_out")
  if grep -q "Non-2xx" <<<"$n$f"; then echo "an error answer was counted: $n $f" >&2; exit 1; fi
  echo "round $round: nginx $(rps "$n") req/s (p99 $(p "$n" 99%)), frontline $(rps "$f") req/s (p99 $(p "$f" 99%))"
  ns+=("$(rps "$n")"); fs+=("$(rps "$f")"); np+=("$(p "$n" 99%)"); fp+=("$(p "$f" 99%)")
done
python3 - "${ns[*]}" "${fs[*]}" "${np[*]}" "${fp[*]}" <<'PY'
import statistics, sys
def ms(v):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float(v)
n, f = ([float(x) for x in a.split()] for a in sys.argv[1:3])
np_, fp = ([ms(x) for x in a.split()] for a in sys.argv[3:5])
print(f"nginx:     {statistics.median(n):.0f} req/s, p99 {statistics.median(np_):.2f} ms (median of 3)")
print(f"frontline: {statistics.median(f):.0f} req/s, p99 {statistics.median(fp):.2f} ms (median of 3)")
print(f"ratio frontline/nginx: {statistics.median(f) / statistics.median(n):.2f}")
PY
python3 -c "import sys; print(f'publish to served under load (including the approvals and publish calls): {float(sys.argv[2])-float(sys.argv[1]):.2f} s')" "$start" "$end"
