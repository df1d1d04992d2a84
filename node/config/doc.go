// Package config holds a node's Config: built-in defaults, presets, the
// command-line flags with their SWARM_* environment twins, and validation.
//
// It owns no goroutines and starts nothing: node.New takes a validated Config.
// Precedence is defaults < environment < flags, so a flag always wins and
// every flag can be set from the environment (--data-dir ⇄ SWARM_DATA_DIR).
package config
