// Package gcfloor keeps the Go collector's heap goal from falling below a
// floor when the live heap is small.
//
// The collector's goal is live heap + (live heap + stacks + globals) ×
// GOGC/100. A broker's live heap is often a few MiB while its send and
// pull paths make garbage at a few hundred MB/s (request frames, headers,
// records read for pulls), so even at GOGC=400 it collects ten or more
// times a second. Each cycle has two short stop-the-world phases and a
// dedicated mark worker that takes a P; on a small, busy machine a
// descheduled thread stretches those phases to milliseconds, and every
// connection stalls with them (docs/benchmarks.md, "Eighth session"). A
// floor of 128 MiB costs that much memory and makes cycles rarer in
// proportion.
//
// Go has no such setting (GOMEMLIMIT is a ceiling), so a Tuner watches GC
// cycles — a finalizer on an unreachable sentinel runs once after each
// cycle — and sets GOGC to the value whose goal is the floor, but at least
// a minimum. Two runtime rules bound that value:
//
//   - The runtime's own minimum heap is 4 MiB × GOGC/100, so GOGC must not
//     exceed floor × 100 / 4 MiB, or that minimum alone would put the goal
//     past the floor (GOGC=100000 would mean a 4 GB goal).
//   - The goal counts goroutine stacks and globals as well as the live heap,
//     so GOGC is computed from all three.
//
// When the live heap grows large enough not to need the floor, GOGC stays
// at the minimum; the process's memory limit, if any, still caps the goal.
// A sentinel allocated while a cycle is marking survives that cycle, so
// the tuner may react one cycle late.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// runtimeMinHeap is the runtime's minimum heap goal at GOGC=100
// (defaultHeapMinimum in runtime/mgcpacer.go); it scales with GOGC.
const runtimeMinHeap = 4 << 20

// Metrics read after each cycle: what the runtime's heap goal is made of.
var goalMetrics = []string{"/gc/heap/live:bytes", "/gc/scan/stack:bytes", "/gc/scan/globals:bytes"}

// Percent is the GOGC a Tuner sets after a cycle that left live bytes of
// heap and scan bytes of GC work (live heap, goroutine stacks and
// globals; scan 0 means no cycle yet): the value whose heap goal, live +
// scan × GOGC/100, is floor, but at most floor × 100 / 4 MiB (where the
// runtime's own minimum heap reaches floor) and at least minPercent.
func Percent(live, scan, floor uint64, minPercent int) int {
	if live >= floor {
		return minPercent
	}
	capped := float64(floor) * 100 / runtimeMinHeap
	p := capped
	if scan > 0 {
		p = min(p, float64(floor-live)*100/float64(scan))
	}
	return max(minPercent, int(p))
}

// Tuner adjusts GOGC after every GC cycle; see the package comment.
type Tuner struct {
	floor   uint64
	min     int // GOGC when the floor does not matter
	stopped atomic.Bool
	applied atomic.Int64     // the GOGC last set
	cycles  atomic.Int64     // cycles seen
	mu      sync.Mutex       // serialises adjust with Stop
	sample  []metrics.Sample // goalMetrics, in order
}

// Start sets GOGC for the current live heap and keeps it adjusted after
// every cycle until Stop. floor is the smallest heap goal in bytes;
// minPercent is the GOGC used once the live heap is large enough not to
// need the floor. Only one Tuner should run in a process: they would
// overwrite each other's setting.
func Start(floor uint64, minPercent int) *Tuner {
	t := &Tuner{floor: floor, min: minPercent}
	for _, name := range goalMetrics {
		t.sample = append(t.sample, metrics.Sample{Name: name})
	}
	t.applied.Store(-2) // no GOGC yet (-1 is "off")
	t.adjust()
	t.arm()
	return t
}

// Applied is the GOGC the tuner set last.
func (t *Tuner) Applied() int { return int(t.applied.Load()) }

// Cycles is how many GC cycles the tuner has seen.
func (t *Tuner) Cycles() int64 { return t.cycles.Load() }

// Stop stops adjusting and sets GOGC to the minimum percent. It is safe
// to call more than once.
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
	var v [3]uint64
	for i, sm := range t.sample {
		if sm.Value.Kind() == metrics.KindUint64 {
			v[i] = sm.Value.Uint64()
		}
	}
	live, scan := v[0], v[0]+v[1]+v[2]
	if live == 0 {
		scan = 0 // no cycle has completed: only the cap applies
	}
	p := Percent(live, scan, t.floor, t.min)
	if int64(p) == t.applied.Load() {
		return
	}
	debug.SetGCPercent(p)
	t.applied.Store(int64(p))
}
