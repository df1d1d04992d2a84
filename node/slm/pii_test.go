package slm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/testnet/sim"
)

var piiKinds = []string{"person-name", "email", "phone"}

func TestFindPersonalData(t *testing.T) {
	_, simURL := startSLM(t)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"model":"m","message":{"role":"assistant","content":"Sure! Here are the names: Zbigniew"},"done":true}`))
	}))
	t.Cleanup(garbage.Close)
	cases := []struct {
		name    string
		url     string
		text    string
		want    []slm.PersonalSpan
		wantErr error
	}{
		{"names and emails from the simulated model", simURL,
			"Please thank Zbigniew Kowalczyk (zk@example.org) for the report. Paris is nice.",
			[]slm.PersonalSpan{{Kind: "email", Text: "zk@example.org"}, {Kind: "person-name", Text: "Zbigniew Kowalczyk"}}, nil},
		{"nothing personal", simURL, "What is the capital of Peru?", nil, nil},
		{"public places and people the model knows are not personal", simURL,
			"Which is the largest country in South America, and when did Christopher Columbus sail?", nil, nil},
		{"an answer that is not the JSON asked for", garbage.URL, "Ask Zbigniew", nil, slm.ErrBadSpans},
		{"no ollama", "http://" + closedAddr(t), "Ask Zbigniew", nil, slm.ErrUnreachable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := slm.NewOllama(tc.url, sim.ProfileLlama)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, err := o.FindPersonalData(ctx, tc.text, piiKinds)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("spans = %v, want %v", got, tc.want)
			}
		})
	}
}
