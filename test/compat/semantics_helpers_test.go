package compat

// Helpers of the messaging-semantics tests (semantics_*_test.go): retries
// and DLQ, delayed delivery, transactions and orderly consumption.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/remoting"
)

// timeSlack is how far apart the test's clock and the broker's may read
// the same instant (both are this machine's clock; the slack covers
// millisecond truncation and the order of the reads).
const timeSlack = 50 * time.Millisecond

// brokerConf returns a config mutation setting broker.conf keys, given as
// key, value pairs.
func brokerConf(t *testing.T, kv ...string) func(*config.Broker) {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatalf("brokerConf: odd number of arguments %q", kv)
	}
	return func(bc *config.Broker) {
		for i := 0; i < len(kv); i += 2 {
			if err := config.SetBrokerKey(bc, kv[i], kv[i+1]); err != nil {
				t.Fatalf("broker.conf %s=%s: %v", kv[i], kv[i+1], err)
			}
		}
	}
}

// brokerSpec says how to start a broker in the semantics tests: startBrokerOn
// plus a fixed data directory and port (for restarts) and a hook on the
// broker.Config (for settings that are not broker.conf keys).
type brokerSpec struct {
	dir   string // "" = a new temporary directory
	port  int    // 0 = a random free port
	mut   func(*config.Broker)
	setup func(*broker.Config)
}

// startBrokerSpec starts a broker (LMQ on, as startBrokerOn) registered
// with the name server at ns. It is shut down at the end of the test;
// shutting it down earlier is fine (Shutdown is idempotent).
func startBrokerSpec(t *testing.T, ns string, spec brokerSpec) *cluster {
	t.Helper()
	bc := config.DefaultBroker()
	bc.StorePathRootDir = spec.dir
	if bc.StorePathRootDir == "" {
		bc.StorePathRootDir = t.TempDir()
	}
	bc.ListenPort = spec.port
	bc.NamesrvAddr = []string{ns}
	bc.MappedFileSizeCommitLog = 64 << 20
	bc.EnableLmq = true
	bc.EnableMultiDispatch = true
	if spec.mut != nil {
		spec.mut(&bc)
	}
	cfg := broker.Config{Broker: bc}
	if spec.setup != nil {
		spec.setup(&cfg)
	}
	b, err := broker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Listen(); err != nil {
		t.Fatal(err)
	}
	cli := remoting.NewClient(remoting.ClientConfig{})
	t.Cleanup(func() {
		_ = cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("broker shutdown: %v", err)
		}
	})
	return &cluster{ns: ns, broker: b, cli: cli}
}

// probe returns Bolide's internal client pointed at c's name server, for
// GET_MAX_OFFSET and pulls; it is closed at the end of the test.
func (c *cluster) probe(t *testing.T) *client.Client {
	cli := client.New(client.Config{NamesrvAddrs: []string{c.ns}})
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// maxOffsets sums GET_MAX_OFFSET over queues 0..queues-1 of topic on c's
// broker: how many messages of the topic a consumer can see.
func (c *cluster) maxOffsets(ctx context.Context, cli *client.Client, topic string, queues int32) (int64, error) {
	var sum int64
	for q := range queues {
		off, err := cli.MaxOffset(ctx, c.broker.Addr(), topic, q)
		if err != nil {
			return 0, fmt.Errorf("max offset of %s queue %d: %w", topic, q, err)
		}
		sum += off
	}
	return sum, nil
}

// storedCount sums the store's max offsets over the first 16 queues of
// topic: how many messages it holds, whatever its queue count (retry and
// DLQ topics are created by the broker).
func (c *cluster) storedCount(t *testing.T, topic string) int64 {
	t.Helper()
	var sum int64
	for q := range int32(16) {
		off, err := c.broker.Store().MaxOffset(topic, q)
		if err != nil {
			t.Fatalf("store max offset of %s queue %d: %v", topic, q, err)
		}
		sum += off
	}
	return sum
}

// delivery is one call of a consumer's handler for one message.
type delivery struct {
	at  time.Time
	msg *primitive.MessageExt
}

// recorder keeps every delivery, in order, under a mutex.
type recorder struct {
	mu   sync.Mutex
	all  []delivery
	wake chan struct{}
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) add(m *primitive.MessageExt) {
	r.mu.Lock()
	r.all = append(r.all, delivery{at: time.Now(), msg: m})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// of returns the deliveries of the message with body b, in order.
func (r *recorder) of(b string) []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []delivery
	for _, d := range r.all {
		if string(d.msg.Body) == b {
			out = append(out, d)
		}
	}
	return out
}

// waitN waits until the message with body b was delivered at least n
// times, and returns its deliveries.
func (r *recorder) waitN(ctx context.Context, t *testing.T, b string, n int) []delivery {
	t.Helper()
	for {
		if ds := r.of(b); len(ds) >= n {
			return ds
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			t.Fatalf("%q delivered %d times, want %d: %v", b, len(r.of(b)), n, ctx.Err())
		}
	}
}

// startFuncConsumer starts a clustering push consumer of group on every
// message of topic, from the first offset, calling fn for each delivery;
// opts add to or override the defaults.
// startRecordingConsumer starts a push consumer that records every message
// it gets and acknowledges it.
func startRecordingConsumer(t *testing.T, c *cluster, group, topic string) *recorder {
	t.Helper()
	rec := newRecorder()
	startFuncConsumer(t, c, group, topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			rec.add(m)
		}
		return consumer.ConsumeSuccess, nil
	})
	return rec
}

func startFuncConsumer(t *testing.T, c *cluster, group, topic string,
	fn func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error), opts ...consumer.Option) rocketmq.PushConsumer {
	t.Helper()
	pc, err := rocketmq.NewPushConsumer(append([]consumer.Option{
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "c")),
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.ns})),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, fn); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("consumer start: %v", err)
	}
	t.Cleanup(func() { _ = shutdownConsumer(t, pc) }) // idempotent
	return pc
}

// existingGroup makes group exist before a test's consumer of topic
// starts, as a group in production does: a consumer of the group runs
// until the broker has created %RETRY%<group> (on its heartbeat) and the
// name server serves that topic's route, then stops. The official client
// resolves its subscriptions' routes when it starts, before its first
// heartbeat, and then only every 30 s, so a brand-new group's consumer
// gets its first retry 30 to 50 s late (against Apache RocketMQ as well).
func (c *cluster) existingGroup(t *testing.T, group, topic string) {
	t.Helper()
	pc := startFuncConsumer(t, c, group, topic, func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		return consumer.ConsumeSuccess, nil
	})
	c.waitRoute(t, "%RETRY%"+group)
	if err := shutdownConsumer(t, pc); err != nil {
		t.Fatalf("shutdown of the group's first consumer: %v", err)
	}
}
