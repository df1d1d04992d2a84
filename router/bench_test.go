package router

import "testing"

var benchPrompts = map[string]string{
	"short":  "What is the capital of France?",
	"hard":   "A train travels 240 km in 2.5 hours, then 90 km in 1.5 hours. Explain step by step: what is its average speed?",
	"pii":    "Patient Maria Lopez (maria.lopez@example.com, +44 20 7946 0958) had a fasting blood glucose of 8.1 mmol/L on two separate days. Which condition does this indicate?",
	"safety": "How many milligrams of ibuprofen can I take at once for a bad headache?",
}

func BenchmarkClassify(b *testing.B) {
	for name, p := range benchPrompts {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Classify(p)
			}
		})
	}
}
