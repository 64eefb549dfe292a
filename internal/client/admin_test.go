package client_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// TestAdminRPCs drives every admin wrapper against one broker with LMQs
// on: topics and groups, offsets, stats, queries, resets.
func TestAdminRPCs(t *testing.T) {
	env := clienttest.Start(t, func(c *config.Broker) {
		c.EnableLmq = true
		c.EnableMultiDispatch = true
	})
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := env.BrokerAddr
	const topic, group, lmq = "AdminTopic", "AdminGroup", "%LMQ%admin"

	if err := c.UpdateTopic(ctx, addr, body.TopicConfig{TopicName: topic, ReadQueueNums: 2, WriteQueueNums: 2, Perm: 6,
		Attributes: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	clienttest.WaitRoute(t, c, topic)
	topics, err := c.TopicList(ctx)
	if err != nil || !slices.Contains(topics, topic) {
		t.Fatalf("topic list %v %v", topics, err)
	}

	props := message.Properties{message.PropertyKeys: "key-1", message.PropertyInnerMultiDispatch: lmq}
	sent, err := c.SendTo(ctx, addr, topic, 1, []byte("payload"), props)
	if err != nil {
		t.Fatal(err)
	}
	clienttest.Poll(t, 10*time.Second, func() bool {
		n, err := c.MaxOffset(ctx, addr, lmq, 0)
		return err == nil && n == 1
	})

	// Stats.
	ts, err := c.TopicStats(ctx, addr, topic)
	if err != nil {
		t.Fatal(err)
	}
	q1 := body.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: 1}
	if len(ts.OffsetTable) != 2 || ts.OffsetTable[q1].MaxOffset != 1 || ts.OffsetTable[q1].LastUpdateTimestamp <= 0 {
		t.Fatalf("topic stats %+v", ts)
	}
	if _, err := c.TopicStats(ctx, addr, "%LMQ%never"); !client.IsCode(err, protocol.TopicNotExist) {
		t.Fatalf("stats of an LMQ never held: %v, want TOPIC_NOT_EXIST", err)
	}

	// Offsets.
	if _, err := c.QueryConsumerOffset(ctx, addr, group, topic, 1); !client.IsCode(err, protocol.QueryNotFound) {
		t.Fatalf("offset before commit: %v, want QUERY_NOT_FOUND", err)
	}
	if err := c.UpdateConsumerOffset(ctx, addr, group, topic, 1, 1); err != nil {
		t.Fatal(err)
	}
	if off, err := c.QueryConsumerOffset(ctx, addr, group, topic, 1); err != nil || off != 1 {
		t.Fatalf("committed offset %d %v", off, err)
	}
	if off, err := c.SearchOffset(ctx, addr, topic, 1, 0); err != nil || off != 0 {
		t.Fatalf("search offset %d %v", off, err)
	}
	if off, err := c.SearchOffset(ctx, addr, topic, 1, math.MaxInt64); err != nil || off != 1 {
		t.Fatalf("search offset at the end %d %v", off, err)
	}
	if off, err := c.MinOffset(ctx, addr, topic, 1); err != nil || off != 0 {
		t.Fatalf("min offset %d %v", off, err)
	}
	cs, err := c.ConsumeStats(ctx, addr, group, topic)
	if err != nil || cs.OffsetTable[q1].ConsumerOffset != 1 || cs.OffsetTable[q1].BrokerOffset != 1 {
		t.Fatalf("consume stats %+v %v", cs, err)
	}
	if _, err := c.ConsumeStats(ctx, addr, "NoGroup", topic); !client.IsCode(err, protocol.SubscriptionGroupNotExist) {
		t.Fatalf("stats of an unknown group: %v", err)
	}
	groups, err := c.TopicConsumers(ctx, addr, topic)
	if err != nil || !slices.Contains(groups, group) {
		t.Fatalf("topic consumers %v %v", groups, err)
	}
	if _, err := c.ConsumerConnection(ctx, addr, group); !client.IsCode(err, protocol.ConsumerNotOnline) {
		t.Fatalf("connection of an offline group: %v", err)
	}

	// Queries.
	for _, q := range []protocol.QueryMessageRequestHeader{
		{Topic: topic, Key: "key-1", MaxNum: 64, EndTimestamp: math.MaxInt64, UniqueKey: "false"},
		{Topic: lmq, Key: "key-1", MaxNum: 64, EndTimestamp: math.MaxInt64, UniqueKey: "false"},
		{Topic: topic, Key: sent.UniqKey, MaxNum: 32, EndTimestamp: math.MaxInt64, UniqueKey: "true"},
	} {
		var msgs []*message.Message
		clienttest.Poll(t, 10*time.Second, func() bool {
			msgs, err = c.QueryMessage(ctx, addr, q)
			return err == nil && len(msgs) == 1
		})
		if msgs[0].UniqKey() != sent.UniqKey || string(msgs[0].Body) != "payload" {
			t.Fatalf("query %+v: %+v", q, msgs[0])
		}
	}
	if _, err := c.QueryMessage(ctx, addr, protocol.QueryMessageRequestHeader{Topic: topic, Key: "nokey", MaxNum: 64, EndTimestamp: math.MaxInt64}); !client.IsCode(err, protocol.QueryNotFound) {
		t.Fatalf("query without hit: %v", err)
	}
	_, phy, err := message.ParseOffsetID(sent.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.ViewMessage(ctx, addr, topic, phy)
	if err != nil || m.UniqKey() != sent.UniqKey || m.CommitLogOffset != phy {
		t.Fatalf("view message %+v %v", m, err)
	}

	// Resets.
	zero := int32(1)
	r, err := c.ResetOffset(ctx, addr, protocol.BolideResetOffsetRequestHeader{Topic: topic, Group: group, Timestamp: 0, QueueID: &zero, OpID: "op-1", DryRun: true})
	if err != nil || r.OpID != "op-1" || len(r.Queues) != 1 || r.Queues[0].Old != 1 || r.Queues[0].New != 0 || r.Queues[0].Status != body.ResetPlanned {
		t.Fatalf("dry-run reset %+v %v", r, err)
	}
	rb, err := c.InvokeResetOffset(ctx, addr, protocol.ResetOffsetRequestHeader{Topic: topic, Group: group, Timestamp: 0})
	if err != nil || rb.OffsetTable[q1] != 0 {
		t.Fatalf("upstream reset %+v %v", rb, err)
	}
	if off, err := c.QueryConsumerOffset(ctx, addr, group, topic, 1); err != nil || off != 0 {
		t.Fatalf("offset after reset %d %v", off, err)
	}

	// Runtime info and LMQs.
	info, err := c.BrokerRuntimeInfo(ctx, addr)
	if err != nil || info["brokerVersionDesc"] != "V5_3_3" || info["lmqCount"] != "1" {
		t.Fatalf("runtime info %v %v", info, err)
	}
	l, err := c.LMQList(ctx, addr, "%LMQ%", "", 10)
	if err != nil || l.Count != 1 || len(l.LMQList) != 1 || l.LMQList[0].Name != lmq {
		t.Fatalf("LMQ list %+v %v", l, err)
	}

	// Groups and topic deletion.
	cfg := body.NewSubscriptionGroupConfig("NewGroup")
	if err := c.UpdateGroup(ctx, addr, cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(ctx, addr, "NewGroup", true); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTopicInBroker(ctx, addr, topic); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTopicInNamesrv(ctx, env.NamesrvAddr, "DefaultCluster", topic); err != nil {
		t.Fatal(err)
	}
	clienttest.Poll(t, 10*time.Second, func() bool {
		_, err := c.RefreshRoute(ctx, topic)
		return client.IsCode(err, protocol.TopicNotExist)
	})
	if got := c.NamesrvAddrs(); len(got) != 1 || got[0] != env.NamesrvAddr {
		t.Fatalf("name servers %v", got)
	}
}
