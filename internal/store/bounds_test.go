package store

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/vfs"
)

// openAging opens a store of 4 KiB segments whose messages expire after
// an hour of the returned clock, with retention run by hand.
func openAging(t *testing.T) (*Store, *atomic.Int64) {
	e := newEnv()
	clock := new(atomic.Int64)
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	return e.open(t, func(c *Config) {
		c.SegmentSize = 4096
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
	}), clock
}

// The cached bounds a pull sees must always equal what the consume queue
// says, through puts, dispatch and retention.
func TestBoundsCacheMatchesConsumeQueue(t *testing.T) {
	s, clock := openAging(t)
	defer s.Close()
	queues := []queueKey{{"A", 0}, {"A", 1}, {"%LMQ%b", message.LMQQueueID}}
	check := func(step string) {
		t.Helper()
		for _, q := range queues {
			got, err := s.GetMessages(q.topic, q.queue, 0, 1, 0, nil)
			if err != nil {
				t.Fatalf("%s: get %v: %v", step, q, err)
			}
			wantMax, err := s.cq.MaxOffset(q.topic, q.queue)
			if err != nil {
				t.Fatal(err)
			}
			wantMin, err := s.cq.MinOffset(q.topic, q.queue, s.commit.MinOffset())
			if err != nil {
				t.Fatal(err)
			}
			if got.MaxOffset != wantMax || got.MinOffset != wantMin {
				t.Fatalf("%s: %v bounds [%d, %d), consume queue says [%d, %d)", step, q, got.MinOffset, got.MaxOffset, wantMin, wantMax)
			}
		}
	}
	check("empty") // caches every queue at max 0
	if s.bounds.n.Load() != int64(len(queues)) {
		t.Fatalf("%d queues cached, want %d", s.bounds.n.Load(), len(queues))
	}
	for i := range 40 {
		mustPut(t, s, msg("A", 0, fmt.Sprintf("old%02d", i), message.PropertyInnerMultiDispatch, "%LMQ%b"))
	}
	waitDispatched(t, s)
	check("after old puts")
	clock.Add(2 * time.Hour.Milliseconds())
	for i := range 40 {
		mustPut(t, s, msg("A", int32(i%2), fmt.Sprintf("new%02d", i)))
	}
	waitDispatched(t, s)
	check("after new puts")
	kept := map[queueKey]*queueBounds{} // the entries as retention finds them
	for _, q := range queues {
		kept[q] = s.bounds.cached(q.topic, q.queue)
		if kept[q] == nil || kept[q].min.Load() == nil && q.topic == "A" && q.queue == 0 {
			t.Fatalf("%v: no cached bounds or min before retention", q)
		}
	}
	res, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	if res.SegmentsDeleted == 0 {
		t.Fatalf("retention deleted nothing: %+v", res)
	}
	check("after retention")
	// Had the entries survived the clear, their mins (computed for the
	// old commit-log start) must not be used.
	for q, b := range kept {
		s.bounds.m.Store(q, b)
	}
	check("after retention, with the old entries")
	mustPut(t, s, msg("A", 0, "last", message.PropertyInnerMultiDispatch, "%LMQ%b"))
	waitDispatched(t, s)
	check("after retention and a put")
}

// A pull woken by an arrival must find the message that arrived: the
// cached max moves before the listener runs.
func TestBoundsAdvanceBeforeArrival(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	if got, err := s.GetMessages("W", 0, 0, 1, 0, nil); err != nil || got.Status != NoMessageInQueue {
		t.Fatalf("empty queue: %v %v", got.Status, err)
	}
	var mu sync.Mutex
	var bad []string
	seen := make(chan int64, 64)
	s.SetArrivalListener(func(topic string, queueID int32, next int64) {
		got, err := s.GetMessages(topic, queueID, next-1, 1, 0, nil)
		if err != nil || got.Status != Found {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("arrival %s-%d next %d: read %v %v", topic, queueID, next, got.Status, err))
			mu.Unlock()
		}
		select {
		case seen <- next:
		default:
		}
	})
	for i := range 20 {
		mustPut(t, s, msg("W", 0, fmt.Sprintf("w%02d", i)))
	}
	waitDispatched(t, s)
	deadline := time.After(10 * time.Second)
	for last := int64(0); last < 20; {
		select {
		case last = <-seen:
		case <-deadline:
			t.Fatalf("arrivals stopped at %d", last)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatal(bad)
	}
}

// Records adjacent in the commit log are read together, never across a
// segment end; Body is exactly the records, also when some were deleted
// by retention between the consume-queue read and the record read.
func TestReadRecordsCoalescesAndSkipsDeleted(t *testing.T) {
	s, clock := openAging(t)
	defer s.Close()
	var want []string
	for i := range 60 {
		if i == 30 {
			clock.Add(2 * time.Hour.Milliseconds())
		}
		b := fmt.Sprintf("m%02d-%s", i, strings.Repeat("x", i*3))
		want = append(want, b)
		mustPut(t, s, msg("C", 0, b))
	}
	waitDispatched(t, s)
	check := func(step string, res GetResult, want []string) {
		t.Helper()
		if got := bodies(t, res.Records); !slices.Equal(got, want) {
			t.Fatalf("%s: read %q, want %q", step, got, want)
		}
		if !bytes.Equal(res.Body, bytes.Join(res.Records, nil)) {
			t.Fatalf("%s: body is not the records back to back", step)
		}
	}
	res, err := s.GetMessages("C", 0, 0, 100, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("all", res, want)
	entries, err := s.cq.Range("C", 0, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := s.Retain(); err != nil || r.SegmentsDeleted == 0 {
		t.Fatalf("retention: %+v %v", r, err)
	}
	var kept []string
	for i, en := range entries {
		if en.PhyOffset >= s.commit.MinOffset() {
			kept = append(kept, want[i])
		}
	}
	if len(kept) == 0 || len(kept) == len(want) {
		t.Fatalf("retention kept %d of %d: the test needs some of each", len(kept), len(want))
	}
	var late GetResult
	if err := s.readRecords(&late, entries, func() (n int) {
		for _, en := range entries {
			n += int(en.Size)
		}
		return n
	}()); err != nil {
		t.Fatal(err)
	}
	check("after retention", late, kept)
}

// The tail ring a pulled queue keeps holds exactly the consume queue's
// entries: from the offset the queue was cached at (entries dispatched
// before that are read from pebble), across wrap-arounds, for a queue
// and an LMQ.
func TestTailEntriesMatchConsumeQueue(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	for i := range 10 { // before anything is cached
		mustPut(t, s, msg("T", 0, fmt.Sprintf("early%02d", i), message.PropertyInnerMultiDispatch, "%LMQ%t"))
	}
	waitDispatched(t, s)
	queues := []queueKey{{"T", 0}, {"%LMQ%t", message.LMQQueueID}}
	for _, q := range queues {
		if got, err := s.GetMessages(q.topic, q.queue, 10, 32, 0, nil); err != nil || got.Status != OffsetOverflowOne {
			t.Fatalf("%v at its end: %v %v", q, got.Status, err)
		}
	}
	served := 0
	for round := range 10 {
		for i := range round * 7 { // 0, 7, ... 63 puts: some rounds wrap the ring
			mustPut(t, s, msg("T", 0, fmt.Sprintf("r%d-%02d", round, i), message.PropertyInnerMultiDispatch, "%LMQ%t"))
		}
		waitDispatched(t, s)
		for _, q := range queues {
			b, err := s.bounds.get(s.cq, q.topic, q.queue)
			if err != nil || b == nil {
				t.Fatalf("%v not cached: %v", q, err)
			}
			maxOff := b.max.Load()
			for from := int64(0); from < maxOff; from++ {
				for _, n := range []int64{1, 5, tailEntries} {
					to := min(from+n, maxOff)
					got, ok := b.tail(nil, from, to)
					if !ok {
						continue
					}
					served++
					want, err := s.cq.Range(q.topic, q.queue, from, int(to-from))
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("round %d %v [%d, %d): ring %+v, consume queue %+v", round, q, from, to, got, want)
					}
				}
			}
			if _, ok := b.tail(nil, maxOff-1, maxOff); round > 0 && !ok {
				t.Fatalf("round %d %v: the ring misses the last entry", round, q)
			}
			if _, ok := b.tail(nil, 0, 1); ok {
				t.Fatalf("%v: the ring claims an entry dispatched before the queue was cached", q)
			}
		}
	}
	if served == 0 {
		t.Fatal("the ring served nothing")
	}
	// A pull of the last few entries (what the ring holds) reads the
	// right records, and so does one reaching below the ring (pebble).
	b, _ := s.bounds.get(s.cq, "T", 0)
	maxOff := b.max.Load()
	if _, ok := b.tail(nil, maxOff-5, maxOff); !ok {
		t.Fatal("the ring lacks the last five entries")
	}
	got, err := s.GetMessages("T", 0, maxOff-5, 5, 0, nil)
	if err != nil || got.Status != Found || !slices.Equal(bodies(t, got.Records), []string{"r9-58", "r9-59", "r9-60", "r9-61", "r9-62"}) {
		t.Fatalf("pull at the tail: %v %v %v", got.Status, err, bodies(t, got.Records))
	}
	got, err = s.GetMessages("T", 0, 10, 32, 0, nil)
	if err != nil || got.Status != Found || bodies(t, got.Records)[0] != "r1-00" {
		t.Fatalf("pull after the early ones: %v %v %v", got.Status, err, bodies(t, got.Records))
	}
}

// countingFS counts reads of the commit log's files.
type countingFS struct {
	vfs.FS
	reads *atomic.Int64
}

type countingFile struct {
	vfs.File
	reads *atomic.Int64
}

func (f countingFile) ReadAt(p []byte, off int64) (int, error) {
	f.reads.Add(1)
	return f.File.ReadAt(p, off)
}

func (c countingFS) Open(name string) (vfs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, c.reads}, nil
}

func (c countingFS) OpenReadWrite(name string) (vfs.File, error) {
	f, err := c.FS.OpenReadWrite(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, c.reads}, nil
}

func (c countingFS) Create(name string) (vfs.File, error) {
	f, err := c.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return countingFile{f, c.reads}, nil
}

// Adjacent records of a queue are read with one read per segment they
// span.
func TestReadRecordsOneReadPerAdjacentRun(t *testing.T) {
	e := newEnv()
	var reads atomic.Int64
	s := e.open(t, func(c *Config) {
		c.SegmentSize = 4096
		c.FS = countingFS{e.fs, &reads}
	})
	defer s.Close()
	for i := range 40 {
		mustPut(t, s, msg("A", 0, fmt.Sprintf("a%02d-%s", i, strings.Repeat("y", 150))))
	}
	waitDispatched(t, s)
	entries, err := s.cq.Range("A", 0, 0, 40)
	if err != nil || len(entries) != 40 {
		t.Fatalf("range: %d entries, %v", len(entries), err)
	}
	seg := s.commit.SegmentSize()
	segments := map[int64]bool{}
	for _, en := range entries {
		segments[en.PhyOffset/seg] = true
	}
	if len(segments) < 2 {
		t.Fatalf("the records span %d segment(s): the test needs more", len(segments))
	}
	for _, tc := range []struct {
		name  string
		picks []cq.Entry
		want  int64
	}{
		{"first three", entries[:3], 1},
		{"all", entries, int64(len(segments))},
		{"every other", []cq.Entry{entries[0], entries[2], entries[4]}, 3},
	} {
		n := 0
		for _, en := range tc.picks {
			n += int(en.Size)
		}
		picks := slices.Clone(tc.picks)
		reads.Store(0)
		var res GetResult
		if err := s.readRecords(&res, picks, n); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := reads.Load(); got != tc.want {
			t.Errorf("%s: %d reads, want %d", tc.name, got, tc.want)
		}
		if len(res.Records) != len(picks) || !bytes.Equal(res.Body, bytes.Join(res.Records, nil)) {
			t.Errorf("%s: %d records, body consistent %v", tc.name, len(res.Records), bytes.Equal(res.Body, bytes.Join(res.Records, nil)))
		}
	}
}

func TestQueueBoundsRing(t *testing.T) {
	b := &queueBounds{lo: 5, hi: 5}
	e := func(off int64) cq.Entry { return cq.Entry{QueueOffset: off, PhyOffset: off * 100, Size: 10} }
	has := func(from, to int64) bool { _, ok := b.tail(nil, from, to); return ok }
	b.note(e(5))
	b.note(e(6))
	if !has(5, 7) || has(4, 6) || has(6, 8) {
		t.Fatalf("after 5, 6: ring [%d, %d)", b.lo, b.hi)
	}
	b.note(e(9)) // a gap: 7 and 8 were never noted
	if has(6, 7) || has(7, 10) || !has(9, 10) {
		t.Fatalf("after a gap: ring [%d, %d)", b.lo, b.hi)
	}
	for off := int64(10); off < 9+tailEntries+3; off++ {
		b.note(e(off))
	}
	if has(9, 11) || !has(b.hi-tailEntries, b.hi) {
		t.Fatalf("after wrapping: ring [%d, %d)", b.lo, b.hi)
	}
	b.note(e(b.hi - 2)) // a replayed entry changes nothing
	got, _ := b.tail(nil, b.hi-3, b.hi)
	if len(got) != 3 || got[0].QueueOffset != b.hi-3 || got[2].QueueOffset != b.hi-1 {
		t.Fatalf("after a replay: %+v", got)
	}
}

// Pullers reading queues at their tail while producers write and the
// cache is cleared under them must see every message once, in order: a
// stale max or a wrong tail entry would show as a gap, a repeat or a
// puller that never gets its last messages.
func TestBoundsUnderConcurrentPutsAndClears(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	const perQueue = 2000
	queues := []int32{0, 1, 2}
	var wg, producers sync.WaitGroup
	for _, q := range queues {
		producers.Go(func() {
			for i := range perQueue {
				if _, err := s.Put(msg("S", q, fmt.Sprintf("%d-%05d", q, i))); err != nil {
					t.Errorf("put %d-%d: %v", q, i, err)
					return
				}
			}
		})
	}
	// Clearing stops with the last put: the pullers then finish on what
	// the cache says. (A stress test: it catches a cache that stops
	// following dispatch, but the narrow race between a miss and a
	// dispatch pass it only catches when that window is made wide.)
	stop := make(chan struct{})
	var clears sync.WaitGroup
	clears.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.bounds.clear()
			time.Sleep(200 * time.Microsecond)
		}
	})
	errs := make(chan error, len(queues))
	for _, q := range queues {
		wg.Go(func() {
			deadline := time.Now().Add(20 * time.Second)
			next := int64(0)
			for next < perQueue {
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("queue %d: stuck at %d of %d", q, next, perQueue)
					return
				}
				res, err := s.GetMessages("S", q, next, 16, 0, nil)
				if err != nil {
					errs <- fmt.Errorf("queue %d at %d: %v", q, next, err)
					return
				}
				for i, body := range bodies(t, res.Records) {
					if want := fmt.Sprintf("%d-%05d", q, next+int64(i)); body != want {
						errs <- fmt.Errorf("queue %d at %d: got %s, want %s", q, next+int64(i), body, want)
						return
					}
				}
				if len(res.Records) == 0 {
					s.dispatcher.Wakeup()
					time.Sleep(50 * time.Microsecond)
					continue
				}
				next += int64(len(res.Records))
			}
		})
	}
	producers.Wait()
	close(stop)
	clears.Wait()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A miss on a full cache empties it: queues still pulled come back, and
// the room taken by queues nobody pulls any more is freed.
func TestBoundsCacheStartsOverWhenFull(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	for i := range maxCachedBounds {
		if _, err := s.GetMessages(fmt.Sprintf("F%d", i), 0, 0, 1, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.bounds.n.Load(); n != maxCachedBounds {
		t.Fatalf("%d queues cached, want %d", n, maxCachedBounds)
	}
	mustPut(t, s, msg("F0", 0, "after"))
	waitDispatched(t, s)
	got, err := s.GetMessages("G", 0, 0, 1, 0, nil) // the miss that starts over
	if err != nil || got.Status != NoMessageInQueue {
		t.Fatalf("new queue: %v %v", got.Status, err)
	}
	if n := s.bounds.n.Load(); n != 1 || s.bounds.cached("G", 0) == nil || s.bounds.cached("F0", 0) != nil {
		t.Fatalf("after the miss: %d cached, G cached %v, F0 cached %v", n, s.bounds.cached("G", 0) != nil, s.bounds.cached("F0", 0) != nil)
	}
	got, err = s.GetMessages("F0", 0, 0, 1, 0, nil)
	if err != nil || got.Status != Found || bodies(t, got.Records)[0] != "after" {
		t.Fatalf("a queue dropped by the reset: %v %v", got.Status, err)
	}
}
