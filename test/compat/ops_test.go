package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// TestOfficialClientOperationalQueries: after an official Go push consumer
// has consumed a topic, the broker's read side of the admin commands
// describes it: its connection, its running info (which the broker fetches
// from the consumer itself), its progress, the topic's offsets, who
// consumes the topic, and the messages by key.
func TestOfficialClientOperationalQueries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), consumersDeadline)
	defer cancel()
	c := startCluster(t)
	topic, group := uniqueName(t, "t"), uniqueName(t, "g")
	c.createTopic(t, topic, 4)
	p := newProducer(t, c)
	want := map[string]sent{}
	for i := range 8 {
		s := sent{body: fmt.Appendf(nil, "ops-%d", i), tag: "TagA", keys: []string{"order-7", fmt.Sprint("k", i)}}
		r, err := p.SendSync(ctx, s.message(topic))
		if err != nil {
			t.Fatalf("SendSync: %v", err)
		}
		want[string(s.body)] = s.withResult(r, 0)
	}
	col := newCollector()
	startPushConsumer(t, c, group, topic, col)
	col.waitFor(ctx, t, want)
	c.waitCommitted(t, group, topic, 4)
	addr := c.broker.Addr()

	// GET_CONSUMER_CONNECTION_LIST: the client's id, language, subscription.
	resp, err := c.invoke(ctx, addr, protocol.GetConsumerConnectionList, &protocol.GetConsumerConnectionListRequestHeader{ConsumerGroup: group})
	if err != nil || resp.Code != int32(protocol.Success) {
		t.Fatalf("consumer connections: %v %+v", err, resp)
	}
	var cc body.ConsumerConnection
	if err := cc.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	if len(cc.ConnectionSet) != 1 || cc.ConnectionSet[0].Language != "GO" || cc.ConsumeType != body.ConsumePassively {
		t.Fatalf("consumer connections: %+v", cc)
	}
	if _, ok := cc.SubscriptionTable[topic]; !ok {
		t.Errorf("subscriptions %v lack %s", cc.SubscriptionTable, topic)
	}
	clientID := cc.ConnectionSet[0].ClientID

	// GET_CONSUMER_RUNNING_INFO, answered by the consumer through the broker.
	resp, err = c.invoke(ctx, addr, protocol.GetConsumerRunningInfo,
		&protocol.GetConsumerRunningInfoRequestHeader{ConsumerGroup: group, ClientID: clientID})
	if err != nil || resp.Code != int32(protocol.Success) {
		t.Fatalf("running info: %v %+v", err, resp)
	}
	// rocketmq-client-go answers SUCCESS with no body and this remark when
	// its statistics hold a NaN (an average over no samples), which
	// encoding/json refuses: the broker relays that answer as it is. The
	// remark can only come from the client, so either way the call went
	// through the broker to the consumer and back.
	t.Logf("running info: remark %q, %d-byte body", resp.Remark, len(resp.Body))
	if resp.Remark != "json marshal error: json: unsupported value: NaN" {
		var info struct {
			Properties      map[string]string `json:"properties"`
			SubscriptionSet []struct {
				Topic string `json:"topic"`
			} `json:"subscriptionSet"`
		}
		if err := json.Unmarshal(resp.Body, &info); err != nil {
			t.Fatalf("running info body %q: %v (%+v)", resp.Body, err, resp)
		}
		if len(info.Properties) == 0 || len(info.SubscriptionSet) != 1 || info.SubscriptionSet[0].Topic != topic {
			t.Errorf("running info: %s", resp.Body)
		}
	}
	resp, _ = c.invoke(ctx, addr, protocol.GetConsumerRunningInfo,
		&protocol.GetConsumerRunningInfoRequestHeader{ConsumerGroup: group, ClientID: "nobody@0"})
	if resp == nil || resp.Code != int32(protocol.SystemError) {
		t.Errorf("running info of an unknown client: %+v", resp)
	}

	// GET_CONSUME_STATS: everything consumed, nothing in flight.
	resp, err = c.invoke(ctx, addr, protocol.GetConsumeStats, &protocol.GetConsumeStatsRequestHeader{ConsumerGroup: group, Topic: topic})
	if err != nil || resp.Code != int32(protocol.Success) {
		t.Fatalf("consume stats: %v %+v", err, resp)
	}
	var cs body.ConsumeStats
	if err := cs.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for mq, ow := range cs.OffsetTable {
		if ow.ConsumerOffset != ow.BrokerOffset || ow.PullOffset != ow.BrokerOffset || ow.FirstUnconsumedTimestamp != 0 ||
			(ow.BrokerOffset > 0 && ow.LastTimestamp <= 0) {
			t.Errorf("%v: %+v", mq, ow)
		}
		total += ow.BrokerOffset
	}
	if len(cs.OffsetTable) != 4 || total != 8 {
		t.Errorf("consume stats: %d queues, %d messages", len(cs.OffsetTable), total)
	}

	// GET_TOPIC_STATS_INFO and QUERY_TOPIC_CONSUME_BY_WHO.
	resp, err = c.invoke(ctx, addr, protocol.GetTopicStatsInfo, &protocol.GetTopicStatsInfoRequestHeader{Topic: topic})
	if err != nil || resp.Code != int32(protocol.Success) {
		t.Fatalf("topic stats: %v %+v", err, resp)
	}
	var ts body.TopicStatsTable
	if err := ts.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	total = 0
	for _, to := range ts.OffsetTable {
		total += to.MaxOffset
	}
	if len(ts.OffsetTable) != 4 || total != 8 {
		t.Errorf("topic stats: %v", ts.OffsetTable)
	}
	resp, err = c.invoke(ctx, addr, protocol.QueryTopicConsumeByWho, &protocol.QueryTopicConsumeByWhoRequestHeader{Topic: topic})
	if err != nil || resp.Code != int32(protocol.Success) {
		t.Fatalf("consumed by: %v %+v", err, resp)
	}
	var gl body.GroupList
	if err := gl.Decode(resp.Body); err != nil || fmt.Sprint(gl.GroupList) != fmt.Sprintf("[%s]", group) {
		t.Errorf("consumed by %v (%v), want [%s]", gl.GroupList, err, group)
	}

	// QUERY_MESSAGE by a key every message has, and by a client message id.
	resp, err = c.invoke(ctx, addr, protocol.QueryMessage, &protocol.QueryMessageRequestHeader{
		Topic: topic, Key: "order-7", MaxNum: 64, EndTimestamp: math.MaxInt64})
	if err != nil || resp.Code != int32(protocol.Success) || bytes.Count(resp.Body, []byte("ops-")) != 8 {
		t.Errorf("query by key: %v code %d, %d bytes", err, resp.Code, len(resp.Body))
	}
	var one sent
	for _, s := range want {
		one = s
		break
	}
	resp, err = c.invoke(ctx, addr, protocol.QueryMessage, &protocol.QueryMessageRequestHeader{
		Topic: topic, Key: one.msgID, MaxNum: 1, EndTimestamp: math.MaxInt64, UniqueKey: "true"})
	if err != nil || resp.Code != int32(protocol.Success) || !bytes.Contains(resp.Body, one.body) || bytes.Count(resp.Body, []byte("ops-")) != 1 {
		t.Errorf("query by unique key %s: %v code %d", one.msgID, err, resp.Code)
	}
}
