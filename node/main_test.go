package node_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test here starts real libp2p hosts, HTTP servers and simulated
// backends; none may leave a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// glog-style flushers and the opencensus worker some libp2p deps start at init.
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}
