package broker

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// body2Sub is a TAG subscription as clients put it in heartbeats.
func body2Sub(topic, expr string) body.SubscriptionData {
	sd := body.SubscriptionData{Topic: topic, SubString: expr, ExpressionType: body.ExpressionTag,
		SubVersion: time.Now().UnixNano(), TagsSet: []string{}, CodeSet: []int32{}}
	if expr != "*" {
		sd.TagsSet = append(sd.TagsSet, expr)
		sd.CodeSet = append(sd.CodeSet, message.TagHash(expr))
	}
	return sd
}

// heartbeat registers client id as a clustering push consumer of group.
func heartbeat(t *testing.T, b *Broker, cli *remoting.Client, id, group string, subs ...body.SubscriptionData) {
	t.Helper()
	hb := body.HeartbeatData{ClientID: id, ConsumerDataSet: []body.ConsumerData{{
		GroupName: group, ConsumeType: body.ConsumePassively, MessageModel: body.Clustering,
		ConsumeFromWhere: body.ConsumeFromLastOffset, SubscriptionDataSet: subs,
	}}, ProducerDataSet: []body.ProducerData{{GroupName: "pg"}}}
	resp := call(t, b, cli, protocol.HeartBeat, nil, hb.Encode())
	if resp.Code != 0 {
		t.Fatalf("heartbeat: %d %s", resp.Code, resp.Remark)
	}
}

func consumerList(t *testing.T, b *Broker, cli *remoting.Client, group string) ([]string, int32) {
	t.Helper()
	resp := call(t, b, cli, protocol.GetConsumerListByGroup, &protocol.GetConsumerListByGroupRequestHeader{ConsumerGroup: group}, nil)
	if resp.Code != 0 {
		return nil, resp.Code
	}
	var l body.GetConsumerListByGroupResponseBody
	if err := l.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	return l.ConsumerIDList, 0
}

// notifications records the NOTIFY_CONSUMER_IDS_CHANGED a client receives.
type notifications struct {
	mu     sync.Mutex
	groups []string
}

func (n *notifications) Process(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	if req.Code == int32(protocol.NotifyConsumerIDsChanged) {
		n.mu.Lock()
		n.groups = append(n.groups, req.Ext("consumerGroup"))
		n.mu.Unlock()
	}
	return nil, nil
}

func (n *notifications) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.groups)
}

func TestHeartbeatAndConsumerList(t *testing.T) {
	b, _ := startBroker(t, nil)
	var na, nb notifications
	ca := remoting.NewClient(remoting.ClientConfig{Processor: &na})
	cb := remoting.NewClient(remoting.ClientConfig{Processor: &nb})
	defer ca.Close()
	defer cb.Close()

	if _, code := consumerList(t, b, ca, "cg"); code != int32(protocol.SystemError) {
		t.Fatalf("empty group: code %d", code)
	}
	heartbeat(t, b, ca, "10.0.0.1@a", "cg", body2Sub("T", "A"), body2Sub("%RETRY%cg", "*"))
	heartbeat(t, b, cb, "10.0.0.2@b", "cg", body2Sub("T", "A"), body2Sub("%RETRY%cg", "*"))
	ids, _ := consumerList(t, b, ca, "cg")
	if !slices.Equal(ids, []string{"10.0.0.1@a", "10.0.0.2@b"}) {
		t.Fatalf("consumer list %v", ids)
	}
	if _, ok := b.topics.Get("%RETRY%cg"); !ok {
		t.Error("no retry topic created for a clustering consumer group")
	}
	sd, ok := b.clients.Subscription("cg", "T")
	if !ok || sd.SubString != "A" || len(sd.CodeSet) != 1 || sd.CodeSet[0] != message.TagHash("A") {
		t.Errorf("subscription %+v %v", sd, ok)
	}
	if !b.clients.ConsumerGroupOnline("cg") || len(b.clients.Producers("pg")) != 2 {
		t.Error("groups not registered")
	}
	// b joining told a (and b) to rebalance.
	waitFor(t, "a notification of b joining", func() bool { return na.count() >= 1 })

	// b leaves: a is told.
	before := na.count()
	resp := call(t, b, cb, protocol.UnregisterClient, &protocol.UnregisterClientRequestHeader{ClientID: "10.0.0.2@b", ConsumerGroup: "cg", ProducerGroup: "pg"}, nil)
	if resp.Code != 0 {
		t.Fatalf("unregister: %d", resp.Code)
	}
	waitFor(t, "a notification of b leaving", func() bool { return na.count() > before })
	na.mu.Lock()
	if g := na.groups[len(na.groups)-1]; g != "cg" {
		t.Errorf("notified group %q", g)
	}
	na.mu.Unlock()
	if ids, _ := consumerList(t, b, ca, "cg"); !slices.Equal(ids, []string{"10.0.0.1@a"}) {
		t.Fatalf("after unregister %v", ids)
	}

	// b comes back, then its connection closes: it is dropped and a told.
	heartbeat(t, b, cb, "10.0.0.2@b", "cg", body2Sub("T", "A"), body2Sub("%RETRY%cg", "*"))
	if ids, _ := consumerList(t, b, ca, "cg"); len(ids) != 2 {
		t.Fatalf("after rejoin %v", ids)
	}
	before = na.count()
	cb.CloseConn(b.Addr())
	waitFor(t, "b to be dropped with its connection", func() bool {
		ids, _ := consumerList(t, b, ca, "cg")
		return slices.Equal(ids, []string{"10.0.0.1@a"})
	})
	waitFor(t, "a notification of b's connection closing", func() bool { return na.count() > before })

	// Clients silent for longer than the expiry are dropped.
	b.clients.expire(time.Now().Add(time.Minute))
	if _, code := consumerList(t, b, ca, "cg"); code != int32(protocol.SystemError) {
		t.Fatalf("after expiry: code %d", code)
	}
	if b.clients.ConsumerGroupOnline("cg") || len(b.clients.Producers("pg")) != 0 {
		t.Error("expiry left clients behind")
	}
}

func TestHeartbeatSubscriptionUpdate(t *testing.T) {
	b, cli := startBroker(t, nil)
	old := body2Sub("T", "A")
	heartbeat(t, b, cli, "c", "g", old, body2Sub("U", "*"))
	// An older version does not replace the subscription; a newer one
	// does, and topics left out are removed.
	stale := body2Sub("T", "B")
	stale.SubVersion = old.SubVersion - 1
	heartbeat(t, b, cli, "c", "g", stale, body2Sub("U", "*"))
	if sd, _ := b.clients.Subscription("g", "T"); sd.SubString != "A" {
		t.Errorf("stale heartbeat replaced the subscription: %q", sd.SubString)
	}
	heartbeat(t, b, cli, "c", "g", body2Sub("T", "B"))
	if sd, _ := b.clients.Subscription("g", "T"); sd.SubString != "B" {
		t.Errorf("newer heartbeat ignored: %q", sd.SubString)
	}
	if _, ok := b.clients.Subscription("g", "U"); ok {
		t.Error("subscription left out of the heartbeat kept")
	}
	// Bad bodies are refused, not fatal.
	if resp := call(t, b, cli, protocol.HeartBeat, nil, []byte("{")); resp.Code != int32(protocol.InvalidParameter) {
		t.Errorf("bad heartbeat: code %d", resp.Code)
	}
}
