package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
)

// The typed helpers below pair each frame with its cap and validation, so a
// handler cannot forget either.

// WriteAskRequest validates req and writes it as one frame.
func WriteAskRequest(w io.Writer, req *AskRequest) error {
	return writeChecked(w, req, MaxAskRequestBytes, "ask request")
}

// ReadAskRequest reads one frame of at most MaxAskRequestBytes and validates it.
func ReadAskRequest(r io.Reader) (*AskRequest, error) {
	return readChecked(r, new(AskRequest), MaxAskRequestBytes, "ask request")
}

// WriteAskResponse validates resp and writes it as one frame.
func WriteAskResponse(w io.Writer, resp *AskResponse) error {
	return writeChecked(w, resp, MaxAskResponseBytes, "ask response")
}

// ReadAskResponse reads one frame of at most MaxAskResponseBytes and validates
// it. The caller still checks that its query id is the one it asked.
func ReadAskResponse(r io.Reader) (*AskResponse, error) {
	return readChecked(r, new(AskResponse), MaxAskResponseBytes, "ask response")
}

// QueryDigest is the SHA-256 that RoundOpen.query_digest carries: each
// message's role and content, each preceded by its length as a uvarint, so
// no two different prompts hash the same bytes. A participant computes it
// over the AskRequest it served and compares before voting.
func QueryDigest(messages []*ChatMessage) []byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, m := range messages {
		for _, s := range []string{m.GetRole(), m.GetContent()} {
			h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
			io.WriteString(h, s)
		}
	}
	return h.Sum(nil)
}
