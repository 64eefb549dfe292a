package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/dispatch"
)

// openPulledHeld opens a store whose queue T-0 is being pulled (cached),
// with dispatch held until release.
func openPulledHeld(t *testing.T) (s *Store, release func()) {
	t.Helper()
	s = newEnv().open(t, nil)
	if _, err := s.GetMessages("T", 0, 0, 1, 0, nil); err != nil {
		t.Fatal(err)
	}
	return s, blockDispatch(s)
}

// blockDispatch stalls dispatch passes until the returned func is called
// (a pass takes dispatchMu for its whole run).
func blockDispatch(s *Store) (release func()) {
	s.dispatchMu.Lock()
	var once sync.Once
	return func() { once.Do(s.dispatchMu.Unlock) }
}

// A message put to a queue being pulled is readable, and its arrival
// told, before dispatch has written its consume-queue row; an LMQ it is
// dispatched to likewise. Once dispatch runs, readers see the same
// entries from pebble.
func TestEarlyVisibility(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	var mu sync.Mutex
	told := map[string]int64{}
	s.SetArrivalListener(func(topic string, q int32, next int64) {
		mu.Lock()
		told[fmt.Sprintf("%s/%d", topic, q)] = max(told[fmt.Sprintf("%s/%d", topic, q)], next)
		mu.Unlock()
	})
	const lmq = "%LMQ%early"
	for _, q := range []queueKey{{"T", 0}, {lmq, message.LMQQueueID}} { // pulled: cached
		if got, err := s.GetMessages(q.topic, q.queue, 0, 32, 0, nil); err != nil || got.Status != NoMessageInQueue {
			t.Fatalf("%v before any put: %v %v", q, got.Status, err)
		}
	}
	release := blockDispatch(s)
	defer release()
	for i := range 3 {
		mustPut(t, s, msg("T", 0, fmt.Sprintf("m%d", i), message.PropertyTags, "TagA",
			message.PropertyInnerMultiDispatch, lmq))
	}
	mustPut(t, s, msg("T", 1, "not pulled")) // queue 1 is not cached
	if d := s.Stats().Dispatched; d != 0 {
		t.Fatalf("dispatched %d while blocked", d)
	}
	if rows, err := s.cq.MaxOffset("T", 0); err != nil || rows != 0 {
		t.Fatalf("consume-queue rows before dispatch: %d %v", rows, err)
	}
	for _, q := range []queueKey{{"T", 0}, {lmq, message.LMQQueueID}} {
		got, err := s.GetMessages(q.topic, q.queue, 0, 32, 0, nil)
		if err != nil || got.Status != Found || got.MaxOffset != 3 || !slices.Equal(bodies(t, got.Records), []string{"m0", "m1", "m2"}) {
			t.Fatalf("%v before dispatch: %v max %d %v %v", q, got.Status, got.MaxOffset, bodies(t, got.Records), err)
		}
		if !slices.Equal(got.QueueOffsets, []int64{0, 1, 2}) || got.NextOffset != 3 {
			t.Fatalf("%v before dispatch: offsets %v next %d", q, got.QueueOffsets, got.NextOffset)
		}
		if m, _ := s.MaxOffset(q.topic, q.queue); m != 3 {
			t.Fatalf("%v: max offset %d before dispatch", q, m)
		}
		mu.Lock()
		n := told[fmt.Sprintf("%s/%d", q.topic, q.queue)]
		mu.Unlock()
		if n != 3 {
			t.Fatalf("%v: arrival told %d before dispatch, want 3", q, n)
		}
	}
	// Tag filtering works on the early entries (their tag hash).
	tagA := message.TagHash("TagA")
	if got, _ := s.GetMessages("T", 0, 0, 32, 0, func(e cq.Entry) bool { return int32(e.TagHash) == tagA }); len(got.Records) != 3 {
		t.Fatalf("filtered on TagA: %d records", len(got.Records))
	}
	if got, _ := s.GetMessages("T", 0, 0, 32, 0, func(e cq.Entry) bool { return int32(e.TagHash) != tagA }); got.Status != NoMatchedMessage {
		t.Fatalf("filtered out: %v", got.Status)
	}
	if m, _ := s.MaxOffset("T", 1); m != 0 {
		t.Fatalf("an uncached queue's max moved before dispatch: %d", m)
	}
	early := s.bounds.cached("T", 0)
	ring, ok := early.tail(nil, 0, 3)
	if !ok {
		t.Fatal("the ring lacks the early entries")
	}
	release()
	waitDispatched(t, s)
	rows, err := s.cq.Range("T", 0, 0, 10)
	if err != nil || !slices.Equal(rows, ring) {
		t.Fatalf("dispatched rows %+v, early entries %+v (%v)", rows, ring, err)
	}
	if m, _ := s.MaxOffset("T", 1); m != 1 {
		t.Fatalf("queue 1 after dispatch: max %d", m)
	}
}

// A put notes at most tailEntries undispatched entries of a queue: the
// rest wait for dispatch, and once it has run the ring holds the queue's
// last entries again.
func TestEarlyVisibilityStopsAtTheRing(t *testing.T) {
	s, release := openPulledHeld(t)
	defer s.Close()
	defer release()
	const n = tailEntries + 5
	for i := range n {
		mustPut(t, s, msg("T", 0, fmt.Sprintf("m%02d", i)))
	}
	got, err := s.GetMessages("T", 0, 0, 2*n, 0, nil)
	if err != nil || got.MaxOffset != tailEntries || len(got.Records) != tailEntries {
		t.Fatalf("before dispatch: max %d, %d records (%v)", got.MaxOffset, len(got.Records), err)
	}
	if got, _ := s.GetMessages("T", 0, tailEntries, 8, 0, nil); got.Status != OffsetOverflowOne {
		t.Fatalf("at the early end: %v", got.Status)
	}
	release()
	waitDispatched(t, s)
	got, err = s.GetMessages("T", 0, tailEntries, 8, 0, nil)
	if err != nil || got.Status != Found || got.MaxOffset != n || len(got.Records) != 5 {
		t.Fatalf("after dispatch: %v max %d, %d records (%v)", got.Status, got.MaxOffset, len(got.Records), err)
	}
	b := s.bounds.cached("T", 0)
	entries, ok := b.tail(nil, n-tailEntries, n)
	if !ok {
		t.Fatal("after dispatch the ring lacks the last entries")
	}
	want, _ := s.cq.Range("T", 0, n-tailEntries, tailEntries)
	if !slices.Equal(entries, want) {
		t.Fatalf("ring %+v, consume queue %+v", entries, want)
	}
	// And the next put is shown early again.
	release2 := blockDispatch(s)
	defer release2()
	mustPut(t, s, msg("T", 0, "again"))
	if m, _ := s.MaxOffset("T", 0); m != n+1 {
		t.Fatalf("the put after the burst: max %d, want %d", m, n+1)
	}
}

// A consumer shown an end early keeps it through a cache clear (retention
// and a full cache clear it): the clear keeps the queues whose shown end
// pebble has not reached, and drops the others, which puts then no longer
// note into.
func TestEarlyEndSurvivesAClear(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	for _, q := range []int32{0, 1} {
		if _, err := s.GetMessages("T", q, 0, 1, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	mustPut(t, s, msg("T", 1, "dispatched"))
	waitDispatched(t, s)
	release := blockDispatch(s)
	defer release()
	for i := range 3 {
		mustPut(t, s, msg("T", 0, fmt.Sprintf("m%d", i)))
	}
	if got, _ := s.GetMessages("T", 0, 0, 8, 0, nil); len(got.Records) != 3 {
		t.Fatalf("early: %d records", len(got.Records))
	}
	dropped := s.bounds.cached("T", 1)
	s.bounds.clear()
	if s.bounds.cached("T", 1) != nil || s.bounds.cached("T", 0) == nil || s.bounds.n.Load() != 1 {
		t.Fatalf("after the clear: queue 0 cached %v, queue 1 cached %v, %d cached",
			s.bounds.cached("T", 0) != nil, s.bounds.cached("T", 1) != nil, s.bounds.n.Load())
	}
	got, err := s.GetMessages("T", 0, 1, 8, 0, nil)
	if err != nil || got.Status != Found || got.MaxOffset != 3 || !slices.Equal(bodies(t, got.Records), []string{"m1", "m2"}) {
		t.Fatalf("at 1 after the clear: %v max %d %v (%v)", got.Status, got.MaxOffset, bodies(t, got.Records), err)
	}
	if m, _ := s.MaxOffset("T", 0); m != 3 {
		t.Fatalf("max offset after the clear: %d", m)
	}
	if dropped.noteEarly(cq.Entry{QueueOffset: 1}) {
		t.Fatal("a put noted into a dropped queue's bounds")
	}
	release()
	waitDispatched(t, s)
	if got, _ := s.GetMessages("T", 1, 0, 8, 0, nil); !slices.Equal(bodies(t, got.Records), []string{"dispatched"}) {
		t.Fatalf("queue 1 after the clear: %v", bodies(t, got.Records))
	}
}

// While entries noted early are not dispatched, dispatch's own notes
// never push them out of the ring (readers have no other copy); the
// entries after the ring wait aside until advance, once the rows commit,
// adds them.
func TestQueueBoundsKeepsEarlyEntries(t *testing.T) {
	b := &queueBounds{lo: 0, hi: 0}
	e := func(off int64) cq.Entry { return cq.Entry{QueueOffset: off, PhyOffset: off * 100, Size: 10} }
	has := func(from, to int64) bool { _, ok := b.tail(nil, from, to); return ok }
	for off := range int64(tailEntries + 3) {
		ok := b.noteEarly(e(off))
		if want := off < tailEntries; ok != want {
			t.Fatalf("early note of %d: %v, want %v", off, ok, want)
		}
	}
	if b.max.Load() != tailEntries || !has(0, tailEntries) {
		t.Fatalf("after early notes: max %d, ring [%d, %d)", b.max.Load(), b.lo, b.hi)
	}
	for off := range int64(tailEntries + 5) { // dispatch notes everything
		b.note(e(off))
	}
	if !has(0, tailEntries) {
		t.Fatalf("dispatch's notes pushed out undispatched entries: ring [%d, %d)", b.lo, b.hi)
	}
	if b.noteEarly(e(tailEntries + 5)) {
		t.Fatal("an early note past a gap was taken")
	}
	var c boundsCache
	c.m.Store(queueKey{"T", 0}, b)
	c.n.Store(1)
	c.advance([]dispatch.Arrival{{Topic: "T", QueueID: 0, NextOffset: tailEntries + 5}})
	if b.max.Load() != tailEntries+5 || b.disp.Load() != tailEntries+5 {
		t.Fatalf("after advance: max %d disp %d", b.max.Load(), b.disp.Load())
	}
	if !has(5, tailEntries+5) || has(4, 5) {
		t.Fatalf("after advance the ring is [%d, %d), want the last %d entries", b.lo, b.hi, tailEntries)
	}
	if !b.noteEarly(e(tailEntries + 5)) {
		t.Fatal("early notes did not resume once dispatch caught up")
	}
}

// Stats read a message's store time by offset: an entry shown early has
// one before its row is written.
func TestStoreTimeAtEarlyEntry(t *testing.T) {
	s, release := openPulledHeld(t)
	defer s.Close()
	defer release()
	res := mustPut(t, s, msg("T", 0, "m"))
	ts, err := s.StoreTimeAt("T", 0, 0)
	if err != nil || ts != res.StoreTime {
		t.Fatalf("store time of the early entry: %d %v, want %d", ts, err, res.StoreTime)
	}
	if _, err := s.StoreTimeAt("T", 0, 1); !errors.Is(err, cq.ErrNotFound) {
		t.Fatalf("past the end: %v", err)
	}
}

// Dispatch may read a group before its leader has shown it: the entry it
// kept aside (late) is then noted by the put too, and must not be noted
// again once it has left the ring (that would start the ring over).
func TestQueueBoundsLateEntryAlreadyShown(t *testing.T) {
	b := &queueBounds{}
	var c boundsCache
	c.m.Store(queueKey{"T", 0}, b)
	c.n.Store(1)
	e := func(off int64) cq.Entry { return cq.Entry{QueueOffset: off, PhyOffset: off * 100, Size: 10} }
	advance := func(next int64) {
		c.advance([]dispatch.Arrival{{Topic: "T", QueueID: 0, NextOffset: next}})
	}
	b.noteEarly(e(0))
	b.note(e(1)) // dispatch first: kept aside
	if !b.noteEarly(e(1)) {
		t.Fatal("the put's note of 1 was refused")
	}
	advance(1) // 1 is not committed yet: still aside
	for off := int64(2); off < 33; off++ {
		b.noteEarly(e(off))
	}
	advance(20)
	for off := int64(33); off < 52; off++ {
		b.noteEarly(e(off))
	}
	if b.lo <= 1 || b.max.Load() != 52 {
		t.Fatalf("setup: ring [%d, %d), max %d", b.lo, b.hi, b.max.Load())
	}
	advance(52)
	if _, ok := b.tail(nil, 20, 52); !ok {
		t.Fatalf("after the merge the ring is [%d, %d), want [20, 52)", b.lo, b.hi)
	}
	if !b.noteEarly(e(52)) {
		t.Fatal("early notes stopped after the merge")
	}
}

// A panic while showing a group early (here in the arrival listener) is
// the store's or the broker's bug, not the puts': they are stored and
// answered as stored.
func TestEarlyListenerPanicKeepsPuts(t *testing.T) {
	s := newEnv().open(t, func(c *Config) { c.Logger = quietLogger() })
	defer s.Close()
	if _, err := s.GetMessages("T", 0, 0, 1, 0, nil); err != nil {
		t.Fatal(err)
	}
	var panicked atomic.Bool // once: the first arrival is the put's, shown early
	s.SetArrivalListener(func(string, int32, int64) {
		if !panicked.Swap(true) {
			panic("listener bug")
		}
	})
	if _, err := s.Put(msg("T", 0, "m")); err != nil {
		t.Fatalf("put with a panicking listener: %v", err)
	}
	if !panicked.Load() {
		t.Fatal("the listener was not called on the put's path")
	}
	waitDispatched(t, s)
	if got, _ := s.GetMessages("T", 0, 0, 8, 0, nil); !slices.Equal(bodies(t, got.Records), []string{"m"}) {
		t.Fatalf("stored: %v", bodies(t, got.Records))
	}
}
