package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, scan, floor uint64
		min, want         int
	}{
		{live: 16 * mib, scan: 16 * mib, floor: 64 * mib, min: 100, want: 300},   // goal 16 + 16 × 3 = 64 MiB
		{live: 16 * mib, scan: 48 * mib, floor: 64 * mib, min: 10, want: 100},    // stacks count: 16 + 48 × 1
		{live: 32 * mib, scan: 32 * mib, floor: 64 * mib, min: 400, want: 400},   // the floor is below live × 5
		{live: 64 * mib, scan: 64 * mib, floor: 64 * mib, min: 400, want: 400},   // at the floor
		{live: 900 * mib, scan: 900 * mib, floor: 64 * mib, min: 400, want: 400}, // far past it
		// Under 4 MiB of work the runtime's minimum heap (4 MiB × GOGC/100)
		// caps GOGC at floor × 100 / 4 MiB, whose minimum is the floor.
		{live: 1 * mib, scan: 1 * mib, floor: 128 * mib, min: 400, want: 3200},
		{live: 1, scan: 1, floor: 128 * mib, min: 400, want: 3200},
		{live: 0, scan: 0, floor: 128 * mib, min: 400, want: 3200}, // no cycle yet
		{live: 0, scan: 0, floor: 8 * mib, min: 400, want: 400},    // the minimum wins over the cap
	} {
		if got := Percent(tc.live, tc.scan, tc.floor, tc.min); got != tc.want {
			t.Errorf("Percent(%d, %d, %d, %d) = %d, want %d", tc.live, tc.scan, tc.floor, tc.min, got, tc.want)
		}
	}
}

// heapGoal is the runtime's current heap goal.
func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// waitCycles runs collections until the tuner has seen n more cycles.
func waitCycles(t *testing.T, tu *Tuner, n int64) {
	t.Helper()
	want := tu.Cycles() + n
	deadline := time.Now().Add(30 * time.Second)
	for tu.Cycles() < want {
		if time.Now().After(deadline) {
			t.Fatalf("tuner saw %d cycles, want %d", tu.Cycles(), want)
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // let the finalizer goroutine run
	}
}

var sink []byte

func TestTunerFollowsTheLiveHeap(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	const floor = 256 << 20
	tu := Start(floor, 100)
	t.Cleanup(tu.Stop)

	// A test binary's live heap is a few MiB: the floor sets GOGC, and
	// the goal is the floor, not the runtime's minimum heap scaled past it.
	waitCycles(t, tu, 2)
	if got := tu.Applied(); got <= 1000 || got > floor*100/runtimeMinHeap {
		t.Fatalf("small live heap: GOGC %d, want the floor's (1000, %d]", got, floor*100/runtimeMinHeap)
	}
	if g := heapGoal(); g < floor*3/4 || g > floor*5/4 {
		t.Fatalf("small live heap: heap goal %d MiB, want about the floor (%d MiB)", g>>20, floor>>20)
	}
	// A live heap past the floor: GOGC falls back to the minimum.
	sink = make([]byte, floor+(16<<20)) // live, though never touched
	waitCycles(t, tu, 2)
	if got := tu.Applied(); got != 100 {
		t.Fatalf("live heap past the floor: GOGC %d, want 100", got)
	}
	// And back once it is garbage.
	sink = nil
	waitCycles(t, tu, 2)
	if got := tu.Applied(); got <= 1000 || got > floor*100/runtimeMinHeap {
		t.Fatalf("after the large heap died: GOGC %d, want the floor's (> 1000)", got)
	}

	tu.Stop()
	tu.Stop()
	if got := tu.Applied(); got != 100 {
		t.Fatalf("after Stop: GOGC %d, want 100", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("after Stop the runtime has GOGC %d, want 100", got)
	}
	seen := tu.Cycles()
	// The sentinel armed before Stop is finalized by the next cycle; a
	// probe made after that cycle is finalized by a later one, on the same
	// finalizer goroutine, so once the probe has run the tuner's last
	// finalizer has too (and must not have counted or re-armed).
	runtime.GC()
	probed := make(chan struct{})
	probe := &struct{ _ *int }{}
	runtime.SetFinalizer(probe, func(any) { close(probed) })
	probe = nil
	deadline := time.After(30 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-probed:
			done = true
		case <-deadline:
			t.Fatal("probe finalizer never ran")
		case <-time.After(time.Millisecond):
		}
	}
	runtime.GC()
	if got := tu.Cycles(); got != seen {
		t.Fatalf("tuner still counting cycles after Stop: %d, was %d", got, seen)
	}
}

// deepStack holds about depth × 64 KiB of stack, says so on ready, and
// waits for release.
func deepStack(depth int, ready *sync.WaitGroup, release <-chan struct{}) byte {
	var frame [64 << 10]byte
	frame[depth%len(frame)] = byte(depth)
	if depth > 0 {
		return frame[0] + deepStack(depth-1, ready, release)
	}
	ready.Done()
	<-release
	return frame[0]
}

// Stacks count towards the goal: a GOGC computed from the live heap
// alone would multiply them far past the floor.
func TestTunerCountsStacks(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	const floor = 256 << 20
	release := make(chan struct{})
	var wg, ready sync.WaitGroup
	for range 64 {
		ready.Add(1)
		wg.Go(func() { deepStack(16, &ready, release) }) // ~1 MiB each
	}
	t.Cleanup(func() { close(release); wg.Wait() })
	ready.Wait()
	tu := Start(floor, 100)
	t.Cleanup(tu.Stop)
	waitCycles(t, tu, 2)
	s := []metrics.Sample{{Name: "/gc/scan/stack:bytes"}}
	metrics.Read(s)
	if st := s[0].Value.Uint64(); st < 32<<20 {
		t.Fatalf("only %d MiB of stack scanned; the test needs more", st>>20)
	}
	if g := heapGoal(); g > floor*5/4 {
		t.Fatalf("with %d MiB of stacks: heap goal %d MiB, want about the floor (%d MiB)", s[0].Value.Uint64()>>20, g>>20, floor>>20)
	}
}
