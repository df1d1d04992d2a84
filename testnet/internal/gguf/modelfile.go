package gguf

import (
	"fmt"
	"strings"
)

// ChatTemplate is the Ollama prompt template for these models: they have no
// chat format, so the system prompt and the prompt are simply joined.
const ChatTemplate = `{{ if .System }}{{ .System }} {{ end }}{{ .Prompt }}`

// DefaultNumPredict caps each answer: the output layer never lets the end
// token through, so generation stops only at this limit.
const DefaultNumPredict = 24

// NumThread is 1 because ggml's worker threads spin while they wait: on a
// busy two-core machine a tiny model ran ~30 tokens/s with the default
// threads and ~2,500 with one.
const NumThread = 1

// RepeatPenalty is 1 (off) because these models keep preferring the same
// word: Ollama's default penalty (1.1) then makes it pick a word the model
// itself finds unlikely, and the logprobs of the answer stop reflecting the
// sharpness (a sharpness-120 model's tokens fell to logprob -30).
const RepeatPenalty = 1.0

// Parameters are the Ollama model parameters to create these models with.
func Parameters() map[string]any {
	return map[string]any{"num_predict": DefaultNumPredict, "num_thread": NumThread, "repeat_penalty": RepeatPenalty}
}

// Modelfile returns an Ollama Modelfile for a GGUF file at from (a path
// relative to the Modelfile, e.g. "./tiny.gguf").
func Modelfile(from string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "FROM %s\n", from)
	fmt.Fprintf(&b, "TEMPLATE \"\"\"%s\"\"\"\n", ChatTemplate)
	fmt.Fprintf(&b, "PARAMETER num_predict %d\n", DefaultNumPredict)
	fmt.Fprintf(&b, "PARAMETER num_thread %d\n", NumThread)
	fmt.Fprintf(&b, "PARAMETER repeat_penalty %g\n", RepeatPenalty)
	return b.String()
}
