package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/vfs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var host = netip.MustParseAddrPort("127.0.0.1:10911")

func record(t testing.TB, body string) []byte {
	t.Helper()
	rec, err := message.Encode(&message.Message{Topic: "T", Body: []byte(body), BornHost: host, StoreHost: host})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// one returns a BuildFunc appending a single record.
func one(rec []byte) BuildFunc {
	return func(dst []byte, _ int64) ([]byte, func(Appended), error) {
		return append(dst, rec...), nil, nil
	}
}

func openLog(t testing.TB, fs vfs.FS, cfg Config, rec Recovery) *Log {
	t.Helper()
	cfg.FS = fs
	cfg.Dir = "store/commitlog"
	l, err := Open(cfg, rec)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

func appendN(t testing.TB, l *Log, n int, wait bool) []Appended {
	t.Helper()
	var out []Appended
	for i := range n {
		a, err := l.Append(one(record(t, fmt.Sprintf("message-%04d", i))), wait)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, a)
	}
	return out
}

func checkReadable(t *testing.T, l *Log, as []Appended) {
	t.Helper()
	for i, a := range as {
		rec, err := l.ReadRecord(a.Offset)
		if err != nil {
			t.Fatalf("record %d at %d: %v", i, a.Offset, err)
		}
		m, err := message.Decode(rec)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if want := fmt.Sprintf("message-%04d", i); string(m.Body) != want || m.CommitLogOffset != a.Offset || m.StoreTimestamp != a.StoreTime {
			t.Fatalf("record %d: body %q phy %d store %d, want %q %d %d", i, m.Body, m.CommitLogOffset, m.StoreTimestamp, want, a.Offset, a.StoreTime)
		}
	}
}

func TestAppendReadAndRoll(t *testing.T) {
	fs := vfs.NewMem()
	l := openLog(t, fs, Config{SegmentSize: 4096}, Recovery{Clean: true})
	defer l.Close()
	as := appendN(t, l, 100, false)
	checkReadable(t, l, as)
	for i, a := range as {
		if a.Offset/4096 != (a.End-1)/4096 {
			t.Fatalf("record %d spans segments: [%d, %d)", i, a.Offset, a.End)
		}
		if i > 0 && a.Offset < as[i-1].End {
			t.Fatalf("record %d overlaps its predecessor", i)
		}
		if i > 0 && a.StoreTime < as[i-1].StoreTime {
			t.Fatalf("store time went backwards at %d", i)
		}
	}
	names, _ := fs.List("store/commitlog")
	if len(names) < 3 || names[0] != "00000000000000000000" || names[1] != "00000000000000004096" {
		t.Fatalf("segments %v", names)
	}
	// The segment after the active one is created ahead of time.
	next := SegmentName((l.WriteOffset()/4096 + 1) * 4096)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := fs.Stat(path.Join("store/commitlog", next)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("next segment %s not preallocated", next)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStoreTimeMonotonicWhenClockGoesBack(t *testing.T) {
	var tick atomic.Int64
	tick.Store(1_000_000)
	clock := func() time.Time { return time.UnixMilli(tick.Add(-10)) } // runs backwards
	l := openLog(t, vfs.NewMem(), Config{SegmentSize: 1 << 16, Now: clock}, Recovery{Clean: true})
	defer l.Close()
	as := appendN(t, l, 5, false)
	for i := 1; i < len(as); i++ {
		if as[i].StoreTime < as[i-1].StoreTime {
			t.Fatalf("store time %d after %d", as[i].StoreTime, as[i-1].StoreTime)
		}
	}
}

func TestBuildErrorAndCommit(t *testing.T) {
	l := openLog(t, vfs.NewMem(), Config{SegmentSize: 1 << 16}, Recovery{Clean: true})
	defer l.Close()
	boom := errors.New("boom")
	_, err := l.Append(func(dst []byte, _ int64) ([]byte, func(Appended), error) {
		return nil, func(Appended) { t.Error("commit after a failed build") }, boom
	}, false)
	if !errors.Is(err, boom) || l.WriteOffset() != 0 {
		t.Fatalf("err %v, write offset %d", err, l.WriteOffset())
	}
	committed := false
	rec := record(t, "x")
	two := func(dst []byte, _ int64) ([]byte, func(Appended), error) {
		return append(append(dst, rec...), rec...), func(a Appended) { committed = len(a.Offsets) == 2 }, nil
	}
	a, err := l.Append(two, false)
	if err != nil || !committed || a.Offsets[1] != int64(len(rec)) {
		t.Fatalf("batch append: %+v %v committed=%v", a, err, committed)
	}
	_, err = l.Append(one(make([]byte, 1<<16)), false)
	if err == nil {
		t.Fatal("no error for an oversized append")
	}
	if err := l.ReadAt(make([]byte, 10), l.WriteOffset()-5); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
}

// countSyncs wraps a FS and counts file syncs; gate, when set, blocks the
// first sync until it is closed.
func countSyncs(inner vfs.FS, n *atomic.Int64, gate chan struct{}) vfs.FS {
	var once sync.Once
	return vfs.NewFaulty(inner, func(op vfs.Op) error {
		if op.Kind == vfs.OpSync {
			n.Add(1)
			if gate != nil {
				once.Do(func() { <-gate })
			}
		}
		return nil
	})
}

// Under SYNC_FLUSH an append returns only once synced, and one fsync
// releases every writer waiting behind it.
func TestSyncFlushGroupCommit(t *testing.T) {
	var syncs atomic.Int64
	gate := make(chan struct{})
	fs := countSyncs(vfs.NewMem(), &syncs, gate)
	l := openLog(t, fs, Config{SegmentSize: 1 << 20, Flush: SyncFlush, NoPreallocate: true}, Recovery{Clean: true})
	defer l.Close()
	const writers = 64
	rec := record(t, "payload")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.Append(one(rec), true)
			if err == nil && l.FlushedOffset() < a.End {
				err = fmt.Errorf("returned before its bytes were synced: flushed %d < end %d", l.FlushedOffset(), a.End)
			}
			errs <- err
		}()
	}
	// Hold the first fsync until every writer has written; the next one
	// then covers them all.
	want := int64(writers * len(rec))
	deadline := time.Now().Add(10 * time.Second)
	for l.WriteOffset() < want {
		if time.Now().After(deadline) {
			t.Fatalf("writers stuck at %d of %d bytes", l.WriteOffset(), want)
		}
		time.Sleep(time.Millisecond)
	}
	before := syncs.Load()
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The held sync plus at most a couple more for 64 writers.
	if n := syncs.Load(); n > 3 || before > 1 {
		t.Fatalf("%d fsyncs for %d writers (%d before release): no group commit", n, writers, before)
	}
}

func TestSyncFlushTimeout(t *testing.T) {
	gate := make(chan struct{})
	var n atomic.Int64
	fs := countSyncs(vfs.NewMem(), &n, gate)
	l := openLog(t, fs, Config{SegmentSize: 1 << 20, Flush: SyncFlush, SyncFlushTimeout: 50 * time.Millisecond, NoPreallocate: true}, Recovery{Clean: true})
	_, err := l.Append(one(record(t, "x")), true)
	close(gate)
	if !errors.Is(err, ErrFlushTimeout) {
		t.Fatalf("err = %v, want ErrFlushTimeout", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// Named corruptions of the commit log after a crash: recovery keeps every
// valid record before the damage and cuts the log there.
func TestRecoveryCorruptions(t *testing.T) {
	const segSize = 4096
	cases := []struct {
		name string
		// damage returns the crashed filesystem and the index of the first
		// record that must be lost (all before it survive).
		damage func(t *testing.T, m *vfs.Mem, as []Appended) (*vfs.Mem, int)
	}{
		{"unsynced tail lost", func(t *testing.T, m *vfs.Mem, as []Appended) (*vfs.Mem, int) {
			return m.Crash(), len(as) - 5
		}},
		{"torn tail", func(t *testing.T, m *vfs.Mem, as []Appended) (*vfs.Mem, int) {
			// Keep 10 bytes of the first unsynced record.
			return m.CrashWith(vfs.TornTail(10)), len(as) - 5
		}},
		{"short header", func(t *testing.T, m *vfs.Mem, as []Appended) (*vfs.Mem, int) {
			return m.CrashWith(vfs.TornTail(3)), len(as) - 5
		}},
		{"bad body crc", func(t *testing.T, m *vfs.Mem, as []Appended) (*vfs.Mem, int) {
			c := m.Crash()
			k := 20
			a := as[k]
			name := path.Join("store/commitlog", SegmentName(a.Offset/segSize*segSize))
			if err := c.Corrupt(name, a.Offset%segSize+int64(a.End-a.Offset)-10, []byte{0xFF}); err != nil {
				t.Fatal(err)
			}
			return c, k
		}},
		{"zeroed page", func(t *testing.T, m *vfs.Mem, as []Appended) (*vfs.Mem, int) {
			c := m.Crash()
			k := 30
			a := as[k]
			name := path.Join("store/commitlog", SegmentName(a.Offset/segSize*segSize))
			if err := c.Corrupt(name, a.Offset%segSize, make([]byte, a.End-a.Offset)); err != nil {
				t.Fatal(err)
			}
			return c, k
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := vfs.NewMem()
			l := openLog(t, m, Config{SegmentSize: segSize, NoPreallocate: true}, Recovery{Clean: true})
			as := appendN(t, l, 60, false)
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			// Five more, written but never synced.
			for i := range 5 {
				a, err := l.Append(one(record(t, fmt.Sprintf("message-%04d", 60+i))), false)
				if err != nil {
					t.Fatal(err)
				}
				as = append(as, a)
			}
			crashed, lostFrom := tc.damage(t, m, as)
			_ = l.Close()

			r := openLog(t, crashed, Config{SegmentSize: segSize, NoPreallocate: true}, Recovery{ScanFrom: 0})
			defer r.Close()
			want := as[lostFrom].Offset
			if got := r.WriteOffset(); got != want && !(lostFrom > 0 && got == as[lostFrom-1].End) {
				t.Fatalf("recovered end %d, want %d", got, want)
			}
			checkReadable(t, r, as[:lostFrom])
			// The log takes new appends after the cut.
			a, err := r.Append(one(record(t, "after")), false)
			if err != nil {
				t.Fatal(err)
			}
			if rec, err := r.ReadRecord(a.Offset); err != nil || !bytes.Contains(rec, []byte("after")) {
				t.Fatalf("append after recovery: %v", err)
			}
		})
	}
}

// A checkpoint beyond what reached the disk (async flush, dispatch ahead)
// must not be trusted: recovery walks back to the real end.
func TestRecoveryCheckpointAheadOfDisk(t *testing.T) {
	m := vfs.NewMem()
	l := openLog(t, m, Config{SegmentSize: 4096, NoPreallocate: true}, Recovery{Clean: true})
	as := appendN(t, l, 40, false)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	more := appendN(t, l, 20, false) // lost in the crash
	checkpoint := more[15].Offset
	crashed := m.Crash()
	_ = l.Close()
	r := openLog(t, crashed, Config{SegmentSize: 4096, NoPreallocate: true}, Recovery{ScanFrom: checkpoint})
	defer r.Close()
	if r.WriteOffset() != as[len(as)-1].End {
		t.Fatalf("recovered end %d, want %d", r.WriteOffset(), as[len(as)-1].End)
	}
	checkReadable(t, r, as)
}

func TestCleanReopen(t *testing.T) {
	m := vfs.NewMem()
	l := openLog(t, m, Config{SegmentSize: 4096}, Recovery{Clean: true})
	as := appendN(t, l, 25, false)
	end := l.WriteOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := openLog(t, m, Config{SegmentSize: 4096}, Recovery{Clean: true, CleanEnd: end})
	defer r.Close()
	checkReadable(t, r, as)
	more, err := r.Append(one(record(t, "next")), false)
	if err != nil || more.Offset < end {
		t.Fatalf("append after reopen at %d (end %d): %v", more.Offset, end, err)
	}
	if more.StoreTime < as[len(as)-1].StoreTime {
		t.Fatal("store time went backwards across a reopen")
	}
}

// TestUncleanOpenSyncsTheRecoveredTail: a process crash leaves written but
// unsynced bytes in the files (the OS kept them); Open recovers them and
// calls them flushed, so it must sync them first: under SYNC_FLUSH
// consumers are shown everything flushed, and an OS crash right after the
// restart would otherwise lose records already delivered.
func TestUncleanOpenSyncsTheRecoveredTail(t *testing.T) {
	m := vfs.NewMem()
	cfg := Config{SegmentSize: 4096, NoPreallocate: true, FlushInterval: time.Hour}
	l := openLog(t, m, cfg, Recovery{Clean: true})
	defer l.Close()
	as := appendN(t, l, 60, false) // several segments, none synced
	// The process crashes; a new one opens the same files.
	r := openLog(t, m, cfg, Recovery{ScanFrom: 0})
	end := as[len(as)-1].End
	if r.WriteOffset() != end || r.FlushedOffset() != end {
		t.Fatalf("recovered end %d, flushed %d; want both %d", r.WriteOffset(), r.FlushedOffset(), end)
	}
	// Then the OS crashes.
	crashed := m.Crash()
	_ = r.Close()
	c := openLog(t, crashed, cfg, Recovery{ScanFrom: 0})
	defer c.Close()
	if c.WriteOffset() != end {
		t.Fatalf("after an OS crash the log ends at %d, want %d: the recovered tail was not synced", c.WriteOffset(), end)
	}
	checkReadable(t, c, as)
}
