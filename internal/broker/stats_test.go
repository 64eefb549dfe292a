package broker

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// putTimed stores one message and returns its store time, waiting until
// it is dispatched.
func putTimed(t *testing.T, b *Broker, topic string, queue int32, lmqs ...string) int64 {
	t.Helper()
	m := &message.Message{Topic: topic, QueueID: queue, Body: []byte("x"), BornHost: testBornHost, BornTimestamp: time.Now().UnixMilli()}
	if len(lmqs) > 0 {
		m.Properties.Set(message.PropertyInnerMultiDispatch, strings.Join(lmqs, ","))
	}
	res, err := b.store.Put(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	return res.StoreTime
}

// topicStatsOf calls GET_TOPIC_STATS_INFO; the table is decoded on success.
func topicStatsOf(t *testing.T, b *Broker, cli *remoting.Client, topic string) (body.TopicStatsTable, *remoting.Command) {
	t.Helper()
	resp := call(t, b, cli, protocol.GetTopicStatsInfo, &protocol.GetTopicStatsInfoRequestHeader{Topic: topic}, nil)
	var ts body.TopicStatsTable
	if resp.Code == int32(protocol.Success) {
		if err := ts.Decode(resp.Body); err != nil {
			t.Fatalf("decode TopicStatsTable: %v", err)
		}
	}
	return ts, resp
}

// consumeStatsOf calls GET_CONSUME_STATS; the stats are decoded on success.
func consumeStatsOf(t *testing.T, b *Broker, cli *remoting.Client, h protocol.GetConsumeStatsRequestHeader) (body.ConsumeStats, *remoting.Command) {
	t.Helper()
	resp := call(t, b, cli, protocol.GetConsumeStats, &h, nil)
	var cs body.ConsumeStats
	if resp.Code == int32(protocol.Success) {
		if err := cs.Decode(resp.Body); err != nil {
			t.Fatalf("decode ConsumeStats: %v", err)
		}
	}
	return cs, resp
}

func wantCode(t *testing.T, what string, resp *remoting.Command, code protocol.ResponseCode, remark string) {
	t.Helper()
	if resp.Code != int32(code) || (remark != "" && resp.Remark != remark) {
		t.Errorf("%s: code %d remark %q; want %d %q", what, resp.Code, resp.Remark, code, remark)
	}
}

func mqOf(b *Broker, topic string, q int32) body.MessageQueue {
	return body.MessageQueue{Topic: topic, BrokerName: b.Name(), QueueID: q}
}

func TestTopicStatsInfo(t *testing.T) {
	b, cli := startBroker(t, nil)
	tc := newTopicConfig("T", 2, permRead|permWrite)
	tc.WriteQueueNums = 3 // rows for max(read, write) queues
	if err := b.topics.CreateOrUpdate(tc); err != nil {
		t.Fatal(err)
	}
	putTimed(t, b, "T", 0)
	putTimed(t, b, "T", 0)
	last := putTimed(t, b, "T", 0)
	q2 := putTimed(t, b, "T", 2)

	ts, resp := topicStatsOf(t, b, cli, "T")
	wantCode(t, "T", resp, protocol.Success, "")
	want := map[body.MessageQueue]body.TopicOffset{
		mqOf(b, "T", 0): {MinOffset: 0, MaxOffset: 3, LastUpdateTimestamp: last},
		mqOf(b, "T", 1): {},
		mqOf(b, "T", 2): {MaxOffset: 1, LastUpdateTimestamp: q2},
	}
	if fmt.Sprint(ts.OffsetTable) != fmt.Sprint(want) || ts.TopicPutTps != 0 {
		t.Errorf("stats %v tps %v; want %v", ts.OffsetTable, ts.TopicPutTps, want)
	}

	_, resp = topicStatsOf(t, b, cli, "Nope")
	wantCode(t, "unknown topic", resp, protocol.TopicNotExist, "topic[Nope] not exist")
	wantCode(t, "no header", call(t, b, cli, protocol.GetTopicStatsInfo, nil, nil), protocol.InvalidParameter, "")

	// LMQs: one row for queue 0 where held.
	putTimed(t, b, "T", 0, "%LMQ%a")
	lastA := putTimed(t, b, "T", 1, "%LMQ%a", "%LMQ%b")
	ts, resp = topicStatsOf(t, b, cli, "%LMQ%a")
	wantCode(t, "LMQ", resp, protocol.Success, "")
	want = map[body.MessageQueue]body.TopicOffset{mqOf(b, "%LMQ%a", 0): {MaxOffset: 2, LastUpdateTimestamp: lastA}}
	if fmt.Sprint(ts.OffsetTable) != fmt.Sprint(want) {
		t.Errorf("LMQ stats %v; want %v", ts.OffsetTable, want)
	}
	ts, _ = topicStatsOf(t, b, cli, "%LMQ%b")
	if got := ts.OffsetTable[mqOf(b, "%LMQ%b", 0)]; got.MaxOffset != 1 || len(ts.OffsetTable) != 1 {
		t.Errorf("LMQ b stats %v", ts.OffsetTable)
	}
	if resp.ExtFields[protocol.LMQAbsentField] != "" {
		t.Errorf("held LMQ marked absent: %v", resp.ExtFields)
	}
	// An LMQ never seen here: upstream's one row of zeros (Java's mqadmin
	// aborts on an error from any broker of the cluster), marked absent.
	ts, resp = topicStatsOf(t, b, cli, "%LMQ%never")
	wantCode(t, "unseen LMQ", resp, protocol.Success, "")
	if resp.ExtFields[protocol.LMQAbsentField] != "true" || fmt.Sprint(ts.OffsetTable) != fmt.Sprint(map[body.MessageQueue]body.TopicOffset{mqOf(b, "%LMQ%never", 0): {}}) {
		t.Errorf("unseen LMQ: %v %v", resp.ExtFields, ts.OffsetTable)
	}
}

func TestConsumeStats(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 2)
	var q0 []int64
	for range 5 {
		q0 = append(q0, putTimed(t, b, "T", 0))
	}
	q1first := putTimed(t, b, "T", 1)
	putTimed(t, b, "T", 1)

	if code := updateOffset(t, b, cli, "G", "T", 0, 3); code != 0 {
		t.Fatalf("commit: %d", code)
	}
	// A pull from 3 delivers 3 and 4: the pull offset becomes 5.
	if got := pull(t, b, cli, pullHeader("G", "T", 0, 3, "*")); len(got.bodies) != 2 {
		t.Fatalf("pulled %v", got.bodies)
	}
	want := map[body.MessageQueue]body.OffsetWrapper{
		mqOf(b, "T", 0): {BrokerOffset: 5, ConsumerOffset: 3, PullOffset: 5, LastTimestamp: q0[2], FirstUnconsumedTimestamp: q0[3]},
		mqOf(b, "T", 1): {BrokerOffset: 2, FirstUnconsumedTimestamp: q1first},
	}
	for name, h := range map[string]protocol.GetConsumeStatsRequestHeader{
		"topic":      {ConsumerGroup: "G", Topic: "T"},
		"all topics": {ConsumerGroup: "G"},
		"topic list": {ConsumerGroup: "G", TopicList: "T;;Missing;T;"},
	} {
		cs, resp := consumeStatsOf(t, b, cli, h)
		wantCode(t, name, resp, protocol.Success, "")
		if fmt.Sprint(cs.OffsetTable) != fmt.Sprint(want) || cs.ConsumeTps != 0 {
			t.Errorf("%s: %v; want %v", name, cs.OffsetTable, want)
		}
	}

	// Caught-up queues carry no firstUnconsumedTimestamp: the body is
	// byte-for-byte what Java writes.
	updateOffset(t, b, cli, "G", "T", 0, 5)
	updateOffset(t, b, cli, "G", "T", 1, 2)
	cs, resp := consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "G", Topic: "T"})
	if bytes.Contains(resp.Body, []byte("firstUnconsumedTimestamp")) {
		t.Errorf("caught-up body has the Bolide field: %s", resp.Body)
	}
	if ow := cs.OffsetTable[mqOf(b, "T", 0)]; ow.ConsumerOffset != 5 || ow.PullOffset != 5 || ow.LastTimestamp != q0[4] {
		t.Errorf("caught up q0: %+v", ow)
	}

	// A known group without offsets of the topic: success, no rows. An
	// unknown group: SUBSCRIPTION_GROUP_NOT_EXIST.
	if err := b.groups.CreateOrUpdate(body.NewSubscriptionGroupConfig("Fresh")); err != nil {
		t.Fatal(err)
	}
	cs, resp = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "Fresh", Topic: "T"})
	wantCode(t, "fresh group", resp, protocol.Success, "")
	if len(cs.OffsetTable) != 0 {
		t.Errorf("fresh group rows: %v", cs.OffsetTable)
	}
	_, resp = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "Nobody", Topic: "T"})
	wantCode(t, "unknown group", resp, protocol.SubscriptionGroupNotExist, "subscription group [Nobody] does not exist")

	// An online group drops topics it does not subscribe to, unless they
	// are named in topicList.
	updateOffset(t, b, cli, "On", "T", 0, 1)
	heartbeat(t, b, cli, "c1", "On", body2Sub("Other", "*"))
	cs, _ = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "On"})
	if len(cs.OffsetTable) != 0 {
		t.Errorf("unsubscribed topic reported: %v", cs.OffsetTable)
	}
	cs, _ = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "On", TopicList: "T"})
	if ow := cs.OffsetTable[mqOf(b, "T", 0)]; len(cs.OffsetTable) != 2 || ow.ConsumerOffset != 1 {
		t.Errorf("topicList ignores subscriptions: %v", cs.OffsetTable)
	}
	// Online and without a subscription group config or offsets: exists.
	heartbeat(t, b, cli, "c2", "OnlyOnline", body2Sub("T", "*"))
	_, resp = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "OnlyOnline"})
	wantCode(t, "online group", resp, protocol.Success, "")
}

func TestConsumeStatsLMQ(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "P", 1)
	var ts []int64
	for range 3 {
		ts = append(ts, putTimed(t, b, "P", 0, "%LMQ%a"))
	}
	putTimed(t, b, "P", 0, "%LMQ%b")

	// Neither group is created anywhere: offsets alone make them exist
	// (and %LMQ% groups always exist).
	if code := updateOffset(t, b, cli, "%LMQ%g1", "%LMQ%a", 0, 1); code != 0 {
		t.Fatalf("commit: %d", code)
	}
	if code := updateOffset(t, b, cli, "NG", "%LMQ%a", 0, 3); code != 0 {
		t.Fatalf("commit: %d", code)
	}
	cs, resp := consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "%LMQ%g1", Topic: "%LMQ%a"})
	wantCode(t, "LMQ group", resp, protocol.Success, "")
	want := map[body.MessageQueue]body.OffsetWrapper{
		mqOf(b, "%LMQ%a", 0): {BrokerOffset: 3, ConsumerOffset: 1, PullOffset: 1, LastTimestamp: ts[0], FirstUnconsumedTimestamp: ts[1]},
	}
	if fmt.Sprint(cs.OffsetTable) != fmt.Sprint(want) {
		t.Errorf("LMQ group: %v; want %v", cs.OffsetTable, want)
	}
	cs, _ = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "NG"})
	want = map[body.MessageQueue]body.OffsetWrapper{
		mqOf(b, "%LMQ%a", 0): {BrokerOffset: 3, ConsumerOffset: 3, PullOffset: 3, LastTimestamp: ts[2]},
	}
	if fmt.Sprint(cs.OffsetTable) != fmt.Sprint(want) {
		t.Errorf("normal group on LMQ: %v; want %v", cs.OffsetTable, want)
	}
	// Pulling the LMQ as the LMQ group records its pull offset.
	if got := pull(t, b, cli, pullHeader("%LMQ%g1", "%LMQ%a", 0, 1, "")); len(got.bodies) != 2 {
		t.Fatalf("LMQ pull: %+v", got)
	}
	cs, _ = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "%LMQ%g1", Topic: "%LMQ%a"})
	if ow := cs.OffsetTable[mqOf(b, "%LMQ%a", 0)]; ow.PullOffset != 3 {
		t.Errorf("LMQ pull offset: %+v", ow)
	}
	// An LMQ group without offsets: success, no rows.
	cs, resp = consumeStatsOf(t, b, cli, protocol.GetConsumeStatsRequestHeader{ConsumerGroup: "%LMQ%g2", Topic: "%LMQ%a"})
	wantCode(t, "LMQ group without offsets", resp, protocol.Success, "")
	if len(cs.OffsetTable) != 0 {
		t.Errorf("LMQ group without offsets: %v", cs.OffsetTable)
	}
}

func TestOffsetListings(t *testing.T) {
	b, _ := startBroker(t, nil)
	for _, c := range []struct {
		group, topic string
		q            int32
	}{{"g", "T", 0}, {"g", "T", 1}, {"g", "T1", 0}, {"g", "%LMQ%x", 0}, {"h", "T", 3}, {"g2", "T", 0}} {
		if err := b.offsets.Commit(c.group, c.topic, c.q, 1); err != nil {
			t.Fatal(err)
		}
	}
	topics, more, err := b.offsets.GroupTopics("g", 10)
	if err != nil || more || fmt.Sprint(topics) != "[%LMQ%x T T1]" {
		t.Errorf("GroupTopics(g) = %v %v %v", topics, more, err)
	}
	topics, more, err = b.offsets.GroupTopics("g", 2)
	if err != nil || !more || fmt.Sprint(topics) != "[%LMQ%x T]" {
		t.Errorf("GroupTopics(g, 2) = %v %v %v", topics, more, err)
	}
	if topics, _, _ := b.offsets.GroupTopics("none", 10); len(topics) != 0 {
		t.Errorf("GroupTopics(none) = %v", topics)
	}
	groups, err := b.offsets.TopicGroups("T")
	if err != nil || fmt.Sprint(groups) != "[g g2 h]" {
		t.Errorf("TopicGroups(T) = %v %v", groups, err)
	}
	if groups, _ := b.offsets.TopicGroups("T1x"); len(groups) != 0 {
		t.Errorf("TopicGroups(T1x) = %v", groups)
	}
}

func TestPullOffsetsBounded(t *testing.T) {
	p := newPullOffsets()
	if p.get("g", "T", 0) != -1 {
		t.Error("unknown queue has a pull offset")
	}
	p.record("g", "T", 0, 5)
	p.record("g", "T", 0, 7)
	p.record("", "T", 0, 9) // no group: not recorded
	if p.get("g", "T", 0) != 7 || p.get("g", "T", 1) != -1 || p.len() != 1 {
		t.Errorf("get %d, len %d", p.get("g", "T", 0), p.len())
	}
	for i := range maxPullOffsets + 1000 {
		p.record("g", fmt.Sprintf("%%LMQ%%%d", i), 0, int64(i))
	}
	if n := p.len(); n > maxPullOffsets {
		t.Errorf("%d entries, bound %d", n, maxPullOffsets)
	}
	last := fmt.Sprintf("%%LMQ%%%d", maxPullOffsets+999)
	if p.get("g", last, 0) != maxPullOffsets+999 {
		t.Error("the newest entry was evicted")
	}
}
