package store

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
)

// queuedPuts reports how many puts wait for the group leader.
func queuedPuts(s *Store) int {
	s.puts.mu.Lock()
	defer s.puts.mu.Unlock()
	return len(s.puts.queue)
}

func leading(s *Store) bool {
	s.puts.mu.Lock()
	defer s.puts.mu.Unlock()
	return s.puts.leading
}

// putAsync runs Put in a goroutine and delivers its outcome.
type asyncOutcome struct {
	res PutResult
	err error
}

func putAsync(s *Store, wg *sync.WaitGroup, msgs ...*message.Message) chan asyncOutcome {
	ch := make(chan asyncOutcome, 1)
	wg.Go(func() {
		r, err := s.PutBatch(msgs)
		ch <- asyncOutcome{r, err}
	})
	return ch
}

// TestGroupedPuts builds one group deterministically: the writer lock is
// held while a first put (the leader) blocks in its append and the others
// queue behind it; once released, the next leader writes all the queued
// puts together. A put refused inside the group (LMQ quota) takes no
// offsets, a put that does not fit the segment's rest moves to the next
// group, and every record lands where its result says.
func TestGroupedPuts(t *testing.T) {
	const segment = 4 << 10
	s := newEnv().open(t, func(c *Config) { c.SegmentSize = segment; c.MaxLMQs = 1 })
	defer s.Close()
	mustPut(t, s, msg("T", 0, "first"))

	var wg sync.WaitGroup
	var outs []chan asyncOutcome
	body := strings.Repeat("x", 900)
	s.commit.Locked(func() {
		outs = append(outs, putAsync(s, &wg, msg("T", 0, "leader")))
		deadline := time.Now().Add(10 * time.Second)
		for !leading(s) || queuedPuts(s) != 0 { // the leader took its group of one
			if time.Now().After(deadline) {
				t.Fatal("leader did not start")
			}
			time.Sleep(time.Millisecond)
		}
		// Queued in this order: two that fit, one refused, then enough
		// bytes that the segment's rest cannot take them all.
		outs = append(outs, putAsync(s, &wg, msg("T", 0, "a")))
		waitQueued(t, s, 1)
		outs = append(outs, putAsync(s, &wg, msg("T", 1, "b", message.PropertyWaitStoreMsgOK, "false")))
		waitQueued(t, s, 2)
		outs = append(outs, putAsync(s, &wg, lmqMsg("refused", "%LMQ%1", "%LMQ%2")))
		waitQueued(t, s, 3)
		for i := range 6 {
			outs = append(outs, putAsync(s, &wg, msg("T", 0, fmt.Sprintf("big%d-%s", i, body))))
			waitQueued(t, s, 4+i)
		}
	})
	wg.Wait()
	var got []asyncOutcome
	for _, ch := range outs {
		got = append(got, <-ch)
	}
	if !errors.Is(got[3].err, ErrLMQQuota) {
		t.Fatalf("quota put: err = %v, want ErrLMQQuota", got[3].err)
	}
	wantQueue := map[int]int64{0: 1, 1: 2, 2: 0, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8}
	rolled := false
	for i, o := range got {
		if i == 3 {
			continue
		}
		if o.err != nil {
			t.Fatalf("put %d: %v", i, o.err)
		}
		if o.res.QueueOffsets[0] != wantQueue[i] || len(o.res.PhyOffsets) != 1 {
			t.Fatalf("put %d: queue offsets %v, want %d", i, o.res.QueueOffsets, wantQueue[i])
		}
		rec, err := s.commit.ReadRecord(o.res.PhyOffsets[0])
		if err != nil {
			t.Fatalf("put %d: read back: %v", i, err)
		}
		m, err := message.Decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if m.QueueOffset != wantQueue[i] || m.StoreTimestamp != o.res.StoreTime {
			t.Fatalf("put %d: stored queue offset %d, time %d; result %v", i, m.QueueOffset, m.StoreTimestamp, o.res)
		}
		if o.res.PhyOffsets[0] >= segment {
			rolled = true
		}
	}
	if !rolled {
		t.Fatal("the puts never reached the second segment: the test did not cover a roll")
	}
	waitDispatched(t, s)
	if n, _ := s.MaxOffset("T", 0); n != 9 {
		t.Fatalf("max offset of T-0 = %d, want 9", n)
	}
	if n := s.LMQCount(); n != 0 {
		t.Fatalf("the refused put created %d LMQs", n)
	}
}

func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for queuedPuts(s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d puts queued, want %d", queuedPuts(s), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConcurrentPutsDenseAcrossRolls hammers a small-segment store from
// many writers and checks that every queue is dense and every result
// points at its record, then that a reopen sees the same.
func TestConcurrentPutsDenseAcrossRolls(t *testing.T) {
	e := newEnv()
	small := func(c *Config) { c.SegmentSize = 16 << 10 }
	s := e.open(t, small)
	const writers, each = 12, 60
	var wg sync.WaitGroup
	var mu sync.Mutex
	byQueue := map[int32]map[int64]int64{} // queue -> queue offset -> phy offset
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				q := int32((w + i) % 3)
				var msgs []*message.Message
				for j := range 1 + i%3 {
					msgs = append(msgs, msg("D", q, fmt.Sprintf("w%d-%d-%d-%s", w, i, j, strings.Repeat("y", 200))))
				}
				r, err := s.PutBatch(msgs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if byQueue[q] == nil {
					byQueue[q] = map[int64]int64{}
				}
				for j, qo := range r.QueueOffsets {
					if _, dup := byQueue[q][qo]; dup {
						t.Errorf("queue %d offset %d given twice", q, qo)
					}
					byQueue[q][qo] = r.PhyOffsets[j]
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	check := func(s *Store) {
		t.Helper()
		waitDispatched(t, s)
		for q, offs := range byQueue {
			if n, _ := s.MaxOffset("D", q); n != int64(len(offs)) {
				t.Fatalf("queue %d: max offset %d, %d messages", q, n, len(offs))
			}
			res, err := s.GetMessages("D", q, 0, len(offs), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Records) != len(offs) {
				t.Fatalf("queue %d: read %d of %d", q, len(res.Records), len(offs))
			}
			for i, rec := range res.Records {
				m, err := message.Decode(rec)
				if err != nil {
					t.Fatal(err)
				}
				if m.QueueOffset != int64(i) || offs[int64(i)] != m.CommitLogOffset {
					t.Fatalf("queue %d position %d: record says offset %d at %d, put said %d",
						q, i, m.QueueOffset, m.CommitLogOffset, offs[int64(i)])
				}
			}
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.open(t, small)
	defer s.Close()
	check(s)
}

// TestPutAsync stores messages without waiting for them: each done runs
// once, offsets follow call order, and under SYNC_FLUSH a put is reported
// only once its bytes are synced.
func TestPutAsync(t *testing.T) {
	for _, flush := range []commitlog.FlushMode{commitlog.AsyncFlush, commitlog.SyncFlush} {
		s := newEnv().open(t, func(c *Config) { c.Flush = flush })
		const n = 300
		type outcome struct {
			i       int
			res     PutResult
			err     error
			durable bool
		}
		results := make(chan outcome, n)
		var calls [n]atomic.Int32
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for i := w; i < n; i += 3 {
					m := msg("A", int32(w), fmt.Sprintf("m%d", i))
					s.PutAsync([]*message.Message{m}, func(r PutResult, err error) {
						calls[i].Add(1)
						durable := err == nil && s.commit.FlushedOffset() >= r.PhyOffsets[0]+1
						results <- outcome{i, r, err, durable}
					})
				}
			})
		}
		wg.Wait()
		last := map[int32]int64{0: -1, 1: -1, 2: -1}
		got := make([]outcome, n)
		for range n {
			o := <-results
			if o.err != nil {
				t.Fatalf("%v: put %d: %v", flush, o.i, o.err)
			}
			got[o.i] = o
		}
		for i, o := range got {
			q := int32(i % 3)
			if o.res.QueueOffsets[0] != last[q]+1 {
				t.Fatalf("%v: put %d got queue offset %d after %d: not in call order", flush, i, o.res.QueueOffsets[0], last[q])
			}
			last[q] = o.res.QueueOffsets[0]
			if !o.res.Flushed || (flush == commitlog.SyncFlush && !o.durable) {
				t.Fatalf("%v: put %d reported before its sync (flushed %v)", flush, i, o.res.Flushed)
			}
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("%v: done of put %d ran %d times", flush, i, c)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPutPanicsDoNotWedge checks that a bug panicking while a group is
// written fails that group's puts and leaves the store writable, and that
// a panicking callback affects no other put.
func TestPutPanicsDoNotWedge(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	var once sync.Once
	s.commit.Locked(func() {
		s.puts.testBuildHook = func() { once.Do(func() { panic("boom") }) }
	})
	if _, err := s.Put(msg("P", 0, "first")); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("put in the panicking group: err = %v", err)
	}
	r := mustPut(t, s, msg("P", 0, "second"))
	if r.QueueOffsets[0] != 0 {
		t.Fatalf("the failed put took queue offset 0: second got %d", r.QueueOffsets[0])
	}
	answered := make(chan int64, 1)
	s.PutAsync([]*message.Message{msg("P", 0, "panicky")}, func(PutResult, error) { panic("callback bug") })
	s.PutAsync([]*message.Message{msg("P", 0, "after")}, func(r PutResult, err error) {
		if err != nil {
			t.Error(err)
		}
		answered <- r.QueueOffsets[0]
	})
	if off := <-answered; off != 2 {
		t.Fatalf("put after a panicking callback: queue offset %d, want 2", off)
	}
}

// TestCallerLeadsOneGroup checks that a caller who becomes the group
// leader writes one group and hands the rest to a leader goroutine of its
// own, under both flush modes: a broker connection's reader puts inline,
// and must get back to reading however many puts other connections queue.
func TestCallerLeadsOneGroup(t *testing.T) {
	for _, flush := range []commitlog.FlushMode{commitlog.AsyncFlush, commitlog.SyncFlush} {
		s := newEnv().open(t, func(c *Config) { c.Flush = flush })
		// More than one group waits when the caller arrives: hold the
		// leadership while they queue, then let the caller take it.
		s.puts.mu.Lock()
		s.puts.leading = true
		s.puts.mu.Unlock()
		const queued = maxGroupMsgs + 5
		onCaller := func() bool { // the test function's own frame, not a closure's
			buf := make([]byte, 64<<10)
			return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "store.TestCallerLeadsOneGroup(")
		}
		var done sync.WaitGroup
		var byCaller, lastOnCaller atomic.Int32 // reported on the caller's goroutine; the highest index of those
		lastOnCaller.Store(-1)
		done.Add(queued + 1)
		for i := range queued {
			s.PutAsync([]*message.Message{msg("A", 0, "m")}, func(_ PutResult, err error) {
				if err != nil {
					t.Error(err)
				}
				if onCaller() {
					byCaller.Add(1)
					for {
						last := lastOnCaller.Load()
						if int32(i) <= last || lastOnCaller.CompareAndSwap(last, int32(i)) {
							break
						}
					}
				}
				done.Done()
			})
		}
		waitQueued(t, s, queued)
		s.puts.mu.Lock()
		s.puts.leading = false
		s.puts.mu.Unlock()
		var returned atomic.Bool
		s.PutAsync([]*message.Message{msg("A", 0, "last")}, func(_ PutResult, err error) {
			if err != nil {
				t.Error(err)
			}
			done.Done()
		})
		returned.Store(true)
		done.Wait()
		// The caller reports at most its one group: the oldest puts (a
		// group is bounded by maxGroupMsgs and by what fits the segment).
		// Asynchronously it reports that group; under SYNC_FLUSH the
		// flusher does, unless the group was already durable.
		n, last := byCaller.Load(), lastOnCaller.Load()
		if n >= queued || (n > 0 && last != n-1) || (flush == commitlog.AsyncFlush && n == 0) {
			t.Errorf("%v: the caller reported %d of %d queued puts, the last of them #%d; want one group of the oldest",
				flush, n, queued, last)
		}
		if !returned.Load() {
			t.Errorf("%v: PutAsync had not returned", flush)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
