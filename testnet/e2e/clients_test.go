//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	ollama "github.com/ollama/ollama/api"
	"github.com/openai/openai-go"
	"github.com/openai/openai-go/option"

	"github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/testnet/internal/realollama"
	"github.com/swarmllm/swarmllm/testnet/swarm"
)

// startClientSwarm starts the three default simulated nodes and the cloud stand-in.
func startClientSwarm(t *testing.T) *swarm.Swarm {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	sw, err := swarm.Start(ctx, swarm.Spec{Nodes: swarm.DefaultNodes(), Cloud: true}) // as the demo runs it
	if err != nil {
		t.Fatalf("start swarm: %v", err)
	}
	t.Cleanup(func() {
		if err := sw.Close(); err != nil {
			t.Errorf("close swarm: %v", err)
		}
	})
	return sw
}

// The questions the README shows a newcomer, in the order of the nodes it
// asks them of (8700, 8701, 8702), with the answers the simulated swarm
// gives them (the simulator knows them; see testnet/sim).
var firstQuestions = []struct{ q, a string }{
	{"What is 17 * 23?", "391"},
	{"What is the capital of Australia?", "Canberra"},
	{"Which protocol resolves domain names?", "DNS"},
}

// TestOfficialOllamaCLI drives the official ollama CLI (built by
// scripts/build-ollama.sh from the pinned module) against a three-node
// swarm: every command a user points at a node works and prints what it
// prints against Ollama itself.
func TestOfficialOllamaCLI(t *testing.T) {
	bin := realollama.Find(t)
	sw := startClientSwarm(t)
	model := swarm.DefaultNodes()[0].Model
	host := sw.APIURL(0)
	home := t.TempDir()
	env := append(os.Environ(), "OLLAMA_HOST="+host, "HOME="+home, "TERM=xterm-256color")

	run := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustRun := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := run(t, args...)
		if err != nil {
			t.Fatalf("ollama %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var tags ollama.ListResponse
	getJSON(t, host+"/api/tags", &tags)
	ids := map[string]string{}
	for _, m := range tags.Models {
		ids[m.Name] = m.Digest[:12]
	}

	t.Run("version", func(t *testing.T) {
		out := mustRun(t, "-v")
		if want := "ollama version is " + api.OllamaAPIVersion + "+swarmllm."; !strings.Contains(out, want) {
			t.Errorf("ollama -v printed %q, want %q…", out, want)
		}
	})
	t.Run("list", func(t *testing.T) {
		out := mustRun(t, "list")
		for _, name := range []string{model, "swarm"} {
			if ids[name] == "" || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`\s+`+ids[name]+`\s+\S`).MatchString(out) {
				t.Errorf("ollama list has no row %q with ID %q:\n%s", name, ids[name], out)
			}
		}
		if !strings.Contains(out, "MB") { // the local model's size
			t.Errorf("ollama list shows no size:\n%s", out)
		}
		// The peers' models too, with no size (they live elsewhere).
		for _, s := range swarm.DefaultNodes()[1:] {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(s.Model) + `\s+` + ids[s.Model] + `\s+-\s`).MatchString(out) {
				t.Errorf("ollama list has no row for the peer model %s:\n%s", s.Model, out)
			}
		}
	})
	t.Run("ps", func(t *testing.T) {
		out := mustRun(t, "ps")
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(model) + `\s+` + ids[model] + `\s+.*CPU`).MatchString(out) {
			t.Errorf("ollama ps does not show the loaded local model:\n%s", out)
		}
	})
	t.Run("show", func(t *testing.T) {
		for name, want := range map[string][]string{
			model:   {"architecture", "qwen2", "parameters", "quantization", "context length", "Capabilities", "completion"},
			"swarm": {"architecture", "swarmllm", "Capabilities", "completion"},
		} {
			out := mustRun(t, "show", name)
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("ollama show %s lacks %q:\n%s", name, w, out)
				}
			}
		}
	})
	t.Run("run one question", func(t *testing.T) {
		out := mustRun(t, "run", model, firstQuestions[0].q)
		if !strings.Contains(out, firstQuestions[0].a) {
			t.Errorf("ollama run %s %q printed %q, want %q", model, firstQuestions[0].q, out, firstQuestions[0].a)
		}
	})
	t.Run("run a peer's model", func(t *testing.T) {
		peerModel := swarm.DefaultNodes()[2].Model
		out := strings.TrimSpace(mustRun(t, "run", peerModel, firstQuestions[2].q))
		if !strings.Contains(out, firstQuestions[2].a) {
			t.Errorf("ollama run %s %q printed %q, want %q", peerModel, firstQuestions[2].q, out, firstQuestions[2].a)
		}
	})
	t.Run("run interactive", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "run", "--nowordwrap", "swarm")
		cmd.Env = env
		term := startTerminal(t, cmd)
		at := term.waitFor(t, 0, ">>> ", 30*time.Second)
		// Each turn is answered on its own, though the CLI sends the whole
		// conversation every time: turn 3 is not turn 1's answer again.
		for _, turn := range firstQuestions {
			term.send(t, turn.q+"\r")
			at = term.waitFor(t, at, turn.q, 10*time.Second)
			answered := term.waitFor(t, at, turn.a, 30*time.Second)
			if other := strings.Index(term.output()[at:answered], firstQuestions[0].a); turn != firstQuestions[0] && other >= 0 {
				t.Errorf("turn %q was answered with turn 1's answer too: %q", turn.q, term.output()[at:answered])
			}
			at = term.waitFor(t, answered, ">>> ", 30*time.Second)
		}
		term.send(t, "/bye\r")
		if err := term.wait(t, 30*time.Second); err != nil {
			t.Errorf("ollama run did not end cleanly on /bye: %v\n%s", err, term.output())
		}
	})
	t.Run("pull served model", func(t *testing.T) {
		if out := mustRun(t, "pull", model); !strings.Contains(out, "success") {
			t.Errorf("ollama pull %s printed %q", model, out)
		}
	})
	t.Run("rm", func(t *testing.T) {
		out, err := run(t, "rm", model)
		if err == nil || !strings.Contains(out, "does not delete models") {
			t.Errorf("ollama rm %s: %v\n%s\nwant a refusal saying where models are managed", model, err, out)
		}
	})
	for _, args := range [][]string{{"pull", "llama3"}, {"run", "llama3", "hello"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out, err := run(t, args...)
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("ollama %s: %v (want a failed exit)\n%s", strings.Join(args, " "), err, out)
			}
			if !strings.Contains(out, "Error: pull model manifest: model 'llama3' not found") || !strings.Contains(out, model) {
				t.Errorf("ollama %s printed %q, want Ollama's not-found error naming the swarm's models", strings.Join(args, " "), out)
			}
		})
	}
}

// TestOpenAIGoClient drives the official openai-go client against every
// node of a three-node swarm: chat, streaming, the model list and errors.
func TestOpenAIGoClient(t *testing.T) {
	sw := startClientSwarm(t)
	ctx := t.Context()
	for i := range sw.Nodes {
		c := openai.NewClient(option.WithBaseURL(sw.APIURL(i)+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
		local := swarm.DefaultNodes()[i].Model
		t.Run("node"+string(rune('1'+i)), func(t *testing.T) {
			models, err := c.Models.List(ctx)
			if err != nil {
				t.Fatalf("models: %v", err)
			}
			var names []string
			for _, m := range models.Data {
				names = append(names, m.ID)
			}
			if !strings.Contains(strings.Join(names, ","), local) || !strings.Contains(strings.Join(names, ","), "swarm") {
				t.Errorf("models %q lack %q or swarm", names, local)
			}

			turn := firstQuestions[i]
			var raw *http.Response
			res, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    "swarm",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(turn.q)},
			}, option.WithResponseInto(&raw))
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			if got := res.Choices[0].Message.Content; !strings.Contains(got, turn.a) {
				t.Errorf("chat %q = %q, want %q", turn.q, got, turn.a)
			}
			if res.Usage.TotalTokens == 0 || res.Usage.CompletionTokens == 0 {
				t.Errorf("usage %+v on a %s answer", res.Usage, raw.Header.Get(api.HeaderRoute))
			}

			stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model: local,
				Messages: []openai.ChatCompletionMessageParamUnion{
					openai.UserMessage(firstQuestions[0].q), openai.AssistantMessage(firstQuestions[0].a),
					openai.UserMessage(turn.q)},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if len(acc.Choices) == 0 || !strings.Contains(acc.Choices[0].Message.Content, turn.a) {
				t.Errorf("streamed %+v, want %q", acc.Choices, turn.a)
			}

			_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model: "llama3", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			var oe *openai.Error
			if !errors.As(err, &oe) || oe.StatusCode != http.StatusNotFound || oe.Code != api.CodeUnknownModel {
				t.Errorf("unknown model: %v, want a 404 %s", err, api.CodeUnknownModel)
			}
			_, err = c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "swarm", Messages: nil})
			if !errors.As(err, &oe) || oe.StatusCode != http.StatusBadRequest {
				t.Errorf("no messages: %v, want a 400", err)
			}
		})
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
