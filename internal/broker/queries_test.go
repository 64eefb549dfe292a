package broker

import (
	"strconv"
	"testing"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

func extInt(t *testing.T, resp *remoting.Command, key string) int64 {
	t.Helper()
	if resp.Code != 0 {
		t.Fatalf("code %d (%s)", resp.Code, resp.Remark)
	}
	v, ok := resp.ExtFields[key]
	if !ok {
		t.Fatalf("answer lacks %s: %v", key, resp.ExtFields)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQueueQueries(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 2)
	putMsgs(t, b, "T", 0, "", "m0", "m1", "m2")
	got := pull(t, b, cli, pullHeader("g", "T", 0, 0, "*"))
	if len(got.bodies) != 3 {
		t.Fatalf("pulled %v", got.bodies)
	}
	first, err := b.store.EarliestStoreTime("T", 0)
	if err != nil {
		t.Fatal(err)
	}

	maxOff := func(topic string, q int32) int64 {
		return extInt(t, call(t, b, cli, protocol.GetMaxOffset, &protocol.GetMaxOffsetRequestHeader{Topic: topic, QueueID: q}, nil), "offset")
	}
	minOff := func(topic string, q int32) int64 {
		return extInt(t, call(t, b, cli, protocol.GetMinOffset, &protocol.GetMinOffsetRequestHeader{Topic: topic, QueueID: q}, nil), "offset")
	}
	earliest := func(topic string, q int32) int64 {
		return extInt(t, call(t, b, cli, protocol.GetEarliestMsgStoreTime, &protocol.GetEarliestMsgStoretimeRequestHeader{Topic: topic, QueueID: q}, nil), "timestamp")
	}
	search := func(topic string, q int32, ts int64, boundary string) int64 {
		return extInt(t, call(t, b, cli, protocol.SearchOffsetByTimestamp, &protocol.SearchOffsetRequestHeader{Topic: topic, QueueID: q, Timestamp: ts, BoundaryType: boundary}, nil), "offset")
	}

	if n := maxOff("T", 0); n != 3 {
		t.Errorf("max %d", n)
	}
	if n := minOff("T", 0); n != 0 {
		t.Errorf("min %d", n)
	}
	if n := earliest("T", 0); n != first || n <= 0 {
		t.Errorf("earliest %d, want %d", n, first)
	}
	if n := search("T", 0, 0, ""); n != 0 {
		t.Errorf("LOWER (default) before everything: %d", n)
	}
	if n := search("T", 0, first+1<<40, "LOWER"); n != 3 {
		t.Errorf("LOWER after everything: %d", n)
	}
	if n := search("T", 0, first+1<<40, "UPPER"); n != 2 {
		t.Errorf("UPPER after everything: %d", n)
	}
	// Empty and unknown queues answer with values, not errors.
	if maxOff("T", 1) != 0 || minOff("T", 1) != 0 || earliest("T", 1) != -1 || search("T", 1, first, "") != 0 {
		t.Error("empty queue answers")
	}
	if resp := call(t, b, cli, protocol.SearchOffsetByTimestamp, &protocol.SearchOffsetRequestHeader{Topic: "T", QueueID: 0, BoundaryType: "MIDDLE"}, nil); resp.Code != int32(protocol.InvalidParameter) {
		t.Errorf("bad boundary: code %d", resp.Code)
	}

	// LMQs work without creation.
	putLMQ(t, b, "T", "x0", "%LMQ%x")
	putLMQ(t, b, "T", "x1", "%LMQ%x")
	if maxOff("%LMQ%x", 0) != 2 || minOff("%LMQ%x", 0) != 0 || earliest("%LMQ%x", 0) <= 0 ||
		search("%LMQ%x", 0, 0, "LOWER") != 0 || search("%LMQ%x", 0, 1<<62, "UPPER") != 1 {
		t.Error("LMQ answers")
	}
	if maxOff("%LMQ%none", 0) != 0 {
		t.Error("unknown LMQ")
	}
}
