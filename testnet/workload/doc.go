// Package workload owns the evaluation workload: a CSV of easy, hard and
// safety queries with short reference answers (the SWARM-LLM schema
// dataset,qid,prompt,answer plus an optional domain column), the copy shipped
// with the binary, and the lookup that finds the workload item behind a
// prompt that may arrive rephrased or wrapped in other text.
//
// It is test and evaluation tooling: production packages (node, cms, router,
// slm, protocol) must not import it. It must not score answers or route
// queries; the simulator and the eval harness do that with what it returns.
package workload
