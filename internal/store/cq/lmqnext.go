package cq

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// The LMQ next-offset rows ('n' + name -> next offset, 8 bytes BE) let the
// store load every LMQ's next offset with one sequential scan at open, so
// that the put path assigns LMQ offsets from memory: without them each
// first touch of an LMQ after a restart costs a registry lookup and an
// iterator seek under the commit-log writer lock, which made puts to a
// million LMQs ~10x slower than plain puts.
//
// The rows are a snapshot, written for every LMQ at a clean close, not per
// message: writing one per LMQ per dispatched message was a third of the
// rows an LMQ message cost. A marker (lmqNextValidKey) holds the dispatch
// checkpoint the snapshot matches; the store deletes it at open, so after
// a crash it is missing and the store derives next offsets from the
// consume queues instead (slower, but only after a crash).

// lmqNextValidKey is the meta key of the snapshot marker.
var lmqNextValidKey = []byte{kvdb.PrefixMeta, 'l', 'm', 'q', 'n', 'e', 'x', 't'}

// LMQNextValidAt reports whether the next-offset rows are a snapshot
// taken at dispatch checkpoint cp.
func (s *Store) LMQNextValidAt(cp int64) (bool, error) {
	v, closer, err := s.db.Get(lmqNextValidKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cq: read LMQ next-offset marker: %w", err)
	}
	defer closer.Close()
	return len(v) == 8 && int64(binary.BigEndian.Uint64(v)) == cp, nil
}

// SetLMQNextValid marks in b the next-offset rows as a snapshot at
// dispatch checkpoint cp.
func SetLMQNextValid(b *pebble.Batch, cp int64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(cp))
	if err := b.Set(lmqNextValidKey, v[:], nil); err != nil {
		return fmt.Errorf("cq: set LMQ next-offset marker: %w", err)
	}
	return nil
}

// InvalidateLMQNext deletes the snapshot marker in b.
func InvalidateLMQNext(b *pebble.Batch) error {
	if err := b.Delete(lmqNextValidKey, nil); err != nil {
		return fmt.Errorf("cq: delete LMQ next-offset marker: %w", err)
	}
	return nil
}

func lmqNextKey(name string) []byte {
	k := make([]byte, 0, 1+len(name))
	return append(append(k, kvdb.PrefixLMQNext), name...)
}

// SetLMQNext records in b that name's next offset is next.
func SetLMQNext(b *pebble.Batch, name string, next int64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(next))
	if err := b.Set(lmqNextKey(name), v[:], nil); err != nil {
		return fmt.Errorf("cq: set next offset of %q: %w", name, err)
	}
	return nil
}

// DeleteLMQNext removes name's next-offset row in b (the LMQ is removed).
func DeleteLMQNext(b *pebble.Batch, name string) error {
	if err := b.Delete(lmqNextKey(name), nil); err != nil {
		return fmt.Errorf("cq: delete next offset of %q: %w", name, err)
	}
	return nil
}

// LoadLMQNext calls fn for every LMQ next-offset row, in name order.
func (s *Store) LoadLMQNext(fn func(name string, next int64)) (int, error) {
	lower := []byte{kvdb.PrefixLMQNext}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: kvdb.PrefixEnd(lower)})
	if err != nil {
		return 0, fmt.Errorf("cq: load LMQ next offsets: %w", err)
	}
	n := 0
	for valid := it.First(); valid; valid = it.Next() {
		v := it.Value()
		if len(v) != 8 {
			_ = it.Close()
			return n, fmt.Errorf("%w: LMQ next-offset row %q of %d bytes", ErrCorrupt, it.Key()[1:], len(v))
		}
		fn(string(it.Key()[1:]), int64(binary.BigEndian.Uint64(v)))
		n++
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return n, fmt.Errorf("cq: load LMQ next offsets: %w", err)
	}
	return n, nil
}
