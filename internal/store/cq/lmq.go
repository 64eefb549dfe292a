package cq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/cockroachdb/pebble/v2"
)

// ErrInvalidLMQ is returned for an empty LMQ name or one containing 0x00.
var ErrInvalidLMQ = errors.New("cq: invalid LMQ name")

// lmqValueLen is the size of a registry value: the first-seen store time.
const lmqValueLen = 8

// LMQ is one registry row.
type LMQ struct {
	Name      string
	FirstSeen int64 // store time (ms) of the first message dispatched to it
}

func checkLMQ(name string) error {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%w: %q", ErrInvalidLMQ, name)
	}
	return nil
}

func lmqKey(name string) []byte {
	k := make([]byte, 0, 1+len(name))
	return append(append(k, kvdb.PrefixLMQ), name...)
}

// lmqExists reports whether name is registered, looking first at b when it
// is indexed (so a name registered earlier in the same batch counts), then at
// the committed rows.
func (s *Store) lmqExists(b *pebble.Batch, key []byte) (bool, error) {
	if b != nil && b.Indexed() {
		// An indexed batch reads through to the DB.
		return exists(b, key)
	}
	return exists(s.db, key)
}

func exists(r pebble.Reader, key []byte) (bool, error) {
	_, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

// RegisterLMQ adds name to the registry in b, unless it is already
// registered, and reports whether it added it. Re-registering (recovery
// replaying the commitlog) changes nothing, so firstSeen keeps its first value.
//
// Who keeps LMQCount right: this method, at call time — it counts the name
// as soon as it is put in b. Hence the contract, which the dispatcher (the
// single writer of these rows) meets:
//   - one goroutine calls RegisterLMQ/UnregisterLMQ;
//   - every batch passed in is committed (if one is discarded, call
//     ReloadLMQCount);
//   - with an unindexed batch, a name is registered or unregistered at most
//     once per batch (e.g. register when dispatching an LMQ's offset 0);
//     an indexed batch (db.NewIndexedBatch) lifts this rule.
//
// Cost: one point lookup (bloom-filtered), so callers that cache known LMQs
// may skip the call for them.
func (s *Store) RegisterLMQ(b *pebble.Batch, name string, firstSeen int64) (bool, error) {
	if err := checkLMQ(name); err != nil {
		return false, err
	}
	key := lmqKey(name)
	ok, err := s.lmqExists(b, key)
	if err != nil {
		return false, fmt.Errorf("cq: register LMQ %q: %w", name, err)
	}
	if ok {
		return false, nil
	}
	var v [lmqValueLen]byte
	binary.BigEndian.PutUint64(v[:], uint64(firstSeen))
	if err := b.Set(key, v[:], nil); err != nil {
		return false, fmt.Errorf("cq: register LMQ %q: %w", name, err)
	}
	s.lmqCount.Add(1)
	return true, nil
}

// RegisterNewLMQ registers name in b without first checking whether it
// is registered, for a caller that knows it is not (the store's put path
// saw the name for the first time): it saves a lookup per new LMQ, which
// dominates dispatch when messages keep naming new LMQs. Same contract as
// RegisterLMQ otherwise.
func (s *Store) RegisterNewLMQ(b *pebble.Batch, name string, firstSeen int64) error {
	if err := checkLMQ(name); err != nil {
		return err
	}
	var v [lmqValueLen]byte
	binary.BigEndian.PutUint64(v[:], uint64(firstSeen))
	if err := b.Set(lmqKey(name), v[:], nil); err != nil {
		return fmt.Errorf("cq: register LMQ %q: %w", name, err)
	}
	s.lmqCount.Add(1)
	return nil
}

// UnregisterLMQ removes name from the registry in b, if registered, and
// reports whether it removed it. Same contract as RegisterLMQ. It does not
// delete the LMQ's queue rows.
func (s *Store) UnregisterLMQ(b *pebble.Batch, name string) (bool, error) {
	if err := checkLMQ(name); err != nil {
		return false, err
	}
	key := lmqKey(name)
	ok, err := s.lmqExists(b, key)
	if err != nil {
		return false, fmt.Errorf("cq: unregister LMQ %q: %w", name, err)
	}
	if !ok {
		return false, nil
	}
	if err := b.Delete(key, nil); err != nil {
		return false, fmt.Errorf("cq: unregister LMQ %q: %w", name, err)
	}
	s.lmqCount.Add(-1)
	return true, nil
}

// LMQCount returns the number of registered LMQs, from memory.
func (s *Store) LMQCount() int64 { return s.lmqCount.Load() }

// ReloadLMQCount recounts the registry rows (one scan of keys only) and
// resets LMQCount to the result.
func (s *Store) ReloadLMQCount() (int64, error) {
	lower := []byte{kvdb.PrefixLMQ}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: kvdb.PrefixEnd(lower)})
	if err != nil {
		return 0, fmt.Errorf("cq: count LMQs: %w", err)
	}
	var n int64
	for valid := it.First(); valid; valid = it.Next() {
		n++
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, fmt.Errorf("cq: count LMQs: %w", err)
	}
	s.lmqCount.Store(n)
	return n, nil
}

// IsLMQRegistered reports whether name is in the committed registry.
func (s *Store) IsLMQRegistered(name string) (bool, error) {
	if err := checkLMQ(name); err != nil {
		return false, err
	}
	ok, err := exists(s.db, lmqKey(name))
	if err != nil {
		return false, fmt.Errorf("cq: look up LMQ %q: %w", name, err)
	}
	return ok, nil
}

// ListLMQs returns up to limit registered LMQs whose names start with prefix
// ("" for all), in byte order of their names, starting after the name after
// ("" to start at the beginning). To page, pass the last name returned as
// after. limit must be positive; the caller caps it.
func (s *Store) ListLMQs(prefix, after string, limit int) ([]LMQ, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalidArgument, limit)
	}
	lower := lmqKey(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: kvdb.PrefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("cq: list LMQs: %w", err)
	}
	var valid bool
	if after != "" {
		// The smallest key greater than after's key.
		valid = it.SeekGE(append(lmqKey(after), 0))
	} else {
		valid = it.First()
	}
	out := make([]LMQ, 0, min(limit, 256))
	for ; valid && len(out) < limit; valid = it.Next() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			err = verr
			break
		}
		if len(v) != lmqValueLen {
			err = fmt.Errorf("%w: LMQ %q value is %d bytes", ErrCorrupt, it.Key()[1:], len(v))
			break
		}
		out = append(out, LMQ{Name: string(it.Key()[1:]), FirstSeen: int64(binary.BigEndian.Uint64(v))})
	}
	if err = errors.Join(err, it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("cq: list LMQs: %w", err)
	}
	return out, nil
}
