package api

import (
	"errors"
	"strings"
	"testing"
)

const (
	aliceSecret = "alice-0123456789abcdef"
	bobSecret   = "bob-fedcba9876543210"
)

func TestParseKeys(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		names []string
		err   bool
	}{
		{"empty", "", nil, false},
		{"named", "alice:" + aliceSecret, []string{"alice"}, false},
		{"two with spaces", " alice:" + aliceSecret + " , bob:" + bobSecret + ",", []string{"alice", "bob"}, false},
		{"bare secret gets a hash name", aliceSecret, []string{"key-"}, false},
		{"short secret", "alice:short", nil, true},
		{"bad name", "al ice:" + aliceSecret, nil, true},
		{"empty secret", "alice:", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys, err := ParseKeys(c.in)
			if c.err {
				if !errors.Is(err, ErrBadKey) {
					t.Fatalf("err = %v, want ErrBadKey", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != len(c.names) {
				t.Fatalf("got %d keys, want %d", len(keys), len(c.names))
			}
			for i, k := range keys {
				if !strings.HasPrefix(k.Name, c.names[i]) {
					t.Errorf("key %d named %q, want %q…", i, k.Name, c.names[i])
				}
				if strings.Contains(k.Name, aliceSecret) {
					t.Errorf("key name %q shows the secret", k.Name)
				}
			}
		})
	}
}

func TestParseKeysFile(t *testing.T) {
	const file = `# callers of this node
alice:` + aliceSecret + `
  ci-bot:` + bobSecret + ` requests=600 cloud_tokens=20000 cloud_calls=30

`
	keys, err := ParseKeysFile(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Name != "alice" || keys[0].Quota != (Quota{}) || keys[1].Name != "ci-bot" ||
		keys[1].Quota != (Quota{Requests: 600, CloudCalls: 30, CloudTokens: 20000}) {
		t.Fatalf("keys = %+v", keys)
	}
	bad := []struct{ name, line string }{
		{"unknown quota", "alice:" + aliceSecret + " tokens=5"},
		{"quota not a number", "alice:" + aliceSecret + " requests=lots"},
		{"negative quota", "alice:" + aliceSecret + " requests=-1"},
		{"quota without value", "alice:" + aliceSecret + " requests"},
		{"short secret", "alice:abc"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseKeysFile(strings.NewReader("# ok\n" + c.line + "\n"))
			if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "line 2") {
				t.Fatalf("err = %v, want ErrBadKey naming line 2", err)
			}
		})
	}
}

func TestKeyringRefusesDuplicates(t *testing.T) {
	a, _ := NewKey("alice", aliceSecret, Quota{})
	a2, _ := NewKey("alice", bobSecret, Quota{})
	b, _ := NewKey("bob", aliceSecret, Quota{})
	for name, keys := range map[string][]Key{"same name": {a, a2}, "same secret": {a, b}, "zero key": {a, {Name: "x"}}} {
		if _, err := NewKeyring(keys...); !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: err = %v, want ErrBadKey", name, err)
		}
	}
}

func TestKeyringLookup(t *testing.T) {
	a, _ := NewKey("alice", aliceSecret, Quota{})
	b, _ := NewKey("bob", bobSecret, Quota{Requests: 3})
	ring, err := NewKeyring(a, b)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		secret string
		want   string
	}{
		{aliceSecret, "alice"},
		{bobSecret, "bob"},
		{aliceSecret[:len(aliceSecret)-1], ""},
		{aliceSecret + "x", ""},
		{"", ""},
	}
	for _, c := range cases {
		k, ok := ring.lookup(c.secret)
		if ok != (c.want != "") || k.Name != c.want {
			t.Errorf("lookup(%q) = %q, %v; want %q", c.secret, k.Name, ok, c.want)
		}
	}
	var none *Keyring
	if _, ok := none.lookup(aliceSecret); ok || none.Len() != 0 {
		t.Error("a nil keyring accepts a key")
	}
}

func FuzzParseKeysFile(f *testing.F) {
	f.Add("alice:" + aliceSecret + " requests=1\n# c\n" + bobSecret)
	f.Add("x:y requests=\n")
	f.Fuzz(func(t *testing.T, in string) {
		keys, err := ParseKeysFile(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, k := range keys {
			if !keyName.MatchString(k.Name) || k.Quota.Requests < 0 || k.Quota.CloudCalls < 0 || k.Quota.CloudTokens < 0 {
				t.Fatalf("accepted a bad key %+v", k)
			}
		}
	})
}

func FuzzParseKeys(f *testing.F) {
	f.Add("alice:" + aliceSecret + "," + bobSecret)
	f.Add(",,:,")
	f.Fuzz(func(t *testing.T, in string) {
		keys, err := ParseKeys(in)
		if err != nil {
			return
		}
		for _, k := range keys {
			if !keyName.MatchString(k.Name) || k.sum == [32]byte{} {
				t.Fatalf("accepted a bad key %+v", k)
			}
		}
	})
}
