package router

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestDecideNamedModel(t *testing.T) {
	hosts := []ModelHost{
		{Peer: "c", Healthy: true, Load: 2},
		{Peer: "b", Healthy: false, Load: 0},
		{Peer: "a", Healthy: true, Load: 2},
		{Peer: "d", Healthy: true, Load: 0},
	}
	tests := []struct {
		name      string
		hosts     []ModelHost
		policy    Policy
		wantOrder []int
		wantErr   error
		reason    string
	}{
		{"healthy, then least loaded, then by id", hosts, PolicySwarm, []int{3, 2, 0, 1}, nil, "which 4 peers serve: asking it directly"},
		{"one host", hosts[:1], PolicyAlwaysSwarm, []int{0}, nil, "which 1 peer serves"},
		{"local-only asks no peers", hosts, PolicyLocalOnly, nil, ErrNamedModelPolicy, ""},
		{"cloud-only asks no peers", hosts, PolicyCloudOnly, nil, ErrNamedModelPolicy, ""},
		{"nobody serves it", nil, PolicySwarm, nil, ErrNamedModelUnserved, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := DefaultRules()
			r.Policy = tc.policy
			d, order, err := DecideNamedModel("m:1b", tc.hosts, r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(order, tc.wantOrder) || d.Route != RouteSwarm || !slices.Contains(d.Flags, FlagNamedModel) ||
				!strings.Contains(d.Reason, tc.reason) {
				t.Errorf("decision %+v order %v, want order %v and reason with %q", d, order, tc.wantOrder, tc.reason)
			}
		})
	}
}
