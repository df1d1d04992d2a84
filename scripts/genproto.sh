#!/usr/bin/env bash
# Regenerates the committed Go code for the project's .proto files.
# Needs protoc (>= 3.15, for proto3 `optional`) and protoc-gen-go v1.36.12,
# the same version as google.golang.org/protobuf in go.mod:
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

PATH="$(go env GOPATH)/bin:$PATH"
want="v$(go list -m -f '{{.Version}}' google.golang.org/protobuf | sed 's/^v//')"
have="$(protoc-gen-go --version | awk '{print $2}')"
if [[ "$have" != "$want" ]]; then
	echo "genproto: protoc-gen-go is $have, go.mod pins google.golang.org/protobuf $want" >&2
	echo "  go install google.golang.org/protobuf/cmd/protoc-gen-go@$want" >&2
	exit 1
fi

protoc --proto_path=protocol --go_out=protocol --go_opt=paths=source_relative protocol/swarm.proto protocol/budget.proto protocol/cmssync.proto
gofmt -l protocol/*.pb.go | (! grep .) || { echo "genproto: generated code is not gofmt-clean" >&2; exit 1; }
protoc --proto_path=cms/cmspb --go_out=cms/cmspb --go_opt=paths=source_relative cms/cmspb/capability.proto
gofmt -l cms/cmspb/*.pb.go | (! grep .) || { echo "genproto: generated cms code is not gofmt-clean" >&2; exit 1; }
