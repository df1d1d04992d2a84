#!/usr/bin/env bash
# The README's test command. On a fresh machine it installs what the stages
# need, then runs them in order and stops at the first failure:
#   1. static checks: gofmt, go mod tidy, go vet, staticcheck (pinned, fetched
#      through the module proxy by `go run`, so go.mod carries no tool deps)
#   2. the real Ollama build (cached; ~6 min the first time) so that the
#      real-Ollama end-to-end tests in stage 3 run instead of skipping
#   3. go test -race ./... (unit, fuzz seeds, multi-node, netns mDNS, real Ollama)
#   4. the docker-compose testnet end to end (simulated and real-Ollama backends)
#
#   SWARM_QUICK=1 bash scripts/test.sh   only stages 1 and 3, real-Ollama tests skip
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

# The netns mDNS test needs iproute2 (it skips, saying so, where namespaces
# cannot be made at all).
if ! command -v ip >/dev/null 2>&1; then
  say "installing iproute2"
  apt-get update && apt-get install -y iproute2
fi
# The dashboard test renders the page in headless Chromium (it skips, saying
# so, without a chromium binary).
if ! command -v chromium >/dev/null 2>&1 && [ -z "${SWARM_CHROMIUM:-}" ]; then
  say "installing chromium"
  apt-get update && apt-get install -y chromium
fi

say "gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "not gofmt-ed (run gofmt -w on them):"
  echo "$unformatted"
  exit 1
fi

say "go mod tidy"
# -diff prints what tidy would change and fails, without touching the files.
go mod tidy -diff

say "go vet"
go vet ./...

say "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

if [ -z "${SWARM_QUICK:-}" ]; then
  say "real Ollama (pinned module build, cached)"
  SWARM_OLLAMA_BIN=$(bash scripts/build-ollama.sh | tail -n 1)
  export SWARM_OLLAMA_BIN
  echo "using $SWARM_OLLAMA_BIN"
fi

say "go test -race"
go test -race -count=1 -timeout 30m ./...

if [ -z "${SWARM_QUICK:-}" ]; then
  say "compose testnet end to end"
  bash scripts/e2e-compose.sh
fi
