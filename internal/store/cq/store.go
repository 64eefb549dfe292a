package cq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/cockroachdb/pebble/v2"
)

// Boundary selects which side of a time an offset lookup lands on, as
// RocketMQ's BoundaryType. The zero value is Lower, RocketMQ's default.
type Boundary uint8

const (
	// Lower: the first entry with storeTime >= t (start of a time window).
	Lower Boundary = iota
	// Upper: the last entry with storeTime <= t (end of a time window).
	Upper
)

func (b Boundary) String() string {
	switch b {
	case Lower:
		return "LOWER"
	case Upper:
		return "UPPER"
	}
	return fmt.Sprintf("Boundary(%d)", uint8(b))
}

// Store reads consume queues and keeps the LMQ registry count. Reads see
// committed rows only and are safe for concurrent use; each call uses its own
// iterator, i.e. a consistent point-in-time view.
type Store struct {
	db       *pebble.DB
	lmqCount atomic.Int64
}

// Open returns a Store over db, loading the LMQ count with one scan of the
// registry rows (about a quarter of a second per million LMQs; see
// BenchmarkLMQRegistryLoad).
func Open(db *pebble.DB) (*Store, error) {
	s := &Store{db: db}
	if _, err := s.ReloadLMQCount(); err != nil {
		return nil, err
	}
	return s, nil
}

// queueIter is a bounded iterator over one queue's entries. It walks the
// rows with a pebble iterator and the entries of the row under it with an
// index (see "Entry rows" for groups).
type queueIter struct {
	it     *pebble.Iterator
	prefix []byte // 'q' topic 0x00 queueID
	key    []byte // scratch for seek keys
	topic  string
	queue  int32

	row  []byte // value of the row under it (valid until it moves)
	base int64  // offset of the row's first entry
	n    int    // entries in the row
	i    int    // the current entry
}

func (s *Store) openQueue(topic string, queueID int32) (*queueIter, error) {
	if err := checkQueue(topic, queueID); err != nil {
		return nil, err
	}
	buf := make([]byte, 0, 2*(len(topic)+queuePrefixOverhead)+8)
	prefix := appendQueuePrefix(buf, topic, queueID)
	// queueID >= 0, so its first byte is < 0xff and PrefixEnd never carries
	// into the topic.
	upper := kvdb.PrefixEnd(prefix)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("cq: iterate %s/%d: %w", topic, queueID, err)
	}
	return &queueIter{it: it, prefix: prefix, topic: topic, queue: queueID}, nil
}

func (q *queueIter) close() error {
	if err := q.it.Close(); err != nil {
		return fmt.Errorf("cq: close iterator %s/%d: %w", q.topic, q.queue, err)
	}
	return nil
}

// keyOf reads the first offset of the row under the iterator, or reports
// (false, err) when the iterator is exhausted. It does not read the value.
func (q *queueIter) keyOf(valid bool) (int64, bool, error) {
	if !valid {
		if err := q.it.Error(); err != nil {
			return 0, false, fmt.Errorf("cq: read %s/%d: %w", q.topic, q.queue, err)
		}
		return 0, false, nil
	}
	k := q.it.Key()
	if len(k) != len(q.prefix)+8 {
		return 0, false, fmt.Errorf("%w: %s/%d key %x", ErrCorrupt, q.topic, q.queue, k)
	}
	return int64(binary.BigEndian.Uint64(k[len(q.prefix):])), true, nil
}

// load takes the row under the iterator, or reports (false, err) when the
// iterator is exhausted.
func (q *queueIter) load(valid bool) (bool, error) {
	base, ok, err := q.keyOf(valid)
	if !ok {
		return false, err
	}
	v, err := q.it.ValueAndErr()
	if err != nil {
		return false, fmt.Errorf("cq: read %s/%d: %w", q.topic, q.queue, err)
	}
	n, err := GroupLen(v)
	if err != nil {
		return false, fmt.Errorf("%s/%d: %w", q.topic, q.queue, err)
	}
	q.row, q.n, q.i, q.base = v, n, 0, base
	return true, nil
}

// cur returns the current entry.
func (q *queueIter) cur() Entry { return GroupEntry(q.row, q.base, q.i) }

func (q *queueIter) seekKey(offset int64) []byte {
	q.key = append(q.key[:0], q.prefix...)
	return binary.BigEndian.AppendUint64(q.key, uint64(offset))
}

func (q *queueIter) first() (Entry, bool, error) {
	ok, err := q.load(q.it.First())
	if !ok {
		return Entry{}, false, err
	}
	return q.cur(), true, nil
}

func (q *queueIter) last() (Entry, bool, error) {
	ok, err := q.load(q.it.Last())
	if !ok {
		return Entry{}, false, err
	}
	q.i = q.n - 1
	return q.cur(), true, nil
}

// next moves to the entry after the current one.
func (q *queueIter) next() (Entry, bool, error) {
	if q.i+1 < q.n {
		q.i++
		return q.cur(), true, nil
	}
	ok, err := q.load(q.it.Next())
	if !ok {
		return Entry{}, false, err
	}
	return q.cur(), true, nil
}

// seekGE positions at the first entry with offset >= offset.
func (q *queueIter) seekGE(offset int64) (Entry, bool, error) {
	offset = max(offset, 0)
	// Most seeks land on a row keyed at offset (every single-entry row, a
	// group's first entry); otherwise the row before may hold it. The
	// row landed on is read only if it is the one: a torn row after a
	// group must not fail reads inside the group.
	valid := q.it.SeekGE(q.seekKey(offset))
	base, ok, err := q.keyOf(valid)
	if err != nil {
		return Entry{}, false, err
	}
	if ok && base == offset {
		if ok, err = q.load(valid); !ok {
			return Entry{}, false, err
		}
		return q.cur(), true, nil
	}
	// The row under the iterator (if any) starts above offset; the one
	// before starts below it.
	prev, err := q.load(q.it.Prev())
	switch {
	case err != nil:
		return Entry{}, false, err
	case prev && offset-q.base < int64(q.n):
		q.i = int(offset - q.base)
		return q.cur(), true, nil
	case prev:
		ok, err = q.load(q.it.Next())
	default:
		ok, err = q.load(q.it.First())
	}
	if !ok {
		return Entry{}, false, err
	}
	return q.cur(), true, nil
}

// seekLT positions at the last entry with offset < offset.
func (q *queueIter) seekLT(offset int64) (Entry, bool, error) {
	if offset <= 0 {
		return Entry{}, false, nil
	}
	ok, err := q.load(q.it.SeekLT(q.seekKey(offset)))
	if !ok {
		return Entry{}, false, err
	}
	q.i = int(min(offset-1-q.base, int64(q.n-1)))
	return q.cur(), true, nil
}

// firstWhere returns the first entry in [lo, last.QueueOffset] that satisfies
// pred, where lo is an existing offset and pred is monotone over the queue
// (false for a prefix, true after). It binary-searches offsets with O(log n)
// seeks, without assuming offsets are contiguous: a seek to a missing
// offset lands on the next existing one.
//
// The last few candidates are scanned with Next, which is an order of
// magnitude cheaper than a seek and stays in the same block.
func (q *queueIter) firstWhere(lo int64, last Entry, pred func(Entry) bool) (Entry, bool, error) {
	const linearTail = 32
	hi := last.QueueOffset + 1
	var ans Entry
	found := false
	for hi-lo > linearTail {
		mid := lo + (hi-lo)/2
		e, ok, err := q.seekGE(mid)
		if err != nil {
			return Entry{}, false, err
		}
		if !ok { // cannot happen on a point-in-time view with mid <= last
			hi = mid
			continue
		}
		if pred(e) {
			// Offsets in [mid, e.QueueOffset) do not exist.
			ans, found, hi = e, true, mid
		} else {
			lo = e.QueueOffset + 1
		}
	}
	// Every entry below lo fails pred; none exists in [hi, ans).
	e, ok, err := q.seekGE(lo)
	for ; err == nil && ok && e.QueueOffset < hi; e, ok, err = q.next() {
		if pred(e) {
			return e, true, nil
		}
	}
	if err != nil {
		return Entry{}, false, err
	}
	return ans, found, nil
}

// span is a queue's shape as seen by a lookup.
type span struct {
	empty bool  // no rows at all
	min   Entry // first entry with PhyOffset >= minPhy (valid if min.QueueOffset < max)
	last  Entry // last entry
	max   int64 // last.QueueOffset + 1, or 0 if empty
	// minOff is the logical min offset: min.QueueOffset, or max when every
	// row points below minPhy (the queue is logically empty).
	minOff int64
}

func (q *queueIter) span(minPhy int64) (span, error) {
	first, ok, err := q.first()
	if err != nil {
		return span{}, err
	}
	if !ok {
		return span{empty: true}, nil
	}
	last, _, err := q.last()
	if err != nil {
		return span{}, err
	}
	sp := span{last: last, max: last.QueueOffset + 1}
	switch {
	case first.PhyOffset >= minPhy:
		sp.min = first
	case last.PhyOffset < minPhy:
		sp.minOff = sp.max
		return sp, nil
	default:
		// Physical offsets grow with queue offsets (commitlog order), so
		// "points at or beyond minPhy" is monotone.
		e, _, err := q.firstWhere(first.QueueOffset, last, func(e Entry) bool { return e.PhyOffset >= minPhy })
		if err != nil {
			return span{}, err
		}
		sp.min = e
	}
	sp.minOff = sp.min.QueueOffset
	return sp, nil
}

// RowAt returns the entries of the row that holds offset (the first one at
// the row's key), or ok false when no row holds it. Forgetting uses it to
// cut a group that straddles what it deletes.
func (s *Store) RowAt(topic string, queueID int32, offset int64) (entries []Entry, ok bool, err error) {
	f, err := s.NewRowFinder()
	if err != nil {
		return nil, false, err
	}
	entries, ok, err = f.RowAt(topic, queueID, offset)
	return entries, ok, errors.Join(err, f.Close())
}

// RowFinder finds the rows holding given entries, for forgetting: one
// iterator over every consume queue serves all of a batch's lookups. It
// sees the rows committed when it was made.
type RowFinder struct {
	it  *pebble.Iterator
	key []byte
}

// NewRowFinder returns a RowFinder; Close it.
func (s *Store) NewRowFinder() (*RowFinder, error) {
	lower := []byte{kvdb.PrefixCQ}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: kvdb.PrefixEnd(lower)})
	if err != nil {
		return nil, fmt.Errorf("cq: iterate rows: %w", err)
	}
	return &RowFinder{it: it}, nil
}

// Close releases the iterator.
func (f *RowFinder) Close() error {
	if err := f.it.Close(); err != nil {
		return fmt.Errorf("cq: close row iterator: %w", err)
	}
	return nil
}

// row positions on the row that holds offset and returns its value and
// first offset. The value is valid until the next call.
func (f *RowFinder) row(topic string, queueID int32, offset int64) (v []byte, first int64, ok bool, err error) {
	if err := checkQueue(topic, queueID); err != nil {
		return nil, 0, false, err
	}
	if offset < 0 || offset == math.MaxInt64 {
		return nil, 0, false, nil
	}
	f.key = AppendKey(f.key[:0], topic, queueID, offset+1)
	prefix := f.key[:len(f.key)-8]
	if !f.it.SeekLT(f.key) {
		return nil, 0, false, f.it.Error()
	}
	k := f.it.Key()
	if len(k) != len(prefix)+8 || string(k[:len(prefix)]) != string(prefix) {
		return nil, 0, false, nil // another queue's row: none of this one's is at or below offset
	}
	if v, err = f.it.ValueAndErr(); err != nil {
		return nil, 0, false, fmt.Errorf("cq: read %s/%d: %w", topic, queueID, err)
	}
	n, err := GroupLen(v)
	if err != nil {
		return nil, 0, false, fmt.Errorf("%s/%d@%d: %w", topic, queueID, offset, err)
	}
	first = int64(binary.BigEndian.Uint64(k[len(prefix):]))
	if offset-first >= int64(n) {
		return nil, 0, false, nil // the row ends below offset
	}
	return v, first, true, nil
}

// RowAt is Store.RowAt on the finder's iterator.
func (f *RowFinder) RowAt(topic string, queueID int32, offset int64) (entries []Entry, ok bool, err error) {
	v, first, ok, err := f.row(topic, queueID, offset)
	if !ok {
		return nil, false, err
	}
	entries = make([]Entry, len(v)/ValueLen)
	for i := range entries {
		entries[i] = GroupEntry(v, first, i)
	}
	return entries, true, nil
}

// RowStart returns the offset of the first entry of the row that holds
// offset, without decoding the row.
func (f *RowFinder) RowStart(topic string, queueID int32, offset int64) (first int64, ok bool, err error) {
	_, first, ok, err = f.row(topic, queueID, offset)
	return first, ok, err
}

// MaxOffset returns one past the queue's last entry, or 0 if it has none.
func (s *Store) MaxOffset(topic string, queueID int32) (int64, error) {
	q, err := s.openQueue(topic, queueID)
	if err != nil {
		return 0, err
	}
	last, ok, err := q.last()
	if err == nil && ok {
		return last.QueueOffset + 1, q.close()
	}
	return 0, errors.Join(err, q.close())
}

// MinOffset returns the offset of the queue's first entry whose PhyOffset is
// >= minPhy (the commitlog's min offset after retention); if every entry is
// older, it returns MaxOffset: the queue is logically empty. An empty queue
// gives 0.
func (s *Store) MinOffset(topic string, queueID int32, minPhy int64) (int64, error) {
	q, err := s.openQueue(topic, queueID)
	if err != nil {
		return 0, err
	}
	sp, err := q.span(minPhy)
	return sp.minOff, errors.Join(err, q.close())
}

// Get returns the entry at offset, or ErrNotFound.
func (s *Store) Get(topic string, queueID int32, offset int64) (Entry, error) {
	if err := checkQueue(topic, queueID); err != nil {
		return Entry{}, err
	}
	if offset < 0 {
		return Entry{}, fmt.Errorf("%w: %d", ErrInvalidOffset, offset)
	}
	// A point lookup (bloom filters make a miss cheap) finds a row keyed at
	// offset: every LMQ entry and the first of a group. Otherwise the entry
	// may sit inside a group.
	v, closer, err := s.db.Get(Key(topic, queueID, offset))
	if err == nil {
		var e Entry
		_, lerr := GroupLen(v)
		if lerr == nil {
			e = GroupEntry(v, offset, 0)
		}
		if err = errors.Join(lerr, closer.Close()); err != nil {
			return Entry{}, fmt.Errorf("cq: get %s/%d@%d: %w", topic, queueID, offset, err)
		}
		return e, nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return Entry{}, fmt.Errorf("cq: get %s/%d@%d: %w", topic, queueID, offset, err)
	}
	q, err := s.openQueue(topic, queueID)
	if err != nil {
		return Entry{}, err
	}
	e, ok, err := q.seekGE(offset)
	if err = errors.Join(err, q.close()); err != nil {
		return Entry{}, fmt.Errorf("cq: get %s/%d@%d: %w", topic, queueID, offset, err)
	}
	if !ok || e.QueueOffset != offset {
		return Entry{}, fmt.Errorf("%w: %s/%d@%d", ErrNotFound, topic, queueID, offset)
	}
	return e, nil
}

// Range returns up to maxCount entries in offset order, starting at the
// first existing offset >= from. Offsets are expected to be contiguous but
// gaps are returned as they are (check QueueOffset). An empty result means
// nothing at or after from.
func (s *Store) Range(topic string, queueID int32, from int64, maxCount int) ([]Entry, error) {
	if maxCount <= 0 {
		return nil, nil
	}
	q, err := s.openQueue(topic, queueID)
	if err != nil {
		return nil, err
	}
	from = max(from, 0)
	// Cap the preallocation: maxCount comes from a request.
	out := make([]Entry, 0, min(maxCount, 256))
	e, ok, err := q.seekGE(from)
	for ; err == nil && ok && len(out) < maxCount; e, ok, err = q.next() {
		out = append(out, e)
	}
	if err = errors.Join(err, q.close()); err != nil {
		return nil, err
	}
	return out, nil
}

// OffsetByTime returns the queue offset for store time ts (ms), as RocketMQ's
// getOffsetInQueueByTime (reference storage-lmq-admin.md 1.8), with store
// times read from the rows instead of the commitlog:
//
//   - Lower: the first entry with storeTime >= ts; ts after the last entry
//     gives the max offset, ts before the first the min offset.
//   - Upper: the last entry with storeTime <= ts; ts after the last entry
//     gives the last offset, ts before the first gives 0.
//   - Entries with PhyOffset < minPhy are too old (deleted from the
//     commitlog) and never returned.
//   - The result is finally clamped into [min offset, max offset], so Upper
//     before the first entry returns the min offset, and a logically empty
//     queue returns its max offset (0 if it has no rows).
//
// Store times are non-decreasing in offset order (commitlog order), which the
// binary search (O(log n) seeks) relies on.
func (s *Store) OffsetByTime(topic string, queueID int32, ts int64, boundary Boundary, minPhy int64) (int64, error) {
	if boundary != Lower && boundary != Upper {
		return 0, fmt.Errorf("%w: boundary %v", ErrInvalidArgument, boundary)
	}
	q, err := s.openQueue(topic, queueID)
	if err != nil {
		return 0, err
	}
	off, err := q.offsetByTime(ts, boundary, minPhy)
	if err = errors.Join(err, q.close()); err != nil {
		return 0, fmt.Errorf("cq: offset by time %s/%d: %w", topic, queueID, err)
	}
	return off, nil
}

func (q *queueIter) offsetByTime(ts int64, boundary Boundary, minPhy int64) (int64, error) {
	sp, err := q.span(minPhy)
	if err != nil {
		return 0, err
	}
	if sp.empty || sp.minOff == sp.max {
		return sp.minOff, nil // [min, max] is a single point
	}
	var off int64
	if boundary == Lower {
		switch {
		case sp.min.StoreTime >= ts: // before (or at) the first valid entry
			off = sp.minOff
		case sp.last.StoreTime < ts: // after the last entry
			off = sp.max
		default:
			e, _, err := q.firstWhere(sp.minOff, sp.last, func(e Entry) bool { return e.StoreTime >= ts })
			if err != nil {
				return 0, err
			}
			off = e.QueueOffset
		}
	} else {
		switch {
		case sp.last.StoreTime <= ts: // after (or at) the last entry
			off = sp.last.QueueOffset
		case sp.min.StoreTime > ts: // before the first valid entry
			off = 0
		default:
			// The entry before the first one later than ts. min is not
			// later than ts, so that entry exists and is >= min.
			after, _, err := q.firstWhere(sp.minOff, sp.last, func(e Entry) bool { return e.StoreTime > ts })
			if err != nil {
				return 0, err
			}
			e, ok, err := q.seekLT(after.QueueOffset)
			if err != nil {
				return 0, err
			}
			if !ok {
				return 0, fmt.Errorf("%w: no entry before offset %d", ErrCorrupt, after.QueueOffset)
			}
			off = e.QueueOffset
		}
	}
	return min(max(off, sp.minOff), sp.max), nil
}

// EarliestStoreTime returns the store time of the entry at the queue's min
// offset (see MinOffset), or ErrNotFound if the queue is (logically) empty.
func (s *Store) EarliestStoreTime(topic string, queueID int32, minPhy int64) (int64, error) {
	q, err := s.openQueue(topic, queueID)
	if err != nil {
		return 0, err
	}
	sp, err := q.span(minPhy)
	if err = errors.Join(err, q.close()); err != nil {
		return 0, err
	}
	if sp.empty || sp.minOff == sp.max {
		return 0, fmt.Errorf("%w: %s/%d has no entry at or above phy %d", ErrNotFound, topic, queueID, minPhy)
	}
	return sp.min.StoreTime, nil
}

// Queues lists, in order, the ids of topic's queues that have rows. It seeks
// once per queue, not once per row.
func (s *Store) Queues(topic string) ([]int32, error) {
	if err := CheckTopic(topic); err != nil {
		return nil, err
	}
	prefix := appendTopicPrefix(make([]byte, 0, len(topic)+queuePrefixOverhead), topic)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kvdb.PrefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("cq: list queues of %s: %w", topic, err)
	}
	var ids []int32
	seek := make([]byte, 0, len(prefix)+4)
	for valid := it.First(); valid; {
		k := it.Key()
		if len(k) != len(prefix)+4+8 {
			err = fmt.Errorf("%w: %s key %x", ErrCorrupt, topic, k)
			break
		}
		id := int32(binary.BigEndian.Uint32(k[len(prefix):]))
		ids = append(ids, id)
		if id == math.MaxInt32 {
			break
		}
		seek = binary.BigEndian.AppendUint32(append(seek[:0], prefix...), uint32(id+1))
		valid = it.SeekGE(seek)
	}
	if err = errors.Join(err, it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("cq: list queues of %s: %w", topic, err)
	}
	return ids, nil
}
