package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/message"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock advances by step on every reading.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

// fakeSender fails every failEvery-th send and ticks the progress line
// after every tickEvery sends.
type fakeSender struct {
	mu        sync.Mutex
	n         int
	failEvery int
	bodies    int
	oneway    int
}

func (f *fakeSender) Send(_ context.Context, _ string, _ int32, body []byte, _ message.Properties) (client.SendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.failEvery > 0 && f.n%f.failEvery == 0 {
		return client.SendResult{}, errors.New("boom")
	}
	if _, ok := Stamp(body); ok {
		f.bodies++
	}
	return client.SendResult{}, nil
}

func (f *fakeSender) SendOneway(ctx context.Context, topic string, q int32, body []byte, p message.Properties) error {
	f.mu.Lock()
	f.oneway++
	f.mu.Unlock()
	_, err := f.Send(ctx, topic, q, body, p)
	return err
}

func TestProduceWithFakes(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0), step: time.Millisecond}
	s1, s2 := &fakeSender{failEvery: 10}, &fakeSender{failEvery: 10}
	res, err := Produce(context.Background(), []Sender{s1, s2}, ProduceConfig{
		Topic: "T", Size: 100, Window: 3, Count: 200, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if s1.n+s2.n != 200 {
		t.Fatalf("%d sends, want 200", s1.n+s2.n)
	}
	if res.Messages+res.Errors != 200 || res.Errors != int64(s1.n/10+s2.n/10) || res.Bytes != res.Messages*100 {
		t.Fatalf("result %+v", res)
	}
	if res.Latency.Count != uint64(res.Messages) || s1.bodies+s2.bodies != int(res.Messages) {
		t.Fatalf("latency count %d, stamped bodies %d, messages %d", res.Latency.Count, s1.bodies+s2.bodies, res.Messages)
	}
	// The fake clock moves 1 ms per reading, so every send took >= 1 ms.
	if res.Latency.Min < time.Millisecond || res.Elapsed <= 0 {
		t.Fatalf("min latency %v, elapsed %v", res.Latency.Min, res.Elapsed)
	}
	if len(res.FirstErrors) != 1 || res.FirstErrors[0] != "boom" {
		t.Fatalf("error samples %q", res.FirstErrors)
	}
	var out bytes.Buffer
	if err := res.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("produce: %d messages", res.Messages), fmt.Sprintf("%d errors", res.Errors), "msg/s", "MB/s", "send latency: p50 ", "p99 ", "p999 ", "error: boom"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}

	one := &fakeSender{}
	res, err = Produce(context.Background(), []Sender{one}, ProduceConfig{Topic: "T", Size: 8, Count: 50, Oneway: true})
	if err != nil || res.Messages != 50 || one.oneway != 50 {
		t.Fatalf("oneway: %+v, %v, %d oneway calls", res, err, one.oneway)
	}
}

// fakeBatcher answers batch sends asynchronously, failing every
// failEvery-th batch, and records the batch sizes and the most batches it
// saw in flight at once.
type fakeBatcher struct {
	fakeSender
	sizes       []int
	inflight    int
	maxInflight int
}

func (f *fakeBatcher) SendBatchAsync(_ context.Context, _ string, _ int32, msgs []*message.Message, done func(client.BatchResult, error)) error {
	f.mu.Lock()
	f.sizes = append(f.sizes, len(msgs))
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	fail := f.failEvery > 0 && len(f.sizes)%f.failEvery == 0
	for _, m := range msgs {
		if _, ok := Stamp(m.Body); ok {
			f.bodies++
		}
	}
	f.mu.Unlock()
	go func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
		if fail {
			done(client.BatchResult{}, errors.New("batch boom"))
			return
		}
		done(client.BatchResult{}, nil)
	}()
	return nil
}

// TestProduceBatches: --batch sends the count in full batches and one
// partial one, counts every message of a failed batch as failed, and
// keeps window/batch requests in flight at most.
func TestProduceBatches(t *testing.T) {
	b1, b2 := &fakeBatcher{fakeSender: fakeSender{failEvery: 3}}, &fakeBatcher{fakeSender: fakeSender{failEvery: 3}}
	res, err := Produce(context.Background(), []Sender{b1, b2}, ProduceConfig{Topic: "T", Size: 64, Window: 64, Count: 1000, Batch: 32})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	sizes = append(append(sizes, b1.sizes...), b2.sizes...)
	sum, partial := 0, 0
	for _, n := range sizes {
		sum += n
		if n != 32 {
			partial++
		}
	}
	if sum != 1000 || partial != 1 || len(sizes) != 32 {
		t.Fatalf("batch sizes %v: %d messages, %d partial batches; want 1000 in 31 full batches and one of 8", sizes, sum, partial)
	}
	failed := 0
	for _, b := range []*fakeBatcher{b1, b2} {
		for i, n := range b.sizes {
			if (i+1)%3 == 0 {
				failed += n
			}
		}
		if b.maxInflight > 2 {
			t.Fatalf("%d batches in flight, window 64 / batch 32 allows 2", b.maxInflight)
		}
		if b.n != 0 {
			t.Fatalf("%d single sends in batch mode", b.n)
		}
	}
	if res.Messages+res.Errors != 1000 || res.Errors != int64(failed) || b1.bodies+b2.bodies != 1000 {
		t.Fatalf("result %+v, %d messages in failed batches, %d stamped bodies", res, failed, b1.bodies+b2.bodies)
	}
	if _, err := Produce(context.Background(), []Sender{&fakeSender{}}, ProduceConfig{Topic: "T", Size: 64, Count: 10, Batch: 4}); err == nil {
		t.Fatal("batch mode with a sender that cannot batch")
	}
}

func TestProduceConfigErrors(t *testing.T) {
	s := []Sender{&fakeSender{}}
	for name, cfg := range map[string]ProduceConfig{
		"small":    {Topic: "T", Size: 7, Count: 1},
		"no limit": {Topic: "T", Size: 8},
		"no topic": {Size: 8, Count: 1},
	} {
		if _, err := Produce(context.Background(), s, cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Produce(context.Background(), nil, ProduceConfig{Topic: "T", Size: 8, Count: 1}); err == nil {
		t.Error("no producers: no error")
	}
	if _, err := Consume(context.Background(), nil, ConsumeConfig{Group: "g", Count: 1}); err == nil {
		t.Error("no queues: no error")
	}
	q := []client.MessageQueue{{Topic: "T"}}
	if _, err := Consume(context.Background(), nil, ConsumeConfig{Group: "g", Queues: q}); err == nil {
		t.Error("no limit: no error")
	}
	if _, err := Consume(context.Background(), nil, ConsumeConfig{Queues: q, Count: 1}); err == nil {
		t.Error("no group: no error")
	}
	if _, err := Consume(context.Background(), nil, ConsumeConfig{Group: "g", Queues: q, Offsets: []int64{1, 2}, Count: 1}); err == nil {
		t.Error("offsets mismatch: no error")
	}
}

func TestProduceDurationAndCancel(t *testing.T) {
	res, err := Produce(context.Background(), []Sender{&fakeSender{}}, ProduceConfig{Topic: "T", Size: 16, Duration: 50 * time.Millisecond})
	if err != nil || res.Messages == 0 || res.Errors != 0 {
		t.Fatalf("duration run: %+v, %v", res, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err = Produce(ctx, []Sender{&fakeSender{}}, ProduceConfig{Topic: "T", Size: 16, Duration: time.Hour})
	if err != nil || res.Errors != 0 {
		t.Fatalf("cancelled run: %+v, %v", res, err)
	}
}

func TestProgressLine(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	st := newStats()
	rep := newReporter("sent", st, clock.Now, clock.Now())
	for range 100 {
		st.hist.Record(2 * time.Millisecond)
	}
	st.hist.Record(50 * time.Millisecond)
	st.messages.Add(101)
	st.bytes.Add(2_000_000)
	st.errors.Add(3)
	clock.t = clock.t.Add(2 * time.Second)
	got := rep.line()
	want := "   2.0s  sent 101  50 msg/s  1.0 MB/s  p99 2.007ms  errors 3\n"
	if got != want {
		t.Fatalf("line\n%q, want\n%q", got, want)
	}
	// The next line covers only the next interval.
	st.hist.Record(10 * time.Millisecond)
	st.messages.Add(1)
	clock.t = clock.t.Add(time.Second)
	if got, want := rep.line(), "   3.0s  sent 102  1 msg/s  0.0 MB/s  p99 10.027ms  errors 3\n"; got != want {
		t.Fatalf("line\n%q, want\n%q", got, want)
	}

	// run writes a line per tick and stops.
	var buf syncBuffer
	ticks := make(chan time.Time)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { rep.run(Progress{W: &buf, Ticks: ticks}, stop); close(done) }()
	ticks <- time.Time{}
	ticks <- time.Time{}
	close(stop)
	<-done
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines after 2 ticks: %q", n, buf.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestStamp(t *testing.T) {
	b := make([]byte, 8)
	now := time.Unix(1700000000, 123456789)
	PutStamp(b, now)
	if got, ok := Stamp(b); !ok || !got.Equal(now) {
		t.Fatalf("stamp %v %v", got, ok)
	}
	if _, ok := Stamp(b[:7]); ok {
		t.Fatal("short body has a stamp")
	}
	if _, ok := Stamp(make([]byte, 8)); ok {
		t.Fatal("zero stamp accepted")
	}
}

// TestProduceConsumeAgainstBroker runs both generators for a few hundred
// messages against an in-process broker and checks the numbers agree.
func TestProduceConsumeAgainstBroker(t *testing.T) {
	env := clienttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var clients []*client.Client
	var senders []Sender
	for range 2 {
		c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
		t.Cleanup(func() { _ = c.Close() })
		clients = append(clients, c)
		senders = append(senders, c)
	}
	const topic = "BenchTest"
	if err := clients[0].CreateTopic(ctx, env.BrokerAddr, topic, 4); err != nil {
		t.Fatal(err)
	}
	route := clienttest.WaitRoute(t, clients[0], topic)
	for _, c := range clients[1:] {
		clienttest.WaitRoute(t, c, topic)
	}

	var progress syncBuffer
	const n, size = 400, 256
	pres, err := Produce(ctx, senders, ProduceConfig{
		Topic: topic, Size: size, Window: 4, Count: n,
		Progress: Progress{W: &progress, Interval: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if pres.Messages != n || pres.Errors != 0 || pres.Bytes != n*size || pres.Latency.Count != n || pres.MsgPerSec() <= 0 {
		t.Fatalf("produce: %+v %v", pres, pres.FirstErrors)
	}
	// Consume queues are written after the acknowledgement: wait for them.
	clienttest.Poll(t, 10*time.Second, func() bool {
		total, err := StoredMessages(ctx, clients[0], route.ReadQueues)
		return err == nil && total == n
	})
	for _, q := range route.ReadQueues {
		m, err := clients[0].MaxOffset(ctx, q.BrokerAddr, topic, q.QueueID)
		if err != nil {
			t.Fatal(err)
		}
		if m == 0 {
			t.Errorf("queue %d got no message", q.QueueID)
		}
	}

	// Oneway sends land too.
	ores, err := Produce(ctx, senders[:1], ProduceConfig{Topic: topic, Size: size, Window: 2, Count: 100, Oneway: true})
	if err != nil || ores.Messages != 100 || ores.Errors != 0 {
		t.Fatalf("oneway produce: %+v, %v", ores, err)
	}

	// Two pullers over four queues (multi-queue sweeping), from the start.
	cres, err := Consume(ctx, clients[0], ConsumeConfig{
		Group: "BenchGroup", Queues: route.ReadQueues, Pullers: 2, Count: n + 100, Duration: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cres.Messages != n+100 || cres.Errors != 0 || cres.Bytes != (n+100)*size || cres.Latency.Count != n+100 {
		t.Fatalf("consume: %+v %v", cres, cres.FirstErrors)
	}
	if cres.Latency.Min <= 0 {
		t.Fatalf("end-to-end latency min %v", cres.Latency.Min)
	}

	// One puller per queue from the end, long-polling, while producing.
	offsets := make([]int64, len(route.ReadQueues))
	for i, q := range route.ReadQueues {
		offsets[i], _ = clients[0].MaxOffset(ctx, q.BrokerAddr, topic, q.QueueID)
	}
	var wg sync.WaitGroup
	var live *Result
	wg.Go(func() {
		live, err = Consume(ctx, clients[1], ConsumeConfig{
			Group: "BenchGroup2", Queues: route.ReadQueues, Offsets: offsets, Count: 200, Duration: 30 * time.Second,
			Suspend: 2 * time.Second,
		})
	})
	// Live: the consumer's pulls are waiting on every queue before the
	// producer starts.
	clienttest.Poll(t, 10*time.Second, func() bool { return env.Broker.HeldPulls() == len(route.ReadQueues) })
	if _, err := Produce(ctx, senders, ProduceConfig{Topic: topic, Size: size, Window: 2, Count: 200}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err != nil || live.Messages != 200 || live.Errors != 0 || live.Latency.Count != 200 {
		t.Fatalf("live consume: %+v, %v", live, err)
	}
	if live.Latency.Max > 10*time.Second {
		t.Fatalf("live end-to-end max %v", live.Latency.Max)
	}
	var out bytes.Buffer
	if err := live.WriteSummary(&out); err != nil || !strings.Contains(out.String(), "consume: 200 messages") {
		t.Fatalf("summary %q, %v", out.String(), err)
	}
}

func TestConsumeIdleStop(t *testing.T) {
	env := clienttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.CreateTopic(ctx, env.BrokerAddr, "IdleTopic", 1); err != nil {
		t.Fatal(err)
	}
	route := clienttest.WaitRoute(t, c, "IdleTopic")
	if _, err := Produce(ctx, []Sender{c}, ProduceConfig{Topic: "IdleTopic", Size: 32, Count: 10}); err != nil {
		t.Fatal(err)
	}
	// Sends are answered before dispatch: wait until all ten are pullable,
	// so that the idle stop measures the consumer, not the dispatcher.
	clienttest.Poll(t, 10*time.Second, func() bool {
		n, err := StoredMessages(ctx, c, route.ReadQueues)
		return err == nil && n == 10
	})
	start := time.Now()
	res, err := Consume(ctx, c, ConsumeConfig{Group: "G", Queues: route.ReadQueues, Duration: 20 * time.Second,
		IdleStop: 200 * time.Millisecond, Suspend: 5 * time.Second})
	if err != nil || res.Messages != 10 {
		t.Fatalf("%+v, %v", res, err)
	}
	if time.Since(start) > 3*time.Second { // not waiting out the 5 s long poll
		t.Fatalf("idle stop took %v", time.Since(start))
	}
}

func TestEnsureTopic(t *testing.T) {
	env := clienttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	var out bytes.Buffer
	r, err := EnsureTopic(ctx, c, "EnsureA", "", "DefaultCluster", 3, &out)
	if err != nil || len(r.WriteQueues) != 3 || !strings.Contains(out.String(), "created topic EnsureA with 3 queues on "+env.BrokerAddr) {
		t.Fatalf("%+v, %v, %q", r, err, out.String())
	}
	out.Reset()
	if _, err := EnsureTopic(ctx, c, "EnsureA", "", "DefaultCluster", 5, &out); err != nil || out.Len() != 0 {
		t.Fatalf("existing topic: %v, %q", err, out.String())
	}
	if r, err := EnsureTopic(ctx, c, "EnsureB", "", "NoSuchCluster", 2, &out); err != nil || len(r.ReadQueues) != 2 {
		t.Fatalf("fallback to first broker: %+v, %v", r, err)
	}
	if r, err := EnsureTopic(ctx, c, "EnsureC", env.BrokerAddr, "", 1, &out); err != nil || len(r.ReadQueues) != 1 {
		t.Fatalf("explicit broker: %+v, %v", r, err)
	}
}

type fakeOffsets struct {
	mu sync.Mutex
	n  int64
}

func (f *fakeOffsets) MaxOffset(context.Context, string, string, int32) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n < 10 {
		f.n++
	}
	return f.n, nil
}

func TestWaitStored(t *testing.T) {
	q := []client.MessageQueue{{Topic: "T"}}
	n, err := WaitStored(context.Background(), &fakeOffsets{}, q, 5, time.Second)
	if err != nil || n != 5 {
		t.Fatalf("reach want: %d, %v", n, err)
	}
	n, err = WaitStored(context.Background(), &fakeOffsets{}, q, 100, 100*time.Millisecond)
	if err != nil || n != 10 {
		t.Fatalf("settle: %d, %v", n, err)
	}
}
