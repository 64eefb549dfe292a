package compat

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// testDeadline bounds every scenario in this file.
const testDeadline = 60 * time.Second

// cluster is a name server and one broker running in process.
type cluster struct {
	ns     string
	broker *broker.Broker
	cli    *remoting.Client // Bolide's own client, for probing the servers
}

// startCluster runs a name server and a broker registered with it on
// random loopback ports, and waits until the broker's TBW102 route (the
// one auto-creation relies on) is visible on the name server.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	c := startBrokerOn(t, startNamesrv(t), nil)
	c.waitRoute(t, "TBW102")
	return c
}

// startBrokerOn starts a broker (LMQ on, data in a temporary directory, a
// random port) registered with the name server at ns; mut, if set, adjusts
// its config first. It is shut down at the end of the test.
func startBrokerOn(t *testing.T, ns string, mut func(*config.Broker)) *cluster {
	t.Helper()
	return startBrokerSpec(t, ns, brokerSpec{mut: mut})
}

// invoke sends one request with Bolide's client.
func (c *cluster) invoke(ctx context.Context, addr string, code protocol.RequestCode, header any) (*remoting.Command, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.cli.Invoke(ctx, addr, remoting.NewRequest(int32(code), protocol.EncodeHeader(header), nil))
}

// poll calls cond every 50 ms until it returns true or timeout passes;
// then it fails the test with what cond last reported.
func poll(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v (last: %s)", what, timeout, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRoute waits until the name server serves a route for topic.
func (c *cluster) waitRoute(t *testing.T, topic string) {
	t.Helper()
	poll(t, 15*time.Second, "route of "+topic, func() (bool, string) {
		resp, err := c.invoke(context.Background(), c.ns, protocol.GetRouteInfoByTopic, &protocol.GetRouteInfoRequestHeader{Topic: topic})
		if err != nil {
			return false, err.Error()
		}
		return resp.Code == int32(protocol.Success) && len(resp.Body) > 0, fmt.Sprintf("code %d %s", resp.Code, resp.Remark)
	})
}

// committedOffset reads group's committed offset of a queue with
// QUERY_CONSUMER_OFFSET.
func (c *cluster) committedOffset(group, topic string, queue int32) (int64, error) {
	resp, err := c.invoke(context.Background(), c.broker.Addr(), protocol.QueryConsumerOffset,
		&protocol.QueryConsumerOffsetRequestHeader{ConsumerGroup: group, Topic: topic, QueueID: queue})
	if err != nil {
		return 0, err
	}
	if resp.Code != int32(protocol.Success) {
		return 0, fmt.Errorf("code %d %s", resp.Code, resp.Remark)
	}
	return strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
}

// waitCommitted waits until group has committed, for every one of the
// topic's queues, the queue's max offset: everything stored so far is
// consumed and acknowledged to the broker.
func (c *cluster) waitCommitted(t *testing.T, group, topic string, queues int32) {
	t.Helper()
	// The Go client persists offsets every 5 s.
	poll(t, 20*time.Second, "committed offsets of "+group, func() (bool, string) {
		var state []string
		done := true
		for q := range queues {
			maxOff, err := c.broker.Store().MaxOffset(topic, q)
			if err != nil {
				return false, err.Error()
			}
			off, err := c.committedOffset(group, topic, q)
			if err != nil || off != maxOff {
				done = false
			}
			state = append(state, fmt.Sprintf("q%d=%d/%d(%v)", q, off, maxOff, err))
		}
		return done, strings.Join(state, " ")
	})
}

// createTopic creates topic on the broker with the official admin client
// and waits for its route.
func (c *cluster) createTopic(t *testing.T, topic string, queues int) {
	t.Helper()
	adm := newAdmin(t, c.ns)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := adm.CreateTopic(ctx, admin.WithTopicCreate(topic), admin.WithBrokerAddrCreate(c.broker.Addr()),
		admin.WithReadQueueNums(queues), admin.WithWriteQueueNums(queues)); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	c.waitRoute(t, topic)
	// The admin ignores the reply code: check the effect.
	mqs, err := adm.FetchPublishMessageQueues(ctx, topic)
	if err != nil || len(mqs) != queues {
		t.Fatalf("FetchPublishMessageQueues(%s) = %d queues, %v; want %d", topic, len(mqs), err, queues)
	}
}

// uniqueName returns a name unique to this test run, usable as a topic,
// group or client instance name.
func uniqueName(t *testing.T, kind string) string {
	return fmt.Sprintf("%s_%s_%d", kind, strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
}

func newProducer(t *testing.T, c *cluster, opts ...producer.Option) rocketmq.Producer {
	t.Helper()
	p, err := rocketmq.NewProducer(append([]producer.Option{
		producer.WithGroupName(uniqueName(t, "pg")),
		producer.WithInstanceName(uniqueName(t, "p")),
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.ns})),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5 * time.Second),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatalf("producer start: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown() })
	return p
}

// sent is what was produced, for comparison with what is consumed.
type sent struct {
	body  []byte
	tag   string
	keys  []string
	props map[string]string

	// What the SendResult promised, when there was one.
	result     bool
	msgID      string // "" for batch members: the broker assigns it
	offsetID   string
	queueID    int
	queueOff   int64
	compressed bool // sent zlib compressed (sysFlag bit 0)
}

// withResult records what send result r said about message i of its
// batch (0 for a single message).
func (s sent) withResult(r *primitive.SendResult, i int) sent {
	s.result = true
	if i == 0 {
		s.msgID = r.MsgID
	}
	if ids := strings.Split(r.OffsetMsgID, ","); i < len(ids) {
		s.offsetID = ids[i]
	}
	if r.MessageQueue != nil {
		s.queueID = r.MessageQueue.QueueId
	}
	s.queueOff = r.QueueOffset + int64(i)
	return s
}

func (s sent) message(topic string) *primitive.Message {
	m := primitive.NewMessage(topic, s.body)
	if s.tag != "" {
		m.WithTag(s.tag)
	}
	if len(s.keys) > 0 {
		m.WithKeys(s.keys)
	}
	for k, v := range s.props {
		m.WithProperty(k, v)
	}
	return m
}

// check compares a consumed message with what was sent.
func (s sent) check(topic string, m *primitive.MessageExt) error {
	var errs []string
	if m.Topic != topic {
		errs = append(errs, fmt.Sprintf("topic %q, want %q", m.Topic, topic))
	}
	if !bytes.Equal(m.Body, s.body) {
		errs = append(errs, fmt.Sprintf("body of %d bytes differs (sent %d)", len(m.Body), len(s.body)))
	}
	if m.GetTags() != s.tag {
		errs = append(errs, fmt.Sprintf("tag %q, want %q", m.GetTags(), s.tag))
	}
	if want := strings.Join(s.keys, " "); m.GetKeys() != want {
		errs = append(errs, fmt.Sprintf("keys %q, want %q", m.GetKeys(), want))
	}
	for k, v := range s.props {
		if got := m.GetProperty(k); got != v {
			errs = append(errs, fmt.Sprintf("property %s=%q, want %q", k, got, v))
		}
	}
	if m.MsgId == "" || m.OffsetMsgId == "" {
		errs = append(errs, fmt.Sprintf("msgId %q offsetMsgId %q", m.MsgId, m.OffsetMsgId))
	}
	if m.ReconsumeTimes != 0 || m.BornTimestamp <= 0 || m.StoreTimestamp < m.BornTimestamp-60_000 {
		errs = append(errs, fmt.Sprintf("reconsumeTimes %d bornTimestamp %d storeTimestamp %d", m.ReconsumeTimes, m.BornTimestamp, m.StoreTimestamp))
	}
	if s.result {
		if s.msgID != "" && m.MsgId != s.msgID {
			errs = append(errs, fmt.Sprintf("msgId %q, send result said %q", m.MsgId, s.msgID))
		}
		if m.OffsetMsgId != s.offsetID {
			errs = append(errs, fmt.Sprintf("offsetMsgId %q, send result said %q", m.OffsetMsgId, s.offsetID))
		}
		if m.Queue == nil || m.Queue.QueueId != s.queueID || m.QueueOffset != s.queueOff {
			errs = append(errs, fmt.Sprintf("queue %v offset %d, send result said queue %d offset %d", m.Queue, m.QueueOffset, s.queueID, s.queueOff))
		}
	}
	if got := m.SysFlag&primitive.FlagCompressed != 0; got != s.compressed {
		errs = append(errs, fmt.Sprintf("compressed flag %v, want %v", got, s.compressed))
	}
	if len(errs) > 0 {
		return fmt.Errorf("message %.40q: %s", s.body, strings.Join(errs, "; "))
	}
	return nil
}

// checkResult checks a single message's SendResult.
func checkResult(t *testing.T, what, topic string, r *primitive.SendResult, brokerAddr string) {
	t.Helper()
	if r.Status != primitive.SendOK {
		t.Errorf("%s: status %d, want SendOK: %v", what, r.Status, r)
	}
	if r.MsgID == "" {
		t.Errorf("%s: empty MsgID: %v", what, r)
	}
	checkOffsetMsgIDs(t, what, r.OffsetMsgID, brokerAddr)
	if r.MessageQueue == nil || r.MessageQueue.Topic != topic || r.QueueOffset < 0 {
		t.Errorf("%s: queue %v offset %d", what, r.MessageQueue, r.QueueOffset)
	}
}

// checkOffsetMsgIDs decodes a (comma-separated, for batches) offset
// message id and checks that it names the broker's store host.
func checkOffsetMsgIDs(t *testing.T, what, ids, brokerAddr string) {
	t.Helper()
	if ids == "" {
		t.Errorf("%s: empty OffsetMsgID", what)
		return
	}
	for _, id := range strings.Split(ids, ",") {
		mid, err := primitive.UnmarshalMsgID([]byte(id))
		if err != nil {
			t.Errorf("%s: OffsetMsgID %q: %v", what, id, err)
			continue
		}
		if got := fmt.Sprintf("%s:%d", mid.Addr, mid.Port); got != brokerAddr || mid.Offset < 0 {
			t.Errorf("%s: OffsetMsgID %q decodes to %s offset %d, want store host %s", what, id, got, mid.Offset, brokerAddr)
		}
	}
}

// collector gathers consumed messages keyed by body.
type collector struct {
	mu      sync.Mutex
	got     map[string]*primitive.MessageExt
	dups    []string
	changed chan struct{}
}

func newCollector() *collector {
	return &collector{got: map[string]*primitive.MessageExt{}, changed: make(chan struct{}, 1)}
}

func (c *collector) consume(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	c.mu.Lock()
	for _, m := range msgs {
		k := string(m.Body)
		if _, dup := c.got[k]; dup {
			c.dups = append(c.dups, k)
		}
		c.got[k] = m
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return consumer.ConsumeSuccess, nil
}

// snapshot returns a copy of what was consumed so far.
func (c *collector) snapshot() (map[string]*primitive.MessageExt, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.got), slices.Clone(c.dups)
}

// waitFor waits until every body in want has been consumed.
func (c *collector) waitFor(ctx context.Context, t *testing.T, want map[string]sent) map[string]*primitive.MessageExt {
	t.Helper()
	for {
		got, _ := c.snapshot()
		missing := 0
		for k := range want {
			if _, ok := got[k]; !ok {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		select {
		case <-c.changed:
		case <-ctx.Done():
			t.Fatalf("consumed %d messages, %d of %d expected ones still missing: %v", len(got), missing, len(want), ctx.Err())
		}
	}
}

// startConsumer starts a clustering push consumer of group subscribed to
// topic with a tag expression, delivering into col.
func startConsumer(t *testing.T, c *cluster, group, topic, expr string, col *collector) rocketmq.PushConsumer {
	t.Helper()
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "c")),
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.ns})),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: expr}, col.consume); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("consumer start: %v", err)
	}
	t.Cleanup(func() { _ = shutdownConsumer(t, pc) }) // idempotent
	return pc
}

// produceAll sends msgs with every send mode of the producer and checks
// the results. It returns the messages the consumer must receive.
func produceAll(t *testing.T, ctx context.Context, c *cluster, p rocketmq.Producer, topic string) map[string]sent {
	t.Helper()
	want := map[string]sent{}
	add := func(s sent) *primitive.Message {
		want[string(s.body)] = s
		return s.message(topic)
	}

	// Messages the tag expression excludes, sent first: the producer picks
	// queues round robin, so every queue ends with a matching message. (A
	// queue ending with an excluded one would have its offset committed
	// only after the consumer's next long poll returned, some 20 s later:
	// the client commits offsets of consumed messages, and of empty pulls.)
	for i := range 2 {
		m := sent{body: fmt.Appendf(nil, "filtered-%d", i), tag: "TagC"}
		if _, err := p.SendSync(ctx, m.message(topic)); err != nil {
			t.Fatalf("SendSync TagC: %v", err)
		}
	}

	// Sync, with tags, keys and user properties.
	for i := range 6 {
		tag := []string{"TagA", "TagB"}[i%2]
		m := add(sent{
			body: fmt.Appendf(nil, "sync-%d", i), tag: tag, keys: []string{fmt.Sprintf("key-%d", i), "common"},
			props: map[string]string{"color": "blue", "index": strconv.Itoa(i), "with space": "a b\tc"},
		})
		r, err := p.SendSync(ctx, m)
		if err != nil {
			t.Fatalf("SendSync %d: %v", i, err)
		}
		checkResult(t, "SendSync", topic, r, c.broker.Addr())
		k := string(m.Body)
		want[k] = want[k].withResult(r, 0)
	}

	// Async.
	var wg sync.WaitGroup
	var asyncOK atomic.Int32
	var mu sync.Mutex // guards want in the callbacks
	for i := range 4 {
		mu.Lock()
		m := add(sent{body: fmt.Appendf(nil, "async-%d", i), tag: "TagA", keys: []string{fmt.Sprintf("akey-%d", i)}})
		mu.Unlock()
		wg.Add(1)
		err := p.SendAsync(ctx, func(_ context.Context, r *primitive.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("SendAsync callback %d: %v", i, err)
				return
			}
			checkResult(t, "SendAsync", topic, r, c.broker.Addr())
			mu.Lock()
			k := string(m.Body)
			want[k] = want[k].withResult(r, 0)
			mu.Unlock()
			asyncOK.Add(1)
		}, m)
		if err != nil {
			wg.Done()
			t.Fatalf("SendAsync %d: %v", i, err)
		}
	}
	asyncDone := make(chan struct{})
	go func() { wg.Wait(); close(asyncDone) }()
	select {
	case <-asyncDone:
	case <-ctx.Done():
		t.Fatalf("async sends: %d callbacks by the deadline", asyncOK.Load())
	}

	// Oneway: no result; the consumer proves it arrived.
	for i := range 3 {
		if err := p.SendOneWay(ctx, add(sent{body: fmt.Appendf(nil, "oneway-%d", i), tag: "TagB"})); err != nil {
			t.Fatalf("SendOneWay %d: %v", i, err)
		}
	}

	// A batch: one SEND_BATCH_MESSAGE; the client reports no MsgID for a
	// batch, only the broker's comma-separated offset message ids.
	var batch []*primitive.Message
	for i := range 5 {
		batch = append(batch, add(sent{
			body: fmt.Appendf(nil, "batch-%d", i), tag: "TagA", keys: []string{fmt.Sprintf("bkey-%d", i)},
			props: map[string]string{"batchIndex": strconv.Itoa(i)},
		}))
	}
	r, err := p.SendSync(ctx, batch...)
	if err != nil {
		t.Fatalf("batch SendSync: %v", err)
	}
	if r.Status != primitive.SendOK || r.QueueOffset < 0 {
		t.Errorf("batch: %v", r)
	}
	checkOffsetMsgIDs(t, "batch", r.OffsetMsgID, c.broker.Addr())
	if n := len(strings.Split(r.OffsetMsgID, ",")); n != len(batch) {
		t.Errorf("batch: %d offset message ids, want %d: %q", n, len(batch), r.OffsetMsgID)
	}
	for i, m := range batch {
		k := string(m.Body)
		want[k] = want[k].withResult(r, i)
	}

	// A body over the client's 4 KiB compression threshold: sent zlib
	// compressed (sysFlag bit 0), stored so, and inflated by the consumer.
	big := []byte("compressed-" + strings.Repeat("0123456789abcdef", 1024))
	r, err = p.SendSync(ctx, add(sent{body: big, tag: "TagB", keys: []string{"big"}, props: map[string]string{"size": strconv.Itoa(len(big))}, compressed: true}))
	if err != nil {
		t.Fatalf("compressed SendSync: %v", err)
	}
	checkResult(t, "compressed SendSync", topic, r, c.broker.Addr())
	want[string(big)] = want[string(big)].withResult(r, 0)

	return want
}

// roundTrip produces every kind of message to topic and checks that a
// clustering push consumer subscribed to "TagA || TagB" gets exactly those
// (and not the TagC ones).
func roundTrip(t *testing.T, ctx context.Context, c *cluster, p rocketmq.Producer, topic string, queues int32) {
	t.Helper()
	want := produceAll(t, ctx, c, p, topic)
	col := newCollector()
	group := uniqueName(t, "cg")
	startConsumer(t, c, group, topic, "TagA || TagB", col)
	got := col.waitFor(ctx, t, want)
	for k, m := range got {
		s, ok := want[k]
		if !ok {
			t.Errorf("unexpected message %.40q (tag %q)", k, m.GetTags())
			continue
		}
		if err := s.check(topic, m); err != nil {
			t.Error(err)
		}
	}
	// Everything, the excluded messages included, ends up acknowledged.
	c.waitCommitted(t, group, topic, queues)
	got, dups := col.snapshot()
	if len(got) != len(want) || len(dups) > 0 {
		t.Errorf("consumed %d distinct messages (want %d), redelivered: %q", len(got), len(want), dups)
	}
}

// TestOfficialClientSendAndConsume: a topic created with the admin
// client, every send mode, and a tag-filtering clustering push consumer.
func TestOfficialClientSendAndConsume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	c := startCluster(t)
	topic := uniqueName(t, "T")
	c.createTopic(t, topic, 8)
	roundTrip(t, ctx, c, newProducer(t, c), topic, 8)
}

// TestOfficialClientAutoCreateTopic: the producer sends to a topic nobody
// created; the client falls back to TBW102's route, the broker creates the
// topic and registers it, and consumers find it.
func TestOfficialClientAutoCreateTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	c := startCluster(t)
	topic := uniqueName(t, "Auto")
	p := newProducer(t, c)
	r, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte("first")).WithTag("TagA"))
	if err != nil {
		t.Fatalf("SendSync to a new topic: %v", err)
	}
	checkResult(t, "first SendSync", topic, r, c.broker.Addr())
	first := sent{body: []byte("first"), tag: "TagA"}.withResult(r, 0)
	c.waitRoute(t, topic)
	// Upstream sizes an auto-created topic min(the client's
	// defaultTopicQueueNums, 4 for the Go client; TBW102's queues).
	mqs, err := newAdmin(t, c.ns).FetchPublishMessageQueues(ctx, topic)
	if err != nil || len(mqs) != 4 {
		t.Fatalf("route of the auto-created topic: %d queues, %v; want 4", len(mqs), err)
	}

	want := produceAll(t, ctx, c, p, topic)
	want["first"] = first
	col := newCollector()
	startConsumer(t, c, uniqueName(t, "cg"), topic, "TagA || TagB", col)
	got := col.waitFor(ctx, t, want)
	t.Logf("consumed %d messages, want %d", len(got), len(want))
	for k, m := range got {
		if s, ok := want[k]; !ok {
			t.Errorf("unexpected message %.40q (tag %q)", k, m.GetTags())
		} else if err := s.check(topic, m); err != nil {
			t.Error(err)
		}
	}
}

// TestOfficialClientOffsetsResume: a consumer that consumed N messages and
// committed its offsets is stopped; M more are produced; a new consumer of
// the same group gets exactly the M new ones.
func TestOfficialClientOffsetsResume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	c := startCluster(t)
	const queues = 4
	topic := uniqueName(t, "Resume")
	c.createTopic(t, topic, queues)
	p := newProducer(t, c)
	group := uniqueName(t, "cg")

	produce := func(prefix string, n int) map[string]sent {
		out := map[string]sent{}
		for i := range n {
			s := sent{body: fmt.Appendf(nil, "%s-%d", prefix, i), tag: "TagA", keys: []string{prefix}}
			r, err := p.SendSync(ctx, s.message(topic))
			if err != nil {
				t.Fatalf("SendSync %s-%d: %v", prefix, i, err)
			}
			out[string(s.body)] = s.withResult(r, 0)
		}
		return out
	}

	first := produce("first", 20)
	col1 := newCollector()
	c1 := startConsumer(t, c, group, topic, "*", col1)
	col1.waitFor(ctx, t, first)
	c.waitCommitted(t, group, topic, queues)
	if err := shutdownConsumer(t, c1); err != nil {
		t.Fatalf("consumer shutdown: %v", err)
	}

	second := produce("second", 10)
	col2 := newCollector()
	startConsumer(t, c, group, topic, "*", col2)
	col2.waitFor(ctx, t, second)
	// Once the new consumer has committed everything, any redelivery of
	// the first batch would already have been consumed.
	c.waitCommitted(t, group, topic, queues)
	got, dups := col2.snapshot()
	for k, m := range got {
		if s, ok := second[k]; !ok {
			t.Errorf("the resumed consumer received %q, which the first one had consumed and committed", k)
		} else if err := s.check(topic, m); err != nil {
			t.Error(err)
		}
	}
	if len(dups) > 0 {
		t.Errorf("redelivered: %q", dups)
	}
}
