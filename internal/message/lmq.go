package message

import (
	"fmt"
	"strconv"
	"strings"
)

// Light Message Queue conventions (MixAll).
const (
	// LMQPrefix starts every LMQ name; an LMQ has one queue, LMQQueueID.
	LMQPrefix = "%LMQ%"
	// LMQQueueID is the only queue id of an LMQ.
	LMQQueueID = 0
	// LMQDispatchSeparator separates names in INNER_MULTI_DISPATCH and
	// offsets in INNER_MULTI_QUEUE_OFFSET.
	LMQDispatchSeparator = ","
	// NoQueueOffset marks an INNER_MULTI_QUEUE_OFFSET entry left empty
	// because its name is not an LMQ.
	NoQueueOffset int64 = -1
)

// IsLMQ reports whether topic names a Light Message Queue.
func IsLMQ(topic string) bool { return strings.HasPrefix(topic, LMQPrefix) }

// ParseMultiDispatch splits an INNER_MULTI_DISPATCH value into queue names.
// It follows Java's String.split: empty entries are kept except trailing
// ones, so positions line up with what a Java broker writes into
// INNER_MULTI_QUEUE_OFFSET. An empty value yields nil (no dispatch).
func ParseMultiDispatch(v string) []string {
	if v == "" {
		return nil
	}
	names := strings.Split(v, LMQDispatchSeparator)
	for len(names) > 0 && names[len(names)-1] == "" {
		names = names[:len(names)-1]
	}
	return names
}

// FormatMultiQueueOffset builds INNER_MULTI_QUEUE_OFFSET: one entry per name,
// in order, holding offsets[i] for LMQ names and left empty for others (the
// broker assigns no LMQ offset to those). len(offsets) must equal len(names);
// offsets of non-LMQ names are ignored.
func FormatMultiQueueOffset(names []string, offsets []int64) (string, error) {
	if len(names) != len(offsets) {
		return "", fmt.Errorf("%w: %d queue names but %d offsets", ErrInvalidLMQ, len(names), len(offsets))
	}
	var b []byte
	for i, name := range names {
		if i > 0 {
			b = append(b, LMQDispatchSeparator...)
		}
		if IsLMQ(name) {
			b = strconv.AppendInt(b, offsets[i], 10)
		}
	}
	return string(b), nil
}

// ParseMultiQueueOffset parses INNER_MULTI_QUEUE_OFFSET. Empty entries
// (non-LMQ names) become NoQueueOffset; anything else must be a
// non-negative decimal integer. An empty value yields nil.
func ParseMultiQueueOffset(v string) ([]int64, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, LMQDispatchSeparator)
	out := make([]int64, len(parts))
	for i, p := range parts {
		if p == "" {
			out[i] = NoQueueOffset
			continue
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: %s entry %d is %q, want a non-negative integer",
				ErrInvalidLMQ, PropertyInnerMultiQueueOffset, i, p)
		}
		out[i] = n
	}
	return out, nil
}

// LMQOffset is one LMQ a record was dispatched to and its offset there.
type LMQOffset struct {
	Queue  string
	Offset int64
}

// PairLMQOffsets pairs INNER_MULTI_DISPATCH with INNER_MULTI_QUEUE_OFFSET and
// returns the LMQ entries in order, skipping non-LMQ names. The offsets list
// may be shorter than the names only by trailing entries that belong to
// non-LMQ names (Java's split drops trailing empty strings); any other
// mismatch, or an LMQ without an offset, is an error wrapping ErrInvalidLMQ.
func PairLMQOffsets(dispatch, offsets string) ([]LMQOffset, error) {
	names := ParseMultiDispatch(dispatch)
	offs, err := ParseMultiQueueOffset(offsets)
	if err != nil {
		return nil, err
	}
	if len(offs) > len(names) {
		return nil, fmt.Errorf("%w: %d queue names but %d offsets", ErrInvalidLMQ, len(names), len(offs))
	}
	var out []LMQOffset
	for i, name := range names {
		if !IsLMQ(name) {
			continue
		}
		if i >= len(offs) || offs[i] == NoQueueOffset {
			return nil, fmt.Errorf("%w: no offset for %q (entry %d)", ErrInvalidLMQ, name, i)
		}
		out = append(out, LMQOffset{Queue: name, Offset: offs[i]})
	}
	return out, nil
}
