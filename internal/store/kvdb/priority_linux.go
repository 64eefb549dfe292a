package kvdb

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// lowerThreadPriority locks the calling goroutine to its thread and adds
// delta to the thread's nice value (at most 19). It returns the nice value
// set (or the thread's own if it could not be changed) and a func that
// restores the thread and unlocks it. If the thread cannot be restored (an
// unprivileged process may not lower a nice value again), it stays locked:
// the runtime then discards it when the goroutine exits, as pebble's flush
// and compaction goroutines do after one job, instead of running other
// goroutines on it at the lower priority.
func lowerThreadPriority(delta int) (nice int, restore func()) {
	runtime.LockOSThread()
	tid := unix.Gettid()
	// For PRIO_PROCESS the raw syscall returns 20 - nice.
	p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		runtime.UnlockOSThread()
		return 0, func() {}
	}
	own := 20 - p
	nice = min(own+delta, 19)
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, nice); err != nil {
		runtime.UnlockOSThread()
		return own, func() {}
	}
	return nice, func() {
		if unix.Setpriority(unix.PRIO_PROCESS, tid, own) == nil {
			runtime.UnlockOSThread()
		}
	}
}

// threadNice is the calling thread's nice value (tests).
func threadNice() (int, error) {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
	return 20 - p, err
}
