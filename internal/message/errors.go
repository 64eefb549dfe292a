package message

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test with errors.Is; the returned errors wrap these
// with the detail (field, offset, lengths) that makes a log line actionable.
var (
	// ErrCorrupt is matched by every decoding failure of a record, batch or
	// properties block, including truncation and CRC mismatches.
	ErrCorrupt = errors.New("message: corrupt record")
	// ErrTruncated means the input ended before a length it declared. A store
	// recovering a commit log treats this as a torn tail rather than damage in
	// the middle, so it is distinguishable from ErrCorrupt (it matches both).
	ErrTruncated = errors.New("message: truncated record")
	// ErrBadCRC means the body does not match BODYCRC (it also matches ErrCorrupt).
	ErrBadCRC = errors.New("message: body CRC mismatch")
	// ErrBlankRecord means the bytes start with the end-of-segment filler magic
	// (0xCBD43194): not a message, and not corruption either.
	ErrBlankRecord = errors.New("message: blank (end-of-segment) record")

	// ErrTopicTooLong: the topic does not fit the length field of the chosen magic.
	ErrTopicTooLong = errors.New("message: topic too long")
	// ErrPropertiesTooLong: the encoded properties exceed the signed 16-bit length field.
	ErrPropertiesTooLong = errors.New("message: properties too long")
	// ErrInvalidProperty: a name or value contains a separator byte, or the name is empty.
	ErrInvalidProperty = errors.New("message: invalid property")
	// ErrRecordTooLarge: the record would exceed the signed 32-bit TOTALSIZE field.
	ErrRecordTooLarge = errors.New("message: record too large")
	// ErrUnknownMagic: Message.Magic is neither 0, MagicV1 nor MagicV2.
	ErrUnknownMagic = errors.New("message: unknown magic code")
	// ErrUnknownCompression: sysFlag names a compression type this protocol does not define.
	ErrUnknownCompression = errors.New("message: unknown compression type")

	// ErrInvalidMessageID: a string is not a well-formed offset or unique message id.
	ErrInvalidMessageID = errors.New("message: invalid message id")
	// ErrInvalidTopic: a topic name breaks RocketMQ's naming rules.
	ErrInvalidTopic = errors.New("message: invalid topic")
	// ErrInvalidLMQ: LMQ dispatch properties are malformed or inconsistent.
	ErrInvalidLMQ = errors.New("message: invalid LMQ properties")
)

// CorruptionError describes where a record or batch failed to decode. It
// matches ErrCorrupt and its Kind (ErrCorrupt, ErrTruncated or ErrBadCRC)
// under errors.Is, so callers that only care about "bad bytes" need not
// inspect it, while recovery code can log the field and offset.
type CorruptionError struct {
	Kind   error  // ErrCorrupt, ErrTruncated or ErrBadCRC
	Field  string // layout field being read, e.g. "BODYLENGTH"
	Offset int    // byte offset of that field from the start of the record
	Detail string // human-readable specifics (lengths, values)
}

func (e *CorruptionError) Error() string {
	kind := e.Kind
	if kind == nil {
		kind = ErrCorrupt
	}
	return fmt.Sprintf("%v: %s at byte %d: %s", kind, e.Field, e.Offset, e.Detail)
}

// Unwrap exposes both the generic and the specific sentinel.
func (e *CorruptionError) Unwrap() []error {
	if e.Kind == nil || e.Kind == ErrCorrupt {
		return []error{ErrCorrupt}
	}
	return []error{ErrCorrupt, e.Kind}
}

func corrupt(field string, off int, format string, args ...any) error {
	return &CorruptionError{Kind: ErrCorrupt, Field: field, Offset: off, Detail: fmt.Sprintf(format, args...)}
}

func truncated(field string, off, need, have int) error {
	return &CorruptionError{Kind: ErrTruncated, Field: field, Offset: off,
		Detail: fmt.Sprintf("need %d bytes, %d remain", need, have)}
}
