package router

import (
	"fmt"
	"strings"
)

// Route is where an answer came from. It is a three-way outcome, so it is an
// enum rather than a pair of booleans.
type Route int

const (
	RouteLocal Route = iota + 1
	RouteSwarm
	RouteCloud
)

var routeNames = map[Route]string{RouteLocal: "local", RouteSwarm: "swarm", RouteCloud: "cloud"}

func (r Route) String() string {
	if s, ok := routeNames[r]; ok {
		return s
	}
	return fmt.Sprintf("route(%d)", int(r))
}

// MarshalText renders the route as its name in JSON traces and headers.
func (r Route) MarshalText() ([]byte, error) {
	if _, ok := routeNames[r]; !ok {
		return nil, fmt.Errorf("marshal route %d: %w", int(r), ErrUnknownRoute)
	}
	return []byte(r.String()), nil
}

// UnmarshalText parses a route name.
func (r *Route) UnmarshalText(b []byte) error {
	for k, v := range routeNames {
		if v == string(b) {
			*r = k
			return nil
		}
	}
	return fmt.Errorf("parse route %q: %w", b, ErrUnknownRoute)
}

// Policy selects how a node routes queries. "swarm" is the product; the others
// are baselines for evaluation.
type Policy string

const (
	PolicySwarm       Policy = "swarm"        // local if confident, else peers vote, else cloud
	PolicyLocalOnly   Policy = "local-only"   // never leave the device
	PolicyCloudOnly   Policy = "cloud-only"   // always the cloud FM
	PolicyAlwaysSwarm Policy = "always-swarm" // always open a round, even when confident
	PolicyCascade     Policy = "cascade"      // local, then cloud when unsure; no peers
)

// AsksPeers reports whether a query under the policy may go to peers, and so
// whether the node runs discovery for it: local-only, cascade and cloud-only
// never ask a peer, so finding one would be wasted work.
func (p Policy) AsksPeers() bool { return p == PolicySwarm || p == PolicyAlwaysSwarm }

// Policies lists every policy in a stable order (for flags, docs and evals).
var Policies = []Policy{PolicySwarm, PolicyLocalOnly, PolicyCloudOnly, PolicyAlwaysSwarm, PolicyCascade}

// ParsePolicy accepts a policy name. The empty string is an error too:
// callers substitute their own default before parsing.
func ParsePolicy(s string) (Policy, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	for _, p := range Policies {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("parse policy %q: %w (want one of %v)", s, ErrUnknownPolicy, Policies)
}
