package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/swarmllm/swarmllm/router"
)

var _ Activity = (*QueryLog)(nil)

// Activity is what the dashboard shows besides the Engine's views: recent
// queries, route shares and cloud spend over time, the budget and each
// peer's trust. The node supplies it (a QueryLog the pipeline records into,
// plus its budget and reputation); the API only renders it.
type Activity interface {
	// Activity is the state now.
	Activity(ctx context.Context) ActivityView
	// Changed returns a channel closed at the next change, so any number of
	// event streams can wait on it without a goroutine or a queue each.
	Changed() <-chan struct{}
}

// ActivityView is what /swarm/v1/activity serves and the event stream sends.
type ActivityView struct {
	// Recent holds the last finished queries, newest first.
	Recent []QuerySummary `json:"recent"`
	// Minutes counts queries by route and cloud spend per minute over the
	// last SeriesMinutes minutes, oldest first.
	Minutes []MinuteBucket `json:"minutes"`
	Budget  *BudgetView    `json:"budget,omitempty"`
	// Trust is each voter's weight in this node's vote tallies (its track
	// record: router.Reputation), by peer id; peers never seen are absent.
	Trust map[string]float64 `json:"trust,omitempty"`
}

// QuerySummary is one finished query as the dashboard lists it. It carries
// what the route was and why, never the prompt or an answer: kinds of
// personal data are named, the data is not.
type QuerySummary struct {
	ID        string                `json:"id"`
	At        time.Time             `json:"at"`
	Route     router.Route          `json:"route"`
	Policy    router.Policy         `json:"policy,omitempty"`
	Reason    string                `json:"reason"`
	LatencyMS float64               `json:"latency_ms"`
	Domains   []string              `json:"domains,omitempty"`
	Safety    router.SafetyCategory `json:"safety,omitempty"`
	PII       []router.PIIKind      `json:"pii,omitempty"`
	// Peers are the peer ids asked (a round's proposals or a chain's links).
	Peers       []string `json:"peers,omitempty"`
	Tally       string   `json:"tally,omitempty"` // the vote's outcome, when there was one
	Cloud       bool     `json:"cloud"`           // the cloud FM was summoned
	CloudTokens int      `json:"cloud_tokens,omitempty"`
	Flags       []string `json:"flags,omitempty"`
	Caller      string   `json:"caller,omitempty"` // the API key's name, never its secret
}

// MinuteBucket is one minute of queries.
type MinuteBucket struct {
	Start       time.Time `json:"start"`
	Local       int       `json:"local"`
	Swarm       int       `json:"swarm"`
	Cloud       int       `json:"cloud"`
	CloudTokens int       `json:"cloud_tokens"`
}

// BudgetView is the cloud budget's use against its limits (0 = no limit).
type BudgetView struct {
	Usage         router.BudgetUsage `json:"usage"`
	MaxShare      float64            `json:"max_share"`
	MaxCallsHour  int64              `json:"max_calls_hour"`
	MaxCallsDay   int64              `json:"max_calls_day"`
	MaxTokensHour int64              `json:"max_tokens_hour"`
	MaxTokensDay  int64              `json:"max_tokens_day"`
}

// Defaults of a QueryLog.
const (
	DefaultRecentQueries = 50
	SeriesMinutes        = 60
)

// QueryLog keeps the last finished queries in a ring and counts routes per
// minute in fixed slots, so its memory is constant however many queries
// pass. It is safe for concurrent use; a nil *QueryLog records nothing.
type QueryLog struct {
	mu      sync.Mutex
	ring    []QuerySummary // ring[next-1] is the newest
	next    int
	full    bool
	minutes [SeriesMinutes]MinuteBucket // slot by minute since the epoch, mod SeriesMinutes
	changed chan struct{}               // closed and replaced on every Record
}

// NewQueryLog keeps the last capacity queries.
func NewQueryLog(capacity int) (*QueryLog, error) {
	if capacity < 1 {
		return nil, fmt.Errorf("new query log: capacity %d: want ≥ 1", capacity)
	}
	return &QueryLog{ring: make([]QuerySummary, capacity), changed: make(chan struct{})}, nil
}

// Record adds one finished query, answered at at.
func (l *QueryLog) Record(t router.Trace, at time.Time) {
	if l == nil {
		return
	}
	s := summarize(t, at)
	minute := at.Truncate(time.Minute)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = s
	l.next = (l.next + 1) % len(l.ring)
	l.full = l.full || l.next == 0
	l.countLocked(minute, s)
	close(l.changed)
	l.changed = make(chan struct{})
}

// countLocked adds s to its minute's slot. A query older than the slot's
// minute (the clock went back) stays in the ring but not in the series.
func (l *QueryLog) countLocked(minute time.Time, s QuerySummary) {
	b := &l.minutes[slotOf(minute)]
	if !b.Start.Equal(minute) {
		if b.Start.After(minute) {
			return
		}
		*b = MinuteBucket{Start: minute}
	}
	switch s.Route {
	case router.RouteLocal:
		b.Local++
	case router.RouteSwarm:
		b.Swarm++
	case router.RouteCloud:
		b.Cloud++
	}
	b.CloudTokens += s.CloudTokens
}

// slotOf is the series slot of a minute (floored, so times before 1970 work too).
func slotOf(minute time.Time) int {
	m := minute.Unix() / 60
	return int(((m % SeriesMinutes) + SeriesMinutes) % SeriesMinutes)
}

// summarize keeps what an operator needs of a trace and drops every text a
// person wrote or a model answered.
func summarize(t router.Trace, at time.Time) QuerySummary {
	s := QuerySummary{
		ID: t.QueryID, At: at, Route: t.Route, Policy: t.Policy, Reason: t.Reason, LatencyMS: t.Timings.TotalMS,
		Domains: t.Classification.Domains, Safety: t.Classification.Safety, PII: t.Classification.PII,
		Flags: t.Flags, Caller: t.Caller,
	}
	for _, p := range t.Peers {
		s.Peers = append(s.Peers, p.Peer)
	}
	for _, c := range t.Chain {
		s.Peers = append(s.Peers, c.Peer)
	}
	if t.Tally != nil {
		s.Tally = t.Tally.Outcome.String()
	}
	if c := t.Cloud; c != nil && c.Summoned {
		s.Cloud, s.CloudTokens = true, c.PromptTokens+c.CompletionTokens
	}
	return s
}

// View is the ring and the series at now (Budget and Trust are the node's to fill).
func (l *QueryLog) View(now time.Time) ActivityView {
	v := ActivityView{Recent: []QuerySummary{}, Minutes: make([]MinuteBucket, 0, SeriesMinutes)}
	if l == nil {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.next
	if l.full {
		n = len(l.ring)
	}
	for i := 1; i <= n; i++ {
		v.Recent = append(v.Recent, l.ring[(l.next-i+len(l.ring))%len(l.ring)])
	}
	last := now.Truncate(time.Minute)
	for i := SeriesMinutes - 1; i >= 0; i-- {
		m := last.Add(-time.Duration(i) * time.Minute)
		b := l.minutes[slotOf(m)]
		if !b.Start.Equal(m) {
			b = MinuteBucket{Start: m}
		}
		v.Minutes = append(v.Minutes, b)
	}
	return v
}

// Activity is View at the current time: a QueryLog alone is an Activity
// without budget or trust.
func (l *QueryLog) Activity(context.Context) ActivityView { return l.View(time.Now()) }

// Changed returns a channel closed at the next Record.
func (l *QueryLog) Changed() <-chan struct{} {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}
