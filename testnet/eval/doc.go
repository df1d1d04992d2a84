// Package eval measures swarmllm the way the SWARM-LLM study does: a
// workload of easy, hard and safety queries run through a node's API under
// each routing policy, scored with the shared rule (workload.Correct), and
// summarised per class as accuracy, share of local/swarm/cloud answers,
// latency per route and tokens sent to the cloud. It sweeps the local
// confidence threshold to trace accuracy against cloud share (a cost–quality
// curve, written as SVG), says by how much one policy's curve dominates
// another's, and scores each curve as routing papers do (APGR, CPT). It also holds the scale run (a 50-node in-process swarm) and
// the load run (many queries in flight against one node).
//
// It owns the runner, the aggregation, the Markdown/CSV/SVG writers and the
// orchestration of in-process swarms (testnet/swarm) for reproducible runs.
// It must not hold routing logic or score answers any other way than
// workload.Correct, and production packages must not import it: it starts
// simulated backends.
package eval
