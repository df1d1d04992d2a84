// Package spend carries the swarm-wide cloud budget over gossipsub: it
// gossips this node's claim on the swarm's cloud caps (protocol.BudgetClaim
// on /swarmllm/v1/budget) — on every change, coalesced, and as a heartbeat —
// and hands the claims it hears to the node's router.SwarmBudget, which
// decides alone whether a cloud call fits this node's share (the design and
// why it is shares and not a quorum are in router.SwarmBudget's doc).
//
// Claims are signed by their author's libp2p key (StrictSign) and the topic
// validator rejects malformed or oversized ones and ignores (drops without
// penalty) newer-version ones and claims from far off clocks; the budget
// drops stale ones and counts any claim for at most its owner's share. Close says goodbye, so the others
// take back this node's share at once, not after the member TTL.
//
// It makes no decision of its own and reads the clock only to pass it in.
package spend
