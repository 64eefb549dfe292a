package lifecycle

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWakeupRunsAndStopWaits(t *testing.T) {
	var runs atomic.Int32
	ran := make(chan struct{}, 16)
	l := NewLoop("test", 0, func(context.Context) {
		runs.Add(1)
		ran <- struct{}{}
	})
	l.Start()
	l.Wakeup()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("wakeup did not run the loop")
	}
	l.Stop()
	l.Stop() // idempotent
	n := runs.Load()
	l.Wakeup()
	if runs.Load() != n {
		t.Fatal("ran after Stop")
	}
}

func TestIntervalAndCancellation(t *testing.T) {
	ran := make(chan struct{}, 1)
	l := NewLoop("tick", time.Millisecond, func(ctx context.Context) {
		select {
		case ran <- struct{}{}:
		default:
		}
		<-ctx.Done() // a long run must be interrupted by Stop
	})
	l.Start()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("interval did not fire")
	}
	l.Stop()
}

func TestStopNeverStarted(t *testing.T) {
	l := NewLoop("idle", time.Second, func(context.Context) {})
	l.Stop()
	l.Start() // no effect after Stop
	l.Stop()
}
