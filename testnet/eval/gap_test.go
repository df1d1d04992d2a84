package eval

import (
	"math"
	"testing"

	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestGap(t *testing.T) {
	g := Gap{Weak: 0.4, Strong: 0.8}
	tests := []struct {
		name               string
		gap                Gap
		points             []Point
		apgr, cpt50, cpt80 float64
	}{
		{
			name: "no points: the straight line from weak to strong",
			gap:  g, apgr: 0.5, cpt50: 0.5, cpt80: 0.8,
		},
		{
			// closed (0,.4) (.2,.7) (1,.8): area .2·1.1/2 + .8·1.5/2 = .71, (.71−.4)/.4;
			// 50 % is .6, reached at .2·(.2/.3); 80 % is .72, at .2 + .8·(.02/.1)
			name:   "one frugal point",
			gap:    g,
			points: []Point{pt(0.8, 0.7, 0.2)},
			apgr:   0.775, cpt50: 0.2 * 2 / 3, cpt80: 0.36,
		},
		{
			// (.5,.7) and (.5,.5) merge to (.5,.6), on the straight line
			name:   "equal shares merge into their mean, in any order",
			gap:    g,
			points: []Point{pt(0.9, 0.7, 0.5), pt(0.5, 0.5, 0.5)},
			apgr:   0.5, cpt50: 0.5, cpt80: 0.8,
		},
		{
			// closed (0,.5) (1,.9): area .7, (.7−.4)/.4; .6 at .1/.4; .72 at .22/.4
			name:   "measured ends replace the closure",
			gap:    g,
			points: []Point{pt(0, 0.5, 0), pt(1, 0.9, 1)},
			apgr:   0.75, cpt50: 0.25, cpt80: 0.55,
		},
		{
			// closed (0,.4) (1,.62): area .51; .6 at .2/.22; .72 never
			name:   "a router that never recovers 80 %",
			gap:    g,
			points: []Point{pt(1, 0.62, 1)},
			apgr:   0.275, cpt50: 0.2 / 0.22, cpt80: math.NaN(),
		},
		{
			// closed (0,.4) (.2,.7) (.4,.6) (1,.8): area .11 + .13 + .42 = .66;
			// .6 first reached on the first segment; .72 on the last, .4 + .6·(.12/.2)
			name:   "a dip: CPT is the first crossing",
			gap:    g,
			points: []Point{pt(0.5, 0.7, 0.2), pt(0.6, 0.6, 0.4)},
			apgr:   0.65, cpt50: 0.2 * 2 / 3, cpt80: 0.76,
		},
		{
			name:   "no gap to recover",
			gap:    Gap{Weak: 0.7, Strong: 0.7},
			points: []Point{pt(0.5, 0.7, 0.2)},
			apgr:   math.NaN(), cpt50: math.NaN(), cpt80: math.NaN(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.gap.Score("r", tt.points)
			if !near(s.APGR, tt.apgr) || !near(s.CPT50, tt.cpt50) || !near(s.CPT80, tt.cpt80) {
				t.Errorf("APGR, CPT50, CPT80 = %v, %v, %v; want %v, %v, %v", s.APGR, s.CPT50, s.CPT80, tt.apgr, tt.cpt50, tt.cpt80)
			}
		})
	}
}

func answered(qid string, correct bool) Result {
	return Result{Item: workload.Item{QID: qid}, Outcome: Answered, Correct: correct}
}

func TestRandomRouter(t *testing.T) {
	local := []Result{answered("q1", true), answered("q2", false), answered("q3", false), answered("q4", false),
		answered("q5", true)} // q5 was not run cloud-only: left out
	cloud := []Result{answered("q1", true), answered("q2", true), answered("q3", true), answered("q4", false)}
	tests := []struct {
		name   string
		shares []float64
		want   []float64
	}{
		// local 1 of 4 right, cloud 3 of 4: (1−p)·.25 + p·.75
		{name: "ends and middle", shares: []float64{0, 0.5, 1}, want: []float64{0.25, 0.5, 0.75}},
		{name: "a quarter up", shares: []float64{0.25}, want: []float64{0.375}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RandomRouter(local, cloud, tt.shares)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d points, want %d", len(got), len(tt.want))
			}
			for i, p := range got {
				if p.CloudShare != tt.shares[i] || !near(p.Accuracy, tt.want[i]) {
					t.Errorf("point %d = (%v, %v), want (%v, %v)", i, p.CloudShare, p.Accuracy, tt.shares[i], tt.want[i])
				}
			}
		})
	}
	t.Run("no query in both runs", func(t *testing.T) {
		if got := RandomRouter(local[:1], cloud[1:], randomShares); got != nil {
			t.Errorf("got %v, want no points", got)
		}
	})
}

func sweepRun(policy string, confident, capShare float64, correct, cloud int) Run {
	var rs []Result
	for i := range 10 {
		r := answered(string(rune('a'+i)), i < correct)
		r.Route = "local"
		if i >= 10-cloud {
			r.Route = "cloud"
		}
		rs = append(rs, r)
	}
	return Run{Setup: Setup{Policy: policy, Confident: confident, CloudMaxShare: capShare}, Results: rs}
}

func TestResultsRouting(t *testing.T) {
	local, cloud := string(router.PolicyLocalOnly), string(router.PolicyCloudOnly)
	swarm, cascade := string(router.PolicySwarm), string(router.PolicyCascade)
	res := Results{
		Table: []Run{
			sweepRun(local, 0.8, 0, 4, 0), sweepRun(cloud, 0.8, 0, 8, 10),
			sweepRun(local, 0.8, 0.25, 1, 0), // capped runs are not the models
		},
		Sweep: []Run{sweepRun(swarm, 0.8, 0, 7, 2), sweepRun(cascade, 0.8, 0, 6, 5)},
	}
	g, scores, ok := res.Routing()
	if !ok || g != (Gap{Weak: 0.4, Strong: 0.8}) {
		t.Fatalf("Routing() gap %+v ok %v, want {0.4 0.8} true", g, ok)
	}
	want := map[string]float64{
		swarm:      0.775, // (.2,.7): the "one frugal point" case
		cascade:    0.5,   // (.5,.6): on the straight line
		RandomName: 0.5,
	}
	if len(scores) != len(want) {
		t.Fatalf("got %d scores, want %d", len(scores), len(want))
	}
	for _, s := range scores {
		if !near(s.APGR, want[s.Name]) {
			t.Errorf("%s APGR %v, want %v", s.Name, s.APGR, want[s.Name])
		}
	}
	if _, _, ok := (Results{Sweep: res.Sweep}).Routing(); ok {
		t.Error("Routing() ok without the local-only and cloud-only runs")
	}
}

func TestCalibrationOf(t *testing.T) {
	// Four answers by model m in one bin at confidence .9, two right; the
	// cloud agrees with the right ones. Each fold sees one right and one
	// wrong answer: (1 + 4·.9)/(2 + 4) = 4.6/6 for the model's bin and the
	// same for the domain's, shrunk to it: (1 + 4·4.6/6)/6.
	local := make([]Result, 4)
	cloud := make([]Result, 4)
	for i := range local {
		qid := string(rune('a' + i))
		right := i < 2
		ans := "wrong"
		if right {
			ans = "right answer"
		}
		local[i] = Result{Item: workload.Item{QID: qid}, Outcome: Answered, Route: "local", Answer: ans, Correct: right,
			Model: "m", Domain: "geo", Confidence: 0.9}
		cloud[i] = Result{Item: workload.Item{QID: qid}, Outcome: Answered, Route: "cloud", Answer: "right answer", Correct: true}
	}
	unchecked := Result{Item: workload.Item{QID: "z"}, Outcome: Answered, Route: "local", Answer: "x", Model: "m", Confidence: 0.9}
	c, ok := CalibrationOf(append(local, unchecked), cloud, 0.8)
	calibrated := (1 + 4*4.6/6) / 6
	if !ok || c.N != 4 || !near(c.Raw, 0.4) || !near(c.Calibrated, math.Abs(calibrated-0.5)) {
		t.Errorf("CalibrationOf = %+v, %v; want 4 answers, raw ECE 0.4, calibrated %v", c, ok, math.Abs(calibrated-0.5))
	}
	if _, ok := CalibrationOf(nil, cloud, 0.8); ok {
		t.Error("CalibrationOf without answers: ok")
	}
}
