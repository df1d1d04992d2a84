package cmssync

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests start loopback hosts, stores and serves; none may leave a
// goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
