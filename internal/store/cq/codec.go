// Package cq stores consume queues — for normal topics and for Light Message
// Queues (LMQ) alike — and the LMQ registry, as rows of the store's pebble
// database (see package kvdb).
//
// A consume queue maps a queue offset to where the message lives in the
// commitlog. RocketMQ keeps one 6 MB file per queue, which cannot scale to
// millions of LMQs; RocketMQ 5's RocksDB consume queue (RIP-66) moved them to an
// LSM, and this package follows that layout.
//
// # Entry rows
//
//	key   = 'q' | topic | 0x00 | queueID (4 bytes BE) | queueOffset (8 bytes BE)
//	value = n × entry, n >= 1, the entries at queueOffset, queueOffset+1, …
//	entry = phyOffset (8 BE) | size (4 BE) | tagHash (8 BE) | storeTime ms (8 BE)   — 28 bytes
//
// Big-endian fixed-width numbers sort numerically, so one queue's rows are
// contiguous and in offset order (queue 1 sorts before queue 10, offset 9
// before offset 10). Topic names never contain 0x00, so the terminator keeps
// a topic's rows apart from those of a topic it is a prefix of ("T" and "T1").
// The store time sits in the value so that a time lookup is a binary search
// over the queue alone, never a commitlog read per probe.
//
// A row holds a run of consecutive entries (a group), keyed by the first one's
// offset: dispatch writes one row per topic queue and run of a dispatched
// chunk, up to 128 entries (PutGroup), instead of one per message, which
// halves the rows a plain message costs pebble (inserts, flushes,
// compactions; docs/benchmarks.md, "Tenth session"). Rows of one entry,
// which stores written before groups hold and which LMQs still get (Put),
// are groups of one. Rows never overlap (package dispatch keeps it so):
// the entry at offset o is in the last row keyed at or below o, if any.
//
// # LMQ registry rows
//
//	key   = 'l' | lmqName
//	value = first-seen store time ms (8 BE)
//
// The registry answers "how many LMQs, which ones" without scanning the queue
// rows; its count is loaded once by Open and then kept in memory (see
// Store.RegisterLMQ for who updates it).
//
// # Writers and readers
//
// Rows are written through caller-owned batches (Put, Store.RegisterLMQ,
// Store.UnregisterLMQ) so that the dispatcher commits a commitlog chunk — a
// parent-topic row, its LMQ rows and its index rows — atomically. Reads go
// through a Store and see committed data only.
package cq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/cockroachdb/pebble/v2"
)

// ValueLen is the encoded size of an entry's value.
const ValueLen = 28

// queuePrefixOverhead is the number of bytes a queue prefix adds to the topic:
// the kvdb prefix byte, the 0x00 terminator and the queue id.
const queuePrefixOverhead = 1 + 1 + 4

var (
	// ErrInvalidTopic is returned for an empty topic or one containing 0x00.
	ErrInvalidTopic = errors.New("cq: invalid topic")
	// ErrInvalidQueue is returned for a negative queue id.
	ErrInvalidQueue = errors.New("cq: invalid queue id")
	// ErrInvalidOffset is returned for a negative queue offset.
	ErrInvalidOffset = errors.New("cq: invalid queue offset")
	// ErrInvalidArgument is returned for other bad arguments.
	ErrInvalidArgument = errors.New("cq: invalid argument")
	// ErrNotFound is returned when the requested entry (or queue) does not
	// exist.
	ErrNotFound = errors.New("cq: not found")
	// ErrCorrupt is returned when a stored key or value does not decode.
	ErrCorrupt = errors.New("cq: corrupt row")
)

// Entry is one consume-queue unit.
type Entry struct {
	QueueOffset int64 // position in the queue (from the key)
	PhyOffset   int64 // commitlog offset of the message record
	Size        int32 // record size in bytes
	TagHash     int64 // tag hash code, used for server-side tag filtering
	StoreTime   int64 // commitlog store time, ms since the epoch
}

// CheckTopic reports whether topic can be used in a key: non-empty and free
// of 0x00 (the terminator that keeps "T" and "T1" apart).
func CheckTopic(topic string) error {
	if topic == "" {
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	}
	if strings.IndexByte(topic, 0) >= 0 {
		return fmt.Errorf("%w: %q contains 0x00", ErrInvalidTopic, topic)
	}
	return nil
}

// CheckEntry reports whether an entry at offset of (topic, queueID) can be
// written: what Put checks, for callers that write entries in groups.
func CheckEntry(topic string, queueID int32, offset int64) error {
	if err := checkQueue(topic, queueID); err != nil {
		return err
	}
	if offset < 0 {
		return fmt.Errorf("%w: %d (%s/%d)", ErrInvalidOffset, offset, topic, queueID)
	}
	return nil
}

func checkQueue(topic string, queueID int32) error {
	if err := CheckTopic(topic); err != nil {
		return err
	}
	if queueID < 0 {
		return fmt.Errorf("%w: %d", ErrInvalidQueue, queueID)
	}
	return nil
}

// Key returns the row key of (topic, queueID, offset). The caller must have
// checked the arguments (CheckTopic, queueID >= 0, offset >= 0): an invalid
// topic yields an ambiguous key.
func Key(topic string, queueID int32, offset int64) []byte {
	return AppendKey(make([]byte, 0, len(topic)+queuePrefixOverhead+8), topic, queueID, offset)
}

// AppendKey appends the row key of (topic, queueID, offset) to dst, with the
// same contract as Key.
func AppendKey(dst []byte, topic string, queueID int32, offset int64) []byte {
	dst = appendQueuePrefix(dst, topic, queueID)
	return binary.BigEndian.AppendUint64(dst, uint64(offset))
}

func appendTopicPrefix(dst []byte, topic string) []byte {
	dst = append(dst, kvdb.PrefixCQ)
	dst = append(dst, topic...)
	return append(dst, 0)
}

func appendQueuePrefix(dst []byte, topic string, queueID int32) []byte {
	dst = appendTopicPrefix(dst, topic)
	return binary.BigEndian.AppendUint32(dst, uint32(queueID))
}

// DecodeKey splits a row key written by Key.
func DecodeKey(key []byte) (topic string, queueID int32, offset int64, err error) {
	if len(key) < queuePrefixOverhead+8+1 || key[0] != kvdb.PrefixCQ {
		return "", 0, 0, fmt.Errorf("%w: key %x", ErrCorrupt, key)
	}
	tail := key[len(key)-13:] // 0x00 | queueID | offset
	if tail[0] != 0 {
		return "", 0, 0, fmt.Errorf("%w: key %x has no topic terminator", ErrCorrupt, key)
	}
	topic = string(key[1 : len(key)-13])
	queueID = int32(binary.BigEndian.Uint32(tail[1:5]))
	offset = int64(binary.BigEndian.Uint64(tail[5:]))
	if CheckTopic(topic) != nil || queueID < 0 || offset < 0 {
		return "", 0, 0, fmt.Errorf("%w: key %x", ErrCorrupt, key)
	}
	return topic, queueID, offset, nil
}

// EncodeValue returns the 28-byte value of e (QueueOffset is in the key and
// not encoded).
func EncodeValue(e Entry) []byte {
	return AppendValue(make([]byte, 0, ValueLen), e)
}

// AppendValue appends the 28-byte value of e to dst.
func AppendValue(dst []byte, e Entry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.PhyOffset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(e.Size))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.TagHash))
	return binary.BigEndian.AppendUint64(dst, uint64(e.StoreTime))
}

// DecodeValue decodes a value written by EncodeValue. QueueOffset is left
// zero: it lives in the key.
func DecodeValue(v []byte) (Entry, error) {
	if len(v) != ValueLen {
		return Entry{}, fmt.Errorf("%w: value is %d bytes, want %d", ErrCorrupt, len(v), ValueLen)
	}
	return decodeEntry(v), nil
}

// decodeEntry decodes the first ValueLen bytes of v, which the caller has
// checked are there.
func decodeEntry(v []byte) Entry {
	return Entry{
		PhyOffset: int64(binary.BigEndian.Uint64(v[0:8])),
		Size:      int32(binary.BigEndian.Uint32(v[8:12])),
		TagHash:   int64(binary.BigEndian.Uint64(v[12:20])),
		StoreTime: int64(binary.BigEndian.Uint64(v[20:28])),
	}
}

// GroupLen returns how many entries a row's value holds, or ErrCorrupt if
// it is not a whole, non-zero number of entries.
func GroupLen(v []byte) (int, error) {
	if len(v) == 0 || len(v)%ValueLen != 0 {
		return 0, fmt.Errorf("%w: value is %d bytes, not a multiple of %d", ErrCorrupt, len(v), ValueLen)
	}
	return len(v) / ValueLen, nil
}

// GroupEntry returns entry i of a row keyed at offset first whose value v
// holds GroupLen(v) > i entries.
func GroupEntry(v []byte, first int64, i int) Entry {
	e := decodeEntry(v[i*ValueLen:])
	e.QueueOffset = first + int64(i)
	return e
}

// PutGroup adds one row holding entries, whose offsets must run
// consecutively from entries[0].QueueOffset, and returns the key written
// (that of the first entry). Like Put it is idempotent for a replay that
// groups the same entries; a replay that groups them differently writes
// rows that no earlier row overlaps, because dispatch commits a chunk's
// rows with the checkpoint past it (see package dispatch).
func PutGroup(b *pebble.Batch, topic string, queueID int32, entries []Entry) ([]byte, error) {
	if err := checkQueue(topic, queueID); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: empty group (%s/%d)", ErrInvalidArgument, topic, queueID)
	}
	first := entries[0].QueueOffset
	if first < 0 {
		return nil, fmt.Errorf("%w: %d (%s/%d)", ErrInvalidOffset, first, topic, queueID)
	}
	for i, e := range entries {
		if e.QueueOffset != first+int64(i) {
			return nil, fmt.Errorf("%w: group from %d has offset %d at %d (%s/%d)",
				ErrInvalidOffset, first, e.QueueOffset, i, topic, queueID)
		}
	}
	key := Key(topic, queueID, first)
	op := b.SetDeferred(len(key), len(entries)*ValueLen)
	copy(op.Key, key)
	v := op.Value[:0]
	for _, e := range entries {
		v = AppendValue(v, e)
	}
	if err := op.Finish(); err != nil {
		return nil, fmt.Errorf("cq: put %s/%d@%d+%d: %w", topic, queueID, first, len(entries), err)
	}
	return key, nil
}

// Put adds the row for e (at e.QueueOffset) to b and returns the key written.
// It is idempotent: re-dispatching the same message writes the same key and
// value, so recovery may replay freely. Put does not check that offsets are
// contiguous; assigning them is the put path's job.
func Put(b *pebble.Batch, topic string, queueID int32, e Entry) ([]byte, error) {
	if err := checkQueue(topic, queueID); err != nil {
		return nil, err
	}
	if e.QueueOffset < 0 {
		return nil, fmt.Errorf("%w: %d (%s/%d)", ErrInvalidOffset, e.QueueOffset, topic, queueID)
	}
	key := Key(topic, queueID, e.QueueOffset)
	op := b.SetDeferred(len(key), ValueLen)
	copy(op.Key, key)
	AppendValue(op.Value[:0], e)
	if err := op.Finish(); err != nil {
		return nil, fmt.Errorf("cq: put %s/%d@%d: %w", topic, queueID, e.QueueOffset, err)
	}
	return key, nil
}
