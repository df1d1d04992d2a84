package p2p

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/pnet"
)

// swarmKeyHeader starts a go-libp2p private-network v1 key file, the format
// IPFS uses for swarm.key; the key follows base16-encoded on the third line.
const swarmKeyHeader = "/key/swarm/psk/1.0.0/\n/base16/\n"

// maxSwarmKeyFile bounds what LoadSwarmKey reads: a v1 key file is ~120 bytes.
const maxSwarmKeyFile = 4 << 10

// DecodeSwarmKey reads a private-network v1 key (base16, base64 or bin).
func DecodeSwarmKey(r io.Reader) (pnet.PSK, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxSwarmKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("decode swarm key: %w", err)
	}
	if len(raw) > maxSwarmKeyFile {
		return nil, fmt.Errorf("decode swarm key: %w: larger than %d bytes", ErrBadSwarmKey, maxSwarmKeyFile)
	}
	psk, err := pnet.DecodeV1PSK(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode swarm key: %w: %w", ErrBadSwarmKey, err)
	}
	return psk, nil
}

// LoadSwarmKey reads the swarm key file at path.
func LoadSwarmKey(path string) (pnet.PSK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load swarm key: %w", err)
	}
	defer f.Close()
	// Docker bind-mounts a missing file as an empty directory: say so plainly.
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("load swarm key: %s is a directory: %w (make one with 'swarmllm keygen --swarm-key FILE')", path, ErrBadSwarmKey)
	}
	psk, err := DecodeSwarmKey(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return psk, nil
}

// EncodeSwarmKey is the v1 base16 file text for psk.
func EncodeSwarmKey(psk pnet.PSK) []byte {
	return []byte(swarmKeyHeader + hex.EncodeToString(psk) + "\n")
}

// WriteSwarmKey creates a new random swarm key file at path (0600). It refuses
// to overwrite an existing file: replacing a swarm's key by accident would cut
// this device off from every other member.
func WriteSwarmKey(path string) error {
	psk := make(pnet.PSK, 32)
	if _, err := rand.Read(psk); err != nil {
		return fmt.Errorf("write swarm key: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("write swarm key: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write swarm key: %s already exists: %w", path, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("write swarm key: %w", err)
	}
	if _, err := f.Write(EncodeSwarmKey(psk)); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("write swarm key: %w", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write swarm key: %w", err)
	}
	return nil
}
