#!/usr/bin/env bash
# Build Ollama from the pinned Go module with cgo, for the real-Ollama test path.
#
# Usage: scripts/build-ollama.sh [--static]
#   --static  also relink a fully static binary (for FROM scratch images).
# Env:    SWARM_CACHE (default ~/.cache/swarmllm) holds the result;
#         OLLAMA_VERSION / MALGO_VERSION override the pins (keep them equal to go.mod).
# Output: the binary path, on the last line of stdout (the static one with --static).
#
# Nothing is built into the project tree and go.mod is never touched: the build
# runs in a temporary directory outside the module.
set -euo pipefail

OLLAMA_VERSION="${OLLAMA_VERSION:-v0.17.4}"
MALGO_VERSION="${MALGO_VERSION:-v0.11.24}"
CACHE="${SWARM_CACHE:-$HOME/.cache/swarmllm}/ollama-${OLLAMA_VERSION}"
STATIC=0

for arg in "$@"; do
	case "$arg" in
	--static) STATIC=1 ;;
	-h | --help)
		sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build-ollama: unknown argument: $arg" >&2
		exit 2
		;;
	esac
done

log() { echo "build-ollama: $*" >&2; }

# works reports whether $1 is an Ollama binary of the pinned version that runs
# here. Port 1 keeps `--version` from asking a real local server for its version.
works() {
	[[ -x "$1" ]] && OLLAMA_HOST=127.0.0.1:1 "$1" --version 2>&1 | grep -qF "client version is ${OLLAMA_VERSION#v}"
}

# The headers llama.cpp expects from the system: the module zip leaves them out.
ensure_packages() {
	local missing=()
	local pkg
	for pkg in nlohmann-json3-dev libstb-dev; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	local sudo=""
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || {
			log "need root (or sudo) to install: ${missing[*]}"
			exit 1
		}
		sudo=sudo
	fi
	log "installing ${missing[*]}"
	$sudo apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# miniaudio.h ships at the root of the malgo module, but llama.cpp includes
# "miniaudio/miniaudio.h": give it a directory of that shape inside the cache.
miniaudio_include() {
	local dir
	dir=$(cd "$WORK" && GOFLAGS=-mod=mod go mod download -json "github.com/gen2brain/malgo@${MALGO_VERSION}" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -f "$dir/miniaudio.h" ]] || {
		log "miniaudio.h not found in malgo module dir '$dir'"
		exit 1
	}
	mkdir -p "$CACHE/include/miniaudio"
	cp -f "$dir/miniaudio.h" "$CACHE/include/miniaudio/miniaudio.h"
	echo "$CACHE/include"
}

# go_install BIN_DIR [extra ldflags] installs ollama into BIN_DIR. The -X
# stamps the version that /api/version reports (0.0.0 otherwise).
go_install() {
	local bindir="$1" ldflags="-X github.com/ollama/ollama/version.Version=${OLLAMA_VERSION#v} ${2:-}"
	mkdir -p "$bindir"
	log "go install github.com/ollama/ollama@${OLLAMA_VERSION} -> $bindir (ldflags: $ldflags)"
	(cd "$WORK" && CGO_ENABLED=1 CGO_CPPFLAGS="-I$INCLUDE ${CGO_CPPFLAGS:-}" GOFLAGS=-mod=mod GOBIN="$bindir" \
		go install -ldflags "$ldflags" "github.com/ollama/ollama@${OLLAMA_VERSION}" >&2)
}

DYN="$CACHE/bin/ollama"
STAT="$CACHE/static/ollama"
target="$DYN"
((STATIC)) && target="$STAT"

if works "$target"; then
	log "cached: $target"
	echo "$target"
	exit 0
fi

command -v go >/dev/null || {
	log "go not found on PATH"
	exit 1
}
command -v gcc >/dev/null && command -v g++ >/dev/null || {
	log "gcc and g++ are required (cgo)"
	exit 1
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ensure_packages
INCLUDE=$(miniaudio_include)
start=$SECONDS

if ! works "$DYN"; then
	go_install "$CACHE/bin"
	works "$DYN" || {
		log "built $DYN but it does not run"
		exit 1
	}
fi
if ((STATIC)); then
	# Same build cache, so only the link step runs again.
	go_install "$CACHE/static" "-linkmode external -extldflags -static"
	works "$STAT" || {
		log "built $STAT but it does not run"
		exit 1
	}
fi
log "done in $((SECONDS - start))s"
echo "$target"
