package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/swarmllm/swarmllm/cms"
	"github.com/swarmllm/swarmllm/cms/cmspb"
	nodeapi "github.com/swarmllm/swarmllm/node/api"
	"github.com/swarmllm/swarmllm/node/knowledge"
	"github.com/swarmllm/swarmllm/node/slm"
	"github.com/swarmllm/swarmllm/protocol"
	"github.com/swarmllm/swarmllm/router"
)

// Knowledge cooperation (--knowledge): the node's documents answer through
// its own model, for its own queries and for peers' KNOWLEDGE asks; the
// record advertises their terms and summary vector, never their text.
const (
	// knowledgePassages is how many passages go into the model's prompt.
	knowledgePassages = 3
	// knowledgeKind is the kind of a knowledge source backed by the index.
	knowledgeKind = "rag-index"
)

// ownKnowledge is this node's documents as the pipeline uses them
// (documents; nil without --knowledge).
type ownKnowledge interface {
	summary() knowledge.Collection
	// answerFromDocuments answers the conversation from the passages its
	// last user turn retrieves, and names the documents the answer cites
	// (none when it abstains).
	answerFromDocuments(ctx context.Context, req slm.ChatRequest) (localAnswer, []string)
}

// knowledgeFinder lists the knowledge collections the connected peers
// advertise, measured against a prompt (finder).
type knowledgeFinder interface {
	knowledge(prompt string) []router.KnowledgeCandidate
}

var (
	_ ownKnowledge    = (*documents)(nil)
	_ knowledgeFinder = (*finder)(nil)
)

// documents is the local model reading the node's knowledge index.
type documents struct {
	model *localModel
	index *knowledge.Index
}

func (d *documents) summary() knowledge.Collection { return d.index.Summary() }

func (d *documents) answerFromDocuments(ctx context.Context, req slm.ChatRequest) (localAnswer, []string) {
	question := ""
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == nodeapi.RoleUser {
			question = req.Messages[i].Content
			break
		}
	}
	passages, err := d.index.Retrieve(ctx, question, knowledgePassages)
	if err != nil {
		return localAnswer{err: fmt.Errorf("answer from documents: %w", err)}, nil
	}
	if len(passages) == 0 {
		return localAnswer{err: errors.New("answer from documents: the index is empty")}, nil
	}
	req.Messages = append([]slm.Message{{Role: nodeapi.RoleSystem, Content: knowledge.Prompt(passages)}}, req.Messages...)
	la := d.model.answer(ctx, req)
	if la.err != nil || router.Abstains(la.res.Text) {
		return la, nil
	}
	sources := knowledge.Cited(la.res.Text, passages)
	la.res.Text = withSources(la.res.Text, sources)
	return la, sources
}

// withSources makes sure an answer names the documents it cites.
func withSources(answer string, sources []string) string {
	missing := slices.DeleteFunc(slices.Clone(sources), func(s string) bool { return strings.Contains(answer, "["+s+"]") })
	if len(missing) == 0 {
		return answer
	}
	return strings.TrimSpace(answer) + " [" + strings.Join(missing, "] [") + "]"
}

// answerKnowledge serves a peer's KNOWLEDGE ask: only the answer and the
// names of the documents it cites go back.
func (m *localModel) answerKnowledge(ctx context.Context, req *protocol.AskRequest, creq slm.ChatRequest) *protocol.AskResponse {
	if m.docs == nil {
		return &protocol.AskResponse{QueryId: req.GetQueryId(), ErrorCode: protocol.ErrorCode_BAD_REQUEST,
			ErrorMessage: "this node serves no knowledge (--knowledge)"}
	}
	la, sources := m.docs.answerFromDocuments(ctx, creq)
	resp := m.response(req, la)
	if resp.GetErrorCode() == protocol.ErrorCode_OK {
		for _, s := range sources {
			if len(resp.Sources) < protocol.MaxSources && s != "" && len(s) <= protocol.MaxSourceBytes {
				resp.Sources = append(resp.Sources, s)
			}
		}
	}
	return resp
}

// knowledgeSource is the record's entry for the node's documents: the
// collection's name, size, terms and lexical summary vector.
func knowledgeSource(c knowledge.Collection) *cmspb.Source {
	src := &cmspb.Source{Name: c.Name, Kind: knowledgeKind,
		Description: fmt.Sprintf("%d documents, %d passages", c.Documents, c.Passages)}
	for _, t := range c.Terms {
		if len(t) <= cms.MaxNameBytes {
			src.Terms = append(src.Terms, t)
		}
	}
	if len(c.Vector) > 0 && len(c.Vector) <= cms.MaxKnowledgeDim {
		src.Embedding = &cmspb.Embedding{Model: cms.LexicalModel, Dim: uint32(len(c.Vector)), Vector: c.Vector}
	}
	return src
}

// knowledgeCandidate measures a prompt against an advertised collection.
func knowledgeCandidate(id string, src *cmspb.Source, queryVec []float32, queryTerms map[string]bool) router.KnowledgeCandidate {
	c := router.KnowledgeCandidate{Peer: id, Collection: src.GetName()}
	if e := src.GetEmbedding(); e.GetModel() == cms.LexicalModel && len(e.GetVector()) == len(queryVec) {
		c.Similarity, c.HasVector = cms.Similarity(queryVec, e.GetVector()), true
	}
	for _, t := range src.GetTerms() {
		for _, w := range cms.Terms(t) {
			if queryTerms[w] {
				c.TermHits++
			}
		}
	}
	return c
}

// queryMeasure is what a prompt is matched on: its lexical vector and words.
func queryMeasure(prompt string) ([]float32, map[string]bool) {
	vs, _ := cms.LexicalEmbedder{}.Embed(context.Background(), []string{prompt}) // never fails on a live ctx
	terms := map[string]bool{}
	for _, w := range cms.Terms(prompt) {
		terms[w] = true
	}
	return vs[0], terms
}

// knowledge lists the connected peers' advertised collections measured
// against prompt. Peers excluded for unanswered asks are left out.
func (f *finder) knowledge(prompt string) []router.KnowledgeCandidate {
	var out []router.KnowledgeCandidate
	var vec []float32
	var terms map[string]bool
	for _, r := range f.store.Records() {
		if r.Peer == f.host.ID() || f.host.Network().Connectedness(r.Peer) != network.Connected || f.excluded(r.Peer) {
			continue
		}
		for _, src := range r.Fields.GetKnowledgeSources() {
			if src.GetKind() != knowledgeKind {
				continue
			}
			if vec == nil {
				vec, terms = queryMeasure(prompt)
			}
			out = append(out, knowledgeCandidate(r.Peer.String(), src, vec, terms))
		}
	}
	return out
}

// viaKnowledge answers q from a knowledge collection when router matches
// one: this node's own documents through its own model, or a peer's through
// a KNOWLEDGE ask. It returns nil when no collection matched or the answer
// was not grounded; the query then goes on as without knowledge, and the
// trace says why.
func (p *pipeline) viaKnowledge(ctx context.Context, q *query) *nodeapi.Response {
	if !q.rules.Policy.UsesKnowledge() {
		return nil
	}
	var cands []router.KnowledgeCandidate
	if p.knowledge != nil {
		if c := p.knowledge.summary(); c.Documents > 0 {
			vec, terms := queryMeasure(q.prompt)
			own := knowledgeCandidate(p.self, knowledgeSource(c), vec, terms)
			own.Self = true
			cands = append(cands, own)
		}
	}
	if p.peerKnowledge != nil && q.rules.Policy.AsksPeers() {
		cands = append(cands, p.peerKnowledge.knowledge(q.prompt)...)
	}
	i, d := router.MatchKnowledge(cands, q.rules.Knowledge)
	if i < 0 {
		return nil
	}
	c := cands[i]
	info := &router.KnowledgeInfo{Peer: c.Peer, Collection: c.Collection, Similarity: c.Similarity, TermHits: c.TermHits}
	q.trace.Knowledge = info
	q.note(d)
	t := time.Now()
	var (
		answer, model       string
		promptTok, complTok int
	)
	if c.Self {
		la, sources := p.knowledge.answerFromDocuments(ctx, slm.ChatRequest{Messages: q.msgs, MaxTokens: q.req.Options.MaxTokens,
			Temperature: q.req.Options.Temperature, Seed: seedOf(q.req.Options.Seed)})
		info.Sources = sources
		if la.err != nil {
			info.Err = la.err.Error()
		} else {
			answer, model, promptTok, complTok = la.res.Text, la.res.Model, la.res.PromptTokens, la.res.CompletionTokens
		}
	} else {
		id, err := peer.Decode(c.Peer)
		var resp *protocol.AskResponse
		if err == nil {
			req := p.askRequest(q, protocol.Purpose_KNOWLEDGE, p.forPeers(ctx, q, q.msgs)) // privacy.go
			resp, err = p.swarm.Ask(ctx, id, req)
		}
		switch {
		case err != nil:
			info.Err = err.Error()
		case resp.GetErrorCode() != protocol.ErrorCode_OK:
			info.Err = resp.GetErrorCode().String() + ": " + resp.GetErrorMessage()
		default:
			answer, model, info.Sources = resp.GetAnswer(), resp.GetModel(), resp.GetSources()
			promptTok, complTok = int(resp.GetPromptTokens()), int(resp.GetCompletionTokens())
		}
	}
	info.LatencyMS = ms(time.Since(t))
	q.trace.Timings.PeersMS += info.LatencyMS
	info.Answer = answer
	after, ok := router.DecideAfterKnowledge(router.KnowledgeAnswer{Self: c.Self, Answer: answer, Sources: info.Sources, Err: info.Err})
	q.note(after)
	if !ok {
		p.log.Info("knowledge answer not grounded", "peer", c.Peer, "collection", c.Collection, "err", info.Err)
		return nil
	}
	info.Grounded = true
	return p.respond(q, after.Route, answer, model, promptTok, complTok)
}
