package store

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pebblevfs "github.com/cockroachdb/pebble/v2/vfs"
	"go.uber.org/goleak"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/index"
	"github.com/bolidemq/bolide/internal/vfs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var storeHost = netip.MustParseAddrPort("127.0.0.1:10911")

// env is the filesystems a store lives on; crash tests clone them.
type env struct {
	fs   *vfs.Mem
	kvfs *pebblevfs.MemFS
	now  func() time.Time
}

func newEnv() *env { return &env{fs: vfs.NewMem(), kvfs: pebblevfs.NewCrashableMem()} }

func (e *env) open(t testing.TB, mut func(*Config)) *Store {
	t.Helper()
	cfg := Config{
		Dir: "data", FS: e.fs, KVFS: e.kvfs, SegmentSize: 64 << 10, StoreHost: storeHost,
		EnableLMQ: true, Now: e.now, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	if mut != nil {
		mut(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	return s
}

func msg(topic string, queue int32, body string, props ...string) *message.Message {
	m := &message.Message{Topic: topic, QueueID: queue, Body: []byte(body), BornHost: storeHost}
	for i := 0; i+1 < len(props); i += 2 {
		m.Properties.Set(props[i], props[i+1])
	}
	return m
}

func mustPut(t testing.TB, s *Store, m *message.Message) PutResult {
	t.Helper()
	r, err := s.Put(m)
	if err != nil {
		t.Fatalf("put %s: %v", m.Body, err)
	}
	return r
}

// waitDispatched polls until everything written is dispatched.
func waitDispatched(t testing.TB, s *Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Dispatched < s.confirmOffset() || s.confirmOffset() < s.commit.WriteOffset() {
		if time.Now().After(deadline) {
			t.Fatalf("dispatch stuck: %+v", s.Stats())
		}
		s.dispatcher.Wakeup()
		time.Sleep(time.Millisecond)
	}
}

func bodies(t testing.TB, recs [][]byte) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		m, err := message.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(m.Body))
	}
	return out
}

func TestPutGetQueues(t *testing.T) {
	e := newEnv()
	s := e.open(t, nil)
	defer s.Close()
	for i := range 40 {
		r := mustPut(t, s, msg("T", int32(i%4), fmt.Sprintf("m%d", i), message.PropertyTags, "TagA"))
		if r.QueueOffsets[0] != int64(i/4) {
			t.Fatalf("message %d got queue offset %d", i, r.QueueOffsets[0])
		}
	}
	waitDispatched(t, s)
	res, err := s.GetMessages("T", 1, 2, 3, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != Found || res.NextOffset != 5 || res.MinOffset != 0 || res.MaxOffset != 10 ||
		!slices.Equal(bodies(t, res.Records), []string{"m9", "m13", "m17"}) {
		t.Fatalf("get: %v next %d min %d max %d %v", res.Status, res.NextOffset, res.MinOffset, res.MaxOffset, bodies(t, res.Records))
	}
	m, _ := message.Decode(res.Records[0])
	if m.QueueOffset != 2 || m.QueueID != 1 || m.StoreHost != storeHost || m.Properties.Get(message.PropertyTags) != "TagA" {
		t.Fatalf("stored record: %+v", m)
	}
	for _, tc := range []struct {
		queue  int32
		offset int64
		want   GetStatus
		next   int64
	}{
		{1, 10, OffsetOverflowOne, 10},
		{1, 12, OffsetOverflowBadly, 10},
		{7, 0, NoMessageInQueue, 0},
	} {
		res, err := s.GetMessages("T", tc.queue, tc.offset, 32, 0, nil)
		if err != nil || res.Status != tc.want || res.NextOffset != tc.next {
			t.Errorf("queue %d offset %d: %v next %d, %v; want %v next %d", tc.queue, tc.offset, res.Status, res.NextOffset, err, tc.want, tc.next)
		}
	}
	// A filter skips entries by tag hash without counting them.
	res, _ = s.GetMessages("T", 0, 0, 32, 0, func(e cq.Entry) bool { return e.TagHash != int64(message.TagHash("TagA")) })
	if res.Status != NoMatchedMessage || res.NextOffset != 10 {
		t.Fatalf("filtered: %v next %d", res.Status, res.NextOffset)
	}
	// maxBytes stops after the record that crosses it.
	res, _ = s.GetMessages("T", 0, 0, 32, 1, nil)
	if len(res.Records) != 1 || res.NextOffset != 1 {
		t.Fatalf("maxBytes: %d records, next %d", len(res.Records), res.NextOffset)
	}
	// By commit-log offset.
	rec, err := s.ReadRecord(mustPut(t, s, msg("T", 0, "direct")).PhyOffsets[0])
	if err != nil || !strings.Contains(string(rec), "direct") {
		t.Fatalf("read record: %v", err)
	}
}

func TestPutBatchIsContiguous(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	mustPut(t, s, msg("B", 0, "first"))
	r, err := s.PutBatch([]*message.Message{msg("B", 0, "a"), msg("B", 0, "b"), msg("B", 0, "c")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.QueueOffsets, []int64{1, 2, 3}) || len(r.PhyOffsets) != 3 {
		t.Fatalf("batch: %+v", r)
	}
	if _, err := s.PutBatch([]*message.Message{msg("B", 0, "a"), msg("B", 1, "b")}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("mixed-queue batch: %v", err)
	}
	if _, err := s.Put(msg("bad topic!", 0, "x")); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("bad topic: %v", err)
	}
	big := msg("B", 0, strings.Repeat("x", 5<<20))
	if _, err := s.Put(big); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("too large: %v", err)
	}
}

func lmqMsg(body string, lmqs ...string) *message.Message {
	return msg("Parent", 0, body, message.PropertyInnerMultiDispatch, strings.Join(lmqs, ","),
		message.PropertyKeys, "k-"+body, message.PropertyUniqKey, "U-"+body)
}

func TestLMQDispatch(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	r := mustPut(t, s, lmqMsg("one", "%LMQ%a", "%LMQ%b"))
	if !slices.Equal(r.LMQOffsets[0], []int64{0, 0}) {
		t.Fatalf("LMQ offsets %v", r.LMQOffsets)
	}
	mustPut(t, s, lmqMsg("two", "%LMQ%b", "%LMQ%c"))
	waitDispatched(t, s)
	res, err := s.GetMessages("%LMQ%b", 0, 0, 32, 0, nil)
	if err != nil || !slices.Equal(bodies(t, res.Records), []string{"one", "two"}) || !slices.Equal(res.QueueOffsets, []int64{0, 1}) {
		t.Fatalf("LMQ b: %v %v %v", bodies(t, res.Records), res.QueueOffsets, err)
	}
	m, _ := message.Decode(res.Records[1])
	if got := m.Properties.Get(message.PropertyInnerMultiQueueOffset); got != "1,0" || m.Topic != "Parent" {
		t.Fatalf("INNER_MULTI_QUEUE_OFFSET = %q on topic %s", got, m.Topic)
	}
	if n := s.LMQCount(); n != 3 {
		t.Fatalf("LMQ count %d, want 3", n)
	}
	// A key query on an LMQ sees only that LMQ's messages.
	hits, err := s.Query(index.KindKey, "%LMQ%c", "k-one", 0, 1<<62, 10)
	if err != nil || len(hits) != 0 {
		t.Fatalf("k-one in LMQ c: %d hits, %v", len(hits), err)
	}
	hits, _ = s.Query(index.KindKey, "%LMQ%a", "k-one", 0, 1<<62, 10)
	if len(hits) != 1 {
		t.Fatalf("k-one in LMQ a: %d hits", len(hits))
	}
	hits, _ = s.Query(index.KindUniqKey, "Parent", "U-two", 0, 1<<62, 10)
	if !slices.Equal(bodies(t, hits), []string{"two"}) {
		t.Fatalf("unique key on parent: %v", bodies(t, hits))
	}
}

// Concurrent producers feeding overlapping LMQs from different parent
// queues: every LMQ's offsets are dense and follow commit-log order (the
// race upstream fixed in #7525 cannot happen).
func TestLMQConcurrentOverlapping(t *testing.T) {
	s := newEnv().open(t, func(c *Config) { c.SegmentSize = 1 << 20 })
	defer s.Close()
	const producers, perProducer, lmqs = 8, 100, 6
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(p), 7))
			for i := range perProducer {
				var names []string
				for l := range lmqs {
					if rng.IntN(2) == 0 {
						names = append(names, "%LMQ%q"+strconv.Itoa(l))
					}
				}
				if len(names) == 0 {
					names = []string{"%LMQ%q0"}
				}
				m := msg(fmt.Sprintf("P%d", p%3), int32(p%2), fmt.Sprintf("p%d-%d", p, i),
					message.PropertyInnerMultiDispatch, strings.Join(names, ","))
				if _, err := s.Put(m); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitDispatched(t, s)
	total := 0
	for l := range lmqs {
		name := "%LMQ%q" + strconv.Itoa(l)
		res, err := s.GetMessages(name, 0, 0, producers*perProducer, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		lastPhy := int64(-1)
		for i, rec := range res.Records {
			if res.QueueOffsets[i] != int64(i) {
				t.Fatalf("%s: offset %d at position %d: not dense", name, res.QueueOffsets[i], i)
			}
			m, _ := message.Decode(rec)
			if m.CommitLogOffset <= lastPhy {
				t.Fatalf("%s: offset %d is before its predecessor in the commit log", name, i)
			}
			lastPhy = m.CommitLogOffset
			pairs, err := message.PairLMQOffsets(m.Properties.Get(message.PropertyInnerMultiDispatch), m.Properties.Get(message.PropertyInnerMultiQueueOffset))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range pairs {
				if p.Queue == name {
					found = p.Offset == int64(i)
				}
			}
			if !found {
				t.Fatalf("%s: record at %d does not carry its LMQ offset: %v", name, i, pairs)
			}
		}
		total += len(res.Records)
	}
	if total < producers*perProducer {
		t.Fatalf("only %d LMQ entries for %d messages", total, producers*perProducer)
	}
}

func TestLMQQuota(t *testing.T) {
	s := newEnv().open(t, func(c *Config) { c.MaxLMQs = 3 })
	defer s.Close()
	mustPut(t, s, lmqMsg("a", "%LMQ%1", "%LMQ%2"))
	before := s.Stats().CommitLogWriteOffset
	_, err := s.Put(lmqMsg("b", "%LMQ%2", "%LMQ%3", "%LMQ%4"))
	if !errors.Is(err, ErrLMQQuota) {
		t.Fatalf("err = %v, want ErrLMQQuota", err)
	}
	if s.Stats().CommitLogWriteOffset != before {
		t.Fatal("a refused message was written")
	}
	// Existing LMQs and one more new one still fit.
	mustPut(t, s, lmqMsg("c", "%LMQ%1", "%LMQ%3"))
	waitDispatched(t, s)
	if max, _ := s.MaxOffset("Parent", 0); max != 2 {
		t.Fatalf("parent max offset %d: the refused message took an offset", max)
	}
	if max, _ := s.MaxOffset("%LMQ%2", 0); max != 1 {
		t.Fatalf("LMQ 2 max offset %d", max)
	}
	if s.LMQCount() != 3 {
		t.Fatalf("LMQ count %d", s.LMQCount())
	}
}

func TestOffsetByTimeAndQuery(t *testing.T) {
	e := newEnv()
	var clock atomic.Int64
	clock.Store(1_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	s := e.open(t, nil)
	defer s.Close()
	// Store times 1000000, 1000000, 1000010, 1000020, 1000030.
	for i, step := range []int64{0, 0, 10, 10, 10} {
		clock.Add(step)
		mustPut(t, s, msg("TT", 0, fmt.Sprintf("t%d", i), message.PropertyKeys, "same other"+strconv.Itoa(i)))
	}
	waitDispatched(t, s)
	for _, tc := range []struct {
		ts       int64
		boundary cq.Boundary
		want     int64
	}{
		{1_000_000, cq.Lower, 0}, {1_000_000, cq.Upper, 1},
		{1_000_015, cq.Lower, 3}, {1_000_015, cq.Upper, 2},
		{999_000, cq.Lower, 0}, {2_000_000, cq.Lower, 5}, {2_000_000, cq.Upper, 4},
	} {
		got, err := s.OffsetByTime("TT", 0, tc.ts, tc.boundary)
		if err != nil || got != tc.want {
			t.Errorf("OffsetByTime(%d, %v) = %d, %v; want %d", tc.ts, tc.boundary, got, err, tc.want)
		}
	}
	if ts, err := s.EarliestStoreTime("TT", 0); err != nil || ts != 1_000_000 {
		t.Errorf("earliest store time %d, %v", ts, err)
	}
	recs, err := s.Query(index.KindKey, "TT", "same", 1_000_005, 1_000_030, 2)
	if err != nil || !slices.Equal(bodies(t, recs), []string{"t4", "t3"}) {
		t.Fatalf("key query: %v %v", bodies(t, recs), err)
	}
	if recs, _ := s.Query(index.KindKey, "TT", "sam", 0, 1<<62, 10); len(recs) != 0 {
		t.Fatal("prefix of a key matched")
	}
}

func TestArrivals(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	var mu sync.Mutex
	got := map[string]int64{}
	s.SetArrivalListener(func(topic string, q int32, next int64) {
		mu.Lock()
		got[fmt.Sprintf("%s/%d", topic, q)] = next
		mu.Unlock()
	})
	mustPut(t, s, lmqMsg("x", "%LMQ%arr"))
	mustPut(t, s, lmqMsg("y", "%LMQ%arr"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := got["Parent/0"] == 2 && got["%LMQ%arr/0"] == 2
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("arrivals %v", got)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCleanReopenContinuesOffsets(t *testing.T) {
	e := newEnv()
	s := e.open(t, nil)
	for i := range 10 {
		mustPut(t, s, lmqMsg(strconv.Itoa(i), "%LMQ%r"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fs.Stat("data/clean"); err != nil {
		t.Fatal("no clean marker after Close")
	}
	s = e.open(t, nil)
	defer s.Close()
	r := mustPut(t, s, lmqMsg("10", "%LMQ%r"))
	if r.QueueOffsets[0] != 10 || r.LMQOffsets[0][0] != 10 {
		t.Fatalf("after reopen: queue offset %d, LMQ offset %v", r.QueueOffsets[0], r.LMQOffsets[0])
	}
	if s.LMQCount() != 1 {
		t.Fatalf("LMQ count %d", s.LMQCount())
	}
}

// Under SYNC_FLUSH nothing is visible before it is on disk.
func TestSyncFlushVisibility(t *testing.T) {
	gate := make(chan struct{})
	var hold atomic.Bool
	hold.Store(true)
	mem := vfs.NewMem()
	fs := vfs.NewFaulty(mem, func(op vfs.Op) error {
		if op.Kind == vfs.OpSync && strings.Contains(op.Name, "commitlog/") && hold.Load() {
			<-gate
		}
		return nil
	})
	cfg := Config{Dir: "data", FS: fs, KVFS: pebblevfs.NewMem(), SegmentSize: 1 << 20, StoreHost: storeHost,
		Flush: commitlog.SyncFlush}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(msg("S", 0, "durable"))
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().CommitLogWriteOffset == 0 {
		if time.Now().After(deadline) {
			t.Fatal("put never wrote")
		}
		time.Sleep(time.Millisecond)
	}
	s.dispatcher.Wakeup()
	if err := s.dispatchAvailable(); err != nil {
		t.Fatal(err)
	}
	if max, _ := s.MaxOffset("S", 0); max != 0 {
		t.Fatal("message visible before its bytes were synced")
	}
	hold.Store(false)
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitDispatched(t, s)
	if max, _ := s.MaxOffset("S", 0); max != 1 {
		t.Fatalf("max offset %d after sync", max)
	}
}

func TestRetention(t *testing.T) {
	e := newEnv()
	var clock atomic.Int64
	clock.Store(10_000_000)
	e.now = func() time.Time { return time.UnixMilli(clock.Load()) }
	var hooked [][]string
	cfg := func(c *Config) {
		c.SegmentSize = 4096
		c.FileReservedTime = time.Hour
		c.DiskMaxUsedRatio = -1
		c.RetentionInterval = -1
		c.OnLMQsRemoved = func(names []string) { hooked = append(hooked, names) }
	}
	s := e.open(t, cfg)
	// Old messages: the first 20 also go to an LMQ nobody writes later;
	// topic E gets only old messages.
	for i := range 100 {
		m := msg("R", 0, fmt.Sprintf("old%03d", i), message.PropertyKeys, fmt.Sprintf("ok%03d", i))
		if i < 20 {
			m.Properties.Set(message.PropertyInnerMultiDispatch, "%LMQ%gone")
		}
		mustPut(t, s, m)
		if i%10 == 0 {
			mustPut(t, s, msg("E", 0, fmt.Sprintf("e%03d", i)))
		}
	}
	clock.Add(2 * time.Hour.Milliseconds())
	for i := range 10 {
		mustPut(t, s, msg("R", 0, fmt.Sprintf("new%03d", i), message.PropertyInnerMultiDispatch, "%LMQ%kept"))
	}
	waitDispatched(t, s)
	if s.LMQCount() != 2 {
		t.Fatalf("LMQ count %d before retention", s.LMQCount())
	}
	res, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	if res.SegmentsDeleted == 0 || res.MinOffset == 0 {
		t.Fatalf("nothing deleted: %+v", res)
	}
	if !slices.Equal(res.LMQsRemoved, []string{"%LMQ%gone"}) || s.LMQCount() != 1 {
		t.Fatalf("LMQs removed %v, count %d", res.LMQsRemoved, s.LMQCount())
	}
	if len(hooked) != 1 || !slices.Equal(hooked[0], res.LMQsRemoved) {
		t.Fatalf("OnLMQsRemoved calls %v, want one with %v", hooked, res.LMQsRemoved)
	}
	min, _ := s.MinOffset("R", 0)
	if min == 0 {
		t.Fatal("R min offset did not follow the commit log")
	}
	got, _ := s.GetMessages("R", 0, 0, 10, 0, nil)
	if got.Status != OffsetTooSmall || got.NextOffset != min {
		t.Fatalf("read below min: %v next %d (min %d)", got.Status, got.NextOffset, min)
	}
	got, _ = s.GetMessages("R", 0, min, 1, 0, nil)
	if got.Status != Found || bodies(t, got.Records)[0] != fmt.Sprintf("old%03d", min) {
		t.Fatalf("read at min %d: %v %v", min, got.Status, bodies(t, got.Records))
	}
	if hits, _ := s.Query(index.KindKey, "R", "ok000", 0, 1<<62, 4); len(hits) != 0 {
		t.Fatal("the index still finds a deleted message")
	}
	if max, _ := s.MaxOffset("R", 0); max != 110 {
		t.Fatalf("R max offset %d after retention", max)
	}
	// A topic whose every message expired keeps its max offset.
	eMin, _ := s.MinOffset("E", 0)
	eMax, _ := s.MaxOffset("E", 0)
	if eMax != 10 || eMin > eMax {
		t.Fatalf("E min %d max %d", eMin, eMax)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = e.open(t, cfg)
	defer s.Close()
	if r := mustPut(t, s, msg("E", 0, "after")); r.QueueOffsets[0] != 10 {
		t.Fatalf("E offset went back to %d after expiry and restart", r.QueueOffsets[0])
	}
	if r := mustPut(t, s, msg("R", 0, "after", message.PropertyInnerMultiDispatch, "%LMQ%gone")); r.LMQOffsets[0][0] != 0 {
		t.Fatalf("a removed LMQ restarted at %d", r.LMQOffsets[0][0])
	}
}

func TestRetentionWhenDiskFull(t *testing.T) {
	e := newEnv()
	s := e.open(t, func(c *Config) {
		c.SegmentSize = 4096
		c.DiskMaxUsedRatio = 0.75
		c.DiskUsage = func() (float64, error) { return 0.9, nil }
		c.RetentionInterval = -1
		c.DeleteSegmentsMax = 100
	})
	defer s.Close()
	for i := range 60 {
		mustPut(t, s, msg("F", 0, fmt.Sprintf("f%03d", i)))
	}
	waitDispatched(t, s)
	res, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	segs := s.commit.Segments()
	if res.SegmentsDeleted == 0 || len(segs) != 1 {
		t.Fatalf("disk full: deleted %d, %d segments left", res.SegmentsDeleted, len(segs))
	}
	// The active segment is never deleted: the newest message is there.
	got, _ := s.GetMessages("F", 0, 59, 1, 0, nil)
	if got.Status != Found {
		t.Fatalf("newest message gone: %v", got.Status)
	}
}

// Unique keys are indexed once for all topics; a query still returns only
// messages of the topic, or dispatched to the LMQ, it names.
func TestUniqKeyQueryScopes(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	mustPut(t, s, lmqMsg("u1", "%LMQ%ua", "%LMQ%ub"))
	mustPut(t, s, msg("Other", 0, "u2", message.PropertyUniqKey, "U-u1")) // same unique key, other topic
	waitDispatched(t, s)
	for _, tc := range []struct {
		topic string
		want  []string
	}{
		{"Parent", []string{"u1"}},
		{"%LMQ%ua", []string{"u1"}},
		{"%LMQ%ub", []string{"u1"}},
		{"%LMQ%uc", nil},
		{"Other", []string{"u2"}},
		{"Nobody", nil},
	} {
		recs, err := s.Query(index.KindUniqKey, tc.topic, "U-u1", 0, 1<<62, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := bodies(t, recs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.topic, got, tc.want)
		}
	}
}
