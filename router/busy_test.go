package router

import (
	"slices"
	"testing"
)

func TestLoadFull(t *testing.T) {
	tests := []struct {
		name string
		load Load
		want bool
	}{
		{"idle", Load{Slots: 4}, false},
		{"one slot free", Load{InFlight: 3, Slots: 4}, false},
		{"every slot taken", Load{InFlight: 4, Slots: 4}, true},
		{"a queue counts", Load{InFlight: 2, Queued: 2, Slots: 4}, true},
		{"unknown slots count as one", Load{InFlight: 1}, true},
		{"unknown slots, idle", Load{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.load.Full(); got != tt.want {
				t.Errorf("%+v.Full() = %v, want %v", tt.load, got, tt.want)
			}
		})
	}
}

func TestNextPeer(t *testing.T) {
	full := Load{InFlight: 1, Slots: 1}
	idle := Load{Slots: 1}
	tests := []struct {
		name   string
		spares []string
		taken  []string // asked already, or excluded by its breaker
		loads  map[string]Load
		want   string
	}{
		{"the best spare", []string{"c", "d"}, nil, nil, "c"},
		{"no spares", nil, nil, nil, ""},
		{"the best is asked already", []string{"c", "d"}, []string{"c"}, nil, "d"},
		{"the best is known full", []string{"c", "d"}, nil, map[string]Load{"c": full}, "d"},
		{"a known idle spare is fine", []string{"c", "d"}, nil, map[string]Load{"c": idle}, "c"},
		{"all asked or full", []string{"c", "d"}, []string{"d"}, map[string]Load{"c": full}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			taken := func(p string) bool { return slices.Contains(tt.taken, p) }
			load := func(p string) (Load, bool) { l, ok := tt.loads[p]; return l, ok }
			if got := NextPeer(tt.spares, taken, load); got != tt.want {
				t.Errorf("NextPeer = %q, want %q", got, tt.want)
			}
		})
	}
}
