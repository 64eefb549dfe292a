package broker

import (
	"context"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

func queryOffset(t *testing.T, b *Broker, cli *remoting.Client, group, topic string, q int32) (int64, int32) {
	t.Helper()
	resp := call(t, b, cli, protocol.QueryConsumerOffset,
		&protocol.QueryConsumerOffsetRequestHeader{ConsumerGroup: group, Topic: topic, QueueID: q}, nil)
	if resp.Code != 0 {
		if _, ok := resp.ExtFields["offset"]; ok {
			t.Errorf("code %d with an offset", resp.Code)
		}
		return 0, resp.Code
	}
	var h protocol.QueryConsumerOffsetResponseHeader
	if err := protocol.DecodeHeader(resp.ExtFields, &h); err != nil {
		t.Fatalf("query offset answer: %v", err)
	}
	return h.Offset, 0
}

func updateOffset(t *testing.T, b *Broker, cli *remoting.Client, group, topic string, q int32, off int64) int32 {
	t.Helper()
	return call(t, b, cli, protocol.UpdateConsumerOffset, &protocol.UpdateConsumerOffsetRequestHeader{
		ConsumerGroup: group, Topic: topic, QueueID: q, CommitOffset: off}, nil).Code
}

func TestConsumerOffsets(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 2)

	// A new group on a queue still holding its first message reads from 0
	// (Java's rule, so that CONSUME_FROM_LAST_OFFSET sees a young topic).
	putMsgs(t, b, "T", 0, "", "m0")
	if off, code := queryOffset(t, b, cli, "g", "T", 0); code != 0 || off != 0 {
		t.Fatalf("new group: offset %d code %d", off, code)
	}
	no := false
	resp := call(t, b, cli, protocol.QueryConsumerOffset, &protocol.QueryConsumerOffsetRequestHeader{
		ConsumerGroup: "g", Topic: "T", QueueID: 0, SetZeroIfNotFound: &no}, nil)
	if resp.Code != int32(protocol.QueryNotFound) {
		t.Fatalf("setZeroIfNotFound=false: code %d", resp.Code)
	}

	if code := updateOffset(t, b, cli, "g", "T", 0, 42); code != 0 {
		t.Fatalf("update: code %d", code)
	}
	if off, code := queryOffset(t, b, cli, "g", "T", 0); code != 0 || off != 42 {
		t.Fatalf("committed: offset %d code %d", off, code)
	}
	// Offsets may go backwards (re-consumption, resets).
	updateOffset(t, b, cli, "g", "T", 0, 7)
	if off, _ := queryOffset(t, b, cli, "g", "T", 0); off != 7 {
		t.Fatalf("backwards commit: %d", off)
	}
	// Groups, topics and queues are kept apart.
	updateOffset(t, b, cli, "g", "T", 1, 9)
	updateOffset(t, b, cli, "g2", "T", 0, 11)
	if off, _ := queryOffset(t, b, cli, "g", "T", 1); off != 9 {
		t.Fatalf("queue 1: %d", off)
	}
	if off, _ := queryOffset(t, b, cli, "g2", "T", 0); off != 11 {
		t.Fatalf("g2: %d", off)
	}
	if code := updateOffset(t, b, cli, "g", "Nope", 0, 1); code != int32(protocol.TopicNotExist) {
		t.Fatalf("unknown topic: code %d", code)
	}

	// Oneway commits (as Java consumers send them) are applied too.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := cli.InvokeOneway(ctx, b.Addr(), remoting.NewRequest(int32(protocol.UpdateConsumerOffset),
		protocol.EncodeHeader(&protocol.UpdateConsumerOffsetRequestHeader{ConsumerGroup: "g", Topic: "T", QueueID: 1, CommitOffset: 99}), nil))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the oneway commit", func() bool {
		off, _, _ := b.offsets.Query("g", "T", 1)
		return off == 99
	})

	// LMQ offsets need no topic or group to exist.
	if off, code := queryOffset(t, b, cli, "%LMQ%g", "%LMQ%q", 0); code != 0 || off != 0 {
		t.Fatalf("new LMQ group: %d %d", off, code)
	}
	if code := updateOffset(t, b, cli, "%LMQ%g", "%LMQ%q", 0, 5); code != 0 {
		t.Fatalf("LMQ update: code %d", code)
	}
	if off, _ := queryOffset(t, b, cli, "%LMQ%g", "%LMQ%q", 0); off != 5 {
		t.Fatalf("LMQ offset %d", off)
	}

	// GET_ALL_CONSUMER_OFFSET lists them as Java's wrapper.
	resp = call(t, b, cli, protocol.GetAllConsumerOffset, nil, nil)
	want := `{"offsetTable":{"%LMQ%q@%LMQ%g":{0:5},"T@g":{0:7,1:99},"T@g2":{0:11}}}`
	if resp.Code != 0 || string(resp.Body) != want {
		t.Fatalf("all offsets: %d %s\nwant %s", resp.Code, resp.Body, want)
	}
}

func TestPullPiggybackedCommit(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	putMsgs(t, b, "T", 0, "", "m0", "m1")
	h := pullHeader("g", "T", 0, 1, "*")
	h.SysFlag |= protocol.PullFlagCommitOffset
	h.CommitOffset = 1
	wantPull(t, "pull", pull(t, b, cli, h), 0, 2, 0, 2, "m1")
	if off, code := queryOffset(t, b, cli, "g", "T", 0); code != 0 || off != 1 {
		t.Fatalf("piggybacked commit: %d %d", off, code)
	}
	// Without the flag, or with -1 (offset not known yet), nothing is
	// committed.
	h.SysFlag &^= protocol.PullFlagCommitOffset
	h.CommitOffset = 2
	pull(t, b, cli, h)
	h.SysFlag |= protocol.PullFlagCommitOffset
	h.CommitOffset = -1
	pull(t, b, cli, h)
	if off, _ := queryOffset(t, b, cli, "g", "T", 0); off != 1 {
		t.Fatalf("offset changed to %d", off)
	}
	// LMQ pulls commit too.
	putLMQ(t, b, "T", "x", "%LMQ%x")
	lh := pullHeader("%LMQ%g", "%LMQ%x", 0, 0, "")
	lh.SysFlag |= protocol.PullFlagCommitOffset
	lh.CommitOffset = 0
	pull(t, b, cli, lh)
	if off, _, _ := b.offsets.Query("%LMQ%g", "%LMQ%x", 0); off != 0 {
		t.Fatalf("LMQ offset %d", off)
	}
	if _, ok, _ := b.offsets.Query("%LMQ%g", "%LMQ%x", 0); !ok {
		t.Fatal("LMQ piggybacked commit not stored")
	}
}

func TestConsumerOffsetsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	same := func(bc *config.Broker) { bc.StorePathRootDir = dir }
	b, cli := startBroker(t, same)
	createTopic(t, b, "T", 1)
	updateOffset(t, b, cli, "g", "T", 0, 1234)
	updateOffset(t, b, cli, "%LMQ%g", "%LMQ%q", 0, 77)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	b2, cli2 := startBroker(t, same)
	if off, code := queryOffset(t, b2, cli2, "g", "T", 0); code != 0 || off != 1234 {
		t.Fatalf("after restart: %d %d", off, code)
	}
	if off, code := queryOffset(t, b2, cli2, "%LMQ%g", "%LMQ%q", 0); code != 0 || off != 77 {
		t.Fatalf("LMQ after restart: %d %d", off, code)
	}
}

func TestOffsetKey(t *testing.T) {
	for _, tc := range []struct {
		g, t string
		q    int32
	}{{"g", "T", 0}, {"%LMQ%a", "%LMQ%b", 0}, {"g", "t", -1}, {"gg", "t", 1 << 30}} {
		g, topic, q, ok := parseOffsetKey(offsetKey(tc.g, tc.t, tc.q))
		if !ok || g != tc.g || topic != tc.t || q != tc.q {
			t.Errorf("%v: got %q %q %d %v", tc, g, topic, q, ok)
		}
	}
	b, _ := startBroker(t, nil)
	if err := b.offsets.Commit("a\x00b", "T", 0, 1); err == nil {
		t.Error("group with NUL accepted")
	}
	// "g" + "T1" must not collide with "g" + "T".
	_ = b.offsets.Commit("g", "T", 0, 1)
	_ = b.offsets.Commit("g", "T1", 0, 2)
	m, err := b.offsets.TopicOffsets("g", "T")
	if err != nil || len(m) != 1 || m[0] != 1 {
		t.Fatalf("TopicOffsets %v %v", m, err)
	}
}
