package node_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/swarmllm/swarmllm/node"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/p2ptest"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// swarmCap is the swarm's cloud calls per hour in these tests: a third each
// for three nodes.
const swarmCap = 30

// budgetSwarm runs three simulated nodes with a cloud FM, no cap of their
// own and a swarm-wide cap of swarmCap calls an hour; configure may adjust
// each node further. It returns once every node counts three members and
// may make its share of calls.
func budgetSwarm(t *testing.T, dataDir string, configure func(int, *config.Config)) *swarm.Swarm {
	t.Helper()
	sw := startSwarm(t, swarm.Spec{Cloud: true, DataDir: dataDir,
		NodeOptions: []node.Option{node.WithBudgetInterval(100 * time.Millisecond)},
		Configure: func(i int, c *config.Config) {
			c.CloudMaxShare = 0 // the swarm cap alone
			c.SwarmCloudMaxCalls = config.RateCaps{Hour: swarmCap}
			if configure != nil {
				configure(i, c)
			}
		}})
	for i, reg := range sw.Registries {
		p2ptest.Eventually(t, func() bool {
			return metric(t, reg, "swarmllm_cloud_swarm_members", "") == 3 &&
				metric(t, reg, "swarmllm_cloud_swarm_room_calls", "") == swarmCap/3
		}, p2ptest.Patience)
		t.Logf("node %d: 3 members, a share of %d calls", i+1, swarmCap/3)
	}
	return sw
}

// metric sums a gauge or counter's series from a node's registry: those
// whose first label is label, or every series when label is "".
func metric(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); label == "" || len(l) > 0 && l[0].GetValue() == label {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestSwarmBudgetConcurrentStreams: 50 streamed cloud-only queries at once,
// spread over three nodes, make exactly the swarm cap of cloud calls, as the
// simulated cloud counts them; the rest are answered by the swarm, flagged
// over budget.
func TestSwarmBudgetConcurrentStreams(t *testing.T) {
	sw := budgetSwarm(t, "", nil)
	claims := func() (sent float64) {
		for _, reg := range sw.Registries {
			sent += metric(t, reg, "swarmllm_cloud_swarm_messages_total", "sent")
		}
		return sent
	}
	before, start := claims(), time.Now()
	const queries = 50
	var (
		wg                sync.WaitGroup
		mu                sync.Mutex
		viaCloud, flagged int
	)
	for i := range queries {
		wg.Go(func() {
			client := openai.NewClient(option.WithBaseURL(sw.APIURL(i%3)+"/v1/"), option.WithMaxRetries(0),
				option.WithHeader(nodeapi.HeaderPolicy, string(router.PolicyCloudOnly)))
			stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "swarm",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the capital of France?")}})
			var (
				acc  openai.ChatCompletionAccumulator
				last struct {
					Swarm router.Trace `json:"swarm"` // the trace rides on the last chunk
				}
			)
			for stream.Next() {
				acc.AddChunk(stream.Current())
				if raw := stream.Current().RawJSON(); strings.Contains(raw, `"swarm"`) {
					if err := json.Unmarshal([]byte(raw), &last); err != nil {
						t.Errorf("stream %d: last chunk: %v", i, err)
					}
				}
			}
			if err := stream.Err(); err != nil || len(acc.Choices) == 0 || acc.Choices[0].Message.Content == "" {
				t.Errorf("stream %d: %v %+v", i, err, acc)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case last.Swarm.Route == router.RouteCloud:
				viaCloud++
			case slices.Contains(last.Swarm.Flags, router.FlagOverBudget):
				flagged++
			default:
				t.Errorf("stream %d: route %s flags %v (%s): neither the cloud nor flagged over budget",
					i, last.Swarm.Route, last.Swarm.Flags, last.Swarm.Reason)
			}
		})
	}
	wg.Wait()
	burst, took := claims()-before, time.Since(start)
	calls := sw.Cloud.Stats().Calls
	t.Logf("%d streamed queries: %d answered by the cloud, %d by the swarm flagged over budget; the cloud counted %d calls for a swarm cap of %d",
		queries, viaCloud, flagged, calls, swarmCap)
	if calls > swarmCap {
		t.Fatalf("the cloud answered %d calls, over the swarm cap of %d", calls, swarmCap)
	}
	if calls != swarmCap || viaCloud != swarmCap || flagged != queries-swarmCap { // every node had more queries than its share
		t.Errorf("%d cloud calls, %d answers via the cloud, %d flagged; want the whole cap of %d, the rest flagged",
			calls, viaCloud, flagged, swarmCap)
	}
	// Heartbeats (every 100 ms here, 2 s by default) are in the count too.
	t.Logf("%.0f claims gossiped by the 3 nodes during the %v burst: %.2f per cloud call",
		burst, took.Round(time.Millisecond), burst/float64(calls))
	// Past the cap the best swarm answer comes back, flagged.
	res := ask(t, sw.APIURL(0), nodeapi.AskRequest{Prompt: "What is the capital of Japan?", Policy: string(router.PolicyCloudOnly)})
	if res.Trace.Route == router.RouteCloud || !slices.Contains(res.Trace.Flags, router.FlagOverBudget) {
		t.Errorf("over the swarm cap: route %s flags %v (%s), want a swarm answer flagged %s",
			res.Trace.Route, res.Trace.Flags, res.Trace.Reason, router.FlagOverBudget)
	}
}

// TestSwarmBudgetPartition: once node 3 is cut off from nodes 1 and 2 (their
// allow-peers files drop each other), neither side takes the other's share:
// nodes 1 and 2 make two thirds of the cap, node 3 one third.
func TestSwarmBudgetPartition(t *testing.T) {
	dir := t.TempDir()
	ids := make([]peer.ID, 3)
	for i := range ids { // identities made ahead, so the allow files can name them
		key, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := crypto.MarshalPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		home := filepath.Join(dir, "node"+string(rune('1'+i)))
		if err := os.MkdirAll(home, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "identity.key"), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if ids[i], err = peer.IDFromPrivateKey(key); err != nil {
			t.Fatal(err)
		}
	}
	allow := func(i int, peers ...peer.ID) {
		t.Helper()
		var b []byte
		for _, p := range peers {
			b = append(b, p.String()+"\n"...)
		}
		// Written whole and renamed, so the poll never reads half a file.
		path := filepath.Join(dir, "allow"+string(rune('1'+i)))
		if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ids {
		allow(i, ids...)
	}
	sw := budgetSwarm(t, dir, func(i int, c *config.Config) {
		c.AllowPeers = filepath.Join(dir, "allow"+string(rune('1'+i)))
	})

	allow(0, ids[0], ids[1])
	allow(1, ids[0], ids[1])
	allow(2, ids[2])
	cut := func() bool {
		for i, n := range sw.Nodes[:2] {
			if n.Host().Network().Connectedness(ids[2]) == network.Connected ||
				sw.Nodes[2].Host().Network().Connectedness(ids[i]) == network.Connected {
				return false
			}
		}
		return true
	}
	took := p2ptest.Eventually(t, cut, p2ptest.Patience)
	t.Logf("node 3 cut off after %v", took.Round(time.Millisecond))

	cloudCalls := func(i, queries int) int {
		made := 0
		for range queries {
			res := ask(t, sw.APIURL(i), nodeapi.AskRequest{Prompt: "What is the capital of France?", Policy: string(router.PolicyCloudOnly)})
			if res.Trace.Route == router.RouteCloud {
				made++
			}
		}
		return made
	}
	side12 := cloudCalls(0, 15) + cloudCalls(1, 15)
	side3 := cloudCalls(2, 15)
	if !cut() {
		t.Fatal("the partition healed during the test")
	}
	t.Logf("partitioned: nodes 1+2 made %d cloud calls, node 3 %d (cap %d)", side12, side3, swarmCap)
	if side12 != 2*swarmCap/3 || side3 != swarmCap/3 {
		t.Errorf("nodes 1+2 made %d cloud calls, node 3 %d; want %d and %d, each side's fair share",
			side12, side3, 2*swarmCap/3, swarmCap/3)
	}
	if calls := sw.Cloud.Stats().Calls; calls > swarmCap {
		t.Errorf("the cloud answered %d calls, over the swarm cap of %d", calls, swarmCap)
	}
}
