package protocol

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Stream framing: each message is its protobuf encoding preceded by its length
// as an unsigned varint (the protodelim format, as in gRPC-less libp2p
// protocols). The cap is checked against the prefix before the body is read.

// WriteMsg writes m to w as one length-prefixed frame in a single Write, and
// refuses (ErrTooLarge, nothing written) a message whose encoding exceeds max.
// m must not be modified while WriteMsg runs.
func WriteMsg(w io.Writer, m proto.Message, max int) error {
	if max <= 0 {
		return fmt.Errorf("write message: cap %d is not positive", max)
	}
	size := proto.Size(m)
	if size > max {
		return fmt.Errorf("write message of %d bytes (cap %d): %w", size, max, ErrTooLarge)
	}
	buf := make([]byte, 0, protowire.SizeVarint(uint64(size))+size)
	buf = protowire.AppendVarint(buf, uint64(size))
	buf, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, m)
	if err != nil {
		return fmt.Errorf("write message: encode: %w", err)
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

// ReadMsg reads one length-prefixed frame from r into m. A prefix over max is
// refused with ErrTooLarge before anything is allocated for the body. It
// reads exactly one frame and nothing past it, whatever r is, so the stream
// can carry further frames. A clean end of stream before the first byte
// returns an error matching io.EOF; a frame cut short matches both
// ErrMalformed and io.ErrUnexpectedEOF; other read errors are passed on
// wrapped, so a reset stream is not mistaken for a bad peer.
func ReadMsg(r io.Reader, m proto.Message, max int) error {
	if max <= 0 {
		return fmt.Errorf("read message: cap %d is not positive", max)
	}
	br, ok := r.(protodelim.Reader)
	if !ok {
		// Not bufio: buffering here would swallow bytes of the next frame, so
		// read the few prefix bytes one at a time instead.
		br = &byteReader{Reader: r}
	}
	err := protodelim.UnmarshalOptions{MaxSize: int64(max)}.UnmarshalFrom(br, m)
	var tooLarge *protodelim.SizeTooLargeError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return fmt.Errorf("read message: %w", err)
	case errors.As(err, &tooLarge):
		return fmt.Errorf("read message of %d bytes (cap %d): %w", tooLarge.Size, max, ErrTooLarge)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("read message: %w: %w", ErrMalformed, err)
	case errors.Is(err, proto.Error):
		// A bad length prefix or an undecodable body; the protobuf runtime's
		// errors all match proto.Error, the reader's own errors never do.
		return fmt.Errorf("read message: %w: %w", ErrMalformed, err)
	default:
		return fmt.Errorf("read message: %w", err)
	}
}

// byteReader gives an unbuffered io.Reader the ReadByte protodelim needs.
type byteReader struct {
	io.Reader
	b [1]byte
}

func (r *byteReader) ReadByte() (byte, error) {
	if _, err := io.ReadFull(r.Reader, r.b[:]); err != nil {
		return 0, err
	}
	return r.b[0], nil
}

// checked is a wire message with structural validation.
type checked interface {
	proto.Message
	Validate() error
}

// writeChecked validates m and writes it as one frame of at most max bytes;
// errors name what was written.
func writeChecked(w io.Writer, m checked, max int, what string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	if err := WriteMsg(w, m, max); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

// readChecked reads one frame of at most max bytes into m and validates it;
// errors name what was read.
func readChecked[M checked](r io.Reader, m M, max int, what string) (M, error) {
	var none M
	if err := ReadMsg(r, m, max); err != nil {
		return none, fmt.Errorf("read %s: %w", what, err)
	}
	if err := m.Validate(); err != nil {
		return none, fmt.Errorf("read %s: %w", what, err)
	}
	return m, nil
}
