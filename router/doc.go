// Package router owns the pure decision of swarmllm: for one query, whether
// the local SLM's answer stands, the swarm collaborates (a vote, or a chain
// for multi-step tasks), or the cloud FM is summoned — and why. It holds the
// Classifier Engine, personal-data redaction, uncertainty estimates, the
// ballot and the tally, peers' track records (TrackRecord: per peer and
// domain, from outcomes the node could check (Judge), with a prior by
// kind of swarm and an encoding for --data-dir), confidence calibration per
// model and domain from the same outcomes (Calibration, JudgeLocal, ECE), the cloud
// budget, and the Trace every answer carries.
//
// It must not do I/O, import libp2p or net/http, start goroutines or read
// the clock: the node passes time in and wires the results to the network.
// Everything here is a function of its arguments except TrackRecord
// and Budget, which hold their own mutex and are safe for
// concurrent use;
// Classifier is immutable once built.
//
// # One query
//
//	cls := clf.Classify(prompt)                       // + cls.AddDomains(from the CMS ranking)
//	d := DecideBeforeLocal(Features{Class: cls, Cloud: state}, rules)
//	// local answer with logprobs → u := Estimate(tokens, rules.Thresholds.Weights)
//	// discovery only when rules.Policy.AsksPeers()
//	d = DecideAfterLocal(Features{Class: cls, Cloud: state, Confidence: u.Confidence, Peers: k}, rules)
//	// RouteSwarm + CollabChain: a peer refines the draft, then
//	d = DecideAfterChain(Features{…, Refined: &answer}, rules) // it stands, or CollabVote
//	// RouteSwarm + CollabVote: ask the peers, then
//	d = DecideRound(Features{…, Answered: n}, rules) // CollabNone: no peer answered, no round
//	// each participant runs ChooseBallot; the origin weighs each ballot with
//	// BallotWeight(claimed, TrackRecord.Standing), may stop early once Decided, and then
//	// tallies them fitted to the query's domains (TallyParams.Fit = Thresholds.DomainFit)
//	t := Tally(proposals, ballots, rules.Thresholds.TallyParams(participants))
//	d = DecideAfterVote(Features{…, Tally: &t}, rules)
//	// RouteCloud: r, err := budget.Reserve(now, key, EstimateCloudTokens(…)); send the turns of
//	// clf.Protect(conversation, hints).For(rules.Privacy); then r.Settle(now, tokens), or r.Release() if the call failed
//
// A request's own policy runs only under the operator's: UnderCeiling(--policy,
// requested) orders policies by the routes they allow (ceiling.go).
//
// The cloud state comes from configuration, health and Budget.Allow (the
// share, absolute caps per hour and day, and the caller's key quota). If a
// cloud call then fails, decide again with Cloud: CloudDown: the same
// function then picks the best swarm or local answer and flags it.
//
// # Decision table (policy swarm; the others are baselines)
//
//   - before local: a safety category in Rules.SendUp → cloud, if the cloud
//     can take it; otherwise the local model answers first.
//   - after local: confident (Confidence ≥ Bar(difficulty)) and no safety
//     category → local. Otherwise, with peers → swarm (a chain when the prompt
//     is multi-step, a vote otherwise); without peers → cloud; without cloud
//     → the local answer, flagged best-effort (or no-answer if it failed).
//   - after a chain: the refined answer stands; a refiner that failed hands
//     the query to a vote.
//   - before the vote: no peer answered → no round (flag no-peers), and the
//     decision after the vote treats the missing tally as a missed quorum.
//   - after the vote: consensus → swarm; split, quorum missed or an
//     escalation majority → cloud; cloud not usable → the leading proposal,
//     flagged best-effort, else the local answer.
//
// The cloud is usable when it is configured, up, within budget and, for a
// prompt with personal data, the privacy policy is redact (flag "redact":
// the node sends the conversation redacted, Protected.For) or allow; block keeps it in the swarm
// (flag "pii-blocked"). local-only never leaves the device; cloud-only goes
// to the cloud whenever it is usable; always-swarm opens a round even when
// confident; cascade is local, then cloud, never peers.
//
// # Confidence
//
// From the local answer's tokens (Estimate), with logprobs floored at -30:
//
//	pMean = exp(mean logprob)         geometric-mean token probability
//	pMin  = exp(min logprob)          the least likely token
//	H̄     = mean over tokens with ≥ 2 top alternatives of H/ln(k), where H is
//	        the entropy of the top-k logprobs renormalised to sum to one
//	Confidence = (wMean·pMean + wMin·pMin + wEnt·(1 − H̄)) / (wMean + wMin + wEnt)
//
// with weights 0.5, 0.2, 0.3 by default; the entropy term drops out (from
// numerator and denominator) when no token has alternatives. Uncertainty
// reports MeanEntropy in nats, unnormalised. Without logprobs,
// SelfConsistency over n sampled answers gives the share of the modal answer.
//
// # Default thresholds (Thresholds; configuration, checked by Validate)
//
//	Confident 0.80         local answer kept at or above Bar = Confident + DifficultyMargin·difficulty;
//	                       also the confidence a voter needs to vouch for an answer (BallotParams.Sure).
//	                       The evaluation's sweep (testnet/eval/results) chose it: the most accurate point
//	                       under a quarter of queries to the cloud
//	DifficultyMargin 0.10  so a prompt of difficulty 1 needs 0.90
//	OffDomainMargin 1      added when a peer declares the query's domain and this node does not:
//	                       such a query always goes to the peers (no cloud call)
//	OffDomainVote 0.35     a ballot's weight when the voter does not declare the query's domain and
//	                       another participant does (Thresholds.DomainFit)
//	Agreement 0.80         two answers are the same answer (ballots, tally groups)
//	Consensus 0.50         the leading group needs more than half of the weight cast
//	Quorum 0.50            more than half of the round's participants must have voted
//
// # Difficulty
//
// 0.25·min(words/60, 1) + 0.25·min((numbers + operators)/10, 1) +
// 0.25·min(reasoning cues/3, 1) + 0.15·[multi-step] + 0.10·min((extra
// question marks)/2 + (commas + semicolons)/6, 1), rounded to 3 decimals.
// Reasoning cues are words such as why, explain, prove, compare, estimate,
// "how many".
//
// # Agreement
//
// Agree(a, b) compares Normalize'd answers: if each holds exactly one number
// they agree (1) when equal within a relative 1e-4 (absolute 1e-9) and
// neither or both are negated, else 0; equal text scores 1; otherwise the
// larger of token F1 and containment (a short answer of at most 4 words
// found verbatim in the other, negated on neither or both sides, scores
// 0.85). Tally groups proposals whose agreement reaches Agreement, chaining
// (a~b, b~c ⇒ one group); an AgreeFunc may add embeddings through Cosine.
//
// # Safety and personal data
//
// Safety rules are ordered by severity (self-harm, violence, weapons, hate,
// illegal activity, medical dosing, legal); each may blank benign idioms
// ("kill the process", "shoot a photo") before matching. Each pattern is
// gated by literals derived from its syntax tree (a match must contain one of
// them), and personal-data patterns run only where a match can start, so a
// classification of a workload prompt takes some 30 µs of CPU with every personal-data detector (BenchmarkClassifyWorkload).
// Personal data (pii*.go), in English, French, German and Spanish forms:
// emails; phone numbers proposed by a pattern and accepted by libphonenumber's
// metadata (github.com/nyaruka/phonenumbers); dates of birth and dates in a
// personal context (a birth or personal-event cue in the sentence, or a
// possessive shortly before; years before 1900 are history); IBANs (country
// length and mod-97 check); card numbers that pass Luhn; street addresses and
// postcodes (UK shapes, US ZIP after a state, European codes before a town);
// US SSNs, UK NI numbers, French NIR and Spanish DNI/NIE (with their check
// keys), German social insurance numbers, ids and passports after a cue;
// public IP addresses (private, loopback, documentation and reserved ranges
// are how networking questions are written and are left alone); and names,
// after a cue (my colleague, je m'appelle, Frau, mi amiga…) or from a
// first-name lexicon, lower case too, with places ("San José", "Victoria
// Station") and well-known public figures left alone.
//
// Protect does this for a whole conversation (system message, earlier turns,
// the question) and merges hints (the node's own model's spans): each
// distinct entity gets one typed, numbered placeholder ([NAME_1]) everywhere,
// Protected.For applies redact, block or allow, Protected.Kinds is what a
// trace may show, and Restore puts the data back into an answer on the
// device. Redact repeats (at most 4 passes) until nothing is left, since removing one
// piece can expose another that overlapped it.
package router
