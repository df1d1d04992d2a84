// Package gguf writes tiny, random llama-architecture models as GGUF v3 files,
// so tests can run a real Ollama without downloading any model.
//
// It owns the file layout (header, metadata, tensor infos, alignment, f32/f16
// data), a unique word-level SentencePiece vocabulary, and the weight recipe:
// the output sharpness scales the output projection, hence how peaked the
// next-token distribution is (confident or unsure), and a bag-of-words
// subspace makes Ollama's /api/embed vectors closer for texts sharing words.
//
// It must not start processes or talk to Ollama (see testnet/internal/realollama), and
// production code must not import it.
package gguf
