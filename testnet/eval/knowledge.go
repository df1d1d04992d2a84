package eval

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
	"github.com/swarmllm/swarmllm/testnet/workload"
)

// The knowledge workload (issue 14): made-up facts about a made-up field
// station that only its documents hold (Markdown, text and a PDF), and the
// questions about them, so no model knows the answers.
//
//go:embed testdata/knowledge
var knowledgeFS embed.FS

const knowledgeRoot = "testdata/knowledge"

// KnowledgeSpec runs the knowledge workload on the three default simulated
// nodes, the documents on the last one, without and with --knowledge.
type KnowledgeSpec struct {
	Seed        uint64
	Concurrency int
	Command     string // for the report
	Progress    *Progress
	Log         *slog.Logger
}

// KnowledgeResult is one scenario's figures.
type KnowledgeResult struct {
	Scenario string
	// Asked is every knowledge question asked at every node; Correct,
	// Cited (a grounded answer citing a document) and Cloud count them.
	Asked, Correct, Cited, Cloud, Lost int
	// Shipped is the shipped workload asked under the same swarm:
	// ShippedCorrect its right answers, ShippedKnowledge those that took the
	// knowledge route (questions the documents do not hold).
	Shipped, ShippedCorrect, ShippedKnowledge int
}

// KnowledgeReport is both scenarios.
type KnowledgeReport struct {
	Spec      KnowledgeSpec
	Questions int
	Results   []KnowledgeResult
}

// KnowledgeQuestions are the knowledge workload's questions.
func KnowledgeQuestions() (*workload.Workload, error) {
	f, err := knowledgeFS.Open(knowledgeRoot + "/questions.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return workload.Load(f)
}

// RunKnowledge runs both scenarios, each on a fresh in-process swarm with a
// cloud FM and no cloud cap.
func RunKnowledge(ctx context.Context, spec KnowledgeSpec) (*KnowledgeReport, error) {
	qs, err := KnowledgeQuestions()
	if err != nil {
		return nil, fmt.Errorf("knowledge workload: %w", err)
	}
	docs, err := os.MkdirTemp("", "swarmllm-knowledge-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(docs)
	if err := copyDocs(docs); err != nil {
		return nil, err
	}
	rep := &KnowledgeReport{Spec: spec, Questions: qs.Len()}
	for _, sc := range []struct {
		name string
		dir  string
	}{{"without knowledge cooperation", ""}, {"with knowledge cooperation", filepath.Join(docs, "kestrel-bay")}} {
		res, err := runKnowledgeScenario(ctx, spec, qs, sc.name, sc.dir)
		if err != nil {
			return nil, fmt.Errorf("knowledge %s: %w", sc.name, err)
		}
		rep.Results = append(rep.Results, res)
	}
	return rep, nil
}

// copyDocs writes the embedded documents under dir, as a user's directory.
func copyDocs(dir string) error {
	return fs.WalkDir(knowledgeFS, knowledgeRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "/kestrel-bay/") {
			return err
		}
		b, err := knowledgeFS.ReadFile(path)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, strings.TrimPrefix(path, knowledgeRoot+"/"))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}

func runKnowledgeScenario(ctx context.Context, spec KnowledgeSpec, qs *workload.Workload, name, dir string) (KnowledgeResult, error) {
	nodes := swarm.DefaultNodes()
	keeper := len(nodes) - 1
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	sw, err := swarm.Start(startCtx, swarm.Spec{Nodes: nodes, Cloud: true, Seed: spec.Seed, Log: spec.Log,
		Configure: func(i int, c *config.Config) {
			c.CloudMaxShare = 0
			if i == keeper {
				c.Knowledge = dir
			}
		}})
	if err != nil {
		return KnowledgeResult{}, err
	}
	defer sw.Close()
	if dir != "" {
		// The index is built once the node runs; wait for its record to say so.
		if err := waitKnowledge(startCtx, sw, keeper); err != nil {
			return KnowledgeResult{}, err
		}
	}
	transport := &http.Transport{MaxIdleConnsPerHost: max(spec.Concurrency, 4)}
	defer transport.CloseIdleConnections()
	out := KnowledgeResult{Scenario: name}
	var all []Asker
	for i := range sw.Nodes {
		c, err := api.NewClient(sw.APIURL(i), api.WithHTTPClient(&http.Client{Transport: transport}))
		if err != nil {
			return out, err
		}
		all = append(all, c)
		// Every node is asked every question, one at a time, as a person
		// asks: any node must reach the documents. (With 8 in flight per
		// node a few asks find the one knowledge node busy and go the
		// ordinary way: BENCHMARKS.md.)
		r, err := NewRunner([]Asker{c}, WithProgress(spec.Progress), WithConcurrency(1))
		if err != nil {
			return out, err
		}
		results, err := r.Run(ctx, fmt.Sprintf("%s, node %d", name, i+1), string(router.PolicySwarm), qs.Items())
		if err != nil {
			return out, err
		}
		for _, res := range results {
			out.Asked++
			switch {
			case res.Outcome != Answered:
				out.Lost++
				continue
			case res.Route == router.RouteCloud.String():
				out.Cloud++
			}
			if res.Correct {
				out.Correct++
			}
			if len(res.Sources) > 0 {
				out.Cited++
			}
		}
	}
	r, err := NewRunner(all, WithProgress(spec.Progress), WithConcurrency(max(spec.Concurrency, 1)))
	if err != nil {
		return out, err
	}
	results, err := r.Run(ctx, name+", shipped workload", string(router.PolicySwarm), workload.Default().Items())
	if err != nil {
		return out, err
	}
	for _, res := range results {
		out.Shipped++
		if res.Correct {
			out.ShippedCorrect++
		}
		if len(res.Sources) > 0 || strings.Contains(res.Reason, "knowledge") {
			out.ShippedKnowledge++
		}
	}
	return out, nil
}

// waitKnowledge waits until every node holds the keeper's record with its collection.
func waitKnowledge(ctx context.Context, sw *swarm.Swarm, keeper int) error {
	id := sw.Nodes[keeper].ID().String()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := true
		for _, n := range sw.Nodes {
			found := false
			for _, v := range n.Records(ctx) {
				found = found || v.Peer == id && len(v.Knowledge) > 0
			}
			ready = ready && found
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the knowledge node's record: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// WriteMarkdown writes the report.
func (r *KnowledgeReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# Knowledge cooperation (issue 14)\n\n")
	if r.Spec.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`. ", r.Spec.Command)
	}
	fmt.Fprintf(&b, "The three simulated nodes of swarm.DefaultNodes and a simulated cloud FM (no cap), swarm policy. "+
		"The knowledge workload is %d questions on made-up facts that only the documents of "+
		"testnet/eval/testdata/knowledge/kestrel-bay hold (Markdown, text and a PDF); every question is asked at every node, one at a time. "+
		"With knowledge cooperation the last node runs with --knowledge on them; no model, the cloud's included, knows the facts. "+
		"The shipped workload is then asked round robin in the same swarm, to count questions the documents do not hold "+
		"that took the knowledge route. A fresh swarm per row.\n\n", r.Questions)
	b.WriteString("| scenario | knowledge accuracy | answers citing a document | cloud share | lost | shipped workload accuracy | shipped queries on the knowledge route |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for _, res := range r.Results {
		fmt.Fprintf(&b, "| %s | %s (%d/%d) | %s | %s | %d | %s | %d of %d |\n", res.Scenario,
			pctOf(res.Correct, res.Asked), res.Correct, res.Asked, pctOf(res.Cited, res.Asked), pctOf(res.Cloud, res.Asked),
			res.Lost, pctOf(res.ShippedCorrect, res.Shipped), res.ShippedKnowledge, res.Shipped)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pctOf(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
