package protocol

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// The typed helpers below pair each frame with its cap and validation, so a
// handler cannot forget either.

// WriteAskRequest validates req and writes it as one frame.
func WriteAskRequest(w io.Writer, req *AskRequest) error {
	if err := req.Validate(); err != nil {
		return fmt.Errorf("write ask request: %w", err)
	}
	if err := WriteMsg(w, req, MaxAskRequestBytes); err != nil {
		return fmt.Errorf("write ask request: %w", err)
	}
	return nil
}

// ReadAskRequest reads one frame of at most MaxAskRequestBytes and validates it.
func ReadAskRequest(r io.Reader) (*AskRequest, error) {
	req := new(AskRequest)
	if err := ReadMsg(r, req, MaxAskRequestBytes); err != nil {
		return nil, fmt.Errorf("read ask request: %w", err)
	}
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("read ask request: %w", err)
	}
	return req, nil
}

// WriteAskResponse validates resp and writes it as one frame.
func WriteAskResponse(w io.Writer, resp *AskResponse) error {
	if err := resp.Validate(); err != nil {
		return fmt.Errorf("write ask response: %w", err)
	}
	if err := WriteMsg(w, resp, MaxAskResponseBytes); err != nil {
		return fmt.Errorf("write ask response: %w", err)
	}
	return nil
}

// ReadAskResponse reads one frame of at most MaxAskResponseBytes and validates
// it. The caller still checks that its query id is the one it asked.
func ReadAskResponse(r io.Reader) (*AskResponse, error) {
	resp := new(AskResponse)
	if err := ReadMsg(r, resp, MaxAskResponseBytes); err != nil {
		return nil, fmt.Errorf("read ask response: %w", err)
	}
	if err := resp.Validate(); err != nil {
		return nil, fmt.Errorf("read ask response: %w", err)
	}
	return resp, nil
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
