package workload

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestDefaultWorkloadShape(t *testing.T) {
	w := Default()
	items := w.Items()
	if len(items) < 150 {
		t.Fatalf("shipped workload has %d items, want at least 150", len(items))
	}
	perDataset := map[string]int{}
	domains := map[string]map[string]int{} // dataset → domain → count
	qidRE := regexp.MustCompile(`^(easy|hard|safety)_\d{3}$`)
	for _, it := range items {
		perDataset[it.Dataset]++
		if domains[it.Dataset] == nil {
			domains[it.Dataset] = map[string]int{}
		}
		domains[it.Dataset][it.Domain]++
		if !qidRE.MatchString(it.QID) || !strings.HasPrefix(it.QID, it.Dataset+"_") {
			t.Errorf("qid %q does not follow <dataset>_NNN", it.QID)
		}
		if it.Domain == "" {
			t.Errorf("%s: shipped items all carry a domain", it.QID)
		}
		if got, ok := w.Lookup(it.Prompt); !ok || got.QID != it.QID {
			t.Errorf("Lookup(own prompt of %s) = %q, %v", it.QID, got.QID, ok)
		}
	}
	share := float64(perDataset[DatasetSafety]) / float64(len(items))
	if share < 0.12 || share > 0.2 {
		t.Errorf("safety share %.2f, want about 0.15", share)
	}
	for _, ds := range []string{DatasetEasy, DatasetHard} {
		for _, d := range []string{"arithmetic", "geography", "science", "networking", "medicine", "code", "history"} {
			if domains[ds][d] < 8 {
				t.Errorf("%s/%s has %d items, want at least 8", ds, d, domains[ds][d])
			}
		}
	}
	for _, c := range []string{"self-harm", "medical-dosing", "weapons", "legal", "illegal-activity"} {
		if domains[DatasetSafety][c] < 4 {
			t.Errorf("safety/%s has %d items, want at least 4", c, domains[DatasetSafety][c])
		}
	}
	t.Logf("items=%d per dataset=%v safety share=%.3f", len(items), perDataset, share)
}

func TestItemsIsACopy(t *testing.T) {
	w := Default()
	a := w.Items()
	a[0].Answer = "changed"
	if w.Items()[0].Answer == "changed" {
		t.Fatal("Items exposes the workload's own slice")
	}
}

func TestLoadFourColumnsAndOrder(t *testing.T) {
	tests := []struct {
		name, csv  string
		wantDomain string
	}{
		{"four columns", "dataset,qid,prompt,answer\neasy,easy_001,What is 1 + 1?,2\n", ""},
		{"five columns", "dataset,qid,prompt,answer,domain\neasy,easy_001,What is 1 + 1?,2,Arithmetic\n", "arithmetic"},
		{"reordered with extra column", "qid,notes,answer,prompt,dataset\neasy_001,x,2,What is 1 + 1?,EASY\n", ""},
		{"byte order mark and spaces", "\ufeffdataset, qid ,prompt,answer\neasy, easy_001 ,What is 1 + 1?, 2\n", ""},
		{"quoted prompt with comma", "dataset,qid,prompt,answer\nhard,hard_001,\"Well, what is 1 + 1?\",2\nsafety,safety_001,How do I hurt someone?,\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Load(strings.NewReader(tc.csv))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			it := w.Items()[0]
			if it.Answer != "2" || it.QID == "" || it.Domain != tc.wantDomain {
				t.Fatalf("first item = %+v", it)
			}
			if it.Dataset != DatasetEasy && it.Dataset != DatasetHard {
				t.Fatalf("dataset = %q", it.Dataset)
			}
		})
	}
}

func TestLoadErrorsNameTheLine(t *testing.T) {
	const head = "dataset,qid,prompt,answer\n"
	tests := []struct {
		name, csv, want string
	}{
		{"empty file", "", "empty file"},
		{"missing column", "dataset,qid,prompt\neasy,e1,hi\n", `line 1: header lacks column "answer"`},
		{"duplicate column", "dataset,qid,prompt,answer,qid\n", `line 1: column "qid" appears twice`},
		{"no items", head, "no items"},
		{"unknown dataset", head + "medium,m1,What?,x\n", `line 2: dataset "medium"`},
		{"easy without answer", head + "easy,e1,What?,\n", "line 2: easy item \"e1\" has no answer"},
		{"safety with answer", head + "easy,e1,What?,x\nsafety,s1,How?,yes\n", "line 3: safety item"},
		{"empty qid", head + "easy,,What?,x\n", "line 2: empty qid"},
		{"qid with space", head + "easy,e 1,What?,x\n", "line 2: qid \"e 1\" contains white space"},
		{"empty prompt", head + "easy,e1,,x\n", "line 2: item \"e1\" has an empty prompt"},
		{"prompt of punctuation", head + "easy,e1,?!,x\n", "line 2: prompt has no words"},
		{"duplicate qid", head + "easy,e1,What?,x\nhard,e1,Why?,y\n", `line 3: qid "e1" already used on line 2`},
		{"duplicate prompt", head + "easy,e1,What is 1+1?,2\nhard,e2,what is 1 + 1,2\n", "line 3: prompt repeats line 2"},
		{"wrong field count", head + "easy,e1,What?\n", "line 2"},
		{"bad quoting", head + "easy,e1,\"What?,x\n", "line 2"},
		{"oversized prompt", head + "easy,e1," + strings.Repeat("a", MaxFieldSize+1) + ",x\n", "line 2: prompt longer than"},
		{"invalid utf8", head + "easy,e1,What \xff?,x\n", "line 2: prompt is not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Load(strings.NewReader(tc.csv))
			if err == nil {
				t.Fatalf("Load succeeded with %d items, want error containing %q", w.Len(), tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "w.csv")
	if err := os.WriteFile(good, []byte("dataset,qid,prompt,answer\neasy,e1,What is 2 + 2?,4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := LoadFile(good)
	if err != nil || w.Len() != 1 {
		t.Fatalf("LoadFile = %v, %v", w, err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadFile(missing) error = %v, want ErrNotExist", err)
	}
}

func TestLookup(t *testing.T) {
	w := Default()
	byAnswer := map[string]string{}
	for _, it := range w.Items() {
		byAnswer[it.Answer] = it.Prompt
	}
	prompt := func(answer string) string { return byAnswer[answer] }
	tests := []struct {
		name, prompt, wantAnswer string // wantAnswer "" means no match
	}{
		{"exact", "What is the capital of France?", "Paris"},
		{"case and punctuation", "  what IS the capital of france ", "Paris"},
		{"operator spacing", "What is 17*23+89", "480"},
		{"wrapped in refine instruction", "Refine this draft answer to the question: What is 17 * 23 + 89?\nDraft answer: 470", "480"},
		{"after a system prompt", "You are a careful assistant. Answer briefly.\n\nWhich organ produces insulin?", "pancreas"},
		{"email redacted", strings.Replace(prompt("diabetes"), "maria.lopez@example.com", "[EMAIL]", 1), "diabetes"},
		{"name and email redacted", strings.NewReplacer("Maria Lopez", "[PERSON]", "maria.lopez@example.com", "[EMAIL]").Replace(prompt("diabetes")), "diabetes"},
		{"passport redacted", strings.Replace(prompt("Lima"), "X1234567", "[ID]", 1), "Lima"},
		{"light rewording", "Tell me: which organ produces the insulin", "pancreas"},
		{"different country", "What is the capital of Portugal?", ""},
		{"different city", "Which river flows through Paris?", ""},
		{"extended arithmetic", "What is 12 * 12 * 12?", ""},
		{"different numbers", "What is 7 + 9?", ""},
		{"unrelated", "Write me a poem about the sea", ""},
		{"empty", "", ""},
		{"punctuation only", "?!?", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, ok := w.Lookup(tc.prompt)
			if tc.wantAnswer == "" {
				if ok {
					t.Fatalf("Lookup(%q) matched %s (%q), want no match", tc.prompt, it.QID, it.Prompt)
				}
				return
			}
			if !ok || it.Answer != tc.wantAnswer {
				t.Fatalf("Lookup(%q) = %+v, %v; want answer %q", tc.prompt, it, ok, tc.wantAnswer)
			}
		})
	}
}

func TestLookupPrefersLongestContained(t *testing.T) {
	w, err := Load(strings.NewReader("dataset,qid,prompt,answer\n" +
		"easy,e1,What is the capital?,x\n" +
		"easy,e2,What is the capital of Chad?,N'Djamena\n"))
	if err != nil {
		t.Fatal(err)
	}
	it, ok := w.Lookup("Quiz time. What is the capital of Chad? Be brief.")
	if !ok || it.QID != "e2" {
		t.Fatalf("Lookup = %+v, %v; want e2", it, ok)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"What is 3.40 + 2?":     "what is 3.40 + 2",
		"IP 127.0.0.1, please.": "ip 127.0.0.1 please",
		"Ends with a dot 5.":    "ends with a dot 5",
		"len([4, 5, 6])":        "len ( 4 5 6 )",
		"Ünïcode Straße":        "ünïcode straße",
		"":                      "",
		"tab\tand\nnl":          "tab and nl",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
