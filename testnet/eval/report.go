package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteMarkdown writes rows as one Markdown table: per row its setup, class,
// accuracy, share of each route, p50/p95 latency per route and the tokens
// the cloud FM read and wrote.
func WriteMarkdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("| policy | confident | cloud cap | class | n | accuracy | local | swarm | cloud |" +
		" p50/p95 local ms | p50/p95 swarm ms | p50/p95 cloud ms | cloud tokens in/out | failed/lost |\n")
	b.WriteString("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s |", r.Policy, fmtFloat(r.Confident),
			fmtCap(r.CloudMaxShare), r.Class, r.N, pct(r.Accuracy()), pct(r.Share("local")), pct(r.Share("swarm")),
			pct(r.Share("cloud")))
		for _, route := range Routes {
			fmt.Fprintf(&b, " %s |", fmtPercentiles(r.Latency[route]))
		}
		fmt.Fprintf(&b, " %d / %d | %d / %d |\n", r.CloudPromptTokens, r.CloudCompletionTokens, r.Failed, r.Lost)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtCap prints a cloud budget cap: 0 is no cap.
func fmtCap(v float64) string {
	if v == 0 {
		return "none"
	}
	return fmtFloat(v)
}

func fmtPercentiles(p Percentiles) string {
	if p.N == 0 {
		return "–"
	}
	return fmtMS(p.P50) + " / " + fmtMS(p.P95)
}

// fmtMS prints milliseconds with one decimal under 10 ms, none above.
func fmtMS(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 10 {
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
	return strconv.FormatFloat(ms, 'f', 0, 64)
}

func msField(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func floatField(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"policy", "confident", "cloud_max_share", "class", "n", "correct", "accuracy",
	"failed", "lost", "local", "swarm", "cloud", "local_share", "swarm_share", "cloud_share",
	"local_p50_ms", "local_p95_ms", "swarm_p50_ms", "swarm_p95_ms", "cloud_p50_ms", "cloud_p95_ms",
	"cloud_prompt_tokens", "cloud_completion_tokens"}

// WriteCSV writes rows as CSV with CSVHeader; unknown settings are "NaN",
// latencies of a route with no answers are empty.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, r := range rows {
		rec := []string{r.Policy, floatField(r.Confident), floatField(r.CloudMaxShare), r.Class,
			strconv.Itoa(r.N), strconv.Itoa(r.Correct), floatField(r.Accuracy()),
			strconv.Itoa(r.Failed), strconv.Itoa(r.Lost)}
		for _, route := range Routes {
			rec = append(rec, strconv.Itoa(r.Routes[route]))
		}
		for _, route := range Routes {
			rec = append(rec, floatField(r.Share(route)))
		}
		for _, route := range Routes {
			p := r.Latency[route]
			if p.N == 0 {
				rec = append(rec, "", "")
				continue
			}
			rec = append(rec, msField(p.P50), msField(p.P95))
		}
		rec = append(rec, strconv.Itoa(r.CloudPromptTokens), strconv.Itoa(r.CloudCompletionTokens))
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// ResultsHeader is the header row of WriteResultsCSV.
var ResultsHeader = []string{"policy", "confident", "cloud_max_share", "qid", "dataset", "domain", "node",
	"outcome", "route", "correct", "latency_ms", "cloud_prompt_tokens", "cloud_completion_tokens", "flags",
	"reason", "answer", "error"}

// WriteResultsCSV writes every query of the runs, one line each, for a
// closer look at why a policy did what it did.
func WriteResultsCSV(w io.Writer, runs []Run) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ResultsHeader); err != nil {
		return fmt.Errorf("write results csv: %w", err)
	}
	for _, run := range runs {
		s := run.Setup
		for _, r := range run.Results {
			rec := []string{s.Policy, floatField(s.Confident), floatField(s.CloudMaxShare), r.Item.QID,
				r.Item.Dataset, r.Item.Domain, strconv.Itoa(r.Node + 1), r.Outcome.String(), r.Route,
				strconv.FormatBool(r.Correct), msField(r.Latency), strconv.Itoa(r.CloudPromptTokens),
				strconv.Itoa(r.CloudCompletionTokens), strings.Join(r.Flags, " "), r.Reason, r.Answer, r.Err}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("write results csv: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write results csv: %w", err)
	}
	return nil
}
