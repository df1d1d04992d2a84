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

# What the stages need from Debian, installed in one apt-get run when missing:
# iproute2 for the netns mDNS and two-site tests, nftables for the two-site
# test's NAT routers, chromium for the dashboard test (each skips, saying so,
# where it cannot run at all), and the headers the Ollama build expects
# (scripts/build-ollama.sh would install them itself, with an apt-get update
# of its own).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v chromium >/dev/null 2>&1 || [ -n "${SWARM_CHROMIUM:-}" ] || missing+=(chromium)
if [ -z "${SWARM_QUICK:-}" ]; then
  for pkg in nlohmann-json3-dev libstb-dev; do
    installed "$pkg" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update && apt-get install -y "${missing[@]}"
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
