package node_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/config"
	"github.com/swarmllm/swarmllm/router"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

const (
	aliceKey = "alice-0123456789abcdef0123"
	bobKey   = "bob-fedcba9876543210fedcba"
)

// keyedNode runs one simulated node with a cloud FM, the keys alice (no
// quota) and bob (one cloud call and three queries an hour), and a node cap
// of three cloud calls an hour.
func keyedNode(t *testing.T) *swarm.Swarm {
	t.Helper()
	keys := filepath.Join(t.TempDir(), "keys")
	file := "alice:" + aliceKey + "\nbob:" + bobKey + " requests=3 cloud_calls=1\n"
	if err := os.WriteFile(keys, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	return startSwarm(t, swarm.Spec{Nodes: swarm.DefaultNodes()[:1], Cloud: true, Configure: func(_ int, c *config.Config) {
		c.APIKeysFile = keys
		c.CloudMaxShare = 0 // the absolute caps alone
		c.CloudMaxCalls = config.RateCaps{Hour: 3}
	}})
}

func askAs(t *testing.T, url, key string, req nodeapi.AskRequest) (*nodeapi.AskResult, error) {
	t.Helper()
	c, err := nodeapi.NewClient(url, nodeapi.WithAPIKey(key))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Ask(ctx, req)
}

// TestCloudBudgetHoldsOverHTTP: the node's and each key's cloud caps hold
// over real HTTP, streamed calls included; over budget the answer says so
// and the swarm (here the local model) answers; over its query quota a key
// gets 429 with Retry-After.
func TestCloudBudgetHoldsOverHTTP(t *testing.T) {
	sw := keyedNode(t)
	url := sw.APIURL(0)
	const prompt = "What is the capital of France?"
	cloudOnly := nodeapi.AskRequest{Prompt: prompt, Policy: string(router.PolicyCloudOnly)}

	expect := func(t *testing.T, res *nodeapi.AskResult, err error, route router.Route, overBudget bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if res.Trace.Route != route || res.Answer == "" {
			t.Fatalf("route %s answer %q (%s), want %s", res.Trace.Route, res.Answer, res.Trace.Reason, route)
		}
		if got := slices.Contains(res.Trace.Flags, router.FlagOverBudget); got != overBudget {
			t.Fatalf("flags %v (%s): over-budget %v, want %v", res.Trace.Flags, res.Trace.Reason, got, overBudget)
		}
	}

	res, err := askAs(t, url, bobKey, cloudOnly)
	expect(t, res, err, router.RouteCloud, false)
	if res.Trace.Caller != "bob" {
		t.Errorf("trace caller %q, want bob", res.Trace.Caller)
	}
	res, err = askAs(t, url, bobKey, cloudOnly) // bob's one cloud call is spent
	expect(t, res, err, router.RouteLocal, true)

	// A streamed call counts like any other.
	client := openai.NewClient(option.WithBaseURL(url+"/v1/"), option.WithAPIKey(aliceKey), option.WithMaxRetries(0),
		option.WithHeader(nodeapi.HeaderPolicy, string(router.PolicyCloudOnly)))
	stream := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "swarm",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil || len(acc.Choices) == 0 || acc.Choices[0].Message.Content == "" {
		t.Fatalf("stream: %v %+v", err, acc)
	}
	res, err = askAs(t, url, aliceKey, cloudOnly) // the node's third call
	expect(t, res, err, router.RouteCloud, false)
	res, err = askAs(t, url, aliceKey, cloudOnly) // the node's cap of three is reached
	expect(t, res, err, router.RouteLocal, true)
	if calls := sw.Cloud.Stats().Calls; calls != 3 {
		t.Errorf("the cloud answered %d calls, want 3 (the node's cap)", calls)
	}

	// Bob has made two queries; his third passes, his fourth is over his quota.
	if _, err := askAs(t, url, bobKey, nodeapi.AskRequest{Prompt: prompt, Policy: string(router.PolicyLocalOnly)}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/swarm/v1/ask",
		strings.NewReader(`{"prompt":"What is 2 + 2?"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bobKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), nodeapi.CodeQuotaExceeded) {
		t.Fatalf("bob's fourth query: %d %s, want 429 %s", resp.StatusCode, body, nodeapi.CodeQuotaExceeded)
	}
	// Bob's first query leaves the hour window in just under an hour.
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 3000 || s > 3600 {
		t.Errorf("Retry-After %q, want about an hour", resp.Header.Get("Retry-After"))
	}
	// A wrong key is refused even on loopback.
	_, err = askAs(t, url, "mallory-0000000000000000", cloudOnly)
	var ae *nodeapi.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("wrong key: err = %v, want 401", err)
	}
}

// TestEverythingDownIs503: with the local model and the cloud FM both down,
// the caller gets 503 with Retry-After and a message that names no backend.
func TestEverythingDownIs503(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{Nodes: swarm.DefaultNodes()[:1], Cloud: true})
	if err := sw.SLM.SetDown("", true); err != nil {
		t.Fatal(err)
	}
	sw.Cloud.SetDown(true)
	for _, policy := range []router.Policy{router.PolicySwarm, router.PolicyCloudOnly, router.PolicyLocalOnly} {
		t.Run(string(policy), func(t *testing.T) {
			_, err := askAs(t, sw.APIURL(0), "", nodeapi.AskRequest{Prompt: "What is the capital of France?", Policy: string(policy)})
			var ae *nodeapi.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != nodeapi.CodeUnavailable {
				t.Fatalf("err = %v, want 503 %s", err, nodeapi.CodeUnavailable)
			}
			for _, leak := range []string{"http", "127.0.0.1", "://", "dial", "refused"} {
				if strings.Contains(ae.Message, leak) {
					t.Errorf("message %q shows internal detail (%q)", ae.Message, leak)
				}
			}
		})
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, sw.APIURL(0)+"/v1/chat/completions",
		strings.NewReader(`{"model":"swarm","messages":[{"role":"user","content":"hi there"}]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestPolicyCeilingOverHTTP is the case: on a node started with
// --policy local-only, X-Swarm-Policy: cloud-only is refused and the cloud
// never sees the prompt; narrowing is fine.
func TestPolicyCeilingOverHTTP(t *testing.T) {
	sw := startSwarm(t, swarm.Spec{Nodes: swarm.DefaultNodes()[:1], Cloud: true, Configure: func(_ int, c *config.Config) {
		c.Policy = router.PolicyLocalOnly
	}})
	post := func(policy string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, sw.APIURL(0)+"/v1/chat/completions",
			strings.NewReader(`{"model":"swarm","messages":[{"role":"user","content":"How many milligrams of ibuprofen can I take at once?"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(nodeapi.HeaderPolicy, policy)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get(nodeapi.HeaderRoute) + " " + string(body)
	}
	for _, p := range []router.Policy{router.PolicyCloudOnly, router.PolicySwarm, router.PolicyCascade, router.PolicyAlwaysSwarm} {
		if status, body := post(string(p)); status != http.StatusForbidden || !strings.Contains(body, nodeapi.CodePolicyAboveCeiling) {
			t.Errorf("%s on a local-only node: %d %s, want 403 %s", p, status, body, nodeapi.CodePolicyAboveCeiling)
		}
	}
	if status, body := post(string(router.PolicyLocalOnly)); status != http.StatusOK || !strings.HasPrefix(body, "local ") {
		t.Errorf("local-only: %d %s", status, body)
	}
	if calls := sw.Cloud.Stats().Calls; calls != 0 {
		t.Errorf("the cloud answered %d calls on a local-only node", calls)
	}
}
