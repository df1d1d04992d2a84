package main

import (
	"slices"
	"testing"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestParseSweep(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []float64
		wantErr bool
	}{
		{"none", "", nil, false},
		{"list", "0.3, 0.5,0.9", []float64{0.3, 0.5, 0.9}, false},
		{"range", "0.3:0.5:0.05", []float64{0.3, 0.35, 0.4, 0.45, 0.5}, false},
		{"range to one", "0.9:1:0.05", []float64{0.9, 0.95, 1}, false},
		{"single point range", "0.7:0.7:0.1", []float64{0.7}, false},
		{"out of 0..1", "0.5,1.5", nil, true},
		{"not a number", "high", nil, true},
		{"two parts", "0.3:0.9", nil, true},
		{"zero step", "0.3:0.9:0", nil, true},
		{"backwards", "0.9:0.3:0.1", nil, true},
		{"too many steps", "0:1:0.001", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSweep(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseSweep(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseSweep(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParsePolicies(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"all five", "local-only,cascade,swarm,always-swarm,cloud-only",
			[]string{"local-only", "cascade", "swarm", "always-swarm", "cloud-only"}, false},
		{"spaces and case", " Swarm , cascade", []string{"swarm", "cascade"}, false},
		{"unknown", "swarm,fastest", nil, true},
		{"empty", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePolicies(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("parsePolicies(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestFirstPerClass(t *testing.T) {
	items := workload.Default().Items()
	if got := firstPerClass(items, 0); len(got) != len(items) {
		t.Errorf("limit 0 kept %d of %d items", len(got), len(items))
	}
	got := firstPerClass(items, 2)
	count := map[string]int{}
	for _, it := range got {
		count[it.Dataset]++
	}
	for _, ds := range []string{workload.DatasetEasy, workload.DatasetHard, workload.DatasetSafety} {
		if count[ds] != 2 {
			t.Errorf("limit 2 kept %d %s items", count[ds], ds)
		}
	}
}

func TestParseProfileSets(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{"default", "shipped,noisy", []string{"shipped", "noisy"}, false},
		{"noisy alone, spaced", " noisy ", []string{"noisy"}, false},
		{"unknown", "shipped,loud", nil, true},
		{"twice", "noisy,noisy", nil, true},
		{"empty", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProfileSets(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseProfileSets(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseProfileSets(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestScaleSizes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{"one size", "50", []int{50}, false},
		{"a list, spaced", "10, 50,100,200", []int{10, 50, 100, 200}, false},
		{"one node", "1", nil, true},
		{"not a number", "10,lots", nil, true},
		{"empty item", "10,", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scaleSizes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("scaleSizes(%q) error %v, want error %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("scaleSizes(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
