#!/usr/bin/env bash
# What a record flood costs a real node process: one `swarmllm node` on
# 127.0.0.1 (simulated backend, mDNS off) is flooded over one loopback
# connection with 2000 valid, self-signed records of made-up identities, each
# near the record size cap (cms TestFloodANode); VmRSS of the node's process
# and the size of its /swarm/v1/cms are read before and after.
#
#   bash scripts/bench-flood-rss.sh [settle-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
settle=${1:-10}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/swarmllm" ./node/cmd/swarmllm
go test -c -o "$work/cms.test" ./cms
bin="$work/swarmllm"

"$bin" sim slm --addr 127.0.0.1:18620 --profile sim-fast >"$work/sim.log" 2>&1 &
pids+=($!)
wait_http() { for _ in $(seq 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "timeout waiting for $1" >&2; return 1; }
wait_http http://127.0.0.1:18620/api/version

api=127.0.0.1:18721
"$bin" node --model sim-fast --ollama http://127.0.0.1:18620 --api "$api" --listen /ip4/127.0.0.1/tcp/18731 \
  --data-dir "$work/node" --mdns=false --log-level warn >"$work/node.log" 2>&1 &
node=$!
pids+=($node)
wait_http "http://$api/healthz"
id=$(curl -fsS "http://$api/healthz" | sed -n 's/.*"node":"\([^"]*\)".*/\1/p')

measure() {
  local kb bytes
  kb=$(awk '/VmRSS/ {print $2}' "/proc/$node/status")
  bytes=$(curl -fsS "http://$api/swarm/v1/cms" | wc -c)
  echo "$1: node RSS $((kb / 1024)) MiB ($kb kB), /swarm/v1/cms $bytes bytes"
}
sleep "$settle"
measure "before the flood"
SWARM_FLOOD_NODE="/ip4/127.0.0.1/tcp/18731/p2p/$id" SWARM_FLOOD_METRICS="http://$api/metrics" \
  "$work/cms.test" -test.run '^TestFloodANode$' -test.v 2>&1 | grep -vE '^=== ' || true
measure "right after"
sleep "$settle"
measure "${settle}s later"
