//go:build unix

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ollamaapi "github.com/ollama/ollama/api"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/node"
	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/internal/gguf"
	"github.com/swarmllm/swarmllm/testnet/internal/realollama"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// embedModel is the tiny model every node embeds with: the same GGUF on
// every Ollama, so all vectors share one space.
const embedModel = "tiny-embed"

// realModel is one node's tiny model: its shape sets its size, its
// sharpness how confident its answers are.
type realModel struct {
	name     string
	describe string // vocabulary words, so the tiny embedder can place it
	opts     []gguf.Option
}

// realModels are a confident, a middling and an unsure model of different sizes.
var realModels = []realModel{
	{"tiny-sharp", "river bridge water sea island fish stone", []gguf.Option{gguf.WithSharpness(60)}},
	{"tiny-mid", "money market price trade value paper", []gguf.Option{gguf.WithSharpness(8),
		gguf.WithEmbed(128), gguf.WithHeads(8, 2), gguf.WithBlocks(4), gguf.WithVocab(2048), gguf.WithSeed(7)}},
	{"tiny-flat", "music song voice word book letter story", []gguf.Option{gguf.WithSharpness(0.5),
		gguf.WithBlocks(3), gguf.WithSeed(3)}},
}

const (
	sharpNode = 0
	midNode   = 1
	flatNode  = 2
)

// TestRealOllamaSwarm runs three in-process nodes, each on its own real
// `ollama serve` with a tiny GGUF model, and checks that capability records
// come from real /api/show, confidence from real logprobs, discovery from
// real /api/embed, and that each node's routes follow its model's confidence.
func TestRealOllamaSwarm(t *testing.T) {
	bin := realollama.Find(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	start := time.Now()
	embedPath := cachedGGUF(t, embedModel, gguf.WithSeed(11))
	servers := make([]*realollama.Server, len(realModels))
	for i, m := range realModels {
		servers[i] = realollama.Start(ctx, t, bin)
		for name, path := range map[string]string{m.name: cachedGGUF(t, m.name, m.opts...), embedModel: embedPath} {
			if err := servers[i].Create(ctx, name, path); err != nil {
				t.Fatalf("create %s on ollama %d: %v", name, i+1, err)
			}
		}
	}
	t.Logf("BENCH real-ollama setup: 3 ollama serve + 6 models created in %v", time.Since(start).Round(time.Millisecond))

	specs := make([]swarm.NodeSpec, len(realModels))
	for i, m := range realModels {
		// No declared domains: routing and discovery turn on confidence and meaning alone.
		specs[i] = swarm.NodeSpec{Model: m.name, Describe: m.describe}
	}
	var rules []router.Rules
	start = time.Now()
	sw, err := swarm.Start(ctx, swarm.Spec{
		Nodes: specs,
		Cloud: true,
		Configure: func(i int, c *config.Config) {
			c.OllamaURL = servers[i].URL()
			c.EmbedModel = embedModel
			c.CloudMaxShare = 0
			if i == flatNode {
				c.TopK = 1 // discovery must pick the one peer the query is about
			}
			rules = append(rules, c.Rules())
		},
		NodeOptions: []node.Option{node.WithHealthInterval(500 * time.Millisecond)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := sw.Close(); err != nil {
			t.Errorf("close swarm: %v", err)
		}
	}()
	clients := make([]*api.Client, len(sw.Nodes))
	for i := range sw.Nodes {
		if clients[i], err = api.NewClient(sw.APIURL(i)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("BENCH real-ollama join: %v", time.Since(start).Round(time.Millisecond))

	t.Run("records from api show and embed", func(t *testing.T) {
		recs := waitRealRecords(ctx, t, clients)
		for _, r := range recs {
			if r.Family != "llama" || r.ParameterSize == "" || r.Quantization != "F16" ||
				!slices.Contains(r.Capabilities, "completion") || r.ContextLength != gguf.DefaultContext {
				t.Errorf("record of %s lacks Ollama's facts: family %q, size %q, quantization %q, capabilities %v, context %d",
					r.Model, r.Family, r.ParameterSize, r.Quantization, r.Capabilities, r.ContextLength)
			}
			if r.EmbedModel != embedModel || r.EmbedDim != gguf.DefaultEmbed {
				t.Errorf("record of %s: description embedded by %q in %d dims, want %s in %d", r.Model, r.EmbedModel, r.EmbedDim, embedModel, gguf.DefaultEmbed)
			}
			t.Logf("record %s: %s %s %s, capabilities %v, embedded by %s (%d dims)",
				r.Model, r.Family, r.ParameterSize, r.Quantization, r.Capabilities, r.EmbedModel, r.EmbedDim)
		}
		if recs[realModels[sharpNode].name].ParameterSize == recs[realModels[midNode].name].ParameterSize {
			t.Errorf("models of different shapes report the same parameter size %q", recs[realModels[sharpNode].name].ParameterSize)
		}
	})

	// `ollama list` against a node shows its model as its Ollama does: the
	// same digest (the CLI prints its first 12 characters), size and time.
	t.Run("tags from the real backend", func(t *testing.T) {
		own, err := servers[sharpNode].Client().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(sw.APIURL(sharpNode))
		if err != nil {
			t.Fatal(err)
		}
		viaNode, err := ollamaapi.NewClient(u, http.DefaultClient).List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		find := func(l *ollamaapi.ListResponse, name string) *ollamaapi.ListModelResponse {
			for i := range l.Models {
				if strings.TrimSuffix(l.Models[i].Name, ":latest") == name {
					return &l.Models[i]
				}
			}
			return nil
		}
		name := realModels[sharpNode].name
		want, got := find(own, name), find(viaNode, name)
		if want == nil || got == nil || got.Digest != want.Digest || got.Size != want.Size || !got.ModifiedAt.Equal(want.ModifiedAt) {
			t.Errorf("%s via the node %+v, via its Ollama %+v", name, got, want)
		}
	})

	// Discovery first, before any vote moves the peers' track records.
	t.Run("discovery by real embeddings", func(t *testing.T) {
		cases := []struct {
			prompt string
			want   int // node whose description the prompt is about
		}{
			{"the river and the bridge over the sea", sharpNode},
			{"the price of money in the market", midNode},
		}
		for _, tc := range cases {
			res := ask(ctx, t, clients[flatNode], tc.prompt, router.PolicyAlwaysSwarm)
			// The round's proposals include the asking node's own.
			var peers []router.Proposal
			for _, p := range res.Trace.Peers {
				if p.Peer != sw.Nodes[flatNode].ID().String() {
					peers = append(peers, p)
				}
			}
			if len(peers) != 1 || peers[0].Peer != sw.Nodes[tc.want].ID().String() {
				t.Errorf("%q: asked %v, want only %s (%s)", tc.prompt, peerModels(peers), realModels[tc.want].name, realModels[tc.want].describe)
			}
		}
	})

	t.Run("routes follow real logprobs", func(t *testing.T) {
		prompts := []string{"What is the capital of France?", "hello", "Name a color.", "Is water wet?"}
		mean := make([]float64, len(sw.Nodes))
		for i := range sw.Nodes {
			for _, p := range prompts {
				res := ask(ctx, t, clients[i], p, router.PolicySwarm)
				tr := res.Trace
				if tr.Local == nil || tr.Local.Err != "" || tr.Local.Uncertainty.Tokens == 0 {
					t.Fatalf("%s %q: no local answer with logprobs: %+v", realModels[i].name, p, tr.Local)
				}
				conf := tr.Local.Confidence
				mean[i] += conf / float64(len(prompts))
				bar := rules[i].Thresholds.Bar(tr.Classification.Difficulty, false)
				wantLocal := conf >= bar && tr.Classification.Safety == router.SafetyNone
				if (tr.Route == router.RouteLocal) != wantLocal {
					t.Errorf("%s %q: confidence %.2f, bar %.2f, route %s (%s)", realModels[i].name, p, conf, bar, tr.Route, tr.Reason)
				}
				if tr.Route != router.RouteLocal && len(tr.Peers) == 0 && (tr.Cloud == nil || !tr.Cloud.Summoned) {
					t.Errorf("%s %q: not confident, yet neither peers nor the cloud were asked: %s", realModels[i].name, p, tr.Reason)
				}
				// Peers answer with their own models' logprobs: any sharper one is surer.
				for _, pr := range tr.Peers {
					if i == flatNode && pr.Peer != sw.Nodes[i].ID().String() && pr.Err == "" && !(pr.Confidence > conf) {
						t.Errorf("%s %q: peer %s proposed with confidence %.2f, not above the flat model's %.2f", realModels[i].name, p, pr.Model, pr.Confidence, conf)
					}
				}
				t.Logf("%-10s %-32q confidence %.2f (mean logprob %.2f, %d tokens) → %s", realModels[i].name, p, conf,
					tr.Local.Uncertainty.MeanLogprob, tr.Local.Uncertainty.Tokens, tr.Route)
			}
		}
		if !(mean[sharpNode] > mean[midNode] && mean[midNode] > mean[flatNode]) {
			t.Errorf("mean confidence sharp %.2f, mid %.2f, flat %.2f: not ordered by sharpness", mean[sharpNode], mean[midNode], mean[flatNode])
		}
		// The ends of the scale must route as their models imply.
		for _, p := range prompts[:2] {
			if r := ask(ctx, t, clients[sharpNode], p, router.PolicySwarm).Trace.Route; r != router.RouteLocal {
				t.Errorf("confident %s answered %q by %s, want local", realModels[sharpNode].name, p, r)
			}
			if r := ask(ctx, t, clients[flatNode], p, router.PolicySwarm).Trace.Route; r == router.RouteLocal {
				t.Errorf("unsure %s answered %q locally", realModels[flatNode].name, p)
			}
		}
	})
}

// cachedGGUF writes the tiny model once per distinct content into
// $SWARM_CACHE/gguf (default ~/.cache/swarmllm/gguf) and returns its path.
// The name carries the SHA-256 of the bytes, so a changed recipe is a new file.
func cachedGGUF(t *testing.T, name string, opts ...gguf.Option) string {
	t.Helper()
	m, err := gguf.New(append(opts, gguf.WithName(name))...)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := m.WriteTo(h); err != nil {
		t.Fatal(err)
	}
	root := os.Getenv(realollama.EnvCache)
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		root = filepath.Join(home, ".cache", "swarmllm")
	}
	dir := filepath.Join(root, "gguf")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.gguf", name, hex.EncodeToString(h.Sum(nil))[:16]))
	if st, err := os.Stat(path); err == nil && st.Size() == m.Size() {
		return path
	}
	if err := m.WriteFile(path); err != nil { // temp file and rename: never half a model
		t.Fatal(err)
	}
	return path
}

// waitRealRecords waits until every node holds all three records with the
// model facts Ollama reported, and returns node 1's view by model name.
func waitRealRecords(ctx context.Context, t *testing.T, clients []*api.Client) map[string]cms.RecordView {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		all, why := true, ""
		var first map[string]cms.RecordView
		for i, c := range clients {
			recs, err := c.Records(ctx)
			if err != nil {
				t.Fatal(err)
			}
			view := map[string]cms.RecordView{}
			for _, r := range recs {
				if r.Family != "" && r.EmbedModel != "" {
					view[r.Model] = r
				}
			}
			if len(view) != len(realModels) {
				all, why = false, fmt.Sprintf("node %d holds %d of %d records with Ollama's facts", i+1, len(view), len(realModels))
			}
			if i == 0 {
				first = view
			}
		}
		if all {
			return first
		}
		if time.Now().After(deadline) {
			t.Fatalf("records never carried Ollama's facts: %s", why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// greedy decoding: the answer is the model's most likely text, so its
// logprobs measure the model's sharpness rather than sampling luck.
var greedy = 0.0

func ask(ctx context.Context, t *testing.T, c *api.Client, prompt string, policy router.Policy) *api.AskResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := c.Ask(ctx, api.AskRequest{Prompt: prompt, Policy: string(policy), Temperature: &greedy})
	if err != nil {
		t.Fatalf("ask %q: %v", prompt, err)
	}
	if strings.TrimSpace(res.Answer) == "" {
		t.Fatalf("ask %q: empty answer (%s)", prompt, res.Trace.Reason)
	}
	return res
}

func peerModels(ps []router.Proposal) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Model
	}
	return out
}
