package store

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pebblevfs "github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/index"
)

func TestUsedFractionIsDfUsePercent(t *testing.T) {
	for _, c := range []struct {
		name                string
		blocks, free, avail uint64
		want                float64
	}{
		// This machine's root filesystem: 17 % of the blocks in use, a
		// 64 % reserve. df says 48 %; 1 - avail/total said 81 %.
		{"large reserve", 66053021, 54683110, 12505405, 0.4762},
		{"no reserve", 1000, 250, 250, 0.75},
		{"5 % reserve", 1000, 300, 250, 0.7368},
		{"full to the reserve", 1000, 50, 0, 1},
		{"empty", 1000, 1000, 1000, 0},
		{"no blocks", 0, 0, 0, 0},
		{"nothing usable, nothing used", 1000, 1000, 0, 0},
		{"inconsistent counters", 1000, 2000, 10, 0},
	} {
		got := usedFraction(c.blocks, c.free, c.avail)
		if math.Abs(got-c.want) > 0.0001 {
			t.Errorf("%s: usedFraction(%d, %d, %d) = %.4f, want %.4f", c.name, c.blocks, c.free, c.avail, got, c.want)
		}
	}
}

func TestStatfsUsageMeasuresTheStoreDisk(t *testing.T) {
	got, err := statfsUsage(t.TempDir())()
	if err != nil {
		t.Fatal(err)
	}
	if got < 0 || got > 1 {
		t.Fatalf("used fraction %v outside [0, 1]", got)
	}
	if _, err := statfsUsage("/nonexistent/bolide/dir")(); err == nil {
		t.Fatal("statfs of a missing directory: want an error")
	}
}

// TestRetentionLetsDispatchRunBetweenSteps: a retention pass forgets a
// deleted segment's rows in steps, with the dispatch lock free between
// them, so a message put meanwhile is dispatched and readable at once;
// when the pass ends, the deleted segment's entries and unique keys are
// gone and the rest are intact.
func TestRetentionLetsDispatchRunBetweenSteps(t *testing.T) {
	e := newEnv()
	s := e.open(t, func(c *Config) {
		c.SegmentSize = 1 << 20
		c.DiskMaxUsedRatio = 0.75
		c.DiskUsage = func() (float64, error) { return 0.9, nil }
		c.RetentionInterval = -1
		c.DeleteSegmentsMax = 1
	})
	defer s.Close()
	const n = 12000 // about two segments of small records
	batch := make([]*message.Message, 0, 100)
	for i := range n {
		batch = append(batch, msg("R", 0, fmt.Sprintf("r%05d", i), message.PropertyUniqKey, fmt.Sprintf("U-%05d", i)))
		if len(batch) == cap(batch) {
			if _, err := s.PutBatch(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	waitDispatched(t, s)
	if segs := s.commit.Segments(); len(segs) < 2 {
		t.Fatalf("%d segments, want at least 2", len(segs))
	}

	steps := 0
	s.forgetStep = 16 << 10
	s.forgetStepped = func() {
		steps++
		if steps != 1 {
			return
		}
		mustPut(t, s, msg("R", 1, "mid"))
		done := make(chan error, 1)
		go func() { done <- s.dispatchAvailable() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dispatch between steps: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("dispatch between two steps of a retention pass did not run: the dispatch lock is held")
		}
		if got, err := s.GetMessages("R", 1, 0, 1, 0, nil); err != nil || got.Status != Found {
			t.Errorf("message put between steps: %v, %v", got.Status, err)
		}
	}
	res, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	if res.SegmentsDeleted != 1 {
		t.Fatalf("deleted %d segments, want 1", res.SegmentsDeleted)
	}
	if steps < 2 {
		t.Fatalf("forgot a segment of ~6,000 records in %d step(s) of 16 KiB, want several", steps)
	}
	minOff, err := s.MinOffset("R", 0)
	if err != nil {
		t.Fatal(err)
	}
	if minOff <= 0 || minOff >= n {
		t.Fatalf("queue R-0 min offset %d after deleting the first segment, want in (0, %d)", minOff, n)
	}
	if max, _ := s.MaxOffset("R", 0); max != n {
		t.Fatalf("queue R-0 max offset %d, want %d", max, n)
	}
	// The rows themselves are gone, not only skipped as too old.
	if first, err := s.cq.Range("R", 0, 0, 1); err != nil || len(first) != 1 || first[0].QueueOffset != minOff {
		t.Fatalf("queue R-0's first row: %+v, %v; want offset %d", first, err, minOff)
	}
	for _, c := range []struct {
		i    int
		want int
	}{{0, 0}, {int(minOff) - 1, 0}, {int(minOff), 1}, {n - 1, 1}} {
		recs, err := s.Query(index.KindUniqKey, "R", fmt.Sprintf("U-%05d", c.i), 0, 1<<62, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != c.want {
			t.Errorf("unique key of record %d: %d hits, want %d", c.i, len(recs), c.want)
		}
	}
	if got, err := s.GetMessages("R", 1, 0, 1, 0, nil); err != nil || got.Status != Found {
		t.Fatalf("message put between steps, after the pass: %v, %v", got.Status, err)
	}
}

// TestSkipNonEmptyProbes: before taking the writer lock, the LMQs that
// still have rows leave the probe set; the empty and unknown ones stay
// for the locked check.
func TestSkipNonEmptyProbes(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	mustPut(t, s, lmqMsg("p1", "%LMQ%kept"))
	waitDispatched(t, s)
	s.retainMu.Lock()
	defer s.retainMu.Unlock()
	s.lmqProbe = map[string]struct{}{"%LMQ%kept": {}, "%LMQ%empty": {}}
	if err := s.skipNonEmptyProbes(); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.lmqProbe["%LMQ%kept"]; ok || len(s.lmqProbe) != 1 {
		t.Fatalf("probe set %v, want only %%LMQ%%empty", s.lmqProbe)
	}
}

// TestRemoveEmptyLMQsInBatches: LMQs emptied by retention are removed a
// batch at a time under the writer lock, every one of them, and the
// probe set is empty afterwards.
func TestRemoveEmptyLMQsInBatches(t *testing.T) {
	defer func(n int) { removeLMQBatch = n }(removeLMQBatch)
	removeLMQBatch = 2
	e := newEnv()
	var clock atomic.Int64
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	var hooked [][]string
	s := e.open(t, func(c *Config) {
		c.SegmentSize = 4096
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
		c.OnLMQsRemoved = func(names []string) { hooked = append(hooked, names) }
	})
	defer s.Close()
	// Old messages: the first ten also go to five LMQs nobody writes later.
	var want []string
	for i := range 60 {
		m := msg("R", 0, fmt.Sprintf("old%03d", i))
		if i < 10 {
			lmq := fmt.Sprintf("%%LMQ%%g%d", i%5)
			if i < 5 {
				want = append(want, lmq)
			}
			m.Properties.Set(message.PropertyInnerMultiDispatch, lmq)
		}
		mustPut(t, s, m)
	}
	clock.Add(2 * time.Hour.Milliseconds())
	for i := range 10 {
		mustPut(t, s, msg("R", 0, fmt.Sprintf("new%03d", i), message.PropertyInnerMultiDispatch, "%LMQ%kept"))
	}
	waitDispatched(t, s)
	res, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(res.LMQsRemoved)
	if !slices.Equal(res.LMQsRemoved, want) || s.LMQCount() != 1 {
		t.Fatalf("LMQs removed %v, count %d; want %v and 1", res.LMQsRemoved, s.LMQCount(), want)
	}
	if len(s.lmqProbe) != 0 {
		t.Fatalf("probe set after the pass: %v", s.lmqProbe)
	}
	if probes, err := s.cq.LMQProbes(); err != nil || len(probes) != 0 {
		t.Fatalf("probe rows after the pass: %v, %v", probes, err)
	}
	// The hook hears of each batch as it is removed, not once at the end.
	var all []string
	for _, h := range hooked {
		if len(h) > removeLMQBatch {
			t.Fatalf("hook called with %d names, more than a batch of %d", len(h), removeLMQBatch)
		}
		all = append(all, h...)
	}
	slices.Sort(all)
	if len(hooked) < 3 || !slices.Equal(all, want) {
		t.Fatalf("hook calls %v, want 3 batches covering %v", hooked, want)
	}
}

// TestRemoveEmptyLockedKeepsLiveLMQs: the locked check probes again and
// leaves an LMQ with rows registered, with its next offset in memory.
func TestRemoveEmptyLockedKeepsLiveLMQs(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	mustPut(t, s, lmqMsg("l0", "%LMQ%live"))
	waitDispatched(t, s)
	s.retainMu.Lock()
	removed, decided, err := s.removeEmptyLocked([]string{"%LMQ%live"})
	s.retainMu.Unlock()
	if err != nil || !decided || len(removed) != 0 {
		t.Fatalf("removeEmptyLocked of a live LMQ: removed %v, decided %v, %v", removed, decided, err)
	}
	if n := s.LMQCount(); n != 1 {
		t.Fatalf("LMQ count %d, want 1", n)
	}
	if r := mustPut(t, s, lmqMsg("l1", "%LMQ%live")); r.LMQOffsets[0][0] != 1 {
		t.Fatalf("next put to the live LMQ got offset %d, want 1", r.LMQOffsets[0][0])
	}
}

// TestCutShortPassStillRemovesEmptiedLMQs: a retention pass that stops
// in the middle of its forget steps (a crash) has deleted an LMQ's last
// entries and the dispatch-log rows that named it; the next start still
// finds the LMQ in the probe rows, removes it and tells the hook, and
// unlists an LMQ that kept entries.
func TestCutShortPassStillRemovesEmptiedLMQs(t *testing.T) {
	e := newEnv()
	var clock atomic.Int64
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	var hooked []string
	cfg := func(c *Config) {
		c.SegmentSize = 4096
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
		c.OnLMQsRemoved = func(names []string) { hooked = append(hooked, names...) }
	}
	s := e.open(t, cfg)
	// One dispatch pass per record, so that each has its own log row and
	// the pass below can stop between them.
	for i := range 60 {
		m := msg("R", 0, fmt.Sprintf("old%03d", i))
		switch {
		case i < 10:
			m.Properties.Set(message.PropertyInnerMultiDispatch, "%LMQ%gone")
		case i < 20: // loses these entries, keeps the new one
			m.Properties.Set(message.PropertyInnerMultiDispatch, "%LMQ%kept")
		}
		mustPut(t, s, m)
		waitDispatched(t, s)
	}
	clock.Add(2 * time.Hour.Milliseconds())
	mustPut(t, s, msg("R", 0, "new", message.PropertyInnerMultiDispatch, "%LMQ%kept"))
	waitDispatched(t, s)

	// The pass up to its forget steps, then nothing: no Finish, no check.
	for segs := s.commit.Segments(); len(segs) > 1 && segs[1].FirstStoreTime < clock.Load()-time.Hour.Milliseconds(); segs = s.commit.Segments() {
		if _, err := s.commit.DeleteOldest(); err != nil {
			t.Fatal(err)
		}
	}
	// Steps of one record each, stopped once %LMQ%gone has no entries
	// left and before the pass is done.
	s.dispatchMu.Lock()
	g := s.disp.Forget(s.commit.MinOffset())
	for steps := 0; ; steps++ {
		done, err := g.Step(64)
		if err != nil {
			t.Fatal(err)
		}
		if done {
			t.Fatalf("the pass ended after %d steps before the stop point", steps)
		}
		if got, err := s.cq.Range("%LMQ%gone", 0, 0, 1); err != nil {
			t.Fatal(err)
		} else if len(got) == 0 {
			break
		}
	}
	s.dispatchMu.Unlock()
	if n := s.LMQCount(); n != 2 {
		t.Fatalf("LMQ count %d before the restart, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = e.open(t, cfg)
	defer s.Close()
	if n := s.LMQCount(); n != 1 || !slices.Equal(hooked, []string{"%LMQ%gone"}) {
		t.Fatalf("after the restart: LMQ count %d, hook told %v; want 1 and [%%LMQ%%gone]", n, hooked)
	}
	if probes, err := s.cq.LMQProbes(); err != nil || len(probes) != 0 {
		t.Fatalf("LMQs still listed for a check: %v, %v", probes, err)
	}
}

// TestMaxOffsetSurvivesACrashAfterRetention: retention forgets every entry
// of a queue but one written since, whose record is not yet synced, and a
// crash then loses that record. The queue's max offset must not go back
// (consumers' committed offsets refer to it): the pass's end syncs the log
// before it lets the last forgotten entry go for the later one. Without
// that, the row went in the pass and the queue restarted at offset 0.
func TestMaxOffsetSurvivesACrashAfterRetention(t *testing.T) {
	e := newEnv()
	cfg := func(c *Config) {
		c.SegmentSize = 64 << 10
		c.DiskMaxUsedRatio = 0.75
		c.DiskUsage = func() (float64, error) { return 0.9, nil }
		c.RetentionInterval = -1
		c.DeleteSegmentsMax = 1
	}
	s := e.open(t, cfg)
	mustPut(t, s, msg("Q", 0, "old"))
	for s.commit.WriteOffset() < 64<<10 {
		mustPut(t, s, msg("Fill", 0, strings.Repeat("x", 64)))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, msg("Q", 0, "new")) // offset 1, in the log's unsynced tail
	waitDispatched(t, s)
	if res, err := s.Retain(); err != nil || res.SegmentsDeleted != 1 {
		t.Fatalf("retention: %+v, %v", res, err)
	}
	if err := s.kv.Sync(); err != nil {
		t.Fatal(err)
	}
	fs, kv := e.fs.Crash(), e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{})
	_ = s.Close()
	s = (&env{fs: fs, kvfs: kv}).open(t, cfg)
	defer s.Close()
	// 2 if the later record survived (the pass synced it), 1 if not; never
	// below the forgotten entry's.
	max, err := s.MaxOffset("Q", 0)
	if err != nil || max < 1 {
		t.Fatalf("queue max offset after the crash %d, %v; want at least 1", max, err)
	}
	if r := mustPut(t, s, msg("Q", 0, "after")); r.QueueOffsets[0] != max {
		t.Fatalf("the next put got offset %d, want %d", r.QueueOffsets[0], max)
	}
}

// TestQueueOffsetsSurviveACrashDuringRetention: a crash during the pass
// that forgets deleted segments' rows, after the segments went, must not
// lose those rows' dispatch: pebble is written without syncs, and replay
// cannot rebuild entries of deleted records, so the queue restarted at
// offset 0. Retention syncs the derived state before deleting a segment.
func TestQueueOffsetsSurviveACrashDuringRetention(t *testing.T) {
	e, cfg, before, res := crashDuringRetention(t)
	want := int64(0) // one past the last entry of a deleted record
	for _, x := range before {
		if x.PhyOffset < res.MinOffset {
			want = x.QueueOffset + 1
		}
	}
	s := e.open(t, cfg)
	defer s.Close()
	if r := mustPut(t, s, msg("R", 0, "after")); r.QueueOffsets[0] < want {
		t.Fatalf("after the crash the next put got offset %d, below %d: the queue went back", r.QueueOffsets[0], want)
	}
}
