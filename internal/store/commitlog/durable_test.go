package commitlog

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/vfs"
)

// durableResult collects one OnDurable answer and what was synced then.
type durableResult struct {
	err     error
	flushed int64
}

func onDurable(l *Log, end int64) chan durableResult {
	ch := make(chan durableResult, 1)
	l.OnDurable(end, func(err error) { ch <- durableResult{err, l.FlushedOffset()} })
	return ch
}

func TestOnDurable(t *testing.T) {
	t.Run("answered by the covering fsync", func(t *testing.T) {
		var syncs atomic.Int64
		gate := make(chan struct{})
		l := openLog(t, countSyncs(vfs.NewMem(), &syncs, gate), Config{SegmentSize: 1 << 20, Flush: SyncFlush, NoPreallocate: true}, Recovery{Clean: true})
		defer l.Close()
		var chans []chan durableResult
		var ends []int64
		for range 5 {
			a, err := l.Append(one(record(t, "x")), false)
			if err != nil {
				t.Fatal(err)
			}
			ends = append(ends, a.End)
			chans = append(chans, onDurable(l, a.End))
		}
		for i, ch := range chans {
			select {
			case r := <-ch:
				t.Fatalf("waiter %d answered (%v) while the fsync is held", i, r.err)
			default:
			}
		}
		close(gate)
		for i, ch := range chans {
			select {
			case r := <-ch:
				if r.err != nil || r.flushed < ends[i] {
					t.Fatalf("waiter %d: err %v, flushed %d < end %d", i, r.err, r.flushed, ends[i])
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("waiter %d never answered", i)
			}
		}
		// Already durable: answered at once.
		if r := <-onDurable(l, ends[0]); r.err != nil {
			t.Fatal(r.err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		var syncs atomic.Int64
		gate := make(chan struct{})
		l := openLog(t, countSyncs(vfs.NewMem(), &syncs, gate), Config{SegmentSize: 1 << 20, Flush: SyncFlush,
			SyncFlushTimeout: 30 * time.Millisecond, NoPreallocate: true}, Recovery{Clean: true})
		a, err := l.Append(one(record(t, "x")), false)
		if err != nil {
			t.Fatal(err)
		}
		if r := <-onDurable(l, a.End); !errors.Is(r.err, ErrFlushTimeout) {
			t.Fatalf("err = %v, want ErrFlushTimeout", r.err)
		}
		close(gate)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if r := <-onDurable(l, a.End+1); !errors.Is(r.err, ErrClosed) {
			t.Fatalf("after close: err = %v, want ErrClosed", r.err)
		}
	})
	t.Run("fsync failure", func(t *testing.T) {
		fs := vfs.NewFaulty(vfs.NewMem(), func(op vfs.Op) error {
			if op.Kind == vfs.OpSync {
				return errors.New("EIO")
			}
			return nil
		})
		l := openLog(t, fs, Config{SegmentSize: 1 << 20, Flush: SyncFlush, NoPreallocate: true}, Recovery{Clean: true})
		defer l.Close()
		a, err := l.Append(one(record(t, "x")), false)
		if err != nil {
			t.Fatal(err)
		}
		if r := <-onDurable(l, a.End); !errors.Is(r.err, ErrSyncFailed) {
			t.Fatalf("err = %v, want ErrSyncFailed", r.err)
		}
	})
	t.Run("async flush answers at once", func(t *testing.T) {
		l := openLog(t, vfs.NewMem(), Config{SegmentSize: 1 << 20, NoPreallocate: true}, Recovery{Clean: true})
		defer l.Close()
		a, err := l.Append(one(record(t, "x")), false)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-onDurable(l, a.End):
			if r.err != nil {
				t.Fatal(r.err)
			}
		default:
			t.Fatal("not answered at once under ASYNC_FLUSH")
		}
	})
}
