package warm

import (
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-kad-dht"
	_ "github.com/libp2p/go-libp2p-pubsub"
	_ "github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	_ "github.com/multiformats/go-multiaddr"
	_ "github.com/ollama/ollama/api"
	_ "github.com/openai/openai-go"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "go.uber.org/goleak"
	_ "google.golang.org/protobuf/encoding/protodelim"
	_ "github.com/libp2p/go-libp2p/core/record"
)
