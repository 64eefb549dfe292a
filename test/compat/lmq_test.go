package compat

import (
	"context"
	"fmt"
	"testing"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// TestOfficialClientLMQ: the official Go producer sends messages whose
// INNER_MULTI_DISPATCH property names two LMQs (neither created first),
// and the official pull consumer reads one LMQ with PullFrom on
// {Topic: "%LMQ%…", BrokerName, QueueId: 0}.
//
// The LMQ has no route on the name server. The client resolves the broker
// of a pull by name only (FindBrokerAddressInSubscribe(mq.BrokerName, …)
// looks in a table filled by any topic's route), so the consumer first
// learns the broker from the parent topic's route (Assign(parent) before
// Start). Without that, tryFindBroker falls back to
// UpdateTopicRouteInfo("%LMQ%…"), which the name server refuses, and the
// pull fails with ErrBrokerNotFound.
func TestOfficialClientLMQ(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), consumersDeadline)
	defer cancel()
	c := startCluster(t)
	parent := uniqueName(t, "LMQParent")
	c.createTopic(t, parent, 1)
	lmqA, lmqB := "%LMQ%"+uniqueName(t, "a"), "%LMQ%"+uniqueName(t, "b")
	p := newProducer(t, c)

	const n = 3
	for i := range n {
		m := primitive.NewMessage(parent, fmt.Appendf(nil, "lmq-%d", i))
		m.WithProperty("INNER_MULTI_DISPATCH", lmqA+","+lmqB)
		r, err := p.SendSync(ctx, m)
		if err != nil || r.Status != primitive.SendOK {
			t.Fatalf("send %d: %v %v", i, r, err)
		}
	}
	if err := c.broker.Store().Flush(); err != nil {
		t.Fatal(err)
	}
	for _, lmq := range []string{lmqA, lmqB} {
		if max, err := c.broker.Store().MaxOffset(lmq, 0); err != nil || max != n {
			t.Fatalf("%s max offset %d, %v", lmq, max, err)
		}
	}

	group := uniqueName(t, "lmqg")
	pc, err := rocketmq.NewPullConsumer(
		consumer.WithGroupName(group),
		consumer.WithInstance(uniqueName(t, "lp")),
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.ns})),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	// No queue assigned: no poll loop (PullFrom races with it), but the
	// parent topic's route, and so the broker's address by name, is known.
	if err := pc.Assign(parent, nil); err != nil {
		t.Fatalf("Assign: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("pull consumer start: %v", err)
	}
	t.Cleanup(func() { _ = shutdownConsumer(t, pc) })

	// The broker name comes from the parent's route, as a real LMQ user
	// (rocketmq-mqtt) does.
	pmqs, err := newAdmin(t, c.ns).FetchPublishMessageQueues(ctx, parent)
	if err != nil || len(pmqs) != 1 {
		t.Fatalf("FetchPublishMessageQueues = %v, %v", pmqs, err)
	}
	mq := &primitive.MessageQueue{Topic: lmqA, BrokerName: pmqs[0].BrokerName, QueueId: 0}
	res, err := pc.PullFrom(ctx, mq, 1, 32)
	if err != nil {
		t.Fatalf("PullFrom(%s, 1): %v", lmqA, err)
	}
	msgs := res.GetMessageExts()
	if res.Status != primitive.PullFound || len(msgs) != n-1 {
		t.Fatalf("PullFrom(%s, 1) = status %v, %d messages", lmqA, res.Status, len(msgs))
	}
	for i, m := range msgs {
		// The records are the parent's: topic and queue offset are the
		// parent's, the LMQ offsets are in INNER_MULTI_QUEUE_OFFSET.
		if want := fmt.Sprintf("lmq-%d", i+1); string(m.Body) != want || m.Topic != parent {
			t.Errorf("message %d: topic %q body %q, want %q from %q", i, m.Topic, m.Body, want, parent)
		}
		if got, want := m.GetProperty("INNER_MULTI_QUEUE_OFFSET"), fmt.Sprintf("%d,%d", i+1, i+1); got != want {
			t.Errorf("message %d: INNER_MULTI_QUEUE_OFFSET %q, want %q", i, got, want)
		}
	}
	if res.NextBeginOffset != n || res.MaxOffset != n || res.MinOffset != 0 {
		t.Errorf("PullFrom: next %d min %d max %d, want %d 0 %d", res.NextBeginOffset, res.MinOffset, res.MaxOffset, n, n)
	}

}
