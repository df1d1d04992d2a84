// Package node wires one swarmllm node together: the libp2p host (TCP and
// QUIC, a persistent Ed25519 identity), peer discovery (mDNS and bootstrap),
// the kad-dht in server mode under the /swarmllm prefix, gossipsub, the
// capability store (with node/cmssync, which carries its record pulls over
// /swarmllm/cms-sync/1.0.0 both ways), collaboration (the /swarmllm/ask/1.0.0
// handler and vote rounds), the local model and the HTTP API, with one
// lifecycle: New, Run, Close. Node itself is only that composition root; the
// work is done by
//
//   - localModel: the Ollama backend, its health monitor and the load meter.
//     It answers this node's queries and peers' asks (collab.Answerer) and
//     describes the node for its capability record (cms.SelfSource). Its
//     monitor starts once the store exists, so every change reaches the record.
//   - pipeline: one query from classification to answer (local, a chain or a
//     vote among peers, the cloud FM), over four small interfaces defined
//     where it uses them (ownModel, peerFinder, swarmCaller, cloudFM), so its
//     tests run on fakes without a swarm. Its privacy layer (privacy.go)
//     applies router's protection to what leaves the device for the cloud FM
//     and for peers.
//   - finder: ranks the connected peers' records for a query (discovery),
//     and lists the peers serving a model by name (swarmmodels.go: every
//     model in the swarm can be named on every node; the pipeline asks a
//     peer serving it directly, in router.DecideNamedModel's order).
//   - documents (knowledge.go, with --knowledge): the node's document index
//     (node/knowledge) read by its own model. A query matching a collection
//     (router.MatchKnowledge: this node's own, or one a peer's record
//     advertises by terms and summary vector) is answered from its passages,
//     here or by the peer through a KNOWLEDGE ask; only the answer and the
//     names of the documents it cites travel.
//   - engine: the api.Engine the HTTP API serves; the pipeline answers, the
//     views read the model, the host and the store.
//
// At start the node locks --data-dir (one node per identity) and checks its
// fixed libp2p TCP ports are free, so a second node on either fails with an
// error that says so.
//
// Every routing decision is router's: the pipeline computes the features,
// calls router's Decide functions at each step (before and after the local
// answer, after a chain, before and after a vote, and again without the cloud
// FM when a call to it fails) and carries out what they return; it never
// makes a routing decision of its own. The node owns every goroutine and
// stream it starts and stops them in Close.
package node
