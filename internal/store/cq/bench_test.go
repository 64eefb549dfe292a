package cq

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// Benchmarks build their data on disk (b.TempDir) once per run, flush and
// compact it so that reads go through sstables and the block cache, as on a
// broker that has been up for a while. Setup runs only under -bench.

func openBenchDB(b *testing.B, dir string) *kvdb.DB {
	b.Helper()
	db, err := kvdb.Open(dir, nil, kvdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return db
}

func settle(b *testing.B, db *kvdb.DB) {
	b.Helper()
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := db.Pebble().Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOffsetByTime looks up random times in one queue of 1,000,000
// entries (three per store-time millisecond), with a cold and then a warm
// block cache. The binary search costs
// ~log2(n) seeks, so a 10,000,000-entry queue adds ~3-4 seeks (~15%) to
// these figures; building it per run would take too long.
func BenchmarkOffsetByTime(b *testing.B) {
	const n = 1_000_000
	const base = 1_700_000_000_000
	db := openBenchDB(b, b.TempDir())
	defer db.Close()
	start := time.Now()
	for i := 0; i < n; {
		batch := db.Pebble().NewBatch()
		for j := 0; j < 10_000 && i < n; j, i = j+1, i+1 {
			e := Entry{QueueOffset: int64(i), PhyOffset: int64(i) * 256, Size: 256, TagHash: 42, StoreTime: base + int64(i/3)}
			if _, err := Put(batch, "BenchTopic", 0, e); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Apply(batch); err != nil {
			b.Fatal(err)
		}
	}
	settle(b, db)
	b.Logf("built %d entries in %v", n, time.Since(start))
	s, err := Open(db.Pebble())
	if err != nil {
		b.Fatal(err)
	}
	// Run cold first (blocks are read and decompressed on demand, as for a
	// rare admin lookup), then warm the block cache with a full scan.
	b.Run("cold-lower", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(3, 3))
		for b.Loop() {
			if _, err := s.OffsetByTime("BenchTopic", 0, base+rng.Int64N(n/3), Lower, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	if es, err := s.Range("BenchTopic", 0, 0, n); err != nil || len(es) != n {
		b.Fatalf("warm-up scan: %d entries, %v", len(es), err)
	}
	for _, bc := range []struct {
		name   string
		bound  Boundary
		minPhy int64
	}{
		{"lower", Lower, 0},
		{"upper", Upper, 0},
		{"lower-retention-cut", Lower, n / 2 * 256}, // min offset found by binary search too
	} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				ts := base + rng.Int64N(n/3)
				if _, err := s.OffsetByTime("BenchTopic", 0, ts, bc.bound, bc.minPhy); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLMQRegistryLoad measures what a broker with 1,000,000 LMQs pays
// at start: open the database and count the registry (Open). heap-MiB is the
// Go heap held while open (pebble's block cache and memtables are allocated
// outside the Go heap and not included).
func BenchmarkLMQRegistryLoad(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	db := openBenchDB(b, dir)
	for i := 0; i < n; {
		batch := db.Pebble().NewBatch()
		for j := 0; j < 50_000 && i < n; j, i = j+1, i+1 {
			// mqtt-style names: %LMQ% + client or topic path.
			if err := batch.Set(lmqKey(fmt.Sprintf("%%LMQ%%client-%08d/p2p", i)), make([]byte, lmqValueLen), nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Apply(batch); err != nil {
			b.Fatal(err)
		}
	}
	settle(b, db)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}

	var before, after runtime.MemStats
	measured := false
	for b.Loop() {
		if !measured {
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.StartTimer()
		}
		db := openBenchDB(b, dir)
		s, err := Open(db.Pebble())
		if err != nil {
			b.Fatal(err)
		}
		if got := s.LMQCount(); got != n {
			b.Fatalf("count = %d", got)
		}
		if !measured {
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			measured = true
			b.StartTimer()
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-MiB")
}

// BenchmarkMaxOffsetManyLMQs looks up the max offset of random LMQs among
// 100,000 with 10 entries each: what the put path pays on an LMQ offset
// cache miss.
func BenchmarkMaxOffsetManyLMQs(b *testing.B) {
	const lmqs, per = 100_000, 10
	db := openBenchDB(b, b.TempDir())
	defer db.Close()
	name := func(i int) string { return fmt.Sprintf("%%LMQ%%q%07d", i) }
	batch := db.Pebble().NewBatch()
	for i := range lmqs {
		for o := range per {
			if _, err := Put(batch, name(i), 0, Entry{QueueOffset: int64(o), PhyOffset: int64(i*per + o), StoreTime: 1}); err != nil {
				b.Fatal(err)
			}
		}
		if batch.Count() >= 50_000 {
			if err := db.Apply(batch); err != nil {
				b.Fatal(err)
			}
			batch = db.Pebble().NewBatch()
		}
	}
	if err := db.Apply(batch); err != nil {
		b.Fatal(err)
	}
	settle(b, db)
	s, err := Open(db.Pebble())
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for b.Loop() {
		if m, err := s.MaxOffset(name(rng.IntN(lmqs)), 0); err != nil || m != per {
			b.Fatalf("MaxOffset = %d, %v", m, err)
		}
	}
}
