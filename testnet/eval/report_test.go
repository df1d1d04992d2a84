package eval

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goldenfile "github.com/swarmllm/swarmllm/testnet/golden"
)

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) { goldenfile.Check(t, name, got) }

func fixtureRows() []Row {
	var rows []Row
	for _, run := range []Run{fixture("swarm", 0.7), fixture("cascade", 0.7)} {
		rows = append(rows, Summarize(run)...)
	}
	return rows
}

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, fixtureRows()); err != nil {
		t.Fatal(err)
	}
	golden(t, "policies.md.golden", b.Bytes())
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, fixtureRows()); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse back: %v", err)
	}
	for i, r := range recs {
		if len(r) != len(CSVHeader) {
			t.Fatalf("record %d has %d fields, want %d", i, len(r), len(CSVHeader))
		}
	}
	golden(t, "policies.csv.golden", b.Bytes())
}

func TestWriteResultsCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteResultsCSV(&b, []Run{fixture("swarm", 0.7)}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+5 {
		t.Fatalf("%d records, want a header and 5 queries", len(recs))
	}
	golden(t, "results.csv.golden", b.Bytes())
}

func TestWriteSVG(t *testing.T) {
	p := Plot{
		Title: "test <plot> & co",
		Curves: []Curve{
			{Name: "swarm", Points: []Point{pt(0.3, 0.55, 0.12), pt(0.7, 0.60, 0.16), pt(1, 0.70, 0.25)}},
			{Name: "cascade", Points: []Point{pt(0.3, 0.56, 0.19), pt(0.7, 0.71, 0.40), pt(1, 0.92, 1)}},
		},
		Baselines: []Point{
			{Setup: Setup{Policy: "local-only", Confident: 0.7}, Accuracy: 0.37},
			{Setup: Setup{Policy: "cloud-only", Confident: 0.7}, Accuracy: 0.925, CloudShare: 1},
		},
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, p); err != nil {
		t.Fatal(err)
	}
	// well-formed XML, and the title escaped
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v", err)
		}
	}
	if !strings.Contains(b.String(), "test &lt;plot&gt; &amp; co") {
		t.Error("the title is not escaped")
	}
	golden(t, "curve.svg.golden", b.Bytes())
}

// cloudOnlyFixture answers every query right from the cloud, so the report
// has both models to measure the sweep against.
func cloudOnlyFixture() Run {
	run := fixture("cloud-only", 0.7)
	for i := range run.Results {
		r := &run.Results[i]
		r.Outcome, r.Route, r.Answer, r.Correct, r.Err = Answered, "cloud", r.Item.Answer, true, ""
	}
	return run
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	res := Results{
		Set:   "shipped",
		Table: []Run{fixture("local-only", 0.7), fixture("swarm", 0.7), fixture("cascade", 0.7), cloudOnlyFixture()},
		Sweep: []Run{fixture("swarm", 0.5), fixture("swarm", 0.9), fixture("cascade", 0.5), fixture("cascade", 0.9)},
		Open:  []Run{fixture("swarm", 0.7)},
		Others: []Results{{
			Set:   "noisy",
			Table: []Run{fixture("local-only", 0.7), cloudOnlyFixture()},
			Sweep: []Run{fixture("swarm", 0.9), cloudOnlyFixture()}, // cloud-only is no sweep policy: left out
		}},
	}
	res.Open[0].Setup.Open = true
	if err := WriteReport(dir, "About this run.", res); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{FileReport, FilePolicies, FileResults, FileSweep, FilePlot, FileOpen} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	report, err := os.ReadFile(filepath.Join(dir, FileReport))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", report)
}
