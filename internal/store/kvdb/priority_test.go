package kvdb

import (
	"runtime"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// flushOnce opens a database with opts, writes a row, flushes it and
// returns the nice values the background threads were given.
func flushOnce(t *testing.T, opts Options) []int {
	t.Helper()
	var mu sync.Mutex
	var seen []int
	testBackgroundNice = func(n int) {
		mu.Lock()
		seen = append(seen, n)
		mu.Unlock()
	}
	defer func() { testBackgroundNice = nil }()
	db, err := Open("db", vfs.NewMem(), opts)
	if err != nil {
		t.Fatal(err)
	}
	b := db.Pebble().NewBatch()
	if err := b.Set([]byte("qkey"), []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return seen
}

// TestFlushRunsAtLowerPriority: a flush's thread runs with its nice value
// raised by BackgroundNice (DefaultBackgroundNice when zero), and not at
// all when it is negative.
func TestFlushRunsAtLowerPriority(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread priorities are Linux's")
	}
	own, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ opt, want int }{{3, own + 3}, {0, own + DefaultBackgroundNice}} {
		want := min(tc.want, 19)
		if seen := flushOnce(t, Options{BackgroundNice: tc.opt}); len(seen) == 0 || seen[0] != want {
			t.Fatalf("BackgroundNice %d: flush threads ran at nice %v, want %d", tc.opt, seen, want)
		}
	}
	if seen := flushOnce(t, Options{BackgroundNice: -1}); len(seen) != 0 {
		t.Fatalf("BackgroundNice -1: flush threads were lowered to %v", seen)
	}
}

// TestLowerThreadPriorityRestores: the thread gets its own nice value back
// and is unlocked, so the runtime may reuse it for other goroutines.
func TestLowerThreadPriorityRestores(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread priorities are Linux's")
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // the same thread throughout the checks
		defer runtime.UnlockOSThread()
		own, err := threadNice()
		if err != nil {
			done <- err
			return
		}
		nice, restore := lowerThreadPriority(4)
		during, _ := threadNice()
		restore()
		after, _ := threadNice()
		if nice != min(own+4, 19) || during != nice || after != own {
			t.Errorf("nice %d, during %d, after %d; own %d", nice, during, after, own)
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWALWrittenBackAsItGrows: the WAL is handed to the kernel as it grows,
// so that the sync when a memtable rotates has little to write.
func TestWALWrittenBackAsItGrows(t *testing.T) {
	if po := pebbleOptions(vfs.NewMem(), Options{}); po.WALBytesPerSync != walBytesPerSync {
		t.Fatalf("WALBytesPerSync %d, want %d", po.WALBytesPerSync, walBytesPerSync)
	}
}
