package node

import (
	"context"
	"slices"
	"strings"

	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/router"
)

// The privacy layer of one query. What may leave the device, for the cloud
// FM and for peers, is router's to decide (Protect, Protected.For,
// PeerPrivacy); this file gathers the inputs — every message of the
// conversation and, with --pii-model, the spans this node's own model lists
// (the prompt goes only to the local Ollama for that) — and applies the result.

// queryPrivacy is one query's privacy state, owned by the goroutine running Ask.
type queryPrivacy struct {
	asked bool              // the own model was asked (once per query)
	hints []router.PIIHint  // what it listed
	last  *router.Protected // the latest protection: its placeholders are what answers may repeat
}

// piiKindNames offers the model every kind the router knows.
var piiKindNames = func() []string {
	out := make([]string, len(router.PIIKinds))
	for i, k := range router.PIIKinds {
		out[i] = string(k)
	}
	return out
}()

// conversationPII lists the kinds of personal data in every message (the
// detectors only: cheap, before anything is decided).
func (p *pipeline) conversationPII(q *query) []router.PIIKind {
	return p.classifier.Protect(turnsOf(q.msgs), nil).Kinds
}

// protect finds the personal data of msgs: the detectors plus what this
// node's own model listed for the query.
func (p *pipeline) protect(ctx context.Context, q *query, msgs []slm.Message) *router.Protected {
	if !q.privacy.asked {
		q.privacy.asked = true
		q.privacy.hints = p.modelHints(ctx, q.msgs)
	}
	pr := p.classifier.Protect(turnsOf(msgs), q.privacy.hints)
	for _, k := range pr.Kinds {
		if !slices.Contains(q.trace.Classification.PII, k) {
			q.trace.Classification.PII = append(q.trace.Classification.PII, k)
		}
	}
	q.privacy.last = pr
	return pr
}

// modelHints asks the node's own model for the personal spans of the
// conversation, within --pii-timeout; when it fails the detectors alone decide.
func (p *pipeline) modelHints(ctx context.Context, msgs []slm.Message) []router.PIIHint {
	if !p.piiModel {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.piiTimeout)
	defer cancel()
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		texts[i] = m.Content
	}
	spans, err := p.model.findPersonalData(ctx, strings.Join(texts, "\n\n"), piiKindNames)
	if err != nil {
		p.log.Info("own model could not list personal data; the detectors alone decide", "err", err)
		return nil
	}
	hints := make([]router.PIIHint, len(spans))
	for i, s := range spans {
		hints[i] = router.PIIHint{Kind: router.PIIKind(s.Kind), Text: s.Text}
	}
	return hints
}

// forCloud returns q's messages as the privacy policy lets them go to the
// cloud FM and the kind of each redaction (for the trace); under block, a
// conversation holding personal data yields router.ErrPrivacyBlocked.
func (p *pipeline) forCloud(ctx context.Context, q *query) ([]slm.Message, []string, error) {
	if q.rules.Privacy == router.PrivacyAllow {
		return q.msgs, nil, nil
	}
	turns, redactions, err := p.protect(ctx, q, q.msgs).For(q.rules.Privacy)
	if err != nil {
		return nil, nil, err
	}
	return messagesOf(turns), redactions, nil
}

// forPeers returns msgs as they may go to peers (router.PeerPrivacy): as
// written in a private swarm, redacted (flagged in the trace) in an open one
// unless --peer-privacy allow.
func (p *pipeline) forPeers(ctx context.Context, q *query, msgs []slm.Message) []slm.Message {
	if p.peerPrivacy == router.PrivacyAllow {
		return msgs
	}
	turns, redactions, err := p.protect(ctx, q, msgs).For(router.PrivacyRedact)
	if err != nil { // redact never refuses; should it, send nothing personal: no messages at all
		p.log.Warn("redact for peers", "err", err)
		return nil
	}
	if len(redactions) > 0 {
		q.flag(router.FlagPeersRedacted)
	}
	return messagesOf(turns)
}

// forPeersAnswer returns this node's own answer as it may go to peers in a
// round's open: redacted as the conversation it answers is.
func (p *pipeline) forPeersAnswer(ctx context.Context, q *query, answer string) string {
	msgs := p.forPeers(ctx, q, append(slices.Clone(q.msgs), slm.Message{Role: "assistant", Content: answer}))
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1].Content
}

// restore puts this device's data back where an answer repeats a placeholder.
func (q *query) restore(text string) string {
	if q.privacy.last == nil {
		return text
	}
	return q.privacy.last.Restore(text)
}

func turnsOf(msgs []slm.Message) []router.Turn {
	turns := make([]router.Turn, len(msgs))
	for i, m := range msgs {
		turns[i] = router.Turn{Role: m.Role, Content: m.Content}
	}
	return turns
}

func messagesOf(turns []router.Turn) []slm.Message {
	msgs := make([]slm.Message, len(turns))
	for i, t := range turns {
		msgs[i] = slm.Message{Role: t.Role, Content: t.Content}
	}
	return msgs
}
