package store

// Review tests: each demonstrates a bug found in review and FAILS on the
// current code. The comment above each says what goes wrong and why.

import (
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/vfs"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// A message whose body is exactly MaxMessageSize (4 MiB by default, what
// the store accepts) makes a record larger than dispatch.chunkBytes (4 MiB).
// dispatchChunk can never hold it whole, DispatchTo returns "no progress"
// forever: nothing after it is ever dispatched (consumers stall), retention
// stops (segments past the checkpoint are never deleted), Close is never
// clean, and after a crash Open itself fails in recoverDerived.
func TestReviewMaxSizeMessageStallsDispatch(t *testing.T) {
	e := newEnv()
	s := e.open(t, func(c *Config) {
		c.SegmentSize = 16 << 20
		c.Logger = quietLogger()
		c.RetentionInterval = -1
	})
	defer s.Close()
	body := strings.Repeat("x", s.cfg.MaxMessageSize) // accepted by checkMessage
	mustPut(t, s, msg("Big", 0, body))
	mustPut(t, s, msg("Small", 0, "after"))
	if err := s.Flush(); err != nil {
		t.Fatalf("dispatch cannot pass a max-size message: %v", err)
	}
	if max, _ := s.MaxOffset("Small", 0); max != 1 {
		t.Fatalf("message after the big one never dispatched: max offset %d", max)
	}
}

// Store methods that read the pebble database do not check closed (or check
// it only on entry): after Close they call pebble on a closed DB, which
// panics ("pebble: closed") instead of returning ErrClosed. A pull or admin
// request in flight during shutdown crashes the broker.
func TestReviewReadAfterClosePanics(t *testing.T) {
	e := newEnv()
	s := e.open(t, func(c *Config) { c.Logger = quietLogger(); c.RetentionInterval = -1 })
	mustPut(t, s, msg("T", 0, "a"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("MaxOffset after Close panicked: %v", r)
		}
	}()
	if _, err := s.MaxOffset("T", 0); err == nil {
		t.Fatal("MaxOffset after Close: no error")
	}
}

// Store.Close reads the commit log's end (store.go:320) before it closes the
// commit log (store.go:322). A Put that passed the store's closed check
// before Close started and is inside Append still writes after the end was
// read: commitlog.Close syncs it and the Put is acknowledged, but the clean
// marker records the older end, and the next Open truncates the log to it
// (commitlog.Open -> truncateTo(CleanEnd)). An acknowledged message is lost.
//
// The put is held inside the writer lock (in the clock) until Close has
// flushed; the sleep only gives Close time to read the end — if it were too
// short the test would pass, never fail, spuriously.
func TestReviewCloseLosesPutInFlight(t *testing.T) {
	e := newEnv()
	var synced atomic.Bool
	syncSeen := make(chan struct{})
	var syncOnce sync.Once
	fs := vfs.NewFaulty(e.fs, func(op vfs.Op) error {
		if op.Kind == vfs.OpSync && synced.Load() {
			syncOnce.Do(func() { close(syncSeen) })
		}
		return nil
	})
	var armed atomic.Bool
	inNow := make(chan struct{})
	release := make(chan struct{})
	e.now = func() time.Time {
		if armed.CompareAndSwap(true, false) {
			close(inNow)
			<-release
		}
		return time.Now()
	}
	cfg := func(c *Config) {
		c.FS = fs
		c.Flush = commitlog.AsyncFlush
		c.FlushInterval = time.Hour // only Close syncs
		c.RetentionInterval = -1
		c.Logger = quietLogger()
	}
	s := e.open(t, cfg)
	mustPut(t, s, msg("A", 0, "first")) // unsynced: Close's flush syncs it
	synced.Store(true)
	armed.Store(true)
	putErr := make(chan error, 1)
	go func() {
		_, err := s.Put(msg("B", 0, "in flight"))
		putErr <- err
	}()
	<-inNow // the put holds the writer lock
	closeErr := make(chan error, 1)
	go func() { closeErr <- s.Close() }()
	// Close seals the log, which waits for the put holding the writer
	// lock; in any interleaving the end it records includes the put.
	close(release)
	if err := <-putErr; err != nil {
		t.Skipf("put refused (%v): the race window was missed", err)
	}
	if err := <-closeErr; err != nil {
		t.Fatal(err)
	}
	s = e.open(t, func(c *Config) { cfg(c); c.FS = e.fs })
	defer s.Close()
	if max, _ := s.MaxOffset("B", 0); max != 1 {
		t.Fatalf("acknowledged put lost by a clean shutdown: B max offset %d", max)
	}
}

// Retention unregisters an LMQ whose rows all expired (forgetBelow probes
// its rows and deletes nextOffsets) while a put to that LMQ is written but
// not yet dispatched. The next put re-seeds the LMQ from its (empty)
// consume queue and restarts at 0, so later puts reuse the offset of the
// undispatched one: two records get the same LMQ offset, the later cq row
// overwrites the earlier (a message vanishes from the LMQ), and the LMQ is
// registered twice in one batch (LMQCount drifts).
//
// Dispatch is held back deterministically by failing its commit-log read
// at the undispatched record (DispatchTo returns an error and retries).
func TestReviewLMQRetentionRaceReusesOffsets(t *testing.T) {
	e := newEnv()
	var clock atomic.Int64
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	var stallName atomic.Pointer[string]
	var stallOff atomic.Int64
	fs := vfs.NewFaulty(e.fs, func(op vfs.Op) error {
		if n := stallName.Load(); n != nil && op.Kind == vfs.OpRead && op.Name == *n && op.Off == stallOff.Load() {
			return vfs.ErrInjected
		}
		return nil
	})
	const seg = 4096
	s := e.open(t, func(c *Config) {
		c.FS = fs
		c.SegmentSize = seg
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
		c.Logger = quietLogger()
	})
	defer s.Close()
	const lmq = "%LMQ%x"
	if r := mustPut(t, s, msg("P", 0, "old", message.PropertyInnerMultiDispatch, lmq)); r.LMQOffsets[0][0] != 0 {
		t.Fatalf("first LMQ offset %d", r.LMQOffsets[0][0])
	}
	for i := range 120 { // several old segments
		mustPut(t, s, msg("F", 0, fmt.Sprintf("filler%03d", i)))
	}
	clock.Add(2 * time.Hour.Milliseconds())
	waitDispatched(t, s)

	// Hold dispatch at the next record.
	cp := s.commit.WriteOffset()
	base := cp - cp%seg
	name := path.Join("data", "commitlog", commitlog.SegmentName(base))
	stallOff.Store(cp - base)
	stallName.Store(&name)
	p := mustPut(t, s, msg("P", 0, "pending", message.PropertyInnerMultiDispatch, lmq))
	if p.LMQOffsets[0][0] != 1 {
		t.Fatalf("pending LMQ offset %d", p.LMQOffsets[0][0])
	}
	res, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("retention: %+v", res)
	q := mustPut(t, s, msg("P", 0, "q", message.PropertyInnerMultiDispatch, lmq))
	r := mustPut(t, s, msg("P", 0, "r", message.PropertyInnerMultiDispatch, lmq))
	stallName.Store(nil)
	waitDispatched(t, s)
	offs := []int64{p.LMQOffsets[0][0], q.LMQOffsets[0][0], r.LMQOffsets[0][0]}
	if !(offs[1] == offs[0]+1 && offs[2] == offs[1]+1) {
		got, _ := s.GetMessages(lmq, 0, 0, 10, 0, nil)
		t.Fatalf("LMQ offsets not dense in commit-log order: pending/q/r got %v; LMQ now holds %v (LMQCount %d)",
			offs, bodies(t, got.Records), s.LMQCount())
	}
}

// buildLocked assigns LMQ offsets to every message with INNER_MULTI_DISPATCH
// (put.go:144), including transaction half (prepared) and rollback records,
// which dispatchRecord skips entirely (dispatch.go:216). The LMQ offsets they
// took are never written: every half message leaves a hole in each of its
// LMQs (RocketMQ assigns no queue or LMQ offset to them:
// DefaultMessageStore.assignOffset), and an LMQ first named by a half
// message stays counted in freshCount forever (quota leak).
func TestReviewHalfMessageConsumesLMQOffsets(t *testing.T) {
	e := newEnv()
	s := e.open(t, func(c *Config) { c.Logger = quietLogger(); c.RetentionInterval = -1 })
	defer s.Close()
	half := msg("P", 0, "half", message.PropertyInnerMultiDispatch, "%LMQ%h")
	half.SysFlag = message.SysTransactionPrepared
	mustPut(t, s, half)
	r := mustPut(t, s, msg("P", 0, "real", message.PropertyInnerMultiDispatch, "%LMQ%h"))
	waitDispatched(t, s)
	min, _ := s.MinOffset("%LMQ%h", 0)
	if r.LMQOffsets[0][0] != 0 {
		t.Errorf("first consumable LMQ message got offset %d (LMQ min offset %d): the half message took offset 0", r.LMQOffsets[0][0], min)
	}
	mustPut(t, s, func() *message.Message {
		m := msg("P", 0, "half2", message.PropertyInnerMultiDispatch, "%LMQ%only-half")
		m.SysFlag = message.SysTransactionPrepared
		return m
	}())
	waitDispatched(t, s)
	if n := s.LMQCount(); n != 1 {
		t.Errorf("LMQCount %d, want 1: an LMQ named only by a half message is counted forever", n)
	}
}
