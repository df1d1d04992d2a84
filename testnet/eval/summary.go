package eval

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

// Routes in table order.
var Routes = []string{"local", "swarm", "cloud"}

// ClassAll is the row over every class.
const ClassAll = "all"

// Classes in table order: the workload's datasets, then all.
var Classes = []string{workload.DatasetEasy, workload.DatasetHard, workload.DatasetSafety, ClassAll}

// Setup is what a run was configured with. Confident and CloudMaxShare are
// NaN when unknown (a node started elsewhere, with its own flags).
type Setup struct {
	Policy        string
	Confident     float64 // the nodes' --confident
	CloudMaxShare float64 // the nodes' --cloud-max-share (0 = no cap)
	// Open runs an in-process swarm open to anyone (no swarm key) instead
	// of a private one: newcomers start at trust 0.2 and peers get personal
	// data redacted.
	Open bool
}

// Label names the setup in progress lines and tables.
func (s Setup) Label() string {
	l := s.Policy
	if !math.IsNaN(s.Confident) {
		l += " confident=" + fmtFloat(s.Confident)
	}
	if !math.IsNaN(s.CloudMaxShare) {
		l += " cap=" + fmtFloat(s.CloudMaxShare)
	}
	if s.Open {
		l += " open"
	}
	return l
}

// Run is one setup's results.
type Run struct {
	Setup   Setup
	Results []Result
	Wall    time.Duration // wall time of the whole run
}

// Percentiles of a latency sample; zero with no sample.
type Percentiles struct {
	N        int
	P50, P95 time.Duration
}

// Row is one class of one run.
type Row struct {
	Setup
	Class                 string
	N, Correct            int
	Failed, Lost          int
	Routes                map[string]int         // answers per route
	Latency               map[string]Percentiles // client-side latency per route
	CloudPromptTokens     int
	CloudCompletionTokens int
}

// Accuracy is the share of the class answered right (failed and lost
// queries count as wrong).
func (r Row) Accuracy() float64 { return ratio(r.Correct, r.N) }

// Share is the share of the class's queries answered by route.
func (r Row) Share(route string) float64 { return ratio(r.Routes[route], r.N) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Summarize makes one row per class present in the run, in Classes order,
// and a row over all of them.
func Summarize(run Run) []Row {
	by := map[string][]Result{}
	for _, r := range run.Results {
		by[r.Item.Dataset] = append(by[r.Item.Dataset], r)
	}
	by[ClassAll] = run.Results
	var rows []Row
	for _, class := range Classes {
		if rs := by[class]; len(rs) > 0 {
			rows = append(rows, summarizeClass(run.Setup, class, rs))
		}
	}
	return rows
}

func summarizeClass(setup Setup, class string, rs []Result) Row {
	row := Row{Setup: setup, Class: class, N: len(rs), Routes: map[string]int{}, Latency: map[string]Percentiles{}}
	lat := map[string][]time.Duration{}
	for _, r := range rs {
		switch r.Outcome {
		case Failed:
			row.Failed++
			continue
		case Lost:
			row.Lost++
			continue
		}
		if r.Correct {
			row.Correct++
		}
		row.Routes[r.Route]++
		lat[r.Route] = append(lat[r.Route], r.Latency)
		row.CloudPromptTokens += r.CloudPromptTokens
		row.CloudCompletionTokens += r.CloudCompletionTokens
	}
	for route, ds := range lat {
		row.Latency[route] = percentiles(ds)
	}
	return row
}

// percentiles by nearest rank.
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return Percentiles{N: len(s), P50: rank(s, 0.50), P95: rank(s, 0.95)}
}

// rank is the nearest-rank q-quantile of sorted s.
func rank(s []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// Point is one run on the cost–quality plane: its accuracy over all classes
// against the share of queries it sent to the cloud FM.
type Point struct {
	Setup
	Accuracy, CloudShare float64
	HardAccuracy         float64 // accuracy on the hard class alone
}

// PointOf places a run on the plane.
func PointOf(run Run) Point {
	p := Point{Setup: run.Setup}
	for _, row := range Summarize(run) {
		switch row.Class {
		case ClassAll:
			p.Accuracy, p.CloudShare = row.Accuracy(), row.Share("cloud")
		case workload.DatasetHard:
			p.HardAccuracy = row.Accuracy()
		}
	}
	return p
}

// fmtFloat prints a setting without trailing zeros ("0.7", "0.25").
func fmtFloat(v float64) string {
	if math.IsNaN(v) {
		return "node's"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
