package store

// Message-store benchmarks (docs/benchmarks.md, "Message store"). They run
// only under -bench: every expensive setup is inside a benchmark function.
// Stores live on the real OS filesystem under b.TempDir (the 10M-row data
// sets are built once per process by the top-level benchmark function).
//
//	go test -run='^$' -bench='^BenchmarkPut$' -benchtime=3s -count=3 ./internal/store/
//
// The 1,000,000-LMQ open/recovery measurement runs outside the test binary
// (so that its RSS is not polluted): go run ./internal/store/internal/storebench

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/index"
	"github.com/bolidemq/bolide/internal/store/kvdb"
)

var benchHost = netip.MustParseAddrPort("127.0.0.1:10911")

const (
	benchBody   = 1024
	benchTopic  = "BenchTopic"
	benchQueues = 8 // queues of the benchmark topic, as RocketMQ's benchmark tool
	lmqUniverse = 1_000_000
)

// benchPayload is 1 KiB of random (incompressible) bytes shared read-only by
// every message: the encoder copies it into the record.
var benchPayload = func() []byte {
	r := rand.New(rand.NewPCG(7, 7))
	p := make([]byte, benchBody)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}()

func openBenchStore(b *testing.B, dir string, mut func(*Config)) *Store {
	b.Helper()
	cfg := Config{Dir: dir, StoreHost: benchHost, EnableLMQ: true}
	if mut != nil {
		mut(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// uniqKey returns a 32-hex-char UNIQ_KEY, as a RocketMQ client sets on every
// message (so every put also costs one unique-key index row in dispatch).
func uniqKey(w, i int64) string {
	var raw [16]byte
	for j := range 8 {
		raw[j] = byte(w >> (8 * j))
		raw[8+j] = byte(i >> (8 * j))
	}
	return hex.EncodeToString(raw[:])
}

// runWriters runs exactly `writers` goroutines that share b.N puts; put gets
// the writer number and the global put number.
func runWriters(b *testing.B, writers int, put func(w int, i int64) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	n := int64(b.N)
	for w := range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				if err := put(w, i); err != nil {
					failed.Store(&err)
					return
				}
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
}

// waitDrained waits until dispatch has caught up with everything written.
func waitDrained(b *testing.B, s *Store) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		st := s.Stats()
		if st.Dispatched >= st.CommitLogWriteOffset {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("dispatch stuck: %+v", st)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func closeBenchStore(b *testing.B, s *Store) {
	b.Helper()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPut appends 1 KiB messages (with a UNIQ_KEY, to 8 queues of one
// topic) from exactly 1, 8 or 64 goroutines. Under SYNC_FLUSH each Put
// returns only once fsynced (group commit). Dispatch runs concurrently
// (it shares the two CPUs); dispatch-lag-MiB is how far behind it was when
// the last put returned.
func BenchmarkPut(b *testing.B) {
	for _, mode := range []struct {
		name  string
		flush commitlog.FlushMode
	}{{"async", commitlog.AsyncFlush}, {"sync", commitlog.SyncFlush}} {
		for _, writers := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("flush=%s/writers=%d", mode.name, writers), func(b *testing.B) {
				s := openBenchStore(b, b.TempDir(), func(c *Config) { c.Flush = mode.flush })
				defer closeBenchStore(b, s)
				msgs := make([]*message.Message, writers)
				for w := range msgs {
					msgs[w] = &message.Message{Topic: benchTopic, QueueID: int32(w % benchQueues), Body: benchPayload, BornHost: benchHost}
					msgs[w].Properties.Set(message.PropertyTags, "TagA")
				}
				var unflushed atomic.Int64
				b.SetBytes(benchBody)
				b.ResetTimer()
				cpu0 := processCPU()
				runWriters(b, writers, func(w int, i int64) error {
					m := msgs[w]
					m.Properties.Set(message.PropertyUniqKey, uniqKey(int64(w), i))
					r, err := s.Put(m)
					if err == nil && !r.Flushed {
						unflushed.Add(1)
					}
					return err
				})
				b.StopTimer()
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/msg")
				st := s.Stats()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
				b.ReportMetric(float64(st.CommitLogWriteOffset-st.Dispatched)/(1<<20), "dispatch-lag-MiB")
				if n := unflushed.Load(); n > 0 {
					b.Logf("%d puts returned FLUSH_DISK_TIMEOUT", n)
				}
			})
		}
	}
}

// lmqNames is the universe of LMQ names a benchmark picks from.
var lmqNames = sync.OnceValue(func() []string {
	names := make([]string, lmqUniverse)
	for i := range names {
		names[i] = "%LMQ%dev-" + strconv.Itoa(1_000_000 + i)[1:]
	}
	return names
})

// multiDispatch returns an INNER_MULTI_DISPATCH value naming k distinct LMQs
// drawn at random from the universe.
func multiDispatch(r *rand.Rand, k int) string {
	names := lmqNames()
	var sb strings.Builder
	var picked [16]int
	for j := 0; j < k; {
		x := r.IntN(len(names))
		dup := false
		for _, p := range picked[:j] {
			dup = dup || p == x
		}
		if dup {
			continue
		}
		picked[j] = x
		if j > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(names[x])
		j++
	}
	return sb.String()
}

// BenchmarkPutLMQ appends 1 KiB messages each multi-dispatched to 5 LMQs
// drawn from 1,000,000 names (ASYNC_FLUSH). msg/s is the put (ack) rate;
// e2e-msg/s also counts the time dispatch needs, after the last put, to
// catch up (every consume-queue, registry and index row written).
func BenchmarkPutLMQ(b *testing.B) {
	lmqNames() // not timed
	for _, writers := range []int{1, 8} {
		b.Run(fmt.Sprintf("lmqs=5/writers=%d", writers), func(b *testing.B) {
			s := openBenchStore(b, b.TempDir(), nil)
			defer closeBenchStore(b, s)
			msgs := make([]*message.Message, writers)
			rngs := make([]*rand.Rand, writers)
			for w := range msgs {
				msgs[w] = &message.Message{Topic: benchTopic, QueueID: int32(w % benchQueues), Body: benchPayload, BornHost: benchHost}
				rngs[w] = rand.New(rand.NewPCG(uint64(w), 99))
			}
			b.SetBytes(benchBody)
			start := time.Now()
			cpu0 := processCPU()
			b.ResetTimer()
			runWriters(b, writers, func(w int, i int64) error {
				m := msgs[w]
				m.Properties.Set(message.PropertyUniqKey, uniqKey(int64(w), i))
				m.Properties.Set(message.PropertyInnerMultiDispatch, multiDispatch(rngs[w], 5))
				_, err := s.Put(m)
				return err
			})
			b.StopTimer()
			putDone := time.Now()
			waitDrained(b, s)
			drained := time.Now()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
			b.ReportMetric(float64(b.N)/drained.Sub(start).Seconds(), "e2e-msg/s")
			b.ReportMetric(float64(drained.Sub(putDone).Milliseconds()), "drain-ms")
			b.ReportMetric(float64(s.LMQCount()), "lmqs")
			// CPU per message (put and dispatch, all goroutines) is what a
			// loaded machine changes least; wall-clock rates swing with it.
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/msg")
		})
	}
}

// BenchmarkDispatch writes a fixed set of messages with dispatch running
// (live-e2e-msg/s: put + dispatch until caught up, 8 writers), then times
// re-dispatch: each iteration closes the store, deletes kv/ and reopens it,
// so that Open replays the whole commit log through the dispatcher.
func BenchmarkDispatch(b *testing.B) {
	for _, tc := range []struct {
		name string
		n    int
		lmqs int
		keys bool
	}{
		{"plain", 400_000, 0, false},
		{"lmq5", 100_000, 5, false},
		{"lmq5-keys", 100_000, 5, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			if tc.lmqs > 0 {
				lmqNames()
			}
			dir := b.TempDir()
			s := openBenchStore(b, dir, nil)
			const writers = 8
			var next atomic.Int64
			var wg sync.WaitGroup
			start := time.Now()
			for w := range writers {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(w), 5))
					m := &message.Message{Topic: benchTopic, QueueID: int32(w % benchQueues), Body: benchPayload, BornHost: benchHost}
					m.Properties.Set(message.PropertyTags, "TagA")
					for {
						i := next.Add(1) - 1
						if i >= int64(tc.n) {
							return
						}
						m.Properties.Set(message.PropertyUniqKey, uniqKey(int64(w), i))
						if tc.keys {
							m.Properties.Set(message.PropertyKeys, "order-"+strconv.FormatInt(i, 10)+" user-"+strconv.FormatInt(i%10_000, 10))
						}
						if tc.lmqs > 0 {
							m.Properties.Set(message.PropertyInnerMultiDispatch, multiDispatch(r, tc.lmqs))
						}
						if _, err := s.Put(m); err != nil {
							panic(err)
						}
					}
				})
			}
			wg.Wait()
			waitDrained(b, s)
			live := time.Since(start)
			logBytes := s.Stats().CommitLogWriteOffset

			b.ResetTimer() // (also drops metrics reported so far: report them at the end)
			for b.Loop() {
				b.StopTimer()
				closeBenchStore(b, s)
				if err := os.RemoveAll(filepath.Join(dir, "kv")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				s = openBenchStore(b, dir, nil)
			}
			b.StopTimer()
			if st := s.Stats(); st.Dispatched != logBytes {
				b.Fatalf("replayed to %d, log ends at %d", st.Dispatched, logBytes)
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(tc.n)/per, "replay-records/s")
			b.ReportMetric(float64(logBytes)/(1<<20)/per, "replay-MiB/s")
			b.ReportMetric(float64(tc.n)/live.Seconds(), "live-e2e-msg/s")
			b.ReportMetric(float64(logBytes)/float64(tc.n), "B/record")
			closeBenchStore(b, s)
		})
	}
}

// buildDataSet builds a large data set in the calling benchmark's temporary
// directory. Call it from the top-level benchmark function, which the testing
// package runs once per process when it has sub-benchmarks (-count repeats
// the leaves), so the set is built once and removed at the end.
func buildDataSet(b *testing.B, name string, build func(dir string) error) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), name)
	start := time.Now()
	if err := build(dir); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s in %v", name, time.Since(start).Round(time.Millisecond))
	return dir
}

// buildRows fills a kvdb on disk with n rows, add(batch, i) writing row i,
// in batches of 100,000, then flushes and compacts it (reads then go through
// sstables and the block cache, as on a broker that has been up a while).
func buildRows(dir string, n int, add func(b *pebble.Batch, i int) error) error {
	db, err := kvdb.Open(dir, nil, kvdb.Options{})
	if err != nil {
		return err
	}
	for i := 0; i < n; {
		batch := db.Pebble().NewBatch()
		for j := 0; j < 100_000 && i < n; j, i = j+1, i+1 {
			if err := add(batch, i); err != nil {
				return err
			}
		}
		if err := db.Apply(batch); err != nil {
			return err
		}
		_ = batch.Close()
	}
	if err := db.Flush(); err != nil {
		return err
	}
	if err := db.Pebble().Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		return err
	}
	return db.Close()
}

const (
	bigN     = 10_000_000
	bigBase  = int64(1_700_000_000_000)
	perMilli = 10 // store-time resolution: 10 messages per ms, 10M span ~16.7 min
)

// BenchmarkOffsetByTime looks up random store times, both boundaries, in one
// consume queue of 10,000,000 entries (written with cq.Put, as dispatch
// does). Blocks come from the OS page cache through pebble's 64 MiB block
// cache, i.e. a warm broker, not a cold disk.
func BenchmarkOffsetByTime(b *testing.B) {
	dir := buildDataSet(b, "cq10m", func(dir string) error {
		return buildRows(dir, bigN, func(batch *pebble.Batch, i int) error {
			e := cq.Entry{QueueOffset: int64(i), PhyOffset: int64(i) * 1200, Size: 1200, TagHash: 42, StoreTime: bigBase + int64(i/perMilli)}
			_, err := cq.Put(batch, benchTopic, 0, e)
			return err
		})
	})
	db, err := kvdb.Open(dir, nil, kvdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := cq.Open(db.Pebble())
	if err != nil {
		b.Fatal(err)
	}
	if m, err := s.MaxOffset(benchTopic, 0); err != nil || m != bigN {
		b.Fatalf("max offset %d, %v", m, err)
	}
	span := int64(bigN / perMilli)
	for _, bc := range []struct {
		name  string
		bound cq.Boundary
	}{{"lower", cq.Lower}, {"upper", cq.Upper}} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, uint64(bc.bound)))
			for b.Loop() {
				ts := bigBase + rng.Int64N(span)
				off, err := s.OffsetByTime(benchTopic, 0, ts, bc.bound, 0)
				if err != nil {
					b.Fatal(err)
				}
				if want := (ts - bigBase) * perMilli; bc.bound == cq.Lower && off != want ||
					bc.bound == cq.Upper && off != want+perMilli-1 {
					b.Fatalf("ts %d: offset %d, want %d (%v)", ts, off, want, bc.bound)
				}
			}
		})
	}
}

// Key-index data set: 10,000,000 rows of one topic; every 10th message
// carries one of 1,000 hot keys (1,000 rows per key, like the benchmark
// producer's "-k true" key = seconds since epoch), the others a unique key.
func keyOf(i int) string {
	if i%10 == 0 {
		return "hot-" + strconv.Itoa((i/10)%1000)
	}
	return "order-" + strconv.Itoa(i)
}

// BenchmarkKeyQuery runs exact key lookups (index.Query, maxNum 32 as
// RocketMQ's defaultQueryMaxNum) in an index of 10,000,000 keyed messages,
// with a two-hour time window around the message: unique keys (1 hit), hot
// keys (1,000 rows, newest 32 returned) and absent keys. Commit-log reads of
// the hits are not included (store.Query adds one pread per hit).
func BenchmarkKeyQuery(b *testing.B) {
	dir := buildDataSet(b, "index10m", func(dir string) error {
		return buildRows(dir, bigN, func(batch *pebble.Batch, i int) error {
			_, err := index.AddKey(batch, benchTopic, keyOf(i), bigBase+int64(i/perMilli), int64(i)*1200)
			return err
		})
	})
	db, err := kvdb.Open(dir, nil, kvdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const hour = int64(time.Hour / time.Millisecond)
	for _, tc := range []struct {
		name string
		pick func(r *rand.Rand) (key string, ts int64, want int)
	}{
		{"unique", func(r *rand.Rand) (string, int64, int) {
			i := r.IntN(bigN/10)*10 + 1 + r.IntN(9)
			return keyOf(i), bigBase + int64(i/perMilli), 1
		}},
		{"hot-1000rows", func(r *rand.Rand) (string, int64, int) {
			i := r.IntN(bigN/10) * 10
			return keyOf(i), bigBase + int64(i/perMilli), 32
		}},
		{"absent", func(r *rand.Rand) (string, int64, int) {
			i := r.IntN(bigN)
			return "missing-" + strconv.Itoa(i), bigBase + int64(i/perMilli), 0
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(4, 4))
			for b.Loop() {
				key, ts, want := tc.pick(rng)
				hits, err := index.Query(db.Pebble(), index.KindKey, benchTopic, key, ts-hour, ts+hour, 32)
				if err != nil {
					b.Fatal(err)
				}
				if len(hits) != want {
					b.Fatalf("%s: %d hits, want %d", key, len(hits), want)
				}
			}
		})
	}
}

// processCPU is the user+system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
