package router

import (
	"testing"

	"go.uber.org/goleak"
)

// The package starts no goroutines; the concurrency tests must not leave any.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
