// Package index is the message-key and unique-key index: given a topic, a key
// and a time window, it returns the commitlog offsets of the matching
// messages, newest first.
//
// RocketMQ's IndexFile hashes topic#key into a 5M-slot table and compares only
// the hash, so different keys come back together and the client filters them.
// Here the full topic and key are in the row key, so matches are exact and
// need no filtering.
//
// # Rows
//
//	key   = kind ('k' | 'u') | uvarint(len(topic)) | topic | uvarint(len(key)) | key
//	        | storeTime ms (8 BE) | phyOffset (8 BE)
//	value = empty
//
// Length prefixes make the (topic, key) part prefix-free: topic "T" key "TK"
// and topic "TT" key "K" — or keys "a" and "ab" — never share rows or
// interleave. After it, the big-endian store time orders one key's rows by
// time, so a window [begin, end] is a single bounded key range and a query
// costs in proportion to its hits, not to the index size. The physical offset
// makes rows of the same key and millisecond distinct.
//
// # What is indexed (the caller's job)
//
// The dispatcher adds, per message, one KindUniqKey row for its UNIQ_KEY and
// one KindKey row per non-empty space-separated token of KEYS, under the
// message's parent topic — and, for a message dispatched to LMQs, the same
// rows again under each LMQ name, so that a query on an LMQ returns only the
// messages dispatched to that LMQ (RocketMQ indexes the parent topic only;
// this is the LMQ admin-command change of issue #8591).
//
// Rows are not deleted when the commitlog ages out: a hit may point below the
// commitlog's min offset, and the caller drops such hits when it reads them.
package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/cockroachdb/pebble/v2"
)

// Kind selects the index: message keys or unique keys.
type Kind byte

const (
	// KindKey indexes the tokens of the KEYS property.
	KindKey = Kind(kvdb.PrefixKey)
	// KindUniqKey indexes the UNIQ_KEY property (client message id).
	KindUniqKey = Kind(kvdb.PrefixUniqKey)
)

func (k Kind) String() string {
	switch k {
	case KindKey:
		return "key"
	case KindUniqKey:
		return "uniqKey"
	}
	return fmt.Sprintf("Kind(%#x)", byte(k))
}

var (
	// ErrInvalidArgument is returned for an unknown kind, an empty topic or
	// key, or a negative store time or offset.
	ErrInvalidArgument = errors.New("index: invalid argument")
	// ErrCorrupt is returned when a stored row does not decode.
	ErrCorrupt = errors.New("index: corrupt row")
)

// Hit is one matching message.
type Hit struct {
	PhyOffset int64
	StoreTime int64
}

// suffixLen is the fixed tail after the (topic, key) prefix.
const suffixLen = 16

func check(kind Kind, topic, key string) error {
	if kind != KindKey && kind != KindUniqKey {
		return fmt.Errorf("%w: kind %v", ErrInvalidArgument, kind)
	}
	if topic == "" || key == "" {
		return fmt.Errorf("%w: empty topic or key (%q, %q)", ErrInvalidArgument, topic, key)
	}
	return nil
}

// appendPrefix appends kind | uvarint(len(topic)) | topic | uvarint(len(key)) | key.
func appendPrefix(dst []byte, kind Kind, topic, key string) []byte {
	dst = append(dst, byte(kind))
	dst = binary.AppendUvarint(dst, uint64(len(topic)))
	dst = append(dst, topic...)
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	return append(dst, key...)
}

// Key returns the row key for one message; the arguments are not checked.
func Key(kind Kind, topic, key string, storeTime, phy int64) []byte {
	buf := make([]byte, 0, 1+2*binary.MaxVarintLen16+len(topic)+len(key)+suffixLen)
	buf = appendPrefix(buf, kind, topic, key)
	buf = binary.BigEndian.AppendUint64(buf, uint64(storeTime))
	return binary.BigEndian.AppendUint64(buf, uint64(phy))
}

// Add adds the row for one (topic, key) of a message to b and returns the key
// written. Adding the same row twice is harmless (recovery replays).
func Add(b *pebble.Batch, kind Kind, topic, key string, storeTime, phy int64) ([]byte, error) {
	if err := check(kind, topic, key); err != nil {
		return nil, err
	}
	if storeTime < 0 || phy < 0 {
		return nil, fmt.Errorf("%w: negative store time %d or offset %d", ErrInvalidArgument, storeTime, phy)
	}
	k := Key(kind, topic, key, storeTime, phy)
	if err := b.Set(k, nil, nil); err != nil {
		return nil, fmt.Errorf("index: add %v %s#%s: %w", kind, topic, key, err)
	}
	return k, nil
}

// AddKey adds a message-key row (one token of KEYS). See Add.
func AddKey(b *pebble.Batch, topic, key string, storeTime, phy int64) ([]byte, error) {
	return Add(b, KindKey, topic, key, storeTime, phy)
}

// AddUniqKey adds a unique-key row (UNIQ_KEY). See Add.
func AddUniqKey(b *pebble.Batch, topic, uniqKey string, storeTime, phy int64) ([]byte, error) {
	return Add(b, KindUniqKey, topic, uniqKey, storeTime, phy)
}

// Query returns up to maxNum messages of topic whose key equals key exactly
// and whose store time is in [begin, end] (ms, both inclusive), newest first
// (by store time, then by offset), as RocketMQ walks its index newest to
// oldest. maxNum <= 0 returns nothing; capping it (RocketMQ: 64) is the
// caller's job. r is usually the *pebble.DB; a snapshot or an indexed batch
// works too.
func Query(r pebble.Reader, kind Kind, topic, key string, begin, end int64, maxNum int) ([]Hit, error) {
	if err := check(kind, topic, key); err != nil {
		return nil, err
	}
	begin = max(begin, 0)
	if maxNum <= 0 || end < begin {
		return nil, nil
	}
	prefix := appendPrefix(make([]byte, 0, 1+2*binary.MaxVarintLen16+len(topic)+len(key)), kind, topic, key)
	lower := binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), uint64(begin))
	var upper []byte
	if end == math.MaxInt64 {
		upper = kvdb.PrefixEnd(prefix)
	} else {
		upper = binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), uint64(end+1))
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("index: query %v %s#%s: %w", kind, topic, key, err)
	}
	var hits []Hit
	for valid := it.Last(); valid && len(hits) < maxNum; valid = it.Prev() {
		k := it.Key()
		if len(k) != len(prefix)+suffixLen {
			err = fmt.Errorf("%w: key %x", ErrCorrupt, k)
			break
		}
		hits = append(hits, Hit{
			StoreTime: int64(binary.BigEndian.Uint64(k[len(prefix):])),
			PhyOffset: int64(binary.BigEndian.Uint64(k[len(prefix)+8:])),
		})
	}
	if err = errors.Join(err, it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("index: query %v %s#%s: %w", kind, topic, key, err)
	}
	return hits, nil
}
