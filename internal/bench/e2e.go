package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/message"
)

// defaultDrain bounds the wait, after the last send of an end-to-end run,
// for the consumer to receive what was sent.
const defaultDrain = 30 * time.Second

// E2EConfig describes an end-to-end run: pullers long-poll every queue of
// Consume.Queues (from Consume.Offsets, normally the queues' ends) while
// Produce sends, normally at a fixed Produce.Rate. The consumer's
// latencies (receive time minus the send time stamped in each body) are
// the produce-to-consume latencies.
type E2EConfig struct {
	Produce ProduceConfig
	// Consume says what to read; its Count, Duration and IdleStop are
	// ignored (the run ends when everything sent was received or Drain
	// has passed since the last send).
	Consume ConsumeConfig
	// Drain bounds the wait after the last send (default 30 s).
	Drain time.Duration
}

// E2EResult is the outcome of an end-to-end run.
type E2EResult struct {
	Produce *Result
	Consume *Result // Latency is the end-to-end latency
}

// WriteSummary prints both sides.
func (r *E2EResult) WriteSummary(w io.Writer) error {
	if err := r.Produce.WriteSummary(w); err != nil {
		return err
	}
	if err := r.Consume.WriteSummary(w); err != nil {
		return err
	}
	if missing := r.Produce.Messages - r.Consume.Messages; missing > 0 {
		_, err := fmt.Fprintf(w, "not received within the drain time: %d\n", missing)
		return err
	}
	return nil
}

// EndToEnd produces while consuming and returns both results.
func EndToEnd(ctx context.Context, producers []Sender, p Puller, cfg E2EConfig) (*E2EResult, error) {
	pres, cres, err := produceWhileConsuming(ctx, producers, p, cfg.Produce, cfg.Consume, cfg.Drain)
	if err != nil {
		return nil, err
	}
	return &E2EResult{Produce: pres, Consume: cres}, nil
}

// produceWhileConsuming starts a consumer over ccfg, runs Produce with
// pcfg, then waits until the consumer has received as many messages as
// were sent, or drain (default 30 s) has passed, or ctx ends.
func produceWhileConsuming(ctx context.Context, producers []Sender, p Puller, pcfg ProduceConfig, ccfg ConsumeConfig,
	drain time.Duration) (pres, cres *Result, err error) {
	if len(producers) == 0 {
		return nil, nil, errors.New("bench: no producer")
	}
	if len(ccfg.Queues) == 0 {
		return nil, nil, errors.New("bench: no queue to consume")
	}
	if drain <= 0 {
		drain = defaultDrain
	}
	var received atomic.Int64
	user := ccfg.OnMessages
	ccfg.OnMessages = func(t time.Time, msgs []*message.Message) {
		if user != nil {
			user(t, msgs)
		}
		received.Add(int64(len(msgs)))
	}
	// The run's end is decided here: a bound the consumer never reaches.
	ccfg.Count, ccfg.IdleStop = 0, 0
	ccfg.Duration = 1000 * time.Hour
	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	var cerr error
	var wg sync.WaitGroup
	wg.Go(func() { cres, cerr = Consume(cctx, p, ccfg) })

	pres, err = Produce(ctx, producers, pcfg)
	if err != nil {
		stopConsumer()
		wg.Wait()
		return nil, nil, err
	}
	deadline := time.Now().Add(drain)
	for received.Load() < pres.Messages && time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
	stopConsumer()
	wg.Wait()
	if cerr != nil {
		return nil, nil, cerr
	}
	return pres, cres, nil
}
