package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// API keys. A caller sends one as "Authorization: Bearer <secret>", which is
// what OpenAI clients already send. Keys come from SWARM_API_KEYS (comma
// separated) and from a keys file, one key a line:
//
//	# name:secret [requests=N] [cloud_calls=N] [cloud_tokens=N]
//	alice:3f9c0a1e8b7d6c5f4e3d2c1b
//	ci-bot:0b1c2d3e4f5a6b7c8d9e requests=600 cloud_tokens=20000
//	7e6d5c4b3a29180f7e6d5c4b          (a bare secret: named key-<hash prefix>)
//
// The quotas are per hour and 0 (or absent) means no limit of the key's own;
// the node's --cloud-max-* flags still hold. "requests" counts queries (chat,
// generate, ask). Secrets are at least MinSecretBytes long and contain no
// whitespace, comma or colon. Names show in traces, logs and metrics;
// secrets never do: the keyring keeps only their SHA-256.

// MinSecretBytes is the shortest secret a keyring accepts.
const MinSecretBytes = 16

// ErrBadKey is wrapped by every key parsing error.
var ErrBadKey = errors.New("bad API key")

// Quota is what one key may spend per hour; 0 is no limit.
type Quota struct {
	Requests    int64 `json:"requests,omitempty"`     // queries per hour
	CloudCalls  int64 `json:"cloud_calls,omitempty"`  // cloud FM calls per hour
	CloudTokens int64 `json:"cloud_tokens,omitempty"` // cloud FM tokens (prompt + completion) per hour
}

// Key is one API key: its name, its quota and the SHA-256 of its secret.
type Key struct {
	Name  string
	Quota Quota
	sum   [sha256.Size]byte
}

var keyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NewKey makes a key from a name and a secret; an empty name becomes
// key-<first 8 hex digits of the secret's SHA-256>.
func NewKey(name, secret string, q Quota) (Key, error) {
	switch {
	case len(secret) < MinSecretBytes:
		return Key{}, fmt.Errorf("%w: secret of key %q is %d bytes, want at least %d", ErrBadKey, name, len(secret), MinSecretBytes)
	case strings.ContainsAny(secret, " \t\r\n,:"):
		return Key{}, fmt.Errorf("%w: secret of key %q contains whitespace, a comma or a colon", ErrBadKey, name)
	case q.Requests < 0 || q.CloudCalls < 0 || q.CloudTokens < 0:
		return Key{}, fmt.Errorf("%w: key %q has a negative quota", ErrBadKey, name)
	}
	k := Key{Name: name, Quota: q, sum: sha256.Sum256([]byte(secret))}
	if k.Name == "" {
		k.Name = "key-" + hex.EncodeToString(k.sum[:4])
	}
	if !keyName.MatchString(k.Name) {
		return Key{}, fmt.Errorf("%w: name %q: want letters, digits, '.', '_' or '-' (at most 64)", ErrBadKey, k.Name)
	}
	return k, nil
}

// parseKeySpec reads "name:secret" or a bare secret.
func parseKeySpec(spec string, q Quota) (Key, error) {
	name, secret, ok := strings.Cut(spec, ":")
	if !ok {
		name, secret = "", spec
	}
	return NewKey(name, secret, q)
}

// ParseKeys reads SWARM_API_KEYS: comma separated "name:secret" or bare secrets.
func ParseKeys(list string) ([]Key, error) {
	var keys []Key
	for i, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, err := parseKeySpec(part, Quota{})
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParseKeysFile reads a keys file (format above); blank lines and lines
// starting with # are skipped.
func ParseKeysFile(r io.Reader) ([]Key, error) {
	var keys []Key
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		var q Quota
		for _, f := range fields[1:] {
			name, val, _ := strings.Cut(f, "=")
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w: quota %q: want name=N", line, ErrBadKey, f)
			}
			switch name {
			case "requests":
				q.Requests = n
			case "cloud_calls":
				q.CloudCalls = n
			case "cloud_tokens":
				q.CloudTokens = n
			default:
				return nil, fmt.Errorf("line %d: %w: unknown quota %q (want requests, cloud_calls or cloud_tokens)", line, ErrBadKey, name)
			}
		}
		k, err := parseKeySpec(fields[0], q)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read keys file: %w", err)
	}
	return keys, nil
}

// Keyring holds the keys a server accepts. It is immutable once built.
type Keyring struct {
	keys []Key
}

// NewKeyring checks that names and secrets are unique.
func NewKeyring(keys ...Key) (*Keyring, error) {
	names := map[string]bool{}
	sums := map[[sha256.Size]byte]bool{}
	for _, k := range keys {
		if k.sum == ([sha256.Size]byte{}) {
			return nil, fmt.Errorf("%w: key %q was not made by NewKey", ErrBadKey, k.Name)
		}
		if names[k.Name] {
			return nil, fmt.Errorf("%w: two keys are named %q", ErrBadKey, k.Name)
		}
		if sums[k.sum] {
			return nil, fmt.Errorf("%w: key %q repeats another key's secret", ErrBadKey, k.Name)
		}
		names[k.Name], sums[k.sum] = true, true
	}
	return &Keyring{keys: keys}, nil
}

// Len is how many keys the ring holds (0 for a nil ring).
func (r *Keyring) Len() int {
	if r == nil {
		return 0
	}
	return len(r.keys)
}

// Keys lists the keys (names and quotas; secrets stay hashed).
func (r *Keyring) Keys() []Key {
	if r == nil {
		return nil
	}
	return append([]Key(nil), r.keys...)
}

// lookup finds the key with this secret. It compares the secret's hash with
// every key's in constant time and never stops early, so timing says
// nothing about how much of a guess was right or which key it was near.
func (r *Keyring) lookup(secret string) (Key, bool) {
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i := range r.Len() {
		if subtle.ConstantTimeCompare(sum[:], r.keys[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Key{}, false
	}
	return r.keys[found], true
}
