package node_test

import (
	"testing"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/sim"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// A node whose embedding model is down still finds its peers: discovery
// ranks that query with the lexical embedder instead of failing.
func TestDiscoveryFallsBackToLexicalWhenEmbeddingFails(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{Configure: func(_ int, c *config.Config) { c.EmbedModel = sim.ProfileEmbed }})
	if err := sw.SLM.SetDown(sim.ProfileEmbed, true); err != nil {
		t.Fatal(err)
	}
	res := ask(t, sw.APIURL(0), nodeapi.AskRequest{Prompt: "What is the capital of Australia?", Policy: string(router.PolicyAlwaysSwarm)})
	answered := 0
	for _, p := range res.Trace.Peers {
		if p.Err == "" && p.Peer != sw.Nodes[0].ID().String() {
			answered++
		}
	}
	if answered != 2 {
		t.Fatalf("with the embedding model down, %d peers answered, want both others; trace: %+v", answered, res.Trace)
	}
}
