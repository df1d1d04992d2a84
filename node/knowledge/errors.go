package knowledge

import "errors"

var (
	// ErrUnsupported: the index does not read files of this kind.
	ErrUnsupported = errors.New("unsupported document type")
	// ErrMalformed: the document could not be parsed.
	ErrMalformed = errors.New("malformed document")
	// ErrTooLarge: the document is over MaxDocumentBytes, or the directory
	// over MaxDocuments.
	ErrTooLarge = errors.New("too large")
	// ErrEmbed: the embedding model failed or returned vectors of the wrong shape.
	ErrEmbed = errors.New("embed passages")
	// ErrClosed is returned by Refresh after Close.
	ErrClosed = errors.New("knowledge index closed")
)
