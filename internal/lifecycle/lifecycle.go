// Package lifecycle runs Bolide's background work: loops that tick on an
// interval or when woken, and that can be stopped and waited for. Long-lived
// code starts goroutines only through it, so shutdown is deterministic and
// tests can check for leaks.
package lifecycle

import (
	"context"
	"sync"
	"time"
)

// Loop calls a function every interval, and early whenever Wakeup is
// called, until Stop.
type Loop struct {
	name     string
	interval time.Duration
	fn       func(ctx context.Context)

	wake chan struct{}

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewLoop returns a stopped loop. interval <= 0 means the loop runs only
// when woken.
func NewLoop(name string, interval time.Duration, fn func(ctx context.Context)) *Loop {
	return &Loop{name: name, interval: interval, fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Name is the loop's name, for logs.
func (l *Loop) Name() string { return l.name }

// Start begins running the loop; later calls do nothing.
func (l *Loop) Start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return
	}
	l.started = true
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(ctx)
}

func (l *Loop) run(ctx context.Context) {
	defer close(l.done)
	var tick <-chan time.Time
	if l.interval > 0 {
		t := time.NewTicker(l.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		case <-l.wake:
		}
		if ctx.Err() != nil {
			return
		}
		l.fn(ctx)
	}
}

// Wakeup asks the loop to run as soon as possible. Wakeups that arrive
// while a run is pending coalesce into one.
func (l *Loop) Wakeup() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Stop cancels the loop's context and waits for the current run to end.
// It is idempotent and safe on a loop that never started.
func (l *Loop) Stop() {
	l.mu.Lock()
	started := l.started
	cancel := l.cancel
	l.started = true // a stopped loop cannot be started again
	l.mu.Unlock()
	if cancel == nil {
		if !started {
			close(l.done)
		}
		return
	}
	cancel()
	<-l.done
}
