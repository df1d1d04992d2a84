#!/usr/bin/env bash
# CI stage: the docker-compose testnet end to end (testnet/e2e TestComposeTestnet).
#
# Brings the testnet up in a compose project and on host ports of its own,
# queries every node on every route, kills a node mid-round, partitions one
# and checks the CMS converges after healing, then tears everything down,
# also on failure or interrupt. Prints BENCH lines (join time, p50 per route).
# Then the fault runs (TestComposeFaults): workload queries to one node under
# each fault of issue 12 (kill, freeze, partition, slow peer, cloud 500, cloud
# hang, embedding model down), every one answered; BENCH lines give p50/p95
# per fault (SWARM_FAULTS_QUERIES=48 SWARM_FAULTS_REPORT=FILE for the
# BENCHMARKS.md table). Then the same testnet on real Ollama (tiny GGUF
# models) for a routing check. Needs Docker and docker-compose (or the
# compose plugin); takes ~6-8 minutes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# The test tears its project down itself; this catches what an interrupted
# `go test` leaves behind (the project is named after the test's pid).
cleanup() {
	local p
	for p in $(docker ps -a --format '{{.Label "com.docker.compose.project"}}' 2>/dev/null | sort -u | grep '^swarmllm-e2e-' || true); do
		SWARM_TESTNET_PROJECT="$p" scripts/testnet.sh down >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

# The real-Ollama testnet runs the static Ollama FROM scratch (cached; the
# first build takes minutes, later runs none).
scripts/build-ollama.sh --static >/dev/null

log=$(mktemp)
status=0
SWARM_E2E_COMPOSE=1 go test -race -count=1 -timeout 25m -run 'TestCompose' -v ./testnet/e2e/ 2>&1 | tee "$log" || status=$?
echo "== testnet figures"
grep -o 'BENCH.*' "$log" || true
rm -f "$log"
exit "$status"
