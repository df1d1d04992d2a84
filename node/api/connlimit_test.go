package api

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestLimitConnsPerIP: a fourth connection from one address is closed at
// once while three are held; closing one frees its slot.
func TestLimitConnsPerIP(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitConnsPerIP(inner, 3)
	defer ln.Close()
	accepted := make(chan net.Conn)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var server []net.Conn
	for range 3 {
		dial()
		server = append(server, <-accepted)
	}
	// The fourth is accepted by the kernel and closed by the listener.
	extra := dial()
	_ = extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("fourth connection: read err = %v, want it closed", err)
	}
	// Closing one (twice: the slot comes back once) lets the next in.
	server[0].Close()
	server[0].Close()
	dial()
	server = append(server[1:], <-accepted)
	extra2 := dial()
	_ = extra2.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := extra2.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("over the limit again: read err = %v, want it closed", err)
	}
	for _, c := range server {
		c.Close()
	}
	ln.Close()
	<-done
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
