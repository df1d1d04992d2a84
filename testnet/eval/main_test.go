package eval

import (
	"testing"

	"go.uber.org/goleak"
)

// The runner, the in-process swarms, the load and the scale runs start
// goroutines; none may outlive a test.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// started at init by a libp2p dependency, as in node's tests
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	)
}
