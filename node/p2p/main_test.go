package p2p

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests start real libp2p hosts and the allowlist's poller; none may
// leave a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The opencensus worker some libp2p deps start at init.
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}
