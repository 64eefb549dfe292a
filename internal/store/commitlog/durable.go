package commitlog

import (
	"fmt"
	"time"
)

// durableWaiter is a callback waiting for the log to be synced up to end.
type durableWaiter struct {
	end      int64
	deadline time.Time
	fn       func(error)
}

// OnDurable calls fn once every byte before end is synced: with nil, with
// an ErrFlushTimeout error after SyncFlushTimeout, with the fsync failure
// that poisoned the log, or with ErrClosed. Under ASYNC_FLUSH it calls fn
// (nil) at once. It is WaitFlushed without a blocked goroutine: fn runs on
// the flusher's goroutine (or the caller's, when it can answer at once)
// and must not block.
func (l *Log) OnDurable(end int64, fn func(error)) {
	if l.cfg.Flush != SyncFlush {
		fn(nil)
		return
	}
	l.durMu.Lock()
	var err error
	switch {
	case l.flushed.Load() >= end:
	case l.durClosed:
		err = ErrClosed
	default:
		err = l.syncFailure()
		if err == nil {
			l.durable = append(l.durable, durableWaiter{end: end, deadline: time.Now().Add(l.cfg.SyncFlushTimeout), fn: fn})
			l.durMu.Unlock()
			l.flusher.Wakeup()
			return
		}
	}
	l.durMu.Unlock()
	fn(err)
}

// notifyDurable answers the waiters the last flush covered, or all of
// them with the failure that poisoned the log.
func (l *Log) notifyDurable() {
	failure := l.syncFailure()
	l.answerDurable(func(w durableWaiter) (error, bool) {
		switch {
		case failure != nil:
			return failure, true
		case l.flushed.Load() >= w.end:
			return nil, true
		}
		return nil, false
	})
}

// expireDurable answers the waiters whose timeout passed.
func (l *Log) expireDurable() {
	now := time.Now()
	l.answerDurable(func(w durableWaiter) (error, bool) {
		if now.Before(w.deadline) {
			return nil, false
		}
		return fmt.Errorf("%w: %d of %d bytes synced after %v", ErrFlushTimeout, l.flushed.Load(), w.end, l.cfg.SyncFlushTimeout), true
	})
}

// closeDurable answers every waiter left at close: nil if the final flush
// covered it, ErrClosed otherwise; later OnDurable calls get ErrClosed.
func (l *Log) closeDurable() {
	l.durMu.Lock()
	l.durClosed = true
	l.durMu.Unlock()
	l.notifyDurable()
	l.answerDurable(func(durableWaiter) (error, bool) { return ErrClosed, true })
}

// answerDurable removes the waiters decide picks and calls them, outside
// the lock, in registration order.
func (l *Log) answerDurable(decide func(durableWaiter) (error, bool)) {
	type answer struct {
		fn  func(error)
		err error
	}
	var answers []answer
	l.durMu.Lock()
	kept := l.durable[:0]
	for _, w := range l.durable {
		if err, ok := decide(w); ok {
			answers = append(answers, answer{w.fn, err})
		} else {
			kept = append(kept, w)
		}
	}
	clear(l.durable[len(kept):])
	l.durable = kept
	l.durMu.Unlock()
	for _, a := range answers {
		a.fn(a.err)
	}
}
