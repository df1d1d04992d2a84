package cms

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/multiformats/go-multihash"
	"google.golang.org/protobuf/proto"

	"github.com/swarmllm/swarmllm/cms/cmspb"
	"github.com/swarmllm/swarmllm/protocol"
)

// Record is a capability record whose signature, owner and fields were
// verified by Open. It is immutable: the cache hands the same *Record to
// every caller, so nobody may modify it or its Fields.
type Record struct {
	// Peer is the record's owner and signer.
	Peer peer.ID
	// Fields are the decoded record fields.
	Fields *cmspb.CapabilityRecord
	// Issued and Expires are Fields' timestamps as times.
	Issued, Expires time.Time
	// Received is when this node verified the record (for cached records:
	// when it first accepted this sequence number).
	Received time.Time
	// Raw is the signed envelope exactly as published.
	Raw []byte
}

// Seq is the record's sequence number.
func (r *Record) Seq() uint64 { return r.Fields.GetSeq() }

// Expired reports whether the record is no longer valid at now.
func (r *Record) Expired(now time.Time) bool { return !now.Before(r.Expires) }

// HasDomain reports whether the record declares the domain (normalized).
func (r *Record) HasDomain(domain string) bool {
	d := NormalizeDomain(domain)
	for _, have := range r.Fields.GetDomains() {
		if have == d {
			return true
		}
	}
	return false
}

// Key is the DHT key of p's capability record: /swarmcap/<peer-id>.
func Key(p peer.ID) string {
	return "/" + protocol.CapabilityNamespace + "/" + p.String()
}

// ParseKey returns the peer a DHT key names.
func ParseKey(key string) (peer.ID, error) {
	rest, ok := strings.CutPrefix(key, "/"+protocol.CapabilityNamespace+"/")
	if !ok {
		return "", fmt.Errorf("parse key %q: %w", key, ErrBadKey)
	}
	p, err := peer.Decode(rest)
	if err != nil {
		return "", fmt.Errorf("parse key %q: %w: %w", key, ErrBadKey, err)
	}
	return p, nil
}

// NormalizeDomain is the canonical form of a domain name: trimmed and
// lower-case. Records carry only normalized domains.
func NormalizeDomain(d string) string { return strings.ToLower(strings.TrimSpace(d)) }

// DomainCID is the provider-record key of a domain: a raw CIDv1 of
// sha2-256("swarmllm-domain:" + normalized name). Every node derives the same
// CID, so "who does medicine" is one FindProviders away.
func DomainCID(domain string) (cid.Cid, error) {
	d := NormalizeDomain(domain)
	if d == "" || len(d) > MaxNameBytes {
		return cid.Undef, fmt.Errorf("domain cid %q: %w", domain, ErrInvalidField)
	}
	mh, err := multihash.Sum([]byte(domainCIDPrefix+d), multihash.SHA2_256, -1)
	if err != nil {
		return cid.Undef, fmt.Errorf("domain cid %q: %w", domain, err)
	}
	return cid.NewCidV1(cid.Raw, mh), nil
}

// payload adapts a CapabilityRecord to libp2p's record.Record so it can be
// sealed in, and opened from, a signed envelope.
type payload struct{ rec *cmspb.CapabilityRecord }

func (*payload) Domain() string { return envelopeDomain }
func (*payload) Codec() []byte  { return []byte(payloadType) }

func (p *payload) MarshalRecord() ([]byte, error) {
	// Deterministic so equal records have equal bytes (Select compares bytes).
	return proto.MarshalOptions{Deterministic: true}.Marshal(p.rec)
}

func (p *payload) UnmarshalRecord(b []byte) error {
	p.rec = &cmspb.CapabilityRecord{}
	return proto.Unmarshal(b, p.rec)
}

// Seal signs fields with priv inside a libp2p signed envelope and returns the
// envelope's bytes. fields must already name priv's peer and pass the
// structural checks Open applies, so a node never publishes what its peers
// would refuse.
func Seal(priv crypto.PrivKey, fields *cmspb.CapabilityRecord) ([]byte, error) {
	signer, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("seal capability record: %w", err)
	}
	if err := checkFields(fields); err != nil {
		return nil, fmt.Errorf("seal capability record: %w", err)
	}
	if owner, _ := peer.IDFromBytes(fields.GetPeerId()); owner != signer {
		return nil, fmt.Errorf("seal capability record of %s with key of %s: %w", owner, signer, ErrWrongOwner)
	}
	env, err := record.Seal(&payload{rec: fields}, priv)
	if err != nil {
		return nil, fmt.Errorf("seal capability record: %w", err)
	}
	raw, err := env.Marshal()
	if err != nil {
		return nil, fmt.Errorf("marshal capability envelope: %w", err)
	}
	if len(raw) > MaxRecordBytes {
		return nil, fmt.Errorf("seal capability record: %d bytes > %d: %w", len(raw), MaxRecordBytes, ErrTooLarge)
	}
	return raw, nil
}

// Open verifies a signed capability record at time now: size cap, envelope
// signature and payload type, that the signer owns the record, the schema
// version, every field's cap, and that it is not expired (nor claims an
// expiry further ahead than MaxTTL+MaxClockSkew). Errors wrap one of the
// package's validation sentinels; Open never panics on any input.
func Open(data []byte, now time.Time) (*Record, error) {
	if len(data) > MaxRecordBytes {
		return nil, fmt.Errorf("open capability record: %d bytes > %d: %w", len(data), MaxRecordBytes, ErrTooLarge)
	}
	p := &payload{}
	env, err := record.ConsumeTypedEnvelope(data, p)
	if err != nil {
		return nil, fmt.Errorf("open capability record: %w: %w", ErrMalformed, err)
	}
	if !bytes.Equal(env.PayloadType, []byte(payloadType)) {
		return nil, fmt.Errorf("open capability record: payload type %q: %w", env.PayloadType, ErrMalformed)
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("open capability record: signer: %w: %w", ErrMalformed, err)
	}
	f := p.rec
	if err := checkFields(f); err != nil {
		return nil, fmt.Errorf("open capability record signed by %s: %w", signer, err)
	}
	owner, _ := peer.IDFromBytes(f.GetPeerId()) // checkFields parsed it
	if owner != signer {
		return nil, fmt.Errorf("open capability record of %s signed by %s: %w", owner, signer, ErrWrongOwner)
	}
	r := &Record{
		Peer:     owner,
		Fields:   f,
		Issued:   time.UnixMilli(f.GetIssuedUnixMs()),
		Expires:  time.UnixMilli(f.GetExpiresUnixMs()),
		Received: now,
		Raw:      data,
	}
	if r.Expired(now) {
		return nil, fmt.Errorf("open capability record of %s: expired %s ago: %w", owner, now.Sub(r.Expires), ErrExpired)
	}
	if r.Expires.After(now.Add(MaxTTL + MaxClockSkew)) {
		return nil, fmt.Errorf("open capability record of %s: expiry %s too far ahead: %w", owner, r.Expires, ErrInvalidField)
	}
	return r, nil
}

// checkFields applies the structural checks that need no clock.
func checkFields(f *cmspb.CapabilityRecord) error {
	if f == nil {
		return fmt.Errorf("nil record: %w", ErrInvalidField)
	}
	if v := f.GetSchemaVersion(); v != SchemaVersion {
		return fmt.Errorf("version %d, want %d: %w", v, SchemaVersion, ErrSchemaVersion)
	}
	if _, err := peer.IDFromBytes(f.GetPeerId()); err != nil {
		return fmt.Errorf("peer id: %w: %w", ErrInvalidField, err)
	}
	if f.GetExpiresUnixMs() <= f.GetIssuedUnixMs() {
		return fmt.Errorf("expires %d not after issued %d: %w", f.GetExpiresUnixMs(), f.GetIssuedUnixMs(), ErrInvalidField)
	}
	if len(f.GetAddrs()) > MaxListLen {
		return fieldErr("addrs", len(f.GetAddrs()), MaxListLen)
	}
	for _, a := range f.GetAddrs() {
		if len(a) > MaxAddrBytes {
			return fieldErr("addr", len(a), MaxAddrBytes)
		}
		if _, err := ma.NewMultiaddrBytes(a); err != nil {
			return fmt.Errorf("addr: %w: %w", ErrInvalidField, err)
		}
	}
	if err := checkNames("capability", f.GetCapabilities()); err != nil {
		return err
	}
	if err := checkNames("domain", f.GetDomains()); err != nil {
		return err
	}
	for _, d := range f.GetDomains() {
		if d == "" || NormalizeDomain(d) != d {
			return fmt.Errorf("domain %q not normalized: %w", d, ErrInvalidField)
		}
	}
	if n := len(f.GetDescription()); n > MaxDescriptionBytes {
		return fieldErr("description", n, MaxDescriptionBytes)
	}
	if m := f.GetModel(); m != nil {
		if err := checkNames("model", []string{m.GetName(), m.GetFamily(), m.GetParameterSize(), m.GetQuantization()}); err != nil {
			return err
		}
	}
	if e := f.GetDescriptionEmbedding(); e != nil {
		if err := checkEmbedding(e); err != nil {
			return err
		}
	}
	vectors := 0
	for _, src := range [][]*cmspb.Source{f.GetKnowledgeSources(), f.GetDataSources()} {
		if len(src) > MaxListLen {
			return fieldErr("sources", len(src), MaxListLen)
		}
		for _, s := range src {
			if err := checkNames("source", []string{s.GetName(), s.GetKind()}); err != nil {
				return err
			}
			if n := len(s.GetDescription()); n > MaxDescriptionBytes {
				return fieldErr("source description", n, MaxDescriptionBytes)
			}
			if err := checkNames("source term", s.GetTerms()); err != nil {
				return err
			}
			if e := s.GetEmbedding(); e != nil {
				if vectors++; vectors > MaxKnowledgeVectors {
					return fieldErr("source embeddings", vectors, MaxKnowledgeVectors)
				}
				if e.GetDim() > MaxKnowledgeDim {
					return fieldErr("source embedding dim", int(e.GetDim()), MaxKnowledgeDim)
				}
				if err := checkEmbedding(e); err != nil {
					return err
				}
			}
		}
	}
	if p := f.GetPerformance(); p != nil {
		for _, v := range []float32{p.GetTokensPerSecond(), p.GetLatencyMs()} {
			if !finiteNonNegative(v) {
				return fmt.Errorf("performance %v: %w", v, ErrInvalidField)
			}
		}
	}
	if n := len(f.GetSoftwareVersion()); n > MaxNameBytes {
		return fieldErr("software version", n, MaxNameBytes)
	}
	return nil
}

func checkEmbedding(e *cmspb.Embedding) error {
	if e.GetModel() == "" || len(e.GetModel()) > MaxNameBytes {
		return fmt.Errorf("embedding model %q: %w", e.GetModel(), ErrInvalidField)
	}
	if d := e.GetDim(); d == 0 || d > MaxEmbeddingDim || int(d) != len(e.GetVector()) {
		return fmt.Errorf("embedding dim %d with %d values (max %d): %w", d, len(e.GetVector()), MaxEmbeddingDim, ErrInvalidField)
	}
	for _, v := range e.GetVector() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("embedding value %v: %w", v, ErrInvalidField)
		}
	}
	return nil
}

func checkNames(what string, names []string) error {
	if len(names) > MaxListLen {
		return fieldErr(what+"s", len(names), MaxListLen)
	}
	for _, n := range names {
		if len(n) > MaxNameBytes {
			return fieldErr(what, len(n), MaxNameBytes)
		}
	}
	return nil
}

func fieldErr(what string, n, limit int) error {
	return fmt.Errorf("%s: %d > %d: %w", what, n, limit, ErrInvalidField)
}

func finiteNonNegative(v float32) bool {
	return v >= 0 && !math.IsInf(float64(v), 1) // NaN fails v >= 0
}
