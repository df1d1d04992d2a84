//go:build !race

package eval

// raceEnabled: the race detector slows an in-process swarm about tenfold.
const raceEnabled = false
