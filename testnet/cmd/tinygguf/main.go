// Command tinygguf writes a tiny random llama-architecture GGUF model, for
// running a real Ollama in tests without downloading anything:
//
//	tinygguf -o tiny.gguf -sharpness 8 -blocks 2 -embd 64 -vocab 512 -seed 1 -modelfile
//	OLLAMA_HOST=127.0.0.1:11435 ollama create tiny-sharp -f Modelfile
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/swarmllm/swarmllm/testnet/internal/gguf"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "tinygguf:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tinygguf", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out       = fs.String("o", "", "output GGUF path (required)")
		name      = fs.String("name", gguf.DefaultName, "general.name")
		vocab     = fs.Int("vocab", gguf.DefaultVocab, fmt.Sprintf("vocabulary size (>= %d)", gguf.MinVocab))
		embd      = fs.Int("embd", gguf.DefaultEmbed, "embedding length (multiple of 2*heads)")
		blocks    = fs.Int("blocks", gguf.DefaultBlocks, "transformer blocks")
		heads     = fs.Int("heads", gguf.DefaultHeads, "attention heads")
		kvHeads   = fs.Int("kv-heads", 0, "key/value heads (0 = heads)")
		ffn       = fs.Int("ffn", 0, "feed-forward length (0 = 4*embd)")
		ctxLen    = fs.Int("ctx", gguf.DefaultContext, "context length")
		seed      = fs.Uint64("seed", gguf.DefaultSeed, "seed for vocabulary order and weights")
		sharpness = fs.Float64("sharpness", gguf.DefaultSharpness, "logit spread: ~0.5 unsure, ~8 confident")
		f32       = fs.Bool("f32", false, "store weight matrices as f32 instead of f16")
		modelfile = fs.Bool("modelfile", false, "also write a Modelfile next to the output")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("need -o PATH and no positional arguments")
	}
	dtype := gguf.DefaultDType
	if *f32 {
		dtype = gguf.F32
	}
	m, err := gguf.New(
		gguf.WithName(*name), gguf.WithVocab(*vocab), gguf.WithEmbed(*embd),
		gguf.WithBlocks(*blocks), gguf.WithHeads(*heads, *kvHeads), gguf.WithFFN(*ffn),
		gguf.WithContext(*ctxLen), gguf.WithSeed(*seed), gguf.WithSharpness(*sharpness),
		gguf.WithDType(dtype),
	)
	if err != nil {
		return err
	}
	if err := m.WriteFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes, %d parameters, %s, sharpness %g)\n",
		*out, m.Size(), m.ParameterCount(), dtype, *sharpness)
	if *modelfile {
		mf := filepath.Join(filepath.Dir(*out), "Modelfile")
		if err := os.WriteFile(mf, []byte(gguf.Modelfile("./"+filepath.Base(*out))), 0o644); err != nil {
			return fmt.Errorf("write Modelfile: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", mf)
	}
	return nil
}
