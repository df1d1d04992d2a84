// Package cmssync carries capability-record pulls over
// /swarmllm/cms-sync/1.0.0 for the capability store, which opens no streams
// of its own: Service.Pull is the store's cms.Puller (the asking side) and
// Service.Serve answers peers' pulls from a Source, the store's Missing (the
// serving side).
//
// It owns the streams of that protocol and nothing else: it does not verify
// or cache records (the store opens each pulled envelope), decide whom to
// pull from or when (cms's syncer does), or judge which records an asker
// lacks (Source.Missing does).
//
// Bounds. A pull takes at most its context's deadline and never more than
// DefaultPullTimeout (WithPullTimeout); it reads at most the records it asked
// for and resets a peer that sends more. A serve takes at most
// DefaultServeTimeout (WithServeTimeout) from the stream's opening, whatever
// the asker does. Hostile askers are held off by serving one pull per peer
// at a time and DefaultMaxServes pulls in all (WithMaxServes): a stream past
// either is reset at once, before anything is read, and counted as refused.
// The node's resource manager also caps the protocol's streams per peer
// (node/p2p).
//
// Close removes the handler, resets the streams of serves and pulls under
// way and waits for them.
package cmssync
