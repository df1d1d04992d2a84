package sim

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/swarmllm/swarmllm/testnet/workload"
)

func TestBuiltinProfilesValid(t *testing.T) {
	for _, p := range append(BuiltinProfiles(), DefaultCloudProfile()) {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	a, b := BuiltinProfiles(), BuiltinProfiles()
	a[0].Domains[0] = "changed"
	if b[0].Domains[0] == "changed" {
		t.Fatal("BuiltinProfiles shares slices between calls")
	}
}

func TestLoadProfiles(t *testing.T) {
	good := `[{"name":"sim-tiny","family":"llama","parameter_size":"10M","quantization_level":"Q8_0","context_length":512,
		"domains":["Code"],"in_domain":{"easy":0.9,"hard":0.5},"out_of_domain":{"easy":0.3,"hard":0.1},
		"overhead":"5ms","token_latency":1000000,"calibration":0.8,"seed":3}]`
	ps, err := LoadProfiles(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if p.Domains[0] != "code" || time.Duration(p.Overhead) != 5*time.Millisecond || time.Duration(p.TokenLatency) != time.Millisecond || !p.Has(CapCompletion) {
		t.Fatalf("loaded %+v", p)
	}
	round, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadProfiles(strings.NewReader(string(round)))
	if err != nil || again[0].Overhead != p.Overhead {
		t.Fatalf("round trip: %v, %+v", err, again)
	}

	valid := func(edit func(m map[string]any)) string {
		var list []map[string]any
		if err := json.Unmarshal([]byte(good), &list); err != nil {
			t.Fatal(err)
		}
		edit(list[0])
		b, _ := json.Marshal(list)
		return string(b)
	}
	tests := []struct{ name, json, want string }{
		{"not json", `{`, "decode profiles"},
		{"empty list", `[]`, "empty list"},
		{"unknown field", valid(func(m map[string]any) { m["acuracy"] = 1 }), "unknown field"},
		{"real model name", valid(func(m map[string]any) { m["name"] = "qwen2.5:0.5b" }), `must start with "sim-"`},
		{"bare prefix", valid(func(m map[string]any) { m["name"] = "sim-" }), `must start with "sim-"`},
		{"no family", valid(func(m map[string]any) { delete(m, "family") }), "family"},
		{"zero context", valid(func(m map[string]any) { m["context_length"] = 0 }), "context_length"},
		{"accuracy above one", valid(func(m map[string]any) { m["in_domain"] = map[string]any{"easy": 1.2} }), "accuracies"},
		{"calibration below chance", valid(func(m map[string]any) { m["calibration"] = 0.4 }), "calibration"},
		{"negative latency", valid(func(m map[string]any) { m["overhead"] = "-1ms" }), "latencies"},
		{"bad duration", valid(func(m map[string]any) { m["overhead"] = "soon" }), "parse duration"},
		{"unknown capability", valid(func(m map[string]any) { m["capabilities"] = []string{"vision"} }), "capability"},
		{"embedding without length", valid(func(m map[string]any) { m["capabilities"] = []string{"embedding"} }), "embedding_length"},
		{"duplicate name", "[" + good[1:len(good)-1] + "," + good[1:len(good)-1] + "]", "repeats"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadProfiles(strings.NewReader(tc.json))
			if !errors.Is(err, ErrInvalidProfile) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalidProfile mentioning %q", err, tc.want)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if ps, err := LoadProfilesFile(path); err != nil || ps[0].Name != "sim-tiny" {
		t.Fatalf("LoadProfilesFile = %v, %v", ps, err)
	}
	if _, err := LoadProfilesFile(path + ".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSelectProfiles(t *testing.T) {
	override := BuiltinProfiles()[0]
	override.Seed = 999
	ps, err := SelectProfiles([]string{ProfileSmol, " " + ProfileQwen}, []Profile{override})
	if err != nil || len(ps) != 2 || ps[0].Name != ProfileSmol || ps[1].Seed != 999 {
		t.Fatalf("SelectProfiles = %+v, %v", ps, err)
	}
	if _, err := SelectProfiles([]string{"sim-nope"}, nil); !errors.Is(err, ErrUnknownProfile) || !strings.Contains(err.Error(), ProfileFast) {
		t.Fatalf("unknown name: %v (should list the known ones)", err)
	}
}

func TestDistractorsArePlausibleAndWrong(t *testing.T) {
	wl := workload.Default()
	e, err := newEngine(wl)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range wl.Items() {
		if it.Dataset == workload.DatasetSafety {
			continue
		}
		pool := e.distractors[it.QID]
		if len(pool) != 3 {
			t.Fatalf("%s: %d distractors %q", it.QID, len(pool), pool)
		}
		v, _, numeric := parseNumber(it.Answer)
		if !workload.Correct(it, it.Answer, "local") {
			t.Fatalf("%s: the shared scorer rejects the reference %q", it.QID, it.Answer)
		}
		for _, d := range pool {
			if workload.Normalize(d) == workload.Normalize(it.Answer) || workload.Correct(it, d, "local") {
				t.Fatalf("%s: distractor %q scores as the answer %q", it.QID, d, it.Answer)
			}
			if numeric {
				w, _, ok := parseNumber(d)
				if !ok || math.Abs(w-v) < 0.05*math.Abs(v)-1e-9 {
					t.Fatalf("%s: numeric distractor %q too close to %q (or not a number)", it.QID, d, it.Answer)
				}
			}
		}
	}
	tests := []struct {
		name, answer string
		want         []string // the distractors must include these
	}{
		{"integer", "15", []string{"14", "16"}},
		{"decimal keeps its places", "8.16", []string{"8.57", "7.75"}},
		{"zero", "0", []string{"1", "2"}},
		{"dotted quad stays valid", "255.255.255.0", []string{"255.255.255.1", "255.255.254.0"}},
		{"formula", "H2SO4", []string{"H2SO5", "H2SO3"}},
		{"big-O", "O(log n)", []string{"O(n)"}},
		{"shared word first", "vitamin D", []string{"vitamin C"}},
	}
	items := wl.Items()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := distractorsFor(workload.Item{QID: "t", Domain: "medicine", Dataset: "easy", Answer: tc.answer}, items)
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || g == w
				}
				if !found {
					t.Fatalf("distractors of %q = %q, want %q among them", tc.answer, got, w)
				}
			}
		})
	}
}

func TestSplitTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Paris", []string{"Paris"}},
		{"Mycobacterium tuberculosis", []string{"Myco", "bact", "eriu", "m", " tube", "rcul", "osis"}},
		{"20100", []string{"201", "00"}},
		{"I am not sure.", []string{"I", " am", " not", " sure", "."}},
		{"a  b\n", []string{"a", "  b", "\n"}},
		{"end  ", []string{"end", "  "}},
		{"", nil},
	}
	for _, tc := range tests {
		got := splitTokens(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("splitTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	for in, want := range map[string]time.Duration{`"1.5s"`: 1500 * time.Millisecond, `2000`: 2000, `"0s"`: 0} {
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("unmarshal %s = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{`"x"`, `true`, `{}`} {
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("unmarshal %s succeeded", in)
		}
	}
}

func TestProfileSet(t *testing.T) {
	tests := []struct {
		name    string
		wantErr error
		calib   float64 // the qwen profile's calibration
	}{
		{name: ProfileSetShipped, calib: 0.84},
		{name: ProfileSetNoisy, calib: noisyCalibration[ProfileQwen]},
		{name: "loud", wantErr: ErrUnknownProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := ProfileSet(tt.name)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ProfileSet(%q) error %v, want %v", tt.name, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(ps) != len(BuiltinProfiles()) || ps[0].Name != ProfileQwen || ps[0].Calibration != tt.calib {
				t.Errorf("ProfileSet(%q): %d profiles, first %s calibration %v; want %d, %s at %v", tt.name, len(ps), ps[0].Name,
					ps[0].Calibration, len(BuiltinProfiles()), ProfileQwen, tt.calib)
			}
			for i := range ps {
				if err := ps[i].Validate(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
