package workload

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the CSV loader: it must return an error
// or a workload whose every item can be found again by its own prompt.
func FuzzLoad(f *testing.F) {
	f.Add(embedded[:min(len(embedded), 2048)])
	f.Add([]byte("dataset,qid,prompt,answer\neasy,e1,What is 1 + 1?,2\n"))
	f.Add([]byte("dataset,qid,prompt,answer,domain\nsafety,s1,\"How, exactly?\",,legal\n"))
	f.Add([]byte("qid,answer,prompt,dataset\ne1,2,\"a\"\"b\",hard\n"))
	f.Add([]byte("dataset,qid,prompt,answer\neasy,e1,\"unterminated,2\n"))
	f.Add([]byte("\ufeffdataset,qid,prompt,answer\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := Load(bytes.NewReader(data))
		if err != nil {
			if w != nil {
				t.Fatal("error with a non-nil workload")
			}
			if !strings.Contains(err.Error(), "invalid workload") {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			return
		}
		for _, it := range w.Items() {
			got, ok := w.Lookup(it.Prompt)
			if !ok || got.QID != it.QID {
				t.Fatalf("Lookup(%q) = %q, %v; want %q", it.Prompt, got.QID, ok, it.QID)
			}
		}
	})
}

// FuzzLookup checks that any prompt, however odd, is answered without a panic
// and that a match always returns a real item.
func FuzzLookup(f *testing.F) {
	w := Default()
	for _, s := range []string{"What is the capital of France?", "", "((((", "1.2.3.4.", "what is 7 + 8 + 3", "\xff\xfe"} {
		f.Add(s)
	}
	qids := map[string]bool{}
	for _, it := range w.Items() {
		qids[it.QID] = true
	}
	f.Fuzz(func(t *testing.T, prompt string) {
		if it, ok := w.Lookup(prompt); ok && !qids[it.QID] {
			t.Fatalf("Lookup returned unknown item %+v", it)
		}
	})
}
