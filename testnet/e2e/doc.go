// Package e2e holds the end-to-end tests of the testnet and of the
// real-Ollama path; it has no code of its own outside tests.
//
//   - TestComposeConfig validates the compose files with every compose tool
//     installed, and checks the committed test identities match the
//     bootstrap addresses.
//   - TestComposeTestnet (SWARM_E2E_COMPOSE=1, run by scripts/e2e-compose.sh)
//     brings the docker-compose testnet up through scripts/testnet.sh, queries
//     every node on every route, kills a node mid-round, partitions one,
//     checks the CMS converges after healing, and tears everything down.
//   - TestRealOllamaSwarm runs three in-process nodes on three real `ollama
//     serve` processes with tiny GGUF models of different sharpness (skipped
//     when scripts/build-ollama.sh has not built Ollama).
//   - TestOfficialOllamaCLI drives the official ollama CLI (same build; skipped
//     without it) against a three-node simulated swarm: -v, list, ps, show,
//     run (one question, and an interactive session of three turns on a
//     pseudo-terminal), pull of a served model, pull and run of an unknown one.
//   - TestOpenAIGoClient drives the official openai-go client against each
//     node of a three-node swarm: models, chat, streaming, errors.
//   - TestTestnetScriptRefusesUnknownNode checks scripts/testnet.sh refuses a
//     node it does not have before doing anything.
//
// They talk only to loopback, to the testnet's own containers on its private
// networks, and to the Ollama processes they start. Production code never
// imports this package.
package e2e
