package store

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pebblevfs "github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/index"
	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/bolidemq/bolide/internal/vfs"
)

// crashMsg is message i of the crash scenarios: parent queue 0, one LMQ,
// a key.
func crashMsg(i int) *message.Message {
	return msg("C", 0, fmt.Sprintf("c%03d", i), message.PropertyInnerMultiDispatch, "%LMQ%crash",
		message.PropertyKeys, fmt.Sprintf("key%03d", i))
}

// The crash table: each case damages a store in a named way; after
// reopening, exactly the messages before the damage are there — in the
// parent queue, the LMQ and the index — nothing after it is, and new puts
// continue the offsets without gap or duplicate.
func TestCrashRecovery(t *testing.T) {
	type result struct {
		fs   *vfs.Mem
		kvfs *pebblevfs.MemFS
		keep int // messages that must survive
	}
	const synced, unsynced = 30, 6
	segmentOf := func(s *Store, phy int64) string {
		return path.Join("data/commitlog", commitlog.SegmentName(phy/s.cfg.SegmentSize*s.cfg.SegmentSize))
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, e *env, s *Store, phys []int64) result
	}{
		{"clean state, crash", func(t *testing.T, e *env, s *Store, _ []int64) result {
			if err := s.commit.Flush(); err != nil {
				t.Fatal(err)
			}
			waitDispatched(t, s)
			if err := s.kv.Sync(); err != nil {
				t.Fatal(err)
			}
			return result{e.fs.Crash(), e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), synced + unsynced}
		}},
		{"crash between commit-log write and dispatch checkpoint", func(t *testing.T, e *env, s *Store, _ []int64) result {
			// The commit log is synced; the derived state is as of the
			// last Flush (before the last six puts).
			kv := e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{})
			if err := s.commit.Flush(); err != nil {
				t.Fatal(err)
			}
			return result{e.fs.Crash(), kv, synced + unsynced}
		}},
		{"unsynced tail lost, derived state ahead", func(t *testing.T, e *env, s *Store, _ []int64) result {
			waitDispatched(t, s)
			if err := s.kv.Sync(); err != nil {
				t.Fatal(err)
			}
			return result{e.fs.Crash(), e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), synced}
		}},
		{"torn tail", func(t *testing.T, e *env, s *Store, _ []int64) result {
			waitDispatched(t, s)
			if err := s.kv.Sync(); err != nil {
				t.Fatal(err)
			}
			return result{e.fs.CrashWith(vfs.TornTail(40)), e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), synced}
		}},
		{"short header", func(t *testing.T, e *env, s *Store, _ []int64) result {
			waitDispatched(t, s)
			if err := s.kv.Sync(); err != nil {
				t.Fatal(err)
			}
			return result{e.fs.CrashWith(vfs.TornTail(3)), e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), synced}
		}},
		{"bad body CRC", func(t *testing.T, e *env, s *Store, phys []int64) result {
			waitDispatched(t, s)
			if err := s.kv.Sync(); err != nil {
				t.Fatal(err)
			}
			c := e.fs.Crash()
			// Change the last byte of the body "c020"; with IPv4 hosts the
			// body starts at byte 88 of the record.
			at := phys[20]%s.cfg.SegmentSize + 88 + 3
			if err := c.Corrupt(segmentOf(s, phys[20]), at, []byte{'X'}); err != nil {
				t.Fatal(err)
			}
			return result{c, e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), 20}
		}},
		{"zeroed page", func(t *testing.T, e *env, s *Store, phys []int64) result {
			waitDispatched(t, s)
			if err := s.kv.Sync(); err != nil {
				t.Fatal(err)
			}
			c := e.fs.Crash()
			if err := c.Corrupt(segmentOf(s, phys[12]), phys[12]%s.cfg.SegmentSize, make([]byte, 512)); err != nil {
				t.Fatal(err)
			}
			return result{c, e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), 12}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv()
			s := e.open(t, func(c *Config) { c.SegmentSize = 1 << 20 })
			var phys []int64
			for i := range synced {
				phys = append(phys, mustPut(t, s, crashMsg(i)).PhyOffsets[0])
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			for i := synced; i < synced+unsynced; i++ {
				phys = append(phys, mustPut(t, s, crashMsg(i)).PhyOffsets[0])
			}
			r := tc.damage(t, e, s, phys)
			_ = s.Close()

			e2 := &env{fs: r.fs, kvfs: r.kvfs}
			s2 := e2.open(t, func(c *Config) { c.SegmentSize = 1 << 20 })
			defer s2.Close()
			if _, err := e2.fs.Stat("data/clean"); err == nil {
				t.Fatal("clean marker present while open")
			}
			for _, q := range []string{"C", "%LMQ%crash"} {
				res, err := s2.GetMessages(q, 0, 0, 100, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for i := range r.keep {
					want = append(want, fmt.Sprintf("c%03d", i))
				}
				if got := bodies(t, res.Records); !slices.Equal(got, want) {
					t.Fatalf("%s after recovery: %d messages %v, want %d", q, len(got), got, len(want))
				}
				if max, _ := s2.MaxOffset(q, 0); max != int64(r.keep) {
					t.Fatalf("%s max offset %d, want %d", q, max, r.keep)
				}
			}
			for i := range synced + unsynced {
				hits, err := s2.Query(index.KindKey, "C", fmt.Sprintf("key%03d", i), 0, 1<<62, 4)
				if err != nil {
					t.Fatal(err)
				}
				if (i < r.keep) != (len(hits) == 1) {
					t.Fatalf("key%03d: %d hits after recovery (kept %d)", i, len(hits), r.keep)
				}
			}
			next := mustPut(t, s2, crashMsg(r.keep))
			if next.QueueOffsets[0] != int64(r.keep) || next.LMQOffsets[0][0] != int64(r.keep) {
				t.Fatalf("next put at %d / LMQ %v, want %d", next.QueueOffsets[0], next.LMQOffsets[0], r.keep)
			}
		})
	}
}

// Everything derived can be rebuilt from the commit log: with the pebble
// database gone, reopening replays every record and yields the same
// queues, LMQs, index and LMQ count; replaying over existing state (a
// checkpoint reset) changes nothing.
func TestRebuildAndIdempotentReplay(t *testing.T) {
	e := newEnv()
	small := func(c *Config) { c.SegmentSize = 8192 }
	s := e.open(t, small)
	for i := range 120 {
		mustPut(t, s, msg("RB", int32(i%3), fmt.Sprintf("rb%03d", i),
			message.PropertyInnerMultiDispatch, fmt.Sprintf("%%LMQ%%x%d,%%LMQ%%all", i%4),
			message.PropertyKeys, fmt.Sprintf("key%03d shared", i)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	snapshot := func(s *Store) string {
		var b strings.Builder
		for _, q := range []struct {
			topic string
			queue int32
		}{{"RB", 0}, {"RB", 1}, {"RB", 2}, {"%LMQ%x0", 0}, {"%LMQ%x3", 0}, {"%LMQ%all", 0}} {
			res, err := s.GetMessages(q.topic, q.queue, 0, 1000, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s/%d %v %v\n", q.topic, q.queue, res.QueueOffsets, bodies(t, res.Records))
		}
		hits, _ := s.Query(index.KindKey, "%LMQ%x1", "shared", 0, 1<<62, 64)
		fmt.Fprintf(&b, "x1 shared %v\nLMQs %d\n", bodies(t, hits), s.LMQCount())
		return b.String()
	}
	s = e.open(t, small)
	want := snapshot(s)
	// Replay over existing state.
	if err := s.disp.TruncateFrom(0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.disp.DispatchTo(s.commit.WriteOffset()); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(s); got != want {
		t.Fatalf("replay changed the state:\n%s\nwant\n%s", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Rebuild from nothing.
	if err := e.kvfs.RemoveAll("data/kv"); err != nil {
		t.Fatal(err)
	}
	s = e.open(t, small)
	defer s.Close()
	if got := snapshot(s); got != want {
		t.Fatalf("rebuilt state differs:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(want, "LMQs 5") {
		t.Fatalf("unexpected snapshot:\n%s", want)
	}
}

// LMQ next offsets come from the snapshot a clean close writes, or, after
// a crash (no valid snapshot marker), from the consume queues; either way
// LMQ offsets continue where they were. A crash after a clean restart must
// not trust the older snapshot.
func TestLMQNextOffsetsAfterCleanAndUncleanStops(t *testing.T) {
	e := newEnv()
	s := e.open(t, nil)
	for i := range 5 {
		mustPut(t, s, lmqMsg(fmt.Sprint(i), "%LMQ%m1", "%LMQ%m2"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The clean close left a snapshot matching its dispatch checkpoint.
	kv, err := kvdb.Open("data/kv", e.kvfs, kvdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := cq.Open(kv.Pebble())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := snap.LoadLMQNext(func(string, int64) {})
	valid, verr := snap.LMQNextValidAt(s.dispatched.Load())
	if err != nil || verr != nil || rows != 2 || !valid {
		t.Fatalf("snapshot after a clean close: %d rows, valid %v (%v, %v)", rows, valid, err, verr)
	}
	if err := kv.Close(); err != nil {
		t.Fatal(err)
	}

	s = e.open(t, nil) // from the snapshot
	r := mustPut(t, s, lmqMsg("a", "%LMQ%m1", "%LMQ%new"))
	if !slices.Equal(r.LMQOffsets[0], []int64{5, 0}) {
		t.Fatalf("LMQ offsets after a clean restart: %v, want [5 0]", r.LMQOffsets[0])
	}
	for range 3 {
		mustPut(t, s, lmqMsg("b", "%LMQ%m1"))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	// Crash: the snapshot on disk says m1 ends at 5, the queues say 9.
	e.fs, e.kvfs = e.fs.Crash(), e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{})
	_ = s.Close()

	s = e.open(t, nil)
	defer s.Close()
	r = mustPut(t, s, lmqMsg("c", "%LMQ%m1", "%LMQ%m2", "%LMQ%new"))
	if !slices.Equal(r.LMQOffsets[0], []int64{9, 5, 1}) {
		t.Fatalf("LMQ offsets after a crash: %v, want [9 5 1]", r.LMQOffsets[0])
	}
	if s.LMQCount() != 3 {
		t.Fatalf("LMQ count %d", s.LMQCount())
	}
}

// TestRecoverWhenTheLogStartsAtItsEnd: retention deleted every segment but
// the last, a crash during its forget pass lost the unsynced records of the
// last segment, and the derived state was then deleted to be rebuilt (as
// design.md advises before going back to an older build). The log starts
// where it ends, the checkpoint is 0, and below the log's start nothing can
// be read: the store opens (it failed every start with "dispatch: no
// progress"), moves the checkpoint there and takes puts again.
func TestRecoverWhenTheLogStartsAtItsEnd(t *testing.T) {
	e, cfg, _, res := crashDuringRetention(t)
	if err := e.kvfs.RemoveAll("data/kv"); err != nil {
		t.Fatal(err)
	}
	s := e.open(t, cfg)
	min, end := s.commit.MinOffset(), s.commit.WriteOffset()
	if min != end || min != res.MinOffset {
		t.Fatalf("after the crash the log spans [%d, %d), want it empty at %d", min, end, res.MinOffset)
	}
	if got := s.disp.Checkpoint(); got != min {
		t.Fatalf("dispatch checkpoint %d, want %d", got, min)
	}
	r := mustPut(t, s, msg("R", 0, "after"))
	waitDispatched(t, s)
	got, err := s.GetMessages("R", 0, r.QueueOffsets[0], 1, 0, nil)
	if err != nil || got.Status != Found {
		t.Fatalf("message put after the recovery: %v, %v", got.Status, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.open(t, cfg)
	_ = s.Close()
}

// crashDuringRetention puts 150 records to queue R-0 in 4 KiB segments,
// lets them expire, puts 5 more and runs retention, taking the crash state
// (what was synced) during the pass that forgets the deleted segments'
// rows, after the segments went. It returns an env over that state, the
// config to open it with, R-0's entries before the pass and the pass's
// result. The crash loses the last segment's records: the pass's end
// would sync them.
func crashDuringRetention(t *testing.T) (*env, func(*Config), []cq.Entry, RetentionResult) {
	t.Helper()
	e, clock, cfg := expiringEnv(nil)
	s := e.open(t, cfg)
	defer s.Close()
	putThenExpire(t, s, clock, 150, func(i int) *message.Message { return msg("R", 0, fmt.Sprintf("old%03d", i)) })
	before, err := s.cq.Range("R", 0, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var crashed *env
	s.forgetStepped = func() {
		if crashed == nil {
			crashed = &env{fs: e.fs.Crash(), kvfs: e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), now: e.now}
		}
	}
	res, err := s.Retain()
	if err != nil || res.SegmentsDeleted == 0 || crashed == nil {
		t.Fatalf("retention: %+v, %v; crashed during it %v", res, err, crashed != nil)
	}
	return crashed, cfg, before, res
}

// TestRecreatedLMQSurvivesACrash: retention removes an LMQ whose messages
// expired, a put creates it again at offset 0, and the machine crashes
// before pebble synced anything more. Recovery must see the new LMQ (one
// entry, next offset 1), not the old one's rows nor its next offset: the
// forget pass's deletes are durable before any put can re-create the name.
func TestRecreatedLMQSurvivesACrash(t *testing.T) {
	e, clock, cfg := expiringEnv(nil)
	const lmq = "%LMQ%again"
	s := e.open(t, cfg)
	expireLMQ(t, s, clock, lmq)
	res, err := s.Retain()
	if err != nil || !slices.Contains(res.LMQsRemoved, lmq) {
		t.Fatalf("retention: %+v, %v; want %s removed", res, err, lmq)
	}
	r := mustPut(t, s, msg("R", 0, "reborn", message.PropertyInnerMultiDispatch, lmq))
	if got := r.LMQOffsets[0]; !slices.Equal(got, []int64{0}) {
		t.Fatalf("re-created LMQ offsets %v, want [0]", got)
	}
	waitDispatched(t, s)
	if err := s.commit.Flush(); err != nil { // the record survives; pebble is not synced
		t.Fatal(err)
	}
	crashed := &env{fs: e.fs.Crash(), kvfs: e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), now: e.now}
	_ = s.Close()

	s = crashed.open(t, cfg)
	defer s.Close()
	if max, err := s.MaxOffset(lmq, 0); err != nil || max != 1 {
		t.Fatalf("re-created LMQ max offset %d after the crash (%v), want 1", max, err)
	}
	got, err := s.GetMessages(lmq, 0, 0, 10, 0, nil)
	if err != nil || got.Status != Found || !slices.Equal(bodies(t, got.Records), []string{"reborn"}) {
		t.Fatalf("re-created LMQ after the crash: %v %v, %v", got.Status, bodies(t, got.Records), err)
	}
	r = mustPut(t, s, msg("R", 0, "next", message.PropertyInnerMultiDispatch, lmq))
	if got := r.LMQOffsets[0]; !slices.Equal(got, []int64{1}) {
		t.Fatalf("next put to the re-created LMQ at %v, want [1]", got)
	}
}

// TestLMQRemovalHookRunsAgainAfterACrashInIt: OnLMQsRemoved runs before
// the removal is applied (so before anything can make it durable), and a
// crash while it runs leaves the LMQ listed: the start-up pass removes it
// and calls the hook again. (Called after, a crash once the removal was
// durable lost the call, and the broker kept the removed LMQ's consumer
// offsets.)
func TestLMQRemovalHookRunsAgainAfterACrashInIt(t *testing.T) {
	const lmq = "%LMQ%hooked"
	var crashed *env
	var reported []string
	var e *env
	var s *Store
	e, clock, cfg := expiringEnv(func(c *Config) {
		c.OnLMQsRemoved = func(names []string) {
			if crashed == nil {
				if ok, err := s.cq.IsLMQRegistered(lmq); err != nil || !ok {
					t.Errorf("%s unregistered (%v) when the hook ran", lmq, err)
				}
				crashed = &env{fs: e.fs.Crash(), kvfs: e.kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), now: e.now}
				return
			}
			reported = append(reported, names...)
		}
	})
	s = e.open(t, cfg)
	expireLMQ(t, s, clock, lmq)
	if res, err := s.Retain(); err != nil || !slices.Equal(res.LMQsRemoved, []string{lmq}) || crashed == nil {
		t.Fatalf("retention: %+v, %v; hook called %v", res, err, crashed != nil)
	}
	_ = s.Close()

	s = crashed.open(t, cfg)
	defer s.Close()
	if !slices.Equal(reported, []string{lmq}) {
		t.Fatalf("after a crash in the hook, the start-up pass reported %v, want [%s]", reported, lmq)
	}
	if n := s.LMQCount(); n != 0 {
		t.Fatalf("%d LMQs after the start-up pass, want 0", n)
	}
}

// expiringEnv is an env whose clock the test moves, and the config of a
// store with 4 KiB segments that expire after an hour and retention run
// by hand; extra, if set, changes the config further.
func expiringEnv(extra func(*Config)) (*env, *atomic.Int64, func(*Config)) {
	e := newEnv()
	clock := new(atomic.Int64)
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	return e, clock, func(c *Config) {
		c.SegmentSize = 4096
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
		if extra != nil {
			extra(c)
		}
	}
}

// putThenExpire puts n messages built by old to R-0, lets them expire (an
// hour, the envs of expiringEnv), puts five more and waits for dispatch.
func putThenExpire(t *testing.T, s *Store, clock *atomic.Int64, n int, old func(i int) *message.Message) {
	t.Helper()
	for i := range n {
		mustPut(t, s, old(i))
	}
	clock.Add(2 * time.Hour.Milliseconds())
	for i := range 5 {
		mustPut(t, s, msg("R", 0, fmt.Sprintf("new%03d", i)))
	}
	waitDispatched(t, s)
}

// expireLMQ puts ten messages to lmq and enough others that its records
// fill whole segments, and lets them expire: the next retention pass
// removes lmq.
func expireLMQ(t *testing.T, s *Store, clock *atomic.Int64, lmq string) {
	t.Helper()
	putThenExpire(t, s, clock, 70, func(i int) *message.Message {
		if i < 10 {
			return msg("R", 0, fmt.Sprintf("old%03d", i), message.PropertyInnerMultiDispatch, lmq)
		}
		return msg("R", 0, fmt.Sprintf("filler%03d", i))
	})
}
