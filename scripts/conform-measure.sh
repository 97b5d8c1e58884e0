#!/bin/sh
# `restore-delta conform` against the local in-memory server, release builds, on this machine:
#   1. throughput: --concurrency 4, no rate limit, 10,000 requests (judged exchanges per second);
#   2. specificity: a faithful server with --faults 0.2 --fault-statuses 429,503 --retry-after 0
#      --latency-ms 2, 14,000 requests (about 10,000 judged PATCHes): no finding, exit 0.
# Each server is started on a free port and stopped (by its own pid) at the end.
set -eu
cd "$(dirname "$0")/.."
nice cargo build --release -q -p restore-delta-cli -p restore-delta-server
BIN=target/release
OUT=$(mktemp -d)
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$OUT"' EXIT

start() { # start NAME ARGS...: starts a server, prints its service root
  name=$1; shift
  "$BIN/restore-delta-server" --in-memory --listen 127.0.0.1:0 "$@" > "$OUT/$name.log" 2>&1 &
  PIDS="$PIDS $!"
  for _ in $(seq 100); do
    if grep -q 'listening on' "$OUT/$name.log" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$OUT/$name.log" | head -1)/v1.0"
}

ROOT=$(start fast --seed 1)
echo "throughput: $ROOT, --concurrency 4, 10,000 requests"
nice "$BIN/restore-delta" conform --url "$ROOT" --seed 1 --rate 0 --concurrency 4 \
  --max-requests 10000 --report json="$OUT/fast.json" | head -1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  %d judged PATCH exchanges in %.2f s: %.0f per second (%d requests, %.0f per second)" % (d["exchanges_judged"], d["elapsed_s"], d["exchanges_judged"]/d["elapsed_s"], d["requests"], d["requests"]/d["elapsed_s"]))' "$OUT/fast.json"

ROOT=$(start faults --seed 2 --faults 0.2 --fault-statuses 429,503 --retry-after 0 --latency-ms 2)
echo "specificity: $ROOT, faults 0.2 (429, 503, Retry-After 0), latency 2 ms, 14,000 requests (about 10,000 PATCHes)"
set +e
nice "$BIN/restore-delta" conform --url "$ROOT" --seed 2 --rate 0 --concurrency 4 \
  --max-requests 14000 --report json="$OUT/faults.json" --report har="$OUT/faults.har" | head -3
code=$?
set -e
python3 -c '
import json,sys
d=json.load(open(sys.argv[1])); h=json.load(open(sys.argv[2]))
r=sum(e.get("_retried",0) for e in h["log"]["entries"])
print("  %d judged PATCH exchanges, %d requests, %d retries of 429/503, %d findings, conformant %s" % (d["exchanges_judged"], d["requests"], r, len(d["findings"]), d["conformant"]))' "$OUT/faults.json" "$OUT/faults.har"
exit $code
