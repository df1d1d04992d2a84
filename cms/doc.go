// Package cms is the Capability Metadata Store: the signed record each node
// publishes about its model (cmspb.CapabilityRecord), the DHT and gossip
// validators that refuse forged, tampered, expired, oversized or garbage
// records, the Store that publishes this node's record (a DHT value under
// /swarmcap/<peer-id>, DHT provider records per declared domain, and
// announcements on the /swarmllm/v1/cms gossip topic) and caches everyone
// else's (and pulls the records it lacks from the peers it meets, sync.go),
// and semantic discovery: ranking peers for a query by embedding
// similarity combined with health, load and calibration (Ranker). RecordView
// is a record as GET /swarm/v1/cms serves it; node/api serves it unchanged.
//
// The Store runs one goroutine per job (cache, publish, DHT writer, DHT
// fetcher, gossip receiver, topic events, syncer, and a few that meet
// strangers or pull records); each piece of state has one owning goroutine
// and the others reach it through channels (see Store).
//
// A record is a claim, not trust: the cache is capped in all and per source
// (a record's source is its owner once the owner has connected, else the
// relay that delivered it), records of peers that never connect go after a
// short grace (the store dials their owners within it: one that answers and
// identifies itself has been met, meet.go), and records live minutes (MaxTTL), refreshed every TTL/3. What
// the cache refuses the gossip validator ignores, so it is not relayed.
//
// Wiring (the node does this):
//
//	kad, _ := dht.New(h, dht.Mode(dht.ModeServer),
//		dht.ProtocolPrefix(protocol.DHTProtocolPrefix),
//		dht.NamespacedValidator(protocol.CapabilityNamespace, cms.Validator{}))
//	ps, _ := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true))
//	topic, _ := ps.Join(protocol.TopicCMS)
//	store, _ := cms.New(h, kad, topic, self, cms.WithEmbedder(e), cms.WithPuller(syncClient))
//	_ = ps.RegisterTopicValidator(protocol.TopicCMS, store.GossipValidator())
//	defer store.Close()
//
// cms must not open streams or call models: it reaches other peers only
// through the Routing, Topic and Puller it is given (the node serves
// protocol.CMSSyncProtocol from Missing and pulls over it), and the host's
// dial of a stranger's owner (bounded, meet.go), and embeds text only through the
// Embedder it is given (the node adapts Ollama /api/embed; LexicalEmbedder is
// the built-in fallback).
package cms
