package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the histogram's resolution: each power-of-two range of
// values is split into 2^subBits linear buckets, so a recorded value is
// known to within 1/2^subBits (under 0.8 %) of itself.
const (
	subBits    = 7
	subBuckets = 1 << subBits
	// numBuckets covers every non-negative int64: values below subBuckets
	// are exact, then one group of subBuckets per power of two.
	numBuckets = subBuckets + (63-subBits)*subBuckets
)

// bucketOf returns the bucket index of v >= 0.
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1 // >= 0
	mant := int(v >> shift)                      // in [subBuckets, 2*subBuckets)
	return subBuckets + shift*subBuckets + (mant - subBuckets)
}

// bucketBounds returns the smallest and largest value of bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < subBuckets {
		return int64(i), int64(i)
	}
	shift := (i - subBuckets) / subBuckets
	mant := int64(subBuckets + (i-subBuckets)%subBuckets)
	lo = mant << shift
	return lo, lo + (int64(1) << shift) - 1
}

// Histogram records durations in log-linear buckets (HdrHistogram's
// layout, 7 significant bits). Record is lock-free and safe for concurrent
// use; read it through Snapshot.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Int64 // ns
	min    atomic.Int64 // ns; math.MaxInt64 when empty
	max    atomic.Int64 // ns
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	h := new(Histogram)
	h.min.Store(math.MaxInt64)
	return h
}

// Record adds one duration; negative durations count as 0.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)].Add(1)
	h.count.Add(1)
	h.sum.Add(v)
	for cur := h.min.Load(); v < cur && !h.min.CompareAndSwap(cur, v); cur = h.min.Load() {
	}
	for cur := h.max.Load(); v > cur && !h.max.CompareAndSwap(cur, v); cur = h.max.Load() {
	}
}

// Snapshot copies the histogram. Under concurrent Record calls the copy is
// not an atomic cut, but every count it holds was recorded.
func (h *Histogram) Snapshot() *Snapshot {
	s := &Snapshot{counts: make([]uint64, numBuckets)}
	for i := range h.counts {
		c := h.counts[i].Load()
		s.counts[i] = c
		s.Count += c
	}
	s.Sum = time.Duration(h.sum.Load())
	if s.Count > 0 {
		s.Min = time.Duration(h.min.Load())
		s.Max = time.Duration(h.max.Load())
	}
	return s
}

// Snapshot is a histogram frozen for reading.
type Snapshot struct {
	counts   []uint64
	Count    uint64
	Sum      time.Duration
	Min, Max time.Duration // exact for a Histogram's snapshot; bucket bounds after Sub
}

// Mean returns the average, or 0 when empty.
func (s *Snapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

// Quantile returns the value at quantile q in [0, 1]: the upper bound of
// the bucket holding the ceil(q*Count)-th smallest value, clamped to
// [Min, Max]. It returns 0 when empty.
func (s *Snapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(s.Count)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range s.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			return min(max(time.Duration(hi), s.Min), s.Max)
		}
	}
	return s.Max
}

// Sub returns the values recorded in s but not in prev, an earlier
// snapshot of the same histogram: the interval between the two. Min and
// Max of the result are bucket bounds.
func (s *Snapshot) Sub(prev *Snapshot) *Snapshot {
	d := &Snapshot{counts: make([]uint64, numBuckets), Sum: s.Sum - prev.Sum}
	first, last := -1, -1
	for i := range s.counts {
		c := s.counts[i] - prev.counts[i]
		d.counts[i] = c
		d.Count += c
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if d.Count > 0 {
		lo, _ := bucketBounds(first)
		_, hi := bucketBounds(last)
		d.Min, d.Max = max(time.Duration(lo), s.Min), min(time.Duration(hi), s.Max)
	}
	return d
}
