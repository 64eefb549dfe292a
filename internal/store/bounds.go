package store

import (
	"sync"
	"sync/atomic"

	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/dispatch"
)

// Queue bounds in memory for pulls. A consumer that keeps up pulls a queue
// every few messages; reading its max and min offsets from pebble cost two
// iterators (a seek to the last row, a seek to the first) per pull, about a
// tenth of the broker's CPU at 20,000 msg/s end to end. The cache keeps
// both for the queues being pulled:
//
//   - max (one past the last entry readers may take) is read from pebble
//     once, then moved forward by every dispatch pass's arrivals, before
//     the arrival listener wakes held pulls, so a woken pull sees its
//     message, and by puts that show their entries early (below);
//   - min is remembered with the commit-log min offset it was computed
//     for: appending entries never moves a non-empty queue's min, only
//     retention does, and retention moves the commit log's min.
//
// Only retention deletes consume-queue rows while the store runs (crash
// recovery truncates before anything is cached), and it keeps each
// queue's last row, so a max never moves back; a retention pass still
// clears the cache, as a safeguard that costs one pebble read per queue
// per pass. Queues enter it when pulled, up to
// maxCachedBounds of them (an LMQ broker has millions of queues). A miss
// on a full cache empties it first: the queues still pulled come back at
// one pebble read each, and the queues that went cold (LMQs whose
// consumers left) do not hold the room for ever. (Both clears keep the
// queues whose shown entries are not dispatched yet, see below: the
// queues written in the last dispatch delay, so the cache may briefly hold
// a few more than maxCachedBounds.)
//
// Each cached queue also keeps its last tailEntries consume-queue entries,
// given by dispatch as it writes them: a pull at the tail (the usual one)
// then opens no pebble iterator at all (cq.Range was 8 % of the broker's
// CPU at 20,000 msg/s end to end). Entries may be noted before their batch
// commits; readers take only entries below max, which moves after the
// commit, and a re-dispatched record notes the same entry again.
//
// Early visibility (ASYNC_FLUSH): the put that writes a message of a cached
// queue notes its entry at once and moves max past it (noteEarly), so a
// consumer at the tail is served from the ring before dispatch has written
// the entry's row; dispatch then runs lazily, in fewer and larger passes
// (put.go). The ring must then hold every entry between the dispatched end
// (disp) and max, since pebble has none of them yet: a put notes early only
// the entry right after the ring's last one, and only while the ring keeps
// everything from disp on; otherwise it leaves the entry to dispatch, as
// before. An end shown never moves back: a clear keeps every queue whose
// max is beyond disp (evict), and marks the ones it drops so that no put
// notes into them any more, so a queue cached afresh starts from a
// pebble end at least as far as anything shown of it.
const (
	maxCachedBounds = 1 << 14 // ~24 MiB at most
	tailEntries     = 32      // 1.3 KiB per cached queue
)

type queueBounds struct {
	max  atomic.Int64 // one past the last entry readers may take
	disp atomic.Int64 // one past the last entry dispatch committed
	min  atomic.Pointer[minAt]

	mu     sync.Mutex
	lo, hi int64 // the ring holds the entries of offsets [lo, hi)
	ring   [tailEntries]cq.Entry
	late   []cq.Entry // dispatched entries after the ring, kept by note
	gone   bool       // evicted: puts no longer note into it
}

// note records dispatch's entry of offset e.QueueOffset. While the ring
// serves entries noted early (max beyond disp), it holds the only copy of
// them readers have, so dispatch then rewrites only entries the ring holds
// (with the same values) and keeps the entries after them aside (late)
// until advance, after their rows commit, adds them to the ring.
func (b *queueBounds) note(e cq.Entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max.Load() <= b.disp.Load() {
		b.noteLocked(e)
		return
	}
	off := e.QueueOffset
	switch {
	case off >= b.lo && off < b.hi:
		b.ring[off%tailEntries] = e
	case len(b.late) > 0 && off == b.late[len(b.late)-1].QueueOffset+1:
		if len(b.late) == tailEntries { // only the last tailEntries can stay in the ring
			b.late = append(b.late[:0], b.late[1:]...)
		}
		b.late = append(b.late, e)
	case off >= b.hi:
		b.late = append(b.late[:0], e)
	}
}

// mergeLateLocked adds the entries note kept aside to the ring, once no
// early entry is outstanding.
func (b *queueBounds) mergeLateLocked() {
	if len(b.late) == 0 || b.max.Load() > b.disp.Load() {
		return
	}
	for _, e := range b.late {
		if e.QueueOffset >= b.hi { // a put may have noted it meanwhile
			b.noteLocked(e)
		}
	}
	b.late = b.late[:0]
}

func (b *queueBounds) noteLocked(e cq.Entry) {
	switch off := e.QueueOffset; {
	case off == b.hi:
		b.hi++
		b.lo = max(b.lo, b.hi-tailEntries)
	case off > b.hi || off < b.lo:
		// A gap (entries dispatched before the queue was cached) or an
		// entry older than the ring: start over from it.
		b.lo, b.hi = off, off+1
	}
	b.ring[e.QueueOffset%tailEntries] = e
}

// noteEarly records the entry of offset e.QueueOffset, written to the
// commit log but not yet dispatched, and makes it readable, if it extends
// the ring without pushing out an undispatched entry. It reports whether
// it did.
func (b *queueBounds) noteEarly(e cq.Entry) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	disp := b.disp.Load()
	if b.gone || e.QueueOffset != b.hi || b.lo > disp || b.hi+1-disp > tailEntries {
		return false
	}
	b.ring[e.QueueOffset%tailEntries] = e
	b.hi++
	b.lo = max(b.lo, b.hi-tailEntries)
	if b.hi > b.max.Load() {
		b.max.Store(b.hi) // only under mu, so never backwards
	}
	return true
}

// tail appends to out the entries of [from, to) if the ring holds all of
// them, and reports whether it did.
func (b *queueBounds) tail(out []cq.Entry, from, to int64) ([]cq.Entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if from < b.lo || to > b.hi || from >= to {
		return out, false
	}
	for off := from; off < to; off++ {
		out = append(out, b.ring[off%tailEntries])
	}
	return out, true
}

// minAt is a queue's min offset while the commit log starts at phy.
type minAt struct{ phy, off int64 }

type boundsCache struct {
	// mu orders misses (a pebble read, then the insert) against dispatch
	// updates and clears: a miss either reads rows a dispatch committed,
	// or is in the map when that dispatch's update runs.
	mu sync.Mutex
	m  sync.Map     // queueKey -> *queueBounds
	n  atomic.Int64 // entries; changed under mu
}

// cached returns a queue's bounds if it is cached, without adding it.
func (c *boundsCache) cached(topic string, queueID int32) *queueBounds {
	if b, ok := c.m.Load(queueKey{topic, queueID}); ok {
		return b.(*queueBounds)
	}
	return nil
}

// get returns the bounds of a queue, reading its max offset from the
// consume queue on a miss.
func (c *boundsCache) get(store *cq.Store, topic string, queueID int32) (*queueBounds, error) {
	k := queueKey{topic, queueID}
	if b, ok := c.m.Load(k); ok {
		return b.(*queueBounds), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.m.Load(k); ok {
		return b.(*queueBounds), nil
	}
	if c.n.Load() >= maxCachedBounds {
		// Full: start over (see above). A caller still holding an entry
		// uses it for the read in progress only.
		c.evictLocked()
	}
	maxOff, err := store.MaxOffset(topic, queueID)
	if err != nil {
		return nil, err
	}
	b := &queueBounds{lo: maxOff, hi: maxOff}
	b.max.Store(maxOff)
	b.disp.Store(maxOff)
	c.m.Store(k, b)
	c.n.Add(1)
	return b, nil
}

// note gives dispatch's entry of a queue to the queue's tail ring, if the
// queue is cached.
func (c *boundsCache) note(topic string, queueID int32, e cq.Entry) {
	if c.n.Load() == 0 {
		return // nothing pulled: no map lookup per dispatched entry
	}
	if b, ok := c.m.Load(queueKey{topic, queueID}); ok {
		b.(*queueBounds).note(e)
	}
}

// noteEarly gives a put's entry to a cached queue (queueBounds.noteEarly)
// and reports whether the queue's max moved.
func (c *boundsCache) noteEarly(topic string, queueID int32, e cq.Entry) bool {
	if b, ok := c.m.Load(queueKey{topic, queueID}); ok {
		return b.(*queueBounds).noteEarly(e)
	}
	return false
}

// advance moves the dispatched ends and max offsets of cached queues to
// their arrivals. Call it after the arrivals' rows are committed.
func (c *boundsCache) advance(arrivals []dispatch.Arrival) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n.Load() == 0 {
		return
	}
	for _, a := range arrivals {
		b, ok := c.m.Load(queueKey{a.Topic, a.QueueID})
		if !ok {
			continue
		}
		qb := b.(*queueBounds)
		qb.mu.Lock() // max moves under the queue's lock (noteEarly)
		if a.NextOffset > qb.disp.Load() {
			qb.disp.Store(a.NextOffset)
		}
		if a.NextOffset > qb.max.Load() {
			qb.max.Store(a.NextOffset)
		}
		qb.mergeLateLocked()
		qb.mu.Unlock()
	}
}

// clear forgets every queue but those showing undispatched entries; call
// it after consume-queue rows were deleted (their mins are kept with the
// commit-log start they were computed for, so a kept min is not reused).
func (c *boundsCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.evictLocked()
}

// evictLocked drops every queue whose readable end is dispatched (pebble
// has all it shows), marking each so that puts stop noting into it; the
// others stay, since pebble's end lies below what they showed.
func (c *boundsCache) evictLocked() {
	c.m.Range(func(k, v any) bool {
		b := v.(*queueBounds)
		b.mu.Lock()
		if b.max.Load() <= b.disp.Load() {
			b.gone = true
			c.m.Delete(k)
			c.n.Add(-1)
		}
		b.mu.Unlock()
		return true
	})
}

// minOffset returns a queue's min offset for the commit-log min offset
// minPhy, from b when it was computed for the same minPhy.
func (s *Store) minOffset(b *queueBounds, topic string, queueID int32, minPhy, maxOff int64) (int64, error) {
	if m := b.min.Load(); m != nil && m.phy == minPhy {
		return m.off, nil
	}
	off, err := s.cq.MinOffset(topic, queueID, minPhy)
	if err != nil {
		return 0, err
	}
	// A logically empty queue's min is its max, which arrivals move:
	// only a min below the max stays put.
	if off < maxOff {
		b.min.Store(&minAt{phy: minPhy, off: off})
	}
	return off, nil
}
