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
//   - max (one past the last dispatched entry) is read from pebble once,
//     then moved forward by every dispatch pass's arrivals, before the
//     arrival listener wakes held pulls, so a woken pull sees its message;
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
// consumers left) do not hold the room for ever.
//
// Each cached queue also keeps its last tailEntries consume-queue entries,
// given by dispatch as it writes them: a pull at the tail (the usual one)
// then opens no pebble iterator at all (cq.Range was 8 % of the broker's
// CPU at 20,000 msg/s end to end). Entries may be noted before their batch
// commits; readers take only entries below max, which moves after the
// commit, and a re-dispatched record notes the same entry again.
const (
	maxCachedBounds = 1 << 14 // ~24 MiB at most
	tailEntries     = 32      // 1.3 KiB per cached queue
)

type queueBounds struct {
	max atomic.Int64
	min atomic.Pointer[minAt]

	mu     sync.Mutex
	lo, hi int64 // the ring holds the entries of offsets [lo, hi)
	ring   [tailEntries]cq.Entry
}

// note records the entry of offset e.QueueOffset.
func (b *queueBounds) note(e cq.Entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
		c.m.Clear()
		c.n.Store(0)
	}
	maxOff, err := store.MaxOffset(topic, queueID)
	if err != nil {
		return nil, err
	}
	b := &queueBounds{lo: maxOff, hi: maxOff}
	b.max.Store(maxOff)
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

// advance moves the max offsets of cached queues to their arrivals. Call
// it after the arrivals' rows are committed.
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
		if a.NextOffset > qb.max.Load() {
			qb.max.Store(a.NextOffset)
		}
	}
}

// clear forgets every queue; call it after consume-queue rows were
// deleted.
func (c *boundsCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.Clear()
	c.n.Store(0)
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
