// Command natslat measures NATS JetStream's produce-to-consume latency at a
// fixed offered load, the NATS side of `bolide bench e2e` (nats bench
// v0.5.0 has no end-to-end mode). Producers, each on its own connection,
// publish asynchronously (at most --window acks outstanding each) at
// --rate messages per second over all of them, with the send time in the
// first 8 bytes of every payload; a durable pull consumer on another
// connection receives them and records receive time minus send time. It
// prints the same summary lines as `bolide bench e2e`, so one parser reads
// both.
//
//	natslat -s nats://127.0.0.1:4222 --rate 20000 --duration 20s --producers 4 --window 500
//
// It lives in its own Go module (scripts/peerbench/natslat/go.mod) so the
// NATS client never enters Bolide's dependency graph.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/bolidemq/bolide/internal/gcfloor"
)

type config struct {
	url       string
	rate      float64
	duration  time.Duration
	count     int64
	size      int
	producers int
	window    int
	batch     int
	stream    string
	subject   string
	ack       string
	drain     time.Duration
}

// Collector settings shared with `bolide bench` (cmd/bolide/gc.go): both
// load generators keep a 128 MiB floor under the heap goal, so neither
// side's latencies carry ten-plus collections a second of its own load
// generator and the comparison stays one of brokers. GOGC in the
// environment turns it off, as for bolide.
const (
	heapFloor = 128 << 20
	gcPercent = 400
)

func main() {
	if os.Getenv("GOGC") == "" {
		gcfloor.Start(heapFloor, gcPercent)
	}
	var c config
	flag.StringVar(&c.url, "s", nats.DefaultURL, "NATS server URL")
	flag.Float64Var(&c.rate, "rate", 20000, "offered load: messages per second over all producers")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "produce this long (ignored with --count)")
	flag.Int64Var(&c.count, "count", 0, "messages to send (0: rate x duration)")
	flag.IntVar(&c.size, "size", 1024, "payload bytes (>= 8)")
	flag.IntVar(&c.producers, "producers", 4, "producers, each with its own connection")
	flag.IntVar(&c.window, "window", 500, "async publishes awaiting their ack, per producer")
	flag.IntVar(&c.batch, "batch", 500, "messages the consumer keeps requested (PullMaxMessages)")
	flag.StringVar(&c.stream, "stream", "benchlat", "stream to (re)create")
	flag.StringVar(&c.subject, "subject", "benchlat.s", "subject of the stream")
	flag.StringVar(&c.ack, "ack", "none", "consumer ack policy: none or explicit")
	flag.DurationVar(&c.drain, "drain", 30*time.Second, "after the last send, wait at most this long for the consumer")
	flag.Parse()
	if err := run(context.Background(), c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "natslat:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.size < 8 || c.rate <= 0 || c.producers <= 0 || c.window <= 0 {
		return errors.New("need --size >= 8, --rate > 0, --producers > 0, --window > 0")
	}
	ackPolicy := jetstream.AckNonePolicy
	switch c.ack {
	case "none":
	case "explicit":
		ackPolicy = jetstream.AckExplicitPolicy
	default:
		return fmt.Errorf("--ack %q: want none or explicit", c.ack)
	}
	count := c.count
	if count <= 0 {
		count = int64(c.rate * c.duration.Seconds())
	}

	cn, err := nats.Connect(c.url, nats.Name("natslat-consumer"))
	if err != nil {
		return fmt.Errorf("connect %s: %w", c.url, err)
	}
	defer cn.Close()
	js, err := jetstream.New(cn)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := js.DeleteStream(sctx, c.stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("delete stream %s: %w", c.stream, err)
	}
	stream, err := js.CreateStream(sctx, jetstream.StreamConfig{
		Name: c.stream, Subjects: []string{c.subject}, Storage: jetstream.FileStorage, MaxBytes: 8 << 30, Replicas: 1,
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", c.stream, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(sctx, jetstream.ConsumerConfig{
		Durable: "natslat", AckPolicy: ackPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("create consumer: %w", err)
	}

	// Consumer: every latency is kept (20,000/s x 20 s is 3 MB) and sorted once.
	var (
		mu        sync.Mutex
		lats      = make([]time.Duration, 0, count)
		received  atomic.Int64
		bytes     atomic.Int64
		ackErrs   atomic.Int64
		firstRecv atomic.Int64
		lastRecv  atomic.Int64
	)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		now := time.Now()
		data := m.Data()
		if len(data) >= 8 {
			sent := int64(binary.BigEndian.Uint64(data))
			mu.Lock()
			lats = append(lats, now.Sub(time.Unix(0, sent)))
			mu.Unlock()
		}
		if ackPolicy == jetstream.AckExplicitPolicy {
			if err := m.Ack(); err != nil {
				ackErrs.Add(1)
			}
		}
		firstRecv.CompareAndSwap(0, now.UnixNano())
		lastRecv.Store(now.UnixNano())
		bytes.Add(int64(len(data)))
		received.Add(1)
	}, jetstream.PullMaxMessages(c.batch))
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	defer cc.Stop()

	// Producers: one connection and one JetStream context each, sends
	// paced by one schedule over all of them (send i at start + i/rate).
	var pubErrs atomic.Int64
	var firstErr atomic.Value
	var jss []jetstream.JetStream
	for i := range c.producers {
		pc, err := nats.Connect(c.url, nats.Name(fmt.Sprintf("natslat-producer-%d", i)))
		if err != nil {
			return fmt.Errorf("connect %s: %w", c.url, err)
		}
		defer pc.Close()
		pj, err := jetstream.New(pc, jetstream.WithPublishAsyncMaxPending(c.window),
			jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
				pubErrs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}))
		if err != nil {
			return err
		}
		jss = append(jss, pj)
	}
	fmt.Fprintf(out, "end to end on NATS stream %s: %.0f msg/s offered by %d producers (window %d), %d messages of %d bytes, consumer ack %s\n",
		c.stream, c.rate, c.producers, c.window, count, c.size, c.ack)
	var claimed atomic.Int64
	var sendErrs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for _, pj := range jss {
		wg.Go(func() {
			for {
				seq := claimed.Add(1) - 1
				if seq >= count {
					return
				}
				due := start.Add(time.Duration(float64(seq) / c.rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				data := make([]byte, c.size)
				for i := 8; i < len(data); i++ {
					data[i] = 'a' + byte(i%26)
				}
				binary.BigEndian.PutUint64(data, uint64(time.Now().UnixNano()))
				if _, err := pj.PublishAsync(c.subject, data); err != nil {
					sendErrs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		})
	}
	wg.Wait()
	for _, pj := range jss {
		select {
		case <-pj.PublishAsyncComplete():
		case <-time.After(c.drain):
		}
	}
	produced := time.Since(start)
	sent := count - sendErrs.Load() - pubErrs.Load()
	deadline := time.Now().Add(c.drain)
	for received.Load() < sent && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cc.Stop()

	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lats)
	errs := sendErrs.Load() + pubErrs.Load()
	fmt.Fprintf(out, "produce: %d messages, %.1f MB in %s, %d errors\nthroughput: %.0f msg/s, %.1f MB/s\n",
		sent, float64(sent*int64(c.size))/1e6, produced.Round(time.Millisecond), errs,
		float64(sent)/produced.Seconds(), float64(sent*int64(c.size))/1e6/produced.Seconds())
	recvSpan := time.Duration(lastRecv.Load() - start.UnixNano())
	n := received.Load()
	fmt.Fprintf(out, "consume: %d messages, %.1f MB in %s, %d errors\nthroughput: %.0f msg/s, %.1f MB/s\n",
		n, float64(bytes.Load())/1e6, recvSpan.Round(time.Millisecond), ackErrs.Load(),
		float64(n)/recvSpan.Seconds(), float64(bytes.Load())/1e6/recvSpan.Seconds())
	fmt.Fprintf(out, "end-to-end latency: p50 %s  p99 %s  p999 %s  max %s  mean %s\n",
		ms(quantile(lats, 0.5)), ms(quantile(lats, 0.99)), ms(quantile(lats, 0.999)), ms(quantile(lats, 1)), ms(mean(lats)))
	if e, ok := firstErr.Load().(string); ok {
		fmt.Fprintf(out, "error: %s\n", e)
	}
	if missing := sent - n; missing > 0 {
		fmt.Fprintf(out, "not received within the drain time: %d\n", missing)
		return fmt.Errorf("%d of %d messages not received", missing, sent)
	}
	if errs > 0 {
		return fmt.Errorf("%d publishes failed", errs)
	}
	return nil
}

// quantile returns the value at rank ceil(q*n) of sorted s (0 when empty).
func quantile(s []time.Duration, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return s[min(i, len(s)-1)]
}

func mean(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return sum / time.Duration(len(s))
}

// ms prints like bolide bench: milliseconds with microsecond precision.
func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond)) }
