#!/usr/bin/env bash
# Run the docker-compose testnet: three swarmllm nodes on simulated backends.
#
# Usage: scripts/testnet.sh COMMAND [ARGS]
#   up                  build the static binary and the FROM scratch image, start
#                       the testnet, wait until the swarm has joined (every node
#                       holds every node's capability record), print the time
#   down                stop and remove everything the testnet started
#   status              containers, and each node's health and swarm view
#   ask NODE [FLAGS] "question"
#                       ask NODE (node1|node2|node3) and print the answer with its
#                       trace; FLAGS go to `swarmllm ask` (e.g. --policy cloud-only)
#   peers NODE          the swarm as NODE sees it
#   kill NODE           SIGKILL NODE's container (start brings it back)
#   start NODE          start a killed NODE again
#   partition NODE      cut NODE off the swarm's LAN (it keeps its model and the cloud)
#   heal NODE           reconnect NODE to the LAN
#   backend NODE down|up
#                       SIGKILL / start NODE's model backend (the node notices
#                       within its health interval and republishes its record)
#   freeze NODE         pause NODE's container (processes stopped, connections open)
#   thaw NODE           resume a frozen NODE
#   fault NODE|cloud SPEC
#                       restart NODE's simulated backend (or the cloud FM) with a
#                       fault: slow=F, complete=500|hang, embed=500|hang (comma
#                       separated; none: healthy again). Sim backend only.
#   wait [N]            wait until the running nodes know N records each (default 3)
#   logs [SERVICE...]   the containers' logs
#   build               only build the binary and the image(s)
# Env: SWARM_TESTNET_BACKEND (sim, the default: simulated models; ollama: the pinned
#      Ollama FROM scratch with tiny GGUF models, see docker-compose.ollama.yml;
#      set it for every command of a run),
#      SWARM_TESTNET_PROJECT (compose project, default swarmllm-testnet),
#      SWARM_COMPOSE ("docker compose" or "docker-compose"; default: whichever works),
#      SWARM_TESTNET_TIMEOUT (seconds `up` and `wait` wait, default 120), and the
#      SWARM_TESTNET_* settings testnet/docker/docker-compose.yml lists (ports, image…).
set -euo pipefail
shopt -s inherit_errexit # a die inside $(…) stops the caller too

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER_DIR="$ROOT/testnet/docker"
COMPOSE_FILES=(-f "$DOCKER_DIR/docker-compose.yml")
BACKEND="${SWARM_TESTNET_BACKEND:-sim}"
case "$BACKEND" in
sim) ;;
ollama) COMPOSE_FILES+=(-f "$DOCKER_DIR/docker-compose.ollama.yml") ;;
*)
	echo "testnet: SWARM_TESTNET_BACKEND=$BACKEND: want sim or ollama" >&2
	exit 2
	;;
esac
export SWARM_TESTNET_OLLAMA_IMAGE="${SWARM_TESTNET_OLLAMA_IMAGE:-swarmllm-ollama:local}"
BIN="$DOCKER_DIR/bin/swarmllm"
PROJECT="${SWARM_TESTNET_PROJECT:-swarmllm-testnet}"
export SWARM_TESTNET_IMAGE="${SWARM_TESTNET_IMAGE:-swarmllm:local}"
TIMEOUT="${SWARM_TESTNET_TIMEOUT:-120}"
NODES=(node1 node2 node3)

log() { echo "testnet: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# usage prints the comment block at the top of this file.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

# COMPOSE is the compose command: the Docker CLI plugin or the standalone tool.
COMPOSE=()
pick_compose() {
	if [[ -n "${SWARM_COMPOSE:-}" ]]; then
		read -r -a COMPOSE <<<"$SWARM_COMPOSE"
	elif docker compose version >/dev/null 2>&1; then
		COMPOSE=(docker compose)
	elif command -v docker-compose >/dev/null; then
		COMPOSE=(docker-compose)
	else
		die "neither 'docker compose' nor 'docker-compose' is installed"
	fi
}

compose() { "${COMPOSE[@]}" -p "$PROJECT" "${COMPOSE_FILES[@]}" "$@"; }

# node_index NODE prints 1..3 for node1..node3 (or 1..3).
node_index() {
	case "${1:-}" in
	node1 | 1) echo 1 ;;
	node2 | 2) echo 2 ;;
	node3 | 3) echo 3 ;;
	*) die "unknown node '${1:-}': want node1, node2 or node3" ;;
	esac
}

# api_addr NODE prints the host address of NODE's HTTP API.
api_addr() {
	local i var
	i=$(node_index "$1")
	var="SWARM_TESTNET_PORT$i"
	echo "127.0.0.1:${!var:-870$i}"
}

container() {
	local id
	id=$(compose ps -q "$1" 2>/dev/null || true)
	[[ -n "$id" ]] || die "$1 has no container (is the testnet up?)"
	echo "$id"
}

# lan_network prints the id of the compose project's "lan" network.
lan_network() {
	local id
	id=$(docker network ls -q --filter "label=com.docker.compose.project=$PROJECT" \
		--filter "label=com.docker.compose.network=lan")
	[[ -n "$id" ]] || die "no lan network for project $PROJECT (is the testnet up?)"
	echo "$id"
}

# docker_build TAG DOCKERFILE builds an image from testnet/docker, quietly.
docker_build() {
	log "building image $1 (FROM scratch)"
	local out
	out=$(docker build -q -t "$1" -f "$2" "$DOCKER_DIR" 2>&1) || {
		echo "$out" >&2
		die "docker build of $1 failed"
	}
}

build() {
	command -v go >/dev/null || die "go not found on PATH"
	mkdir -p "$DOCKER_DIR/bin"
	log "building the static swarmllm binary"
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN" ./node/cmd/swarmllm)
	docker_build "$SWARM_TESTNET_IMAGE" "$DOCKER_DIR/Dockerfile"
	if [[ "$BACKEND" == ollama ]]; then
		build_ollama
	fi
	# Rebuilds leave the previous images untagged; drop ours (the label), nobody else's.
	docker image prune -f --filter label=org.swarmllm.testnet=true >/dev/null
}

# The tiny models of the ollama backend, as tinygguf flags: a confident, a
# middling and an unsure model (the same recipes as testnet/e2e's
# TestRealOllamaSwarm), and the embedding model every node shares.
TINY_MODELS=(
	"tiny-sharp -sharpness 60"
	"tiny-mid -sharpness 8 -embd 128 -heads 8 -kv-heads 2 -blocks 4 -vocab 2048 -seed 7"
	"tiny-flat -sharpness 0.5 -blocks 3 -seed 3"
	"tiny-embed -seed 11"
)

# build_ollama puts the static Ollama and a model store with the tiny models
# into bin/, and builds the Ollama image. The store is rebuilt only when the
# recipes, testnet/internal/gguf or the Ollama binary change.
build_ollama() {
	local static dyn
	static=$("$ROOT/scripts/build-ollama.sh" --static | tail -n 1)
	dyn="$(dirname "$(dirname "$static")")/bin/ollama"
	cmp -s "$static" "$DOCKER_DIR/bin/ollama" || cp "$static" "$DOCKER_DIR/bin/ollama"
	local stamp store="$DOCKER_DIR/bin/ollama-models"
	stamp=$( (printf '%s\n' "${TINY_MODELS[@]}" && cat "$ROOT"/testnet/internal/gguf/*.go && sha256sum <"$static") | sha256sum | cut -c1-16)
	if [[ "$(cat "$store/.stamp" 2>/dev/null)" != "$stamp" ]]; then
		create_models "$dyn" "$store"
		echo "$stamp" >"$store/.stamp"
	fi
	docker_build "$SWARM_TESTNET_OLLAMA_IMAGE" "$DOCKER_DIR/Dockerfile.ollama"
}

# create_models OLLAMA STORE writes the tiny models and creates them in a
# fresh model store with a temporary `ollama serve` on loopback.
create_models() {
	local ollama="$1" store="$2" work port pid spec name flags
	work=$(mktemp -d)
	rm -rf "$store"
	mkdir -p "$store" "$work/home"
	# A free loopback port: nothing may answer on it yet.
	for port in $(seq 31434 31534); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	log "creating the tiny models in $store (ollama serve on 127.0.0.1:$port)"
	OLLAMA_HOST="127.0.0.1:$port" OLLAMA_MODELS="$store" OLLAMA_NO_CLOUD=1 HOME="$work/home" \
		"$ollama" serve >"$work/serve.log" 2>&1 &
	pid=$!
	# shellcheck disable=SC2064 # expand now: the trap outlives this function's locals
	trap "kill $pid 2>/dev/null; rm -rf '$work'" EXIT
	local tries=0
	until OLLAMA_HOST="127.0.0.1:$port" "$ollama" list >/dev/null 2>&1; do
		((++tries < 100)) || {
			cat "$work/serve.log" >&2
			die "ollama serve did not start"
		}
		sleep 0.1
	done
	for spec in "${TINY_MODELS[@]}"; do
		read -r name flags <<<"$spec"
		mkdir -p "$work/$name"
		# shellcheck disable=SC2086 # flags are words
		(cd "$ROOT" && go run ./testnet/cmd/tinygguf -o "$work/$name/model.gguf" -name "$name" -modelfile $flags) >/dev/null
		OLLAMA_HOST="127.0.0.1:$port" "$ollama" create "$name" -f "$work/$name/Modelfile" >/dev/null 2>&1 || {
			cat "$work/serve.log" >&2
			die "ollama create $name failed"
		}
	done
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	rm -rf "$work"
	trap - EXIT
}

# joined reports whether every running node knows at least $1 records.
joined() {
	local want="$1" n running=0
	for n in "${NODES[@]}"; do
		[[ -n "$(compose ps -q "$n" 2>/dev/null)" ]] || continue
		[[ "$(docker inspect -f '{{.State.Running}}' "$(compose ps -q "$n")" 2>/dev/null)" == true ]] || continue
		running=$((running + 1))
		"$BIN" health -q --timeout 2s --records "$want" --api "$(api_addr "$n")" 2>/dev/null || return 1
	done
	((running > 0))
}

wait_joined() {
	local want="${1:-${#NODES[@]}}" start=$SECONDS
	[[ -x "$BIN" ]] || build
	until joined "$want"; do
		if ((SECONDS - start >= TIMEOUT)); then
			for n in "${NODES[@]}"; do
				"$BIN" health --timeout 2s --records "$want" --api "$(api_addr "$n")" >&2 || true
			done
			die "the swarm did not join within ${TIMEOUT}s (see: scripts/testnet.sh logs)"
		fi
		sleep 0.2
	done
}

cmd_up() {
	local t0=$SECONDS
	build
	local built=$SECONDS
	local start_ns
	start_ns=$(date +%s%N)
	log "starting project $PROJECT with ${COMPOSE[*]}"
	compose up -d --no-build
	wait_joined "${#NODES[@]}"
	local ms=$((($(date +%s%N) - start_ns) / 1000000))
	log "swarm joined: ${#NODES[@]} nodes, each holding every node's capability record"
	echo "joined in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s after 'compose up' (build took $((built - t0))s)"
	for n in "${NODES[@]}"; do
		echo "  $n  http://$(api_addr "$n")"
	done
	echo "try: scripts/testnet.sh ask node2 \"What is the capital of Australia?\""
}

cmd_down() {
	compose down -v --remove-orphans -t 5
}

cmd_status() {
	compose ps
	local n
	[[ -x "$BIN" ]] || build
	for n in "${NODES[@]}"; do
		printf '%s: ' "$n"
		"$BIN" health --timeout 2s --records "${#NODES[@]}" --api "$(api_addr "$n")" 2>&1 || true
	done
}

cmd_ask() {
	(($# >= 2)) || die "usage: testnet.sh ask NODE [FLAGS] \"question\""
	local addr
	addr=$(api_addr "$1")
	shift
	[[ -x "$BIN" ]] || build
	"$BIN" ask --api "$addr" --trace "$@"
}

cmd_peers() {
	(($# == 1)) || die "usage: testnet.sh peers NODE"
	local addr
	addr=$(api_addr "$1")
	[[ -x "$BIN" ]] || build
	"$BIN" peers --api "$addr"
}

cmd_kill() {
	(($# == 1)) || die "usage: testnet.sh kill NODE"
	node_index "$1" >/dev/null
	compose kill -s SIGKILL "$1"
}

cmd_start() {
	(($# == 1)) || die "usage: testnet.sh start NODE"
	node_index "$1" >/dev/null
	compose start "$1"
}

cmd_partition() {
	(($# == 1)) || die "usage: testnet.sh partition NODE"
	node_index "$1" >/dev/null
	docker network disconnect "$(lan_network)" "$(container "$1")"
	log "$1 is cut off the lan (it still reaches its backend and the cloud; its API still answers)"
}

cmd_heal() {
	(($# == 1)) || die "usage: testnet.sh heal NODE"
	node_index "$1" >/dev/null
	# The alias keeps the bootstrap address /dns4/NODE/… resolving.
	docker network connect --alias "$1" "$(lan_network)" "$(container "$1")"
	log "$1 is back on the lan"
}

cmd_backend() {
	(($# == 2)) || die "usage: testnet.sh backend NODE down|up"
	local slm
	slm="slm$(node_index "$1")"
	case "$2" in
	down) compose kill -s SIGKILL "$slm" ;;
	up) compose start "$slm" ;;
	*) die "usage: testnet.sh backend NODE down|up" ;;
	esac
}

cmd_freeze() {
	(($# == 1)) || die "usage: testnet.sh freeze NODE"
	node_index "$1" >/dev/null
	compose pause "$1"
}

cmd_thaw() {
	(($# == 1)) || die "usage: testnet.sh thaw NODE"
	node_index "$1" >/dev/null
	compose unpause "$1"
}

# cmd_fault recreates one simulated backend with SWARM_TESTNET_<SVC>_FAULT set
# (docker-compose.yml passes it to --fault); the rest of the testnet stays up.
cmd_fault() {
	(($# == 2)) || die "usage: testnet.sh fault NODE|cloud SPEC"
	[[ "$BACKEND" == sim ]] || die "fault needs the simulated backends (SWARM_TESTNET_BACKEND=sim)"
	local svc var
	if [[ "$1" == cloud ]]; then
		svc=cloud var=SWARM_TESTNET_CLOUD_FAULT
	else
		svc="slm$(node_index "$1")" var="SWARM_TESTNET_SLM$(node_index "$1")_FAULT"
	fi
	local spec="$2"
	[[ "$spec" != none ]] || spec=
	export "$var=$spec"
	compose up -d --no-deps --no-build "$svc"
	log "$svc runs with fault '${2}'"
}

main() {
	local cmd="${1:-}"
	(($# > 0)) && shift
	case "$cmd" in
	-h | --help | help | "")
		usage
		[[ -n "$cmd" ]]
		return
		;;
	esac
	case "$cmd" in
	ask | peers | kill | start | partition | heal | backend | freeze | thaw)
		# A wrong node name is refused before anything runs or is built.
		node_index "${1:-}" >/dev/null
		;;
	esac
	command -v docker >/dev/null || die "docker not found on PATH"
	pick_compose
	case "$cmd" in
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	status) cmd_status "$@" ;;
	ask) cmd_ask "$@" ;;
	peers) cmd_peers "$@" ;;
	kill) cmd_kill "$@" ;;
	start) cmd_start "$@" ;;
	partition) cmd_partition "$@" ;;
	heal) cmd_heal "$@" ;;
	backend) cmd_backend "$@" ;;
	freeze) cmd_freeze "$@" ;;
	thaw) cmd_thaw "$@" ;;
	fault) cmd_fault "$@" ;;
	wait) wait_joined "$@" ;;
	logs) compose logs --no-color "$@" ;;
	build) build ;;
	*)
		usage >&2
		die "unknown command '$cmd'"
		;;
	esac
}

main "$@"
