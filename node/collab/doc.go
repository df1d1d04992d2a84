// Package collab owns parallel collaboration between swarmllm peers: asking
// peers' SLMs over /swarmllm/ask/1.0.0 (both sides) and running vote rounds
// on the gossipsub round topics /swarmllm/v1/rounds/<count>/<home> (the
// origin's side, the participants' side and the topic validator every node
// runs).
//
// It must not call models (the node's Answerer does, with logprobs), decide
// routes, or make a decision of the vote: router.ChooseBallot (the ballot),
// router.BallotWeight (what a ballot counts), router.Decided (the early stop)
// and router.Tally make them; this package carries them over the wire.
//
// Serving asks, it admits each peer (member or stranger alike) against a
// budget of the model's time (WithAskBudget: by default half of it, after
// 30 s burst) and a cap on asks answered at once (WithMaxConcurrent);
// either refuses with BUSY at once, so a flooding peer cannot take the model.
//
// Liveness: Ask sets want_ack, and a peer that admits the ask sends an ack
// frame before it starts the model, then its answer. A peer that neither
// acks nor answers within the ack timeout (WithAckTimeout, 3 s) — frozen, or
// behind a connection that died silently — is dropped with ErrNoAck instead
// of holding the round until the ask's deadline. Peers of older builds never
// ack; they count as live when they answer within the ack timeout. A peer
// that failed an ask is excluded by its router.Breaker (WithPeerBreakers):
// Ask refuses it at once with ErrPeerExcluded and discovery leaves it out
// (Excluded) until its cooldown ends; then one ask probes it, and an answer
// or a refusal makes it healthy again.
//
// # One round
//
//	props := c.AskAll(ctx, peers, req)      // req.RoundId set, one deadline for all
//	res, err := c.RunRound(ctx, RoundSpec{Request: req, Local: mine, Proposals: props, Deadline: d})
//
// RunRound publishes a RoundOpen whose participants are this node and every
// peer whose ask came back OK, with their proposals (this node's own first);
// it casts this node's ballot and collects the others until every
// participant voted, the deadline passed, or the outcome is decided (see
// RoundEnd). Each participant, on seeing an open that names it, checks that
// the open's origin is the peer it answered for that round and that the
// query digest matches the prompt it answered, chooses with
// router.ChooseBallot against the answer it gave, and publishes one Ballot.
// The voter is the pubsub author (StrictSign), so a ballot carries no
// signature of its own. The origin weighs each ballot with
// router.BallotWeight: the confidence it carries × the voter's
// router.TrackRecord weight, as this node sees it.
//
// # Round topics
//
// A round is not swarm-wide work. Each node listens on a home topic at each
// of two counts of round topics, and an origin publishes a round's open on
// its participants' home topics at one count; each participant publishes
// its ballot on the origin's home topic at the count the open came at, and
// the origin collects there. router.RoundTopics decides: the count follows
// the swarm's size (WithSwarmSize: the records the node holds) so a topic
// holds about eight nodes, and a node's home is a hash of its peer id
// (router.Home); the two counts are those either side of the node's
// estimate, so origins whose view of the swarm differs a little still find
// it, and a node moving its topics as the swarm changes subscribes to the
// new ones before it leaves the old. A round's messages are then validated
// by its participants and their topic mates: at most 7 × 8 (within √2 as
// the count rounds) for four participants at any swarm size, where one
// swarm-wide topic cost 4 × N.
// Home topics stay subscribed (their meshes warm); topics only published to
// are joined for pubsub's fanout, and flood publish sends to every
// subscriber the publisher is connected to (the participants: it asked
// them, or they answered it), so no round waits for a mesh to form.
// Ballots are signed by their authors and checked against the open exactly
// as on one topic: the origin's trace and audit keep every ballot.
//
// # Topic validator
//
// Every node validates every round message it receives or relays, in order:
// DecodeRound (malformed → Reject); CheckDeadline on the round's deadline
// (too far ahead → Reject; past → Ignore, since an honest relay may simply
// have been slow); opens: origin must be the pubsub author (Reject), and
// an origin opens a round id once (another open Ignore — except this
// node's own identical copies, one per participant's home topic); ballots:
// the round must be known (Ignore otherwise — gossip does not order
// messages, so a ballot may overtake its open on an honest path, and
// penalising the relay would punish honesty; the origin is connected to
// every participant and gets ballots straight from the voter under flood
// publish, so nothing it needs is lost), the author must be a participant
// and the choice must be in range (Reject), and a second accepted ballot
// from the same voter in the same round is Reject (pubsub already drops
// byte-identical copies, so a second one is a second vote; pubsub validates
// concurrently, so of two ballots sent back to back either may be the one
// that counts — an honest voter sends one). An unsigned or
// wrongly signed message never reaches the validator: StrictSign drops it.
//
// Round ids travel in asks, so a participant could front-run the origin
// with an open of its own under the same id. The validator therefore keeps
// up to maxOriginsPerRound opens per round id (one per origin) instead of
// refusing the real one; participants vote only on the open whose origin
// asked them, and the origin counts only its own participants.
//
// # Ownership
//
// One goroutine per home topic reads its subscription and routes each
// delivered message:
// a ballot to the waiting RunRound by round id (Collab.mu guards that map;
// the channel is sized so the reader never blocks), an open naming this
// node to a short voting goroutine. The validator's round book and the cache
// of answers given hold their own mutexes. Close stops the handler, the
// reader and every voter, waits for in-flight Ask, AskAll and RunRound
// calls (which return promptly with ErrClosed), and leaves the topics.
package collab
