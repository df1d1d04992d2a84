package cms

import (
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestCacheCaps walks the cache through its caps, step by step: records of
// strangers count against the relay that delivered them, a full cache takes
// a met peer's record in place of the oldest stranger's, and refuses a
// stranger's.
func TestCacheCaps(t *testing.T) {
	n := newTestNode(t, nodeConfig{opts: []Option{
		WithClock(func() time.Time { return testNow }), WithRecordLimits(4, 2),
	}})
	relay1, relay2 := newIdentity(t).id, newIdentity(t).id
	ids := make([]identity, 6)
	for i := range ids {
		ids[i] = newIdentity(t)
	}
	rec := func(i int, seq uint64) *Record {
		raw, err := Seal(ids[i].priv, testFields(ids[i].id, seq, testNow))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Open(raw, testNow)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name   string
		check  bool // only ask whether put would take it (the gossip validator's question)
		rec    *Record
		source peer.ID
		want   error
		cached []int // the ids cached afterwards
	}{
		{"stranger via relay 1", false, rec(0, 1), relay1, nil, []int{0}},
		{"second stranger via relay 1", false, rec(1, 1), relay1, nil, []int{0, 1}},
		{"third stranger via relay 1: over its share", false, rec(2, 1), relay1, ErrCacheFull, []int{0, 1}},
		{"a newer record of a cached stranger via relay 1", false, rec(1, 2), relay1, nil, []int{0, 1}},
		{"an older one", false, rec(1, 1), relay1, errStale, []int{0, 1}},
		{"the third stranger via relay 2", false, rec(2, 1), relay2, nil, []int{0, 1, 2}},
		{"a peer delivering its own record (met)", false, rec(3, 1), ids[3].id, nil, []int{0, 1, 2, 3}},
		{"full: a stranger is refused", false, rec(4, 1), relay2, ErrCacheFull, []int{0, 1, 2, 3}},
		{"full: checking a met peer's record evicts nothing", true, rec(5, 1), ids[5].id, nil, []int{0, 1, 2, 3}},
		{"full: a met peer evicts the oldest stranger", false, rec(5, 1), ids[5].id, nil, []int{1, 2, 3, 5}},
		{"full: the evicted stranger again", false, rec(0, 1), relay1, ErrCacheFull, []int{1, 2, 3, 5}},
		{"full: a newer record of a cached peer", false, rec(3, 2), ids[3].id, nil, []int{1, 2, 3, 5}},
	}
	for _, st := range steps {
		var err error
		if st.check {
			err = n.store.cache.check(st.rec, st.source)
		} else {
			err = n.store.cache.put(st.rec, viaGossip, st.source)
		}
		if !errors.Is(err, st.want) || (st.want == nil && err != nil) {
			t.Fatalf("%s: put = %v, want %v", st.name, err, st.want)
		}
		var got []int
		for i, id := range ids {
			if n.holds(id.id, nil) {
				got = append(got, i)
			}
		}
		if len(got) != len(st.cached) {
			t.Fatalf("%s: cached %v, want %v", st.name, got, st.cached)
		}
		for i := range got {
			if got[i] != st.cached[i] {
				t.Fatalf("%s: cached %v, want %v", st.name, got, st.cached)
			}
		}
	}
}
