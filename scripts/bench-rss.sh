#!/usr/bin/env bash
# Idle RSS of a node with 3 peers connected: four real `swarmllm node`
# processes on 127.0.0.1 (bootstrap, mDNS off) on a simulated backend, left
# idle, then VmRSS read from /proc. Prints one line per node and the mean.
#
#   bash scripts/bench-rss.sh [idle-seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-15}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/swarmllm" ./node/cmd/swarmllm
bin="$work/swarmllm"

"$bin" sim slm --addr 127.0.0.1:18600 --profile sim-qwen2.5:0.5b,sim-llama3.2:1b,sim-smollm2:360m,sim-fast >"$work/sim.log" 2>&1 &
pids+=($!)
models=(sim-qwen2.5:0.5b sim-llama3.2:1b sim-smollm2:360m sim-fast)
nodes=4

wait_http() { for _ in $(seq 100); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "timeout waiting for $1" >&2; return 1; }
wait_http http://127.0.0.1:18600/api/version

boot=""
for i in $(seq 0 $((nodes - 1))); do
  api=127.0.0.1:$((18701 + i)); p2p=$((18711 + i))
  "$bin" node --model "${models[$i]}" --ollama http://127.0.0.1:18600 --api "$api" \
    --listen "/ip4/127.0.0.1/tcp/$p2p" --data-dir "$work/node$i" --mdns=false \
    ${boot:+--bootstrap "$boot"} --log-level warn >"$work/node$i.log" 2>&1 &
  pids+=($!)
  wait_http "http://$api/healthz"
  id=$(curl -fsS "http://$api/healthz" | sed -n 's/.*"node":"\([^"]*\)".*/\1/p')
  boot="${boot:+$boot,}/ip4/127.0.0.1/tcp/$p2p/p2p/$id"
done

for i in $(seq 0 $((nodes - 1))); do
  for _ in $(seq 200); do
    n=$(curl -fsS "http://127.0.0.1:$((18701 + i))/swarm/v1/cms" | grep -o '"peer":' | wc -l)
    [ "$n" -ge "$nodes" ] && break
    sleep 0.1
  done
done
echo "$nodes nodes joined; idling ${idle}s"
sleep "$idle"

total=0
for i in $(seq 0 $((nodes - 1))); do
  pid=${pids[$((i + 1))]}
  kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  peers=$(curl -fsS "http://127.0.0.1:$((18701 + i))/swarm/v1/peers" | grep -o '"id":' | wc -l)
  echo "node$((i + 1)) idle RSS $((kb / 1024)) MiB with $peers peers connected"
  total=$((total + kb))
done
echo "mean idle RSS $((total / nodes / 1024)) MiB"
