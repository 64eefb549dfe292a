package index

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// BenchmarkIndexQuery queries an index of 1,000,000 rows on disk (flushed and
// compacted; setup runs only under -bench): 250,000 keys with 3 rows each
// plus one hot key with 250,000 rows. A query's cost follows its hits, not
// the index size: "hot-64" reads 64 of 250,000 rows.
func BenchmarkIndexQuery(b *testing.B) {
	const keys, per, hot = 250_000, 3, 250_000
	const base = 1_700_000_000_000
	db, err := kvdb.Open(b.TempDir(), nil, kvdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	key := func(i int) string { return fmt.Sprintf("order-%08d", i) }
	start := time.Now()
	batch := db.Pebble().NewBatch()
	flush := func() {
		if err := db.Apply(batch); err != nil {
			b.Fatal(err)
		}
		batch = db.Pebble().NewBatch()
	}
	phy := int64(0)
	for i := range keys {
		for j := range per {
			phy += 300
			if _, err := AddKey(batch, "BenchTopic", key(i), base+int64(i)+int64(j)*1000, phy); err != nil {
				b.Fatal(err)
			}
		}
		if batch.Count() >= 50_000 {
			flush()
		}
	}
	for i := range hot {
		phy += 300
		if _, err := AddKey(batch, "BenchTopic", "hot", base+int64(i), phy); err != nil {
			b.Fatal(err)
		}
		if batch.Count() >= 50_000 {
			flush()
		}
	}
	flush()
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := db.Pebble().Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d rows in %v", keys*per+hot, time.Since(start))

	pdb := db.Pebble()
	for _, bc := range []struct {
		name     string
		key      func(*rand.Rand) string
		wantHits int
	}{
		{"3-hits", func(r *rand.Rand) string { return key(r.IntN(keys)) }, per},
		{"miss", func(r *rand.Rand) string { return key(keys + r.IntN(keys)) }, 0},
		{"hot-64", func(*rand.Rand) string { return "hot" }, 64},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				hs, err := Query(pdb, KindKey, "BenchTopic", bc.key(rng), 0, math.MaxInt64, 64)
				if err != nil || len(hs) != bc.wantHits {
					b.Fatalf("Query = %d hits, %v; want %d", len(hs), err, bc.wantHits)
				}
			}
		})
	}
}
