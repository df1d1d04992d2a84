package eval

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	rows := Summarize(fixture("swarm", 0.7))
	byClass := map[string]Row{}
	var order []string
	for _, r := range rows {
		byClass[r.Class] = r
		order = append(order, r.Class)
	}
	if want := []string{"easy", "hard", "safety", "all"}; !slices.Equal(order, want) {
		t.Fatalf("classes %v, want %v", order, want)
	}
	tests := []struct {
		class                        string
		n, correct, failed, lost     int
		local, swarm, cloud          float64
		promptTokens, completionToks int
	}{
		{"easy", 2, 1, 0, 0, 0.5, 0.5, 0, 0, 0},
		{"hard", 2, 1, 1, 0, 0, 0, 0.5, 12, 3},
		{"safety", 1, 0, 0, 1, 0, 0, 0, 0, 0},
		{"all", 5, 2, 1, 1, 0.2, 0.2, 0.2, 12, 3},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			r := byClass[tt.class]
			if r.N != tt.n || r.Correct != tt.correct || r.Failed != tt.failed || r.Lost != tt.lost {
				t.Errorf("n/correct/failed/lost = %d/%d/%d/%d, want %d/%d/%d/%d", r.N, r.Correct, r.Failed, r.Lost,
					tt.n, tt.correct, tt.failed, tt.lost)
			}
			for route, want := range map[string]float64{"local": tt.local, "swarm": tt.swarm, "cloud": tt.cloud} {
				if got := r.Share(route); math.Abs(got-want) > 1e-12 {
					t.Errorf("share %s = %v, want %v", route, got, want)
				}
			}
			if r.CloudPromptTokens != tt.promptTokens || r.CloudCompletionTokens != tt.completionToks {
				t.Errorf("cloud tokens %d/%d, want %d/%d", r.CloudPromptTokens, r.CloudCompletionTokens, tt.promptTokens, tt.completionToks)
			}
			if r.Policy != "swarm" || r.Confident != 0.7 {
				t.Errorf("setup %+v lost", r.Setup)
			}
		})
	}
	if acc := byClass["all"].Accuracy(); acc != 0.4 {
		t.Errorf("accuracy over all = %v, want 0.4 (failed and lost count as wrong)", acc)
	}
	if p := byClass["all"].Latency["cloud"]; p.N != 1 || p.P50 != 400*time.Millisecond {
		t.Errorf("cloud latency %+v, want one sample of 400ms", p)
	}
}

func TestPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name     string
		in       []time.Duration
		p50, p95 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"unsorted ten", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 5 * time.Millisecond, 10 * time.Millisecond},
		{"twenty", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 10 * time.Millisecond, 19 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := percentiles(tt.in)
			if p.N != len(tt.in) || p.P50 != tt.p50 || p.P95 != tt.p95 {
				t.Errorf("percentiles = %+v, want n=%d p50=%v p95=%v", p, len(tt.in), tt.p50, tt.p95)
			}
		})
	}
}

func TestPointOf(t *testing.T) {
	p := PointOf(fixture("cascade", 0.5))
	if p.Accuracy != 0.4 || p.CloudShare != 0.2 || p.HardAccuracy != 0.5 || p.Policy != "cascade" {
		t.Errorf("point %+v, want accuracy 0.4, cloud 0.2, hard 0.5", p)
	}
}

func TestSetupLabel(t *testing.T) {
	tests := []struct {
		name string
		s    Setup
		want string
	}{
		{"in-process", Setup{Policy: "swarm", Confident: 0.7, CloudMaxShare: 0.25}, "swarm confident=0.7 cap=0.25"},
		{"external node", Setup{Policy: "cascade", Confident: nan, CloudMaxShare: nan}, "cascade"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Label(); got != tt.want {
				t.Errorf("Label() = %q, want %q", got, tt.want)
			}
		})
	}
}
