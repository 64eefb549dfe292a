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
)

// The cached bounds a pull sees must always equal what the consume queue
// says, through puts, dispatch and retention.
func TestBoundsCacheMatchesConsumeQueue(t *testing.T) {
	e := newEnv()
	var clock atomic.Int64
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	s := e.open(t, func(c *Config) {
		c.SegmentSize = 4096
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
	})
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
	if s.bounds.n != len(queues) {
		t.Fatalf("%d queues cached, want %d", s.bounds.n, len(queues))
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
	res, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	if res.SegmentsDeleted == 0 {
		t.Fatalf("retention deleted nothing: %+v", res)
	}
	check("after retention")
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
	e := newEnv()
	var clock atomic.Int64
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	s := e.open(t, func(c *Config) {
		c.SegmentSize = 4096
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
	})
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
