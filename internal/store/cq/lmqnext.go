package cq

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

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

// DeriveLMQNext calls fn with the next offset (one past the last row's last
// entry) of every registered LMQ that has rows: the recovery path when no
// snapshot can be trusted. The registry is read in batches of names in key order;
// workers (one per CPU, each with one consume-queue iterator) find each
// batch's last rows with seeks in key order, which are far cheaper than an
// iterator per LMQ (that took 11 s for a million). fn is called from one
// goroutine at a time, in no particular order.
func (s *Store) DeriveLMQNext(workers int, fn func(name string, next int64)) (int, error) {
	const batch = 4096
	lower := []byte{kvdb.PrefixLMQ}
	reg, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: kvdb.PrefixEnd(lower)})
	if err != nil {
		return 0, fmt.Errorf("cq: derive LMQ next offsets: %w", err)
	}
	type found struct {
		name string
		next int64
	}
	names := make(chan []string, workers)
	results := make(chan []found, workers)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			cqLower := []byte{kvdb.PrefixCQ}
			rows, err := s.db.NewIter(&pebble.IterOptions{LowerBound: cqLower, UpperBound: kvdb.PrefixEnd(cqLower)})
			if err != nil {
				errs <- err
				for range names { // keep the reader going
				}
				return
			}
			var prefix []byte
			var rowErr error // the first value that could not be read
			for page := range names {
				out := make([]found, 0, len(page))
				for _, name := range page {
					prefix = appendQueuePrefix(prefix[:0], name, 0)
					// The last row sorts just below PrefixEnd(prefix) (queue
					// id 0: no carry into the name).
					if !rows.SeekLT(kvdb.PrefixEnd(prefix)) || !bytes.HasPrefix(rows.Key(), prefix) {
						continue
					}
					k := rows.Key()
					if len(k) != len(prefix)+8 {
						continue
					}
					v, err := rows.ValueAndErr()
					if err != nil {
						rowErr = cmp.Or(rowErr, err)
						continue
					}
					// A torn value still says where its row starts: restart
					// after that rather than at 0, over the rows.
					n, err := GroupLen(v)
					if err != nil {
						n = 1
					}
					out = append(out, found{name, int64(binary.BigEndian.Uint64(k[len(prefix):])) + int64(n)})
				}
				results <- out
			}
			if err := errors.Join(rowErr, rows.Error(), rows.Close()); err != nil {
				errs <- err
			}
		})
	}
	go func() {
		page := make([]string, 0, batch)
		for ok := reg.First(); ok; ok = reg.Next() {
			page = append(page, string(reg.Key()[1:]))
			if len(page) == batch {
				names <- page
				page = make([]string, 0, batch)
			}
		}
		if len(page) > 0 {
			names <- page
		}
		close(names)
		wg.Wait()
		close(results)
		close(errs)
	}()
	n := 0
	for out := range results {
		for _, f := range out {
			fn(f.name, f.next)
		}
		n += len(out)
	}
	all := []error{reg.Error(), reg.Close()}
	for err := range errs {
		all = append(all, err)
	}
	if err := errors.Join(all...); err != nil {
		return n, fmt.Errorf("cq: derive LMQ next offsets: %w", err)
	}
	return n, nil
}
