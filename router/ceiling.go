package router

import "fmt"

// The operator's --policy is the ceiling of every request: a request may
// narrow the routes its query may take, never widen them. A policy is
// ordered by the set of routes it allows:
//
//	local-only               local
//	cascade, cloud-only      local, cloud (cloud-only falls back to the local answer)
//	swarm, always-swarm      local, swarm, cloud
//
// A request fits under a ceiling when its routes are a subset of the
// ceiling's: on a local-only node nothing reaches peers or the cloud; on a
// cascade node nothing reaches peers. How much a request may spend of the
// cloud is not the ceiling's business: the budget (share, absolute caps, the
// key's quota) bounds that, and no request can lift it either.

// policyRoutes is the set of routes a policy allows.
var policyRoutes = map[Policy][]Route{
	PolicyLocalOnly:   {RouteLocal},
	PolicyCascade:     {RouteLocal, RouteCloud},
	PolicyCloudOnly:   {RouteLocal, RouteCloud},
	PolicySwarm:       {RouteLocal, RouteSwarm, RouteCloud},
	PolicyAlwaysSwarm: {RouteLocal, RouteSwarm, RouteCloud},
}

// Within reports whether every route requested allows is allowed by ceiling.
// Unknown policies are within nothing.
func (requested Policy) Within(ceiling Policy) bool {
	r, ok1 := policyRoutes[requested]
	c, ok2 := policyRoutes[ceiling]
	if !ok1 || !ok2 {
		return false
	}
	for _, route := range r {
		found := false
		for _, have := range c {
			found = found || have == route
		}
		if !found {
			return false
		}
	}
	return true
}

// UnderCeiling is the policy a request runs under: the ceiling when the
// request names none, the requested one when it fits, and an error wrapping
// ErrAboveCeiling when it would widen the operator's policy.
func UnderCeiling(ceiling, requested Policy) (Policy, error) {
	if _, ok := policyRoutes[ceiling]; !ok {
		return "", fmt.Errorf("policy ceiling %q: %w", ceiling, ErrUnknownPolicy)
	}
	if requested == "" {
		return ceiling, nil
	}
	if _, ok := policyRoutes[requested]; !ok {
		return "", fmt.Errorf("requested policy %q: %w", requested, ErrUnknownPolicy)
	}
	if !requested.Within(ceiling) {
		return "", fmt.Errorf("policy %s would widen this node's policy %s (a request may only narrow it, e.g. to %s): %w",
			requested, ceiling, PolicyLocalOnly, ErrAboveCeiling)
	}
	return requested, nil
}
