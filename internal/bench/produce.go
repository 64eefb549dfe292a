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

// Sender is what the producer needs of a client; *client.Client
// implements it. Calls may be concurrent.
type Sender interface {
	Send(ctx context.Context, topic string, queueID int32, body []byte, props message.Properties) (client.SendResult, error)
	SendOneway(ctx context.Context, topic string, queueID int32, body []byte, props message.Properties) error
}

// AsyncSender is a Sender that can send without blocking a goroutine per
// message in flight (*client.Client does): done runs once with the result
// and must not block. Produce uses it when present, so the load generator,
// which shares the machine with the broker, costs less CPU per message.
type AsyncSender interface {
	SendAsync(ctx context.Context, topic string, queueID int32, body []byte, props message.Properties, done func(client.SendResult, error)) error
}

// BatchSender sends several messages of one queue in one request
// (SEND_BATCH_MESSAGE); *client.Client implements it. done runs once and
// must not block.
type BatchSender interface {
	SendBatchAsync(ctx context.Context, topic string, queueID int32, msgs []*message.Message, done func(client.BatchResult, error)) error
}

// flushTimeout bounds the wait for oneway sends to reach the brokers.
const flushTimeout = 60 * time.Second

// Flusher is implemented by senders that can wait until their oneway
// sends have reached the broker (*client.Client does).
type Flusher interface {
	Flush(ctx context.Context) error
}

// OffsetReader is implemented by *client.Client.
type OffsetReader interface {
	MaxOffset(ctx context.Context, brokerAddr, topic string, queueID int32) (int64, error)
}

// StoredMessages sums the max offsets of queues: with a count taken before
// and after a run, it tells how many messages the brokers stored (oneway
// sends may be dropped under overload).
func StoredMessages(ctx context.Context, r OffsetReader, queues []client.MessageQueue) (int64, error) {
	var n int64
	for _, q := range queues {
		m, err := r.MaxOffset(ctx, q.BrokerAddr, q.Topic, q.QueueID)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// WaitStored polls StoredMessages until it reaches want, stops changing
// for settle, or ctx ends, and returns the last count. Consume queues are
// written after the commit log, so a count taken right after the last
// acknowledgement may still be short.
func WaitStored(ctx context.Context, r OffsetReader, queues []client.MessageQueue, want int64, settle time.Duration) (int64, error) {
	last, err := StoredMessages(ctx, r, queues)
	if err != nil {
		return 0, err
	}
	changed := time.Now()
	for last < want && time.Since(changed) < settle {
		select {
		case <-ctx.Done():
			return last, nil
		case <-time.After(20 * time.Millisecond):
		}
		n, err := StoredMessages(ctx, r, queues)
		if err != nil {
			return last, err
		}
		if n != last {
			last, changed = n, time.Now()
		}
	}
	return last, nil
}

// ProduceConfig describes a produce run.
type ProduceConfig struct {
	Topic string
	// Size is the body size in bytes; at least StampSize.
	Size int
	// Window is the number of sends each producer keeps in flight
	// (default 1).
	Window int
	// Count stops the run after that many sends in total; Duration after
	// that long. At least one must be set; with both, the first reached
	// wins.
	Count    int64
	Duration time.Duration
	// Oneway sends without waiting for the broker's answer.
	Oneway bool
	// Batch, when > 1, sends that many messages per request
	// (SEND_BATCH_MESSAGE; producers must be BatchSenders). Window still
	// counts messages: window/Batch requests (at least one) are in
	// flight per producer. A message's latency is its request's.
	Batch int
	// Rate, when > 0, paces the sends to that many per second over all
	// producers (an offered load): send i is started no earlier than
	// start + i/Rate. A run that falls behind catches up as fast as its
	// window allows, so the offered load is kept, not the gaps. The window
	// then only bounds how many sends may be in flight.
	Rate float64
	// Message, if set, is called for each send after the body has been
	// filled and stamped: seq counts sends from 0 over all producers and
	// sent is the stamped time. It may write into body beyond StampSize
	// and returns the message's properties (nil for none).
	Message func(seq int64, sent time.Time, body []byte) message.Properties
	// Progress is the live progress line.
	Progress Progress
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Produce runs one producer per element of producers, each with
// cfg.Window sends in flight (queue id -1: the sender spreads them over the
// topic's queues), until the count or duration is reached or ctx
// ends. Send failures are counted, not fatal; the error is only for an
// invalid config.
func Produce(ctx context.Context, producers []Sender, cfg ProduceConfig) (*Result, error) {
	if len(producers) == 0 {
		return nil, errors.New("bench: no producer")
	}
	if cfg.Size < StampSize {
		return nil, fmt.Errorf("bench: message size %d below the %d-byte timestamp", cfg.Size, StampSize)
	}
	if cfg.Count <= 0 && cfg.Duration <= 0 {
		return nil, errors.New("bench: set a message count or a duration")
	}
	if cfg.Topic == "" {
		return nil, errors.New("bench: no topic")
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("bench: negative rate %v", cfg.Rate)
	}
	if cfg.Batch > 1 {
		if cfg.Oneway {
			return nil, errors.New("bench: batches are not sent oneway")
		}
		for _, p := range producers {
			if _, ok := p.(BatchSender); !ok {
				return nil, fmt.Errorf("bench: producer %T cannot send batches", p)
			}
		}
	}
	window := max(cfg.Window, 1)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	template := make([]byte, cfg.Size)
	for i := range template {
		template[i] = 'a' + byte(i%26)
	}

	st := newStats()
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	if cfg.Duration > 0 {
		t := time.AfterFunc(cfg.Duration, halt)
		defer t.Stop()
	}
	ctxStop := context.AfterFunc(ctx, halt)
	defer ctxStop()

	start := now()
	rep := newReporter("sent", st, now, start)
	repStop := make(chan struct{})
	var repDone sync.WaitGroup
	repDone.Go(func() { rep.run(cfg.Progress, repStop) })

	var claimed atomic.Int64
	var lastDone atomic.Int64 // UnixNano of the last completion
	var wg sync.WaitGroup
	// next builds message seq, or reports that the run is over for this
	// worker (count reached, pacing stopped).
	next := func(seq int64) (body []byte, props message.Properties, t0 time.Time, ok bool) {
		if cfg.Count > 0 && seq >= cfg.Count {
			// Not halt: other workers may still wait for their (earlier)
			// paced slots.
			return nil, nil, time.Time{}, false
		}
		if cfg.Rate > 0 && !waitSlot(now, start, seq, cfg.Rate, stop) {
			return nil, nil, time.Time{}, false
		}
		body = make([]byte, len(template))
		copy(body, template)
		t0 = now()
		PutStamp(body, t0)
		if cfg.Message != nil {
			props = cfg.Message(seq, t0, body)
		}
		return body, props, t0, true
	}
	record := func(t0 time.Time, n int, err error) bool {
		t1 := now()
		lastDone.Store(t1.UnixNano())
		if err != nil {
			if ctx.Err() != nil {
				return false // interrupted, not failed
			}
			st.fail(err)
			return true
		}
		st.hist.Record(t1.Sub(t0))
		st.messages.Add(1)
		st.bytes.Add(int64(n))
		return true
	}
	for _, p := range producers {
		if bp, ok := p.(BatchSender); ok && cfg.Batch > 1 {
			wg.Go(func() { produceBatches(ctx, bp, cfg, window, stop, &claimed, next, record) })
			continue
		}
		if ap, ok := p.(AsyncSender); ok && !cfg.Oneway {
			// One loop per producer keeps window sends in flight.
			wg.Go(func() {
				slots := make(chan struct{}, window)
				var inflight sync.WaitGroup
				defer inflight.Wait()
				for {
					select {
					case <-stop:
						return
					case slots <- struct{}{}:
					}
					body, props, t0, ok := next(claimed.Add(1) - 1)
					if !ok {
						return
					}
					inflight.Add(1)
					err := ap.SendAsync(ctx, cfg.Topic, -1, body, props, func(_ client.SendResult, err error) {
						record(t0, len(body), err)
						<-slots
						inflight.Done()
					})
					if err != nil {
						<-slots
						inflight.Done()
						if !record(t0, len(body), err) {
							return
						}
					}
				}
			})
			continue
		}
		for range window {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					body, props, t0, ok := next(claimed.Add(1) - 1)
					if !ok {
						return
					}
					var err error
					if cfg.Oneway {
						err = p.SendOneway(ctx, cfg.Topic, -1, body, props)
					} else {
						_, err = p.Send(ctx, cfg.Topic, -1, body, props)
					}
					if !record(t0, len(body), err) {
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if cfg.Oneway {
		// Count the time until the brokers have read every request; an
		// overloaded broker may take a while.
		fctx, cancel := context.WithTimeout(ctx, flushTimeout)
		defer cancel()
		for _, p := range producers {
			if f, ok := p.(Flusher); ok {
				if err := f.Flush(fctx); err != nil && ctx.Err() == nil {
					st.fail(err)
				}
			}
		}
		lastDone.Store(now().UnixNano())
	}
	close(repStop)
	repDone.Wait()
	elapsed := now().Sub(start)
	if ld := lastDone.Load(); ld != 0 {
		elapsed = time.Unix(0, ld).Sub(start)
	}
	return st.result("produce", elapsed), nil
}

// produceBatches is one producer's loop in batch mode: it keeps
// window/cfg.Batch batch requests in flight, each of the next cfg.Batch
// messages (fewer at the end of a counted run).
func produceBatches(ctx context.Context, bp BatchSender, cfg ProduceConfig, window int, stop <-chan struct{},
	claimed *atomic.Int64, next func(int64) ([]byte, message.Properties, time.Time, bool), record func(time.Time, int, error) bool) {
	slots := make(chan struct{}, max(1, window/cfg.Batch))
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		select {
		case <-stop:
			return
		case slots <- struct{}{}:
		}
		first := claimed.Add(int64(cfg.Batch)) - int64(cfg.Batch)
		msgs := make([]*message.Message, 0, cfg.Batch)
		var t0 time.Time
		for seq := first; seq < first+int64(cfg.Batch); seq++ {
			body, props, t, ok := next(seq)
			if !ok {
				break
			}
			t0 = t
			msgs = append(msgs, &message.Message{Body: body, Properties: props})
		}
		if len(msgs) == 0 {
			<-slots
			return
		}
		finish := func(err error) bool {
			ok := true
			for _, m := range msgs {
				ok = record(t0, len(m.Body), err) && ok
			}
			return ok
		}
		inflight.Add(1)
		err := bp.SendBatchAsync(ctx, cfg.Topic, -1, msgs, func(_ client.BatchResult, err error) {
			finish(err)
			<-slots
			inflight.Done()
		})
		if err != nil {
			<-slots
			inflight.Done()
			if !finish(err) {
				return
			}
		}
		if len(msgs) < cfg.Batch {
			return // the count is reached
		}
	}
}
