// Package gcfloor keeps the Go collector's heap goal from falling below a
// floor when the live heap is small.
//
// The collector's goal is live heap × (1 + GOGC/100). A broker's live heap
// is often a few MiB while its send and pull paths make garbage at a few
// hundred MB/s (request frames, headers, records read for pulls), so even
// at GOGC=400 it collects ten or more times a second. Each cycle has two
// short stop-the-world phases and a dedicated mark worker that takes a P;
// on a small, busy machine a descheduled thread stretches those phases to
// milliseconds, and every connection stalls with them (measured in
// docs/benchmarks.md, "Eighth session"). A floor of a few tens of MiB costs
// that much memory and makes cycles rarer in proportion.
//
// Go has no such setting (GOMEMLIMIT is a ceiling), so a Tuner watches GC
// cycles — a finalizer on an unreachable sentinel runs once after each
// cycle — and sets GOGC to max(Min, Floor/live − 1). When the live heap
// grows past Floor / (1 + Min/100) the floor no longer matters and GOGC
// stays at Min; the process's memory limit, if any, still caps the goal.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// maxPercent bounds GOGC when the live heap is tiny (a few hundred KiB at
// start-up), so that a goal computed from it cannot run away.
const maxPercent = 100_000

// liveMetric is the heap marked live by the last completed cycle.
const liveMetric = "/gc/heap/live:bytes"

// Percent is the GOGC a Tuner sets for a live heap of live bytes: the
// smallest value whose goal reaches floor, but at least minPercent and at
// most maxPercent.
func Percent(live, floor uint64, minPercent int) int {
	if live == 0 {
		return max(minPercent, maxPercent)
	}
	if live >= floor {
		return minPercent
	}
	p := min(floor*100/live-100, maxPercent)
	return max(minPercent, int(p))
}

// Tuner adjusts GOGC after every GC cycle; see the package comment.
type Tuner struct {
	floor   uint64
	min     int // GOGC when the floor does not matter
	stopped atomic.Bool
	applied atomic.Int64 // the GOGC last set
	cycles  atomic.Int64 // cycles seen
	mu      sync.Mutex   // serialises adjust with Stop
	sample  []metrics.Sample
}

// Start sets GOGC for the current live heap and keeps it adjusted after
// every cycle until Stop. floor is the smallest heap goal in bytes;
// minPercent is the GOGC used once the live heap is large enough not to
// need the floor. Only one Tuner should run in a process: they would
// overwrite each other's setting.
func Start(floor uint64, minPercent int) *Tuner {
	t := &Tuner{floor: floor, min: minPercent, sample: []metrics.Sample{{Name: liveMetric}}}
	t.adjust()
	t.arm()
	return t
}

// Applied is the GOGC the tuner set last.
func (t *Tuner) Applied() int { return int(t.applied.Load()) }

// Cycles is how many GC cycles the tuner has seen.
func (t *Tuner) Cycles() int64 { return t.cycles.Load() }

// Stop stops adjusting and sets GOGC to the minimum percent. It is safe to call more than
// once.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Swap(true) {
		return
	}
	debug.SetGCPercent(t.min)
	t.applied.Store(int64(t.min))
}

// sentinel is collected by the cycle after it is allocated; its finalizer
// is the per-cycle hook. The pointer field keeps it out of the tiny
// allocator, whose blocks (and so finalizers) can outlive a cycle.
type sentinel struct {
	t *Tuner
	_ [16]byte
}

func (t *Tuner) arm() {
	s := &sentinel{t: t}
	runtime.SetFinalizer(s, func(s *sentinel) {
		if s.t.stopped.Load() {
			return
		}
		s.t.cycles.Add(1)
		s.t.adjust()
		s.t.arm()
	})
}

// adjust reads the live heap and sets GOGC for it. It runs on the
// finalizer goroutine (or Start's caller), so it must stay cheap:
// debug.SetGCPercent takes the heap lock briefly and does not stop the
// world; it is skipped when the value would not change.
func (t *Tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	p := Percent(live, t.floor, t.min)
	if int64(p) == t.applied.Load() {
		return
	}
	debug.SetGCPercent(p)
	t.applied.Store(int64(p))
}
