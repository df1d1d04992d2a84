package p2p

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteSwarmKeyRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "swarm.key")
	if err := WriteSwarmKey(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
	raw, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(raw), "/key/swarm/psk/1.0.0/\n/base16/\n") || len(raw) != len(swarmKeyHeader)+64+1 {
		t.Errorf("file is not an IPFS swarm.key:\n%s", raw)
	}
	psk, err := LoadSwarmKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(EncodeSwarmKey(psk), raw) {
		t.Error("decoded key does not encode back to the file")
	}
	before := append([]byte(nil), raw...)
	if err := WriteSwarmKey(path); !errors.Is(err, ErrExists) {
		t.Fatalf("second WriteSwarmKey: %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("refused overwrite still changed the file")
	}
	other := filepath.Join(t.TempDir(), "swarm.key")
	if err := WriteSwarmKey(other); err != nil {
		t.Fatal(err)
	}
	if psk2, _ := LoadSwarmKey(other); bytes.Equal(psk, psk2) {
		t.Error("two generated keys are equal")
	}
}

func TestDecodeSwarmKey(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"ipfs base16", "/key/swarm/psk/1.0.0/\n/base16/\n" + hex64 + "\n", false},
		{"crlf", "/key/swarm/psk/1.0.0/\r\n/base16/\r\n" + hex64 + "\r\n", false},
		{"no trailing newline", "/key/swarm/psk/1.0.0/\n/base16/\n" + hex64, false},
		{"base64", "/key/swarm/psk/1.0.0/\n/base64/\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n", false},
		{"empty", "", true},
		{"wrong header", "/key/swarm/psk/2.0.0/\n/base16/\n" + hex64 + "\n", true},
		{"unknown encoding", "/key/swarm/psk/1.0.0/\n/base58/\n" + hex64 + "\n", true},
		{"short key", "/key/swarm/psk/1.0.0/\n/base16/\nabcd\n", true},
		{"not hex", "/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat("zz", 32) + "\n", true},
		{"oversize", "/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat("ab", maxSwarmKeyFile), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			psk, err := DecodeSwarmKey(strings.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadSwarmKey) {
					t.Fatalf("err %v, want ErrBadSwarmKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(psk) != 32 || psk[0] != 0xab || psk[31] != 0xab {
				t.Errorf("key %x", psk)
			}
		})
	}
}

func TestLoadSwarmKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "nope"), fs.ErrNotExist},
		{"a directory", dir, ErrBadSwarmKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LoadSwarmKey(tt.path); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzDecodeSwarmKey(f *testing.F) {
	f.Add([]byte("/key/swarm/psk/1.0.0/\n/base16/\n" + strings.Repeat("01", 32) + "\n"))
	f.Add([]byte("/key/swarm/psk/1.0.0/\n/bin/\n" + strings.Repeat("x", 32)))
	f.Add([]byte("/key/swarm/psk/1.0.0/\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		psk, err := DecodeSwarmKey(bytes.NewReader(in))
		if err == nil && len(psk) != 32 {
			t.Fatalf("accepted a %d-byte key", len(psk))
		}
		if err != nil && !errors.Is(err, ErrBadSwarmKey) {
			t.Fatalf("error without ErrBadSwarmKey: %v", err)
		}
	})
}
