package compat

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	_ "unsafe" // go:linkname

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/bolidemq/bolide/internal/protocol"
)

// consumersDeadline bounds every scenario in this file.
const consumersDeadline = 90 * time.Second

// localOffsetStoreDir is where broadcasting consumers keep their offsets.
// The client reads env rocketmq.client.localOffsetStoreDir once, in its
// package init, so setting the variable from a test (t.Setenv) is too
// late; the tests set the resulting path directly instead.
//
//go:linkname localOffsetStoreDir github.com/apache/rocketmq-client-go/v2/consumer._LocalOffsetStorePath
var localOffsetStoreDir string

// useTempOffsetStore points broadcasting consumers created from now on at
// a temporary directory, which it returns.
func useTempOffsetStore(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("rocketmq.client.localOffsetStoreDir", dir) // for anything reading the env later
	old := localOffsetStoreDir
	localOffsetStoreDir = dir
	t.Cleanup(func() { localOffsetStoreDir = old })
	return dir
}

// startPushConsumer starts a push consumer of group subscribed to every
// message of topic, delivering into col; opts add to or override the
// defaults (clustering, from the first offset).
func startPushConsumer(t *testing.T, c *cluster, group, topic string, col *collector, opts ...consumer.Option) rocketmq.PushConsumer {
	t.Helper()
	return startFuncConsumer(t, c, group, topic, col.consume, opts...)
}

// ownedQueues returns the ids of topic's queues a push consumer currently
// holds (its process queue table, as it reports in
// GET_CONSUMER_RUNNING_INFO), sorted. The client offers no public API for
// this; its runtime info type lives in an internal package, so it is read
// by reflection.
func ownedQueues(t *testing.T, pc rocketmq.PushConsumer, topic string) []int {
	t.Helper()
	m := reflect.ValueOf(pc).MethodByName("GetConsumerRunningInfo")
	if !m.IsValid() {
		t.Fatalf("%T has no GetConsumerRunningInfo", pc)
	}
	table := m.Call([]reflect.Value{reflect.ValueOf(false)})[0].Elem().FieldByName("MQTable")
	var ids []int
	for _, k := range table.MapKeys() {
		if mq := k.Interface().(primitive.MessageQueue); mq.Topic == topic {
			ids = append(ids, mq.QueueId)
		}
	}
	slices.Sort(ids)
	return ids
}

// produceN sends n messages "<prefix>-<i>" synchronously; the producer's
// round-robin selector spreads them evenly over the topic's queues. It
// returns them keyed by body.
func produceN(t *testing.T, ctx context.Context, p rocketmq.Producer, topic, prefix string, n int) map[string]sent {
	t.Helper()
	out := map[string]sent{}
	for i := range n {
		s := sent{body: fmt.Appendf(nil, "%s-%d", prefix, i), tag: "TagA"}
		r, err := p.SendSync(ctx, s.message(topic))
		if err != nil {
			t.Fatalf("SendSync %s-%d: %v", prefix, i, err)
		}
		out[string(s.body)] = s.withResult(r, 0)
	}
	return out
}

// queuesOf returns the distinct queue ids of msgs, sorted.
func queuesOf(msgs map[string]*primitive.MessageExt) []int {
	set := map[int]bool{}
	for _, m := range msgs {
		set[m.Queue.QueueId] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// TestOfficialClientClusteringRebalance: two clustering push consumers of
// one group split an 8-queue topic; when one leaves, the broker's
// NOTIFY_CONSUMER_IDS_CHANGED makes the other take over every queue.
func TestOfficialClientClusteringRebalance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), consumersDeadline)
	defer cancel()
	c := startCluster(t)
	const queues = 8
	topic := uniqueName(t, "Rebalance")
	c.createTopic(t, topic, queues)
	p := newProducer(t, c)
	group := uniqueName(t, "cg")

	col1, col2 := newCollector(), newCollector()
	c1 := startPushConsumer(t, c, group, topic, col1)
	c2 := startPushConsumer(t, c, group, topic, col2)

	// Wait until the two hold disjoint halves covering the topic: only
	// then can no queue be pulled by both.
	start := time.Now()
	var own1, own2 []int
	poll(t, 45*time.Second, "queues split between the two consumers", func() (bool, string) {
		own1, own2 = ownedQueues(t, c1, topic), ownedQueues(t, c2, topic)
		all := slices.Sorted(slices.Values(append(slices.Clone(own1), own2...)))
		ok := len(own1) > 0 && len(own2) > 0 && slices.Equal(all, []int{0, 1, 2, 3, 4, 5, 6, 7})
		return ok, fmt.Sprintf("c1 %v c2 %v", own1, own2)
	})
	t.Logf("split after %v: c1 %v, c2 %v", time.Since(start).Round(time.Millisecond), own1, own2)

	first := produceN(t, ctx, p, topic, "first", 4*queues)
	all := newCollector() // the union, for waiting
	for {
		got1, _ := col1.snapshot()
		got2, _ := col2.snapshot()
		all.mu.Lock()
		maps.Copy(all.got, got1)
		maps.Copy(all.got, got2)
		n := len(all.got)
		all.mu.Unlock()
		if n >= len(first) {
			break
		}
		select {
		case <-col1.changed:
		case <-col2.changed:
		case <-ctx.Done():
			t.Fatalf("both consumers together got %d of %d messages", n, len(first))
		}
	}
	got1, dups1 := col1.snapshot()
	got2, dups2 := col2.snapshot()
	if len(got1) == 0 || len(got2) == 0 {
		t.Errorf("consumer 1 got %d messages, consumer 2 got %d: want both some", len(got1), len(got2))
	}
	for k := range got1 {
		if _, ok := got2[k]; ok {
			t.Errorf("%q consumed by both consumers", k)
		}
	}
	if len(dups1)+len(dups2) > 0 {
		t.Errorf("redelivered while both ran: %q %q", dups1, dups2)
	}
	for i, got := range []map[string]*primitive.MessageExt{got1, got2} {
		own := [][]int{own1, own2}[i]
		if q := queuesOf(got); !slices.Equal(q, own) {
			t.Errorf("consumer %d got messages of queues %v, owns %v", i+1, q, own)
		}
		for k, m := range got {
			if s, ok := first[k]; !ok {
				t.Errorf("consumer %d: unexpected message %q", i+1, k)
			} else if err := s.check(topic, m); err != nil {
				t.Error(err)
			}
		}
	}

	// Everything acknowledged: the survivor must resume where the leaver
	// stopped.
	c.waitCommitted(t, group, topic, queues)
	if err := shutdownConsumer(t, c1); err != nil {
		t.Fatalf("consumer 1 shutdown: %v", err)
	}
	start = time.Now()
	poll(t, 45*time.Second, "consumer 2 taking over every queue", func() (bool, string) {
		own2 = ownedQueues(t, c2, topic)
		return len(own2) == queues, fmt.Sprintf("c2 %v", own2)
	})
	t.Logf("takeover after %v", time.Since(start).Round(time.Millisecond))

	second := produceN(t, ctx, p, topic, "second", 2*queues)
	col2.waitFor(ctx, t, second)
	got2, dups2 = col2.snapshot()
	fromSecond := map[string]*primitive.MessageExt{}
	for k, m := range got2 {
		if s, ok := second[k]; ok {
			fromSecond[k] = m
			if err := s.check(topic, m); err != nil {
				t.Error(err)
			}
		} else if _, ok := first[k]; ok && got1[k] != nil {
			t.Errorf("consumer 2 received %q, which consumer 1 had consumed and committed", k)
		}
	}
	if q := queuesOf(fromSecond); len(q) != queues {
		t.Errorf("after the takeover consumer 2 got messages of queues %v, want all %d", q, queues)
	}
	if len(dups2) > 0 {
		t.Errorf("consumer 2 redelivered: %q", dups2)
	}
}

// TestOfficialClientBroadcasting: two broadcasting push consumers of one
// group each receive every message, keeping offsets in local files.
func TestOfficialClientBroadcasting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), consumersDeadline)
	defer cancel()
	dir := useTempOffsetStore(t)
	c := startCluster(t)
	const queues = 4
	topic := uniqueName(t, "Broadcast")
	c.createTopic(t, topic, queues)
	p := newProducer(t, c)
	group := uniqueName(t, "bg")

	want := produceN(t, ctx, p, topic, "before", 2*queues)
	cols := []*collector{newCollector(), newCollector()}
	var pcs []rocketmq.PushConsumer
	for _, col := range cols {
		pcs = append(pcs, startPushConsumer(t, c, group, topic, col, consumer.WithConsumerModel(consumer.BroadCasting)))
	}
	maps.Copy(want, produceN(t, ctx, p, topic, "after", 2*queues))

	for i, col := range cols {
		col.waitFor(ctx, t, want)
		got, dups := col.snapshot()
		if len(got) != len(want) || len(dups) > 0 {
			t.Errorf("consumer %d: %d distinct messages (want %d), redelivered %q", i+1, len(got), len(want), dups)
		}
		for k, m := range got {
			if s, ok := want[k]; !ok {
				t.Errorf("consumer %d: unexpected message %q", i+1, k)
			} else if err := s.check(topic, m); err != nil {
				t.Errorf("consumer %d: %v", i+1, err)
			}
		}
	}
	// Broadcasting offsets are the client's: on shutdown each consumer
	// writes them to <dir>/<group>/<clientID>/offset.json (the client
	// passes group and client id to NewLocalFileOffsetStore swapped, so
	// not <clientID>/<group> as its code intends).
	for i, pc := range pcs {
		if err := shutdownConsumer(t, pc); err != nil {
			t.Errorf("consumer %d shutdown: %v", i+1, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*", "offset.json"))
	if len(files) != len(pcs) || !strings.Contains(files[0], group) {
		t.Errorf("local offset files %v, want one per consumer under %s", files, dir)
	}
}

// pulled is one message a pull consumer returned.
type pulled struct {
	queue  int
	offset int64
	body   string
}

// TestOfficialClientLitePullSeek: a lite pull consumer assigned every queue
// polls all messages, seeks one queue back and gets its messages again
// from there; PullFrom reads a range directly.
func TestOfficialClientLitePullSeek(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), consumersDeadline)
	defer cancel()
	c := startCluster(t)
	const queues = 4
	topic := uniqueName(t, "LitePull")
	c.createTopic(t, topic, queues)
	p := newProducer(t, c)
	first := produceN(t, ctx, p, topic, "first", 5*queues)

	// Assign every queue before Start (as examples/consumer/pull/poll_assign
	// does after a nil Assign): Assign on a running consumer races with its
	// rebalance goroutine in this client version.
	mqs, err := newAdmin(t, c.ns).FetchPublishMessageQueues(ctx, topic)
	if err != nil || len(mqs) != queues {
		t.Fatalf("FetchPublishMessageQueues = %v, %v; want %d queues", mqs, err, queues)
	}
	newPull := func() rocketmq.PullConsumer {
		pc, err := rocketmq.NewPullConsumer(
			consumer.WithGroupName(uniqueName(t, "lpg")),
			consumer.WithInstance(uniqueName(t, "lp")),
			consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.ns})),
			consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
			consumer.WithPullBatchSize(32),
		)
		if err != nil {
			t.Fatal(err)
		}
		return pc
	}
	pc := newPull()
	if err := pc.Assign(topic, mqs); err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("pull consumer start: %v", err)
	}
	t.Cleanup(func() { _ = shutdownConsumer(t, pc) })

	var got []pulled
	// pollUntil polls (and acknowledges) until done says so.
	pollUntil := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			if ctx.Err() != nil {
				t.Fatalf("%s: not reached by the deadline; polled %d messages: %v", what, len(got), got)
			}
			cr, err := pc.Poll(ctx, time.Second)
			if consumer.IsNoNewMsgError(err) {
				continue
			}
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			for _, m := range cr.GetMsgList() {
				if m.Topic != topic || m.Queue == nil || m.Queue.QueueId != cr.GetMQ().QueueId {
					t.Errorf("polled %q: topic %q queue %v, request queue %v", m.Body, m.Topic, m.Queue, cr.GetMQ())
				}
				got = append(got, pulled{queue: cr.GetMQ().QueueId, offset: m.QueueOffset, body: string(m.Body)})
			}
			pc.ACK(ctx, cr, consumer.ConsumeSuccess)
		}
	}
	has := func(want map[string]sent) func() bool {
		return func() bool {
			seen := map[string]bool{}
			for _, g := range got {
				seen[g.body] = true
			}
			for k := range want {
				if !seen[k] {
					return false
				}
			}
			return true
		}
	}
	pollUntil("poll every message", has(first))
	byPos := map[[2]int64]string{} // (queue, offset) -> body
	for _, g := range got {
		s, ok := first[g.body]
		if !ok || s.queueID != g.queue || s.queueOff != g.offset {
			t.Errorf("polled %+v; sent %+v", g, s)
		}
		if b, dup := byPos[[2]int64{int64(g.queue), g.offset}]; dup {
			t.Errorf("queue %d offset %d polled twice (%q, %q)", g.queue, g.offset, b, g.body)
		}
		byPos[[2]int64{int64(g.queue), g.offset}] = g.body
	}

	// Seek queue 0 back to offset 1. The queue's pending long poll takes
	// the seek on its next round: new messages (one per queue) end it.
	var mq0 *primitive.MessageQueue
	for _, mq := range mqs {
		if mq.QueueId == 0 {
			mq0 = mq
		}
	}
	maxOff, err := c.broker.Store().MaxOffset(topic, 0)
	if err != nil || maxOff < 3 {
		t.Fatalf("queue 0 max offset %d, %v; want ≥ 3", maxOff, err)
	}
	const seekTo = 1
	pc.SeekOffset(mq0, seekTo)
	before := len(got)
	second := produceN(t, ctx, p, topic, "second", queues)
	replayed := func() bool {
		n := 0
		for _, g := range got[before:] {
			if g.queue == 0 && g.offset >= seekTo && g.offset < maxOff {
				n++
			}
		}
		return n >= int(maxOff-seekTo) && has(second)()
	}
	pollUntil("messages of queue 0 again after the seek", replayed)
	again := map[int64]bool{}
	for _, g := range got[before:] {
		if _, isNew := second[g.body]; isNew {
			continue
		}
		want, ok := byPos[[2]int64{int64(g.queue), g.offset}]
		switch {
		case g.queue != 0 || g.offset < seekTo:
			t.Errorf("polled %+v again: only queue 0 from offset %d was rewound", g, seekTo)
		case !ok || want != g.body:
			t.Errorf("after the seek queue 0 offset %d is %q, was %q", g.offset, g.body, want)
		}
		again[g.offset] = true
	}
	if len(again) != int(maxOff-seekTo) {
		t.Errorf("after the seek got queue 0 offsets %v again, want %d..%d", slices.Sorted(maps.Keys(again)), seekTo, maxOff-1)
	}

	// PullFrom: a direct read of a range. It rewrites fields the poll loop
	// reads (a data race in this client version), so it gets a consumer of
	// its own, with no queues assigned and thus no poll loop.
	direct := newPull()
	if err := direct.Assign(topic, nil); err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if err := direct.Start(); err != nil {
		t.Fatalf("pull consumer start: %v", err)
	}
	t.Cleanup(func() { _ = shutdownConsumer(t, direct) })
	res, err := direct.PullFrom(ctx, &primitive.MessageQueue{Topic: topic, BrokerName: mq0.BrokerName, QueueId: 0}, 2, 2)
	if err != nil {
		t.Fatalf("PullFrom: %v", err)
	}
	msgs := res.GetMessageExts()
	if res.Status != primitive.PullFound || len(msgs) != 2 {
		t.Fatalf("PullFrom(queue 0, 2, 2) = status %v, %d messages", res.Status, len(msgs))
	}
	for i, m := range msgs {
		if want := byPos[[2]int64{0, int64(2 + i)}]; m.QueueOffset != int64(2+i) || string(m.Body) != want {
			t.Errorf("PullFrom message %d: offset %d body %q, want offset %d body %q", i, m.QueueOffset, m.Body, 2+i, want)
		}
	}
	if res.NextBeginOffset != 4 || res.MaxOffset < maxOff {
		t.Errorf("PullFrom: nextBeginOffset %d maxOffset %d, want 4 and ≥ %d", res.NextBeginOffset, res.MaxOffset, maxOff)
	}
}

// TestOfficialClientAdminTopicLifecycle: the admin client creates a topic
// on the broker, lists it, and deletes it from the broker and the name
// server.
func TestOfficialClientAdminTopicLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), consumersDeadline)
	defer cancel()
	c := startCluster(t)
	topic := uniqueName(t, "Admin")
	c.createTopic(t, topic, 3) // admin.CreateTopic with the broker address, then the route

	adm := newAdmin(t, c.ns)
	list, err := adm.FetchAllTopicList(ctx)
	if err != nil {
		t.Fatalf("FetchAllTopicList: %v", err)
	}
	if !slices.Contains(list.TopicList, topic) {
		t.Fatalf("FetchAllTopicList does not list %s: %v", topic, list.TopicList)
	}

	// No broker address: the admin finds the broker from the route.
	if err := adm.DeleteTopic(ctx, admin.WithTopicDelete(topic)); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	// The admin ignores reply codes: check the effects.
	gone := func(what string) {
		t.Helper()
		list, err := adm.FetchAllTopicList(ctx)
		if err != nil {
			t.Fatalf("%s: FetchAllTopicList: %v", what, err)
		}
		if slices.Contains(list.TopicList, topic) {
			t.Errorf("%s: FetchAllTopicList still lists %s", what, topic)
		}
		resp, err := c.invoke(ctx, c.ns, protocol.GetRouteInfoByTopic, &protocol.GetRouteInfoRequestHeader{Topic: topic})
		if err != nil || resp.Code != int32(protocol.TopicNotExist) {
			t.Errorf("%s: route lookup: %v %v, want TOPIC_NOT_EXIST", what, resp, err)
		}
		// A fresh admin (the first one caches routes) finds no route.
		if mqs, err := newAdmin(t, c.ns).FetchPublishMessageQueues(ctx, topic); err == nil {
			t.Errorf("%s: route of the deleted topic: %v", what, mqs)
		}
		resp, err = c.invoke(ctx, c.broker.Addr(), protocol.GetTopicConfig, &protocol.GetTopicConfigRequestHeader{Topic: topic})
		if err != nil || resp.Code != int32(protocol.TopicNotExist) {
			t.Errorf("%s: broker GET_TOPIC_CONFIG: %v %v, want TOPIC_NOT_EXIST", what, resp, err)
		}
	}
	gone("after DeleteTopic")
	// The broker's next registration must not bring the route back.
	c.broker.RegisterAll(ctx)
	gone("after the broker re-registered")
}
