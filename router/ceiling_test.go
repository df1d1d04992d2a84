package router

import (
	"errors"
	"testing"
)

func TestUnderCeiling(t *testing.T) {
	const (
		swarm  = PolicySwarm
		local  = PolicyLocalOnly
		cloud  = PolicyCloudOnly
		always = PolicyAlwaysSwarm
		casc   = PolicyCascade
	)
	cases := []struct {
		name               string
		ceiling, requested Policy
		want               Policy
		err                error
	}{
		{"no request: the ceiling", swarm, "", swarm, nil},
		{"same policy", casc, casc, casc, nil},
		{"swarm narrowed to local-only", swarm, local, local, nil},
		{"swarm narrowed to cascade (no peers)", swarm, casc, casc, nil},
		{"swarm narrowed to cloud-only (no peers)", swarm, cloud, cloud, nil},
		{"swarm to always-swarm: same routes", swarm, always, always, nil},
		{"always-swarm to swarm: same routes", always, swarm, swarm, nil},
		{"cascade narrowed to local-only", casc, local, local, nil},
		{"cascade to cloud-only: same routes", casc, cloud, cloud, nil},
		{"cloud-only to cascade: same routes", cloud, casc, casc, nil},
		{"cloud-only narrowed to local-only", cloud, local, local, nil},
		{"local-only widened to cloud-only", local, cloud, "", ErrAboveCeiling},
		{"local-only widened to cascade", local, casc, "", ErrAboveCeiling},
		{"local-only widened to swarm", local, swarm, "", ErrAboveCeiling},
		{"local-only widened to always-swarm", local, always, "", ErrAboveCeiling},
		{"cascade widened to swarm (peers)", casc, swarm, "", ErrAboveCeiling},
		{"cascade widened to always-swarm (peers)", casc, always, "", ErrAboveCeiling},
		{"cloud-only widened to swarm (peers)", cloud, swarm, "", ErrAboveCeiling},
		{"unknown request", swarm, "yolo", "", ErrUnknownPolicy},
		{"unknown ceiling", "yolo", local, "", ErrUnknownPolicy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := UnderCeiling(c.ceiling, c.requested)
			if !errors.Is(err, c.err) || got != c.want {
				t.Fatalf("UnderCeiling(%s, %s) = %q, %v; want %q, %v", c.ceiling, c.requested, got, err, c.want, c.err)
			}
		})
	}
}

// TestCeilingIsAnOrder: every policy fits under itself, local-only under
// all, and fitting is transitive, so no chain of narrowings widens.
func TestCeilingIsAnOrder(t *testing.T) {
	for _, a := range Policies {
		if _, ok := policyRoutes[a]; !ok {
			t.Fatalf("policy %s has no routes", a)
		}
		if !a.Within(a) || !PolicyLocalOnly.Within(a) {
			t.Errorf("%s: not reflexive or local-only does not fit", a)
		}
		for _, b := range Policies {
			for _, c := range Policies {
				if a.Within(b) && b.Within(c) && !a.Within(c) {
					t.Errorf("%s ≤ %s ≤ %s but not %s ≤ %s", a, b, c, a, c)
				}
			}
		}
	}
}
