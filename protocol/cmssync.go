package protocol

import (
	"io"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The capability-record sync stream (CMSSyncProtocol). The asker writes one
// CMSSyncRequest naming the records it holds; the server writes one
// CMSSyncRecord frame per record the asker lacks, at most the request's
// max_records, and closes its side. The envelopes are the owners' signed
// bytes: the asker verifies each (cms.Open) as it would a gossip message.

// WriteCMSSyncRequest validates req and writes it as one frame.
func WriteCMSSyncRequest(w io.Writer, req *CMSSyncRequest) error {
	return writeChecked(w, req, MaxCMSSyncRequestBytes, "cms sync request")
}

// ReadCMSSyncRequest reads one frame of at most MaxCMSSyncRequestBytes and
// validates it.
func ReadCMSSyncRequest(r io.Reader) (*CMSSyncRequest, error) {
	return readChecked(r, new(CMSSyncRequest), MaxCMSSyncRequestBytes, "cms sync request")
}

// WriteCMSSyncRecord writes one record envelope as a frame.
func WriteCMSSyncRecord(w io.Writer, envelope []byte) error {
	return writeChecked(w, &CMSSyncRecord{Envelope: envelope}, MaxCMSSyncRecordBytes, "cms sync record")
}

// ReadCMSSyncRecord reads one record frame of at most MaxCMSSyncRecordBytes
// and returns its envelope (unverified). A clean end of stream matches io.EOF:
// the server has sent everything.
func ReadCMSSyncRecord(r io.Reader) ([]byte, error) {
	rec, err := readChecked(r, new(CMSSyncRecord), MaxCMSSyncRecordBytes, "cms sync record")
	return rec.GetEnvelope(), err
}

// Validate checks the caps of a sync request: at most MaxSyncRecords held
// records, each a decodable peer id, and max_records within 1..MaxSyncRecords.
func (r *CMSSyncRequest) Validate() error {
	if n := r.GetMaxRecords(); n == 0 || n > MaxSyncRecords {
		return malformed("max_records %d outside 1..%d", n, MaxSyncRecords)
	}
	if len(r.GetHeld()) > MaxSyncRecords {
		return malformed("%d held records, over %d", len(r.GetHeld()), MaxSyncRecords)
	}
	for i, h := range r.GetHeld() {
		if _, err := peer.IDFromBytes(h.GetPeer()); err != nil {
			return malformed("held[%d].peer is not a peer id: %v", i, err)
		}
	}
	return nil
}

// Validate checks that a sync record carries an envelope.
func (r *CMSSyncRecord) Validate() error {
	if len(r.GetEnvelope()) == 0 {
		return malformed("record envelope is empty")
	}
	return nil
}
