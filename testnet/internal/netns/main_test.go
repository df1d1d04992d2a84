//go:build linux

package netns_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests dial into namespaces and wait for processes; none may leave a
// goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
