package commitlog

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/vfs"
)

// An fsync failure under SYNC_FLUSH is never reported to the writer:
// flushOnce stores it in flushErr and returns, WaitFlushed ignores flushErr
// and just waits for its timeout, so Append returns ErrFlushTimeout, which
// the store turns into success with Flushed=false ("stored, will become
// durable"). The next tick retries fsync; on Linux a failed fsync may have
// dropped the dirty pages, so a later fsync "succeeds", flushed advances and
// dispatch publishes bytes that never reached the disk (fsyncgate).
func TestReviewSyncFailureIsNotReported(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	fs := vfs.NewFaulty(vfs.NewMem(), func(op vfs.Op) error {
		if op.Kind == vfs.OpSync && fail.Load() {
			return errors.New("EIO")
		}
		return nil
	})
	l := openLog(t, fs, Config{SegmentSize: 1 << 20, Flush: SyncFlush, SyncFlushTimeout: 100 * time.Millisecond, NoPreallocate: true}, Recovery{Clean: true})
	defer l.Close()
	_, err := l.Append(one(record(t, "x")), true)
	fail.Store(false)
	if !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("append after a failed fsync returned %v, want the fsync error (and the log failed)", err)
	}
}
