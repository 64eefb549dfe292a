package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
)

// Puller is what the consumer needs of a client; *client.Client implements
// it. Calls may be concurrent.
type Puller interface {
	Pull(ctx context.Context, brokerAddr, group, topic string, queueID int32, offset int64, max int, suspend time.Duration) (client.PullResult, error)
}

// ConsumeConfig describes a consume run.
type ConsumeConfig struct {
	Group string
	// Queues are the queues to read; Offsets (same length, or nil for
	// all zeros) where to start in each.
	Queues  []client.MessageQueue
	Offsets []int64
	// Pullers is the number of pulling goroutines (default one per
	// queue); queues are dealt to them round-robin.
	Pullers int
	// Batch is the maximum messages per pull (default 32).
	Batch int
	// Suspend is the long-poll hold time of a puller that owns a single
	// queue (default 5 s). A puller owning several queues sweeps them
	// without holding and long-polls at most 100 ms when a sweep found
	// nothing.
	Suspend time.Duration
	// Count stops after that many messages in total; Duration after that
	// long; IdleStop once no message arrived for that long after the
	// first one. At least one of Count and Duration must be set.
	Count    int64
	Duration time.Duration
	IdleStop time.Duration
	// Progress is the live progress line.
	Progress Progress
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnMessages, if set, sees every pulled batch with the time it was
	// received, before it is counted. Calls may be concurrent.
	OnMessages func(received time.Time, msgs []*message.Message)
}

// multiQueueSuspend bounds the hold of a puller that owns several queues.
const multiQueueSuspend = 100 * time.Millisecond

// errPause is how long a puller waits after a failed pull.
const errPause = 100 * time.Millisecond

// Consume pulls every queue of cfg.Queues until the count, duration or
// idle limit is reached or ctx ends, recording the end-to-end latency of
// each message from the timestamp at the start of its body. Pull failures
// are counted, not fatal; the error is only for an invalid config.
func Consume(ctx context.Context, p Puller, cfg ConsumeConfig) (*Result, error) {
	if len(cfg.Queues) == 0 {
		return nil, errors.New("bench: no queue to consume")
	}
	if cfg.Offsets != nil && len(cfg.Offsets) != len(cfg.Queues) {
		return nil, fmt.Errorf("bench: %d offsets for %d queues", len(cfg.Offsets), len(cfg.Queues))
	}
	if cfg.Count <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("bench: set a message count or a duration")
	}
	if cfg.Group == "" {
		return nil, errors.New("bench: no consumer group")
	}
	pullers := cfg.Pullers
	if pullers <= 0 || pullers > len(cfg.Queues) {
		pullers = len(cfg.Queues)
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = 32
	}
	suspend := cfg.Suspend
	if suspend <= 0 {
		suspend = 5 * time.Second
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		var c2 context.CancelFunc
		runCtx, c2 = context.WithTimeout(runCtx, cfg.Duration)
		defer c2()
	}

	st := newStats()
	start := now()
	rep := newReporter("received", st, now, start)
	repStop := make(chan struct{})
	var repDone sync.WaitGroup
	repDone.Go(func() { rep.run(cfg.Progress, repStop) })

	var lastMsg atomic.Int64 // UnixNano of the last message received
	deliver := func(res client.PullResult) {
		t := now()
		if cfg.OnMessages != nil {
			cfg.OnMessages(t, res.Messages)
		}
		var b int64
		for _, m := range res.Messages {
			if ts, ok := Stamp(m.Body); ok {
				st.hist.Record(t.Sub(ts))
			}
			b += int64(len(m.Body))
		}
		st.bytes.Add(b)
		n := st.messages.Add(int64(len(res.Messages)))
		lastMsg.Store(t.UnixNano())
		if cfg.Count > 0 && n >= cfg.Count {
			cancel()
		}
	}
	var idleDone sync.WaitGroup
	if cfg.IdleStop > 0 {
		// Pullers may be held in long polls: watch from the side.
		idleDone.Go(func() {
			t := time.NewTicker(min(cfg.IdleStop/4, 100*time.Millisecond))
			defer t.Stop()
			for {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
				}
				if last := lastMsg.Load(); last != 0 && now().Sub(time.Unix(0, last)) >= cfg.IdleStop {
					cancel()
					return
				}
			}
		})
	}

	var wg sync.WaitGroup
	for k := range pullers {
		var own []int
		for i := k; i < len(cfg.Queues); i += pullers {
			own = append(own, i)
		}
		wg.Go(func() {
			offsets := make([]int64, len(own))
			for j, i := range own {
				if cfg.Offsets != nil {
					offsets[j] = cfg.Offsets[i]
				}
			}
			for runCtx.Err() == nil {
				found := false
				for j, i := range own {
					q := cfg.Queues[i]
					hold := time.Duration(0)
					if len(own) == 1 {
						hold = suspend
					}
					found = pullOnce(runCtx, p, cfg.Group, q, &offsets[j], batch, hold, st, deliver) || found
				}
				if !found && len(own) > 1 && runCtx.Err() == nil {
					// Nothing anywhere: hold briefly on one queue.
					j := 0
					q := cfg.Queues[own[j]]
					pullOnce(runCtx, p, cfg.Group, q, &offsets[j], batch, min(suspend, multiQueueSuspend), st, deliver)
				}
			}
		})
	}
	wg.Wait()
	cancel()
	idleDone.Wait()
	close(repStop)
	repDone.Wait()
	elapsed := now().Sub(start)
	if last := lastMsg.Load(); last != 0 {
		elapsed = time.Unix(0, last).Sub(start)
	}
	return st.result("consume", elapsed), nil
}

// pullOnce pulls one batch of q at *offset, advances it and reports
// whether messages arrived.
func pullOnce(ctx context.Context, p Puller, group string, q client.MessageQueue, offset *int64, batch int, hold time.Duration,
	st *stats, deliver func(client.PullResult)) bool {
	res, err := p.Pull(ctx, q.BrokerAddr, group, q.Topic, q.QueueID, *offset, batch, hold)
	if err != nil {
		if ctx.Err() != nil {
			return false // stopping
		}
		st.fail(err)
		select {
		case <-ctx.Done():
		case <-time.After(errPause):
		}
		return false
	}
	*offset = res.NextBeginOffset
	if len(res.Messages) == 0 {
		return false
	}
	deliver(res)
	return true
}
