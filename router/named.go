package router

import (
	"cmp"
	"fmt"
	"slices"
)

// ModelHost is a peer that serves a model by name, as its capability record says.
type ModelHost struct {
	Peer    string
	Healthy bool
	Load    int // asks in flight plus queued, from the record
}

// FlagNamedModel marks an answer from the peer serving the model the caller
// named, asked directly: no local answer, no vote.
const FlagNamedModel = "named-model"

// DecideNamedModel decides a request that names a model only peers serve
// (not the node's own, not "swarm"): the peers serving it are asked directly,
// one at a time in the order returned — healthy first, least loaded first,
// then by peer id — until one answers. A policy that asks no peers refuses
// it (ErrNamedModelPolicy), as does a model no peer serves
// (ErrNamedModelUnserved).
func DecideNamedModel(model string, hosts []ModelHost, r Rules) (Decision, []int, error) {
	if !r.Policy.AsksPeers() {
		return Decision{}, nil, fmt.Errorf("%w: %s is served by peers, and the %s policy asks none", ErrNamedModelPolicy, model, r.Policy)
	}
	if len(hosts) == 0 {
		return Decision{}, nil, fmt.Errorf("%w: %s", ErrNamedModelUnserved, model)
	}
	order := make([]int, len(hosts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ha, hb := hosts[a], hosts[b]
		if ha.Healthy != hb.Healthy {
			if ha.Healthy {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(ha.Load, hb.Load), cmp.Compare(ha.Peer, hb.Peer))
	})
	d := decision(RouteSwarm, fmt.Sprintf("the caller named %s, which %s: asking it directly", model, servedVia(len(hosts))),
		[]string{FlagNamedModel})
	return d, order, nil
}

// servedVia says who serves a named model: "peer … serves" reads well for one.
func servedVia(n int) string {
	if n == 1 {
		return "1 peer serves"
	}
	return peersN(n) + " serve"
}
