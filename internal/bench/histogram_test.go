package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestBucketLayout(t *testing.T) {
	// Buckets tile [0, MaxInt64] without gaps or overlaps.
	var next int64
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d = [%d, %d], want to start at %d", i, lo, hi, next)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d bounds map to %d, %d", i, bucketOf(lo), bucketOf(hi))
		}
		if lo >= subBuckets && float64(hi-lo+1)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d [%d, %d] wider than 1/%d of its values", i, lo, hi, subBuckets)
		}
		next = hi + 1
	}
	if next != math.MinInt64 { // wrapped past MaxInt64
		t.Fatalf("buckets end at %d", next-1)
	}
}

func TestQuantilesAgainstSort(t *testing.T) {
	h := NewHistogram()
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 100000)
	for i := range vals {
		// log-uniform from 1 µs to 1 s
		vals[i] = time.Duration(math.Exp(r.Float64()*math.Log(1e6)) * 1e3)
		h.Record(vals[i])
	}
	slices.Sort(vals)
	s := h.Snapshot()
	if s.Count != uint64(len(vals)) || s.Min != vals[0] || s.Max != vals[len(vals)-1] {
		t.Fatalf("count %d min %v max %v", s.Count, s.Min, s.Max)
	}
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
		rank := max(int(math.Ceil(q*float64(len(vals)))), 1)
		want := vals[rank-1]
		got := s.Quantile(q)
		if got < want || float64(got-want) > float64(want)/subBuckets {
			t.Errorf("q%v = %v, exact %v", q, got, want)
		}
	}
	var sum time.Duration
	for _, v := range vals {
		sum += v
	}
	if s.Mean() != sum/time.Duration(len(vals)) {
		t.Errorf("mean %v, want %v", s.Mean(), sum/time.Duration(len(vals)))
	}
}

func TestEmptyAndEdges(t *testing.T) {
	h := NewHistogram()
	s := h.Snapshot()
	if s.Count != 0 || s.Quantile(0.5) != 0 || s.Mean() != 0 || s.Min != 0 || s.Max != 0 {
		t.Fatalf("empty: %+v", s)
	}
	h.Record(-5)
	h.Record(math.MaxInt64)
	s = h.Snapshot()
	if s.Min != 0 || s.Max != math.MaxInt64 || s.Quantile(0.5) != 0 || s.Quantile(1) != math.MaxInt64 {
		t.Fatalf("edges: min %v max %v p50 %v p100 %v", s.Min, s.Max, s.Quantile(0.5), s.Quantile(1))
	}
}

func TestSubIsTheInterval(t *testing.T) {
	h := NewHistogram()
	for range 1000 {
		h.Record(time.Millisecond)
	}
	prev := h.Snapshot()
	for range 10 {
		h.Record(time.Second)
	}
	d := h.Snapshot().Sub(prev)
	if d.Count != 10 || d.Sum != 10*time.Second {
		t.Fatalf("interval count %d sum %v", d.Count, d.Sum)
	}
	if p := d.Quantile(0.5); p < time.Second || p > time.Second+time.Second/subBuckets {
		t.Fatalf("interval p50 %v", p)
	}
	if e := h.Snapshot().Sub(h.Snapshot()); e.Count != 0 || e.Quantile(0.99) != 0 {
		t.Fatalf("empty interval %+v", e)
	}
}

func TestConcurrentRecord(t *testing.T) {
	h := NewHistogram()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000 + i))
			}
		})
	}
	wg.Wait()
	s := h.Snapshot()
	if s.Count != 8000 || s.Min != 0 || s.Max != 7999 {
		t.Fatalf("count %d min %v max %v", s.Count, s.Min, s.Max)
	}
}
