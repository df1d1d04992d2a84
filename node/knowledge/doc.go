// Package knowledge owns a node's document index for knowledge cooperation
// (--knowledge DIR): it reads the plain-text, Markdown and PDF files under
// the directory, splits them into passages, embeds each with the node's
// embedding model (cms.Embedder: an Ollama model or the lexical fallback),
// keeps the index in the node's data directory so a restart re-embeds only
// what changed, polls the files and refreshes the index when they change, and
// retrieves the passages nearest a question.
//
// What leaves the device is only what Summary returns: per collection a few
// descriptive terms and the mean of its passage vectors, for the capability
// record. Passages go only into this node's own model's prompt (Prompt);
// peers get the answer and the names of the documents it cites.
//
// The index makes no routing decision: router decides whether a query
// matches a collection and whether a grounded answer stands.
package knowledge
