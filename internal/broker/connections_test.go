package broker

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

func TestConsumerAndProducerConnectionList(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	heartbeat(t, b, cli, "c1", "G", body2Sub("T", "TagA"))
	conn, err := cli.Conn(context.Background(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}

	resp := call(t, b, cli, protocol.GetConsumerConnectionList, &protocol.GetConsumerConnectionListRequestHeader{ConsumerGroup: "G"}, nil)
	wantCode(t, "consumer list", resp, protocol.Success, "")
	var cc body.ConsumerConnection
	if err := cc.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	wantConn := body.Connection{ClientID: "c1", ClientAddr: conn.LocalAddr(), Language: "GO", Version: remoting.Version}
	if len(cc.ConnectionSet) != 1 || cc.ConnectionSet[0] != wantConn {
		t.Errorf("connections %+v; want %+v", cc.ConnectionSet, wantConn)
	}
	if sd, ok := cc.SubscriptionTable["T"]; !ok || sd.SubString != "TagA" || len(cc.SubscriptionTable) != 1 {
		t.Errorf("subscriptions %+v", cc.SubscriptionTable)
	}
	if cc.ConsumeType != body.ConsumePassively || cc.MessageModel != body.Clustering || cc.ConsumeFromWhere != body.ConsumeFromLastOffset {
		t.Errorf("consumer settings %+v", cc)
	}
	resp = call(t, b, cli, protocol.GetConsumerConnectionList, &protocol.GetConsumerConnectionListRequestHeader{ConsumerGroup: "Off"}, nil)
	wantCode(t, "offline group", resp, protocol.ConsumerNotOnline, "the consumer group[Off] not online")

	// The heartbeat helper also registers producer group "pg".
	resp = call(t, b, cli, protocol.GetProducerConnectionList, &protocol.GetProducerConnectionListRequestHeader{ProducerGroup: "pg"}, nil)
	wantCode(t, "producer list", resp, protocol.Success, "")
	var pc body.ProducerConnection
	if err := pc.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	if len(pc.ConnectionSet) != 1 || pc.ConnectionSet[0] != wantConn {
		t.Errorf("producers %+v; want %+v", pc.ConnectionSet, wantConn)
	}
	resp = call(t, b, cli, protocol.GetProducerConnectionList, &protocol.GetProducerConnectionListRequestHeader{ProducerGroup: "nope"}, nil)
	wantCode(t, "unknown producer group", resp, protocol.SystemError, "the producer group[nope] not exist")
}

func TestQueryTopicConsumeByWho(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 2)
	createTopic(t, b, "U", 1)
	heartbeat(t, b, cli, "c1", "Online", body2Sub("T", "*"))
	updateOffset(t, b, cli, "Committed", "T", 1, 4)
	updateOffset(t, b, cli, "Elsewhere", "U", 0, 1)
	updateOffset(t, b, cli, "%LMQ%g", "%LMQ%q", 0, 1)

	byWho := func(topic string) []string {
		t.Helper()
		resp := call(t, b, cli, protocol.QueryTopicConsumeByWho, &protocol.QueryTopicConsumeByWhoRequestHeader{Topic: topic}, nil)
		wantCode(t, topic, resp, protocol.Success, "")
		var gl body.GroupList
		if err := gl.Decode(resp.Body); err != nil {
			t.Fatal(err)
		}
		return gl.GroupList
	}
	if got := fmt.Sprint(byWho("T")); got != "[Committed Online]" {
		t.Errorf("T consumed by %s", got)
	}
	if got := fmt.Sprint(byWho("%LMQ%q")); got != "[%LMQ%g]" {
		t.Errorf("LMQ consumed by %s", got)
	}
	if got := byWho("Nobody"); len(got) != 0 {
		t.Errorf("unknown topic consumed by %v", got)
	}
}

// fakeConsumer answers the broker's GET_CONSUMER_RUNNING_INFO like a
// client would, recording what it was sent.
type fakeConsumer struct {
	mu     sync.Mutex
	got    []*remoting.Command
	answer func(req *remoting.Command) *remoting.Command // nil result: never answer
}

func (f *fakeConsumer) Process(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	if req.Code != int32(protocol.GetConsumerRunningInfo) {
		return nil, nil
	}
	f.mu.Lock()
	f.got = append(f.got, req)
	f.mu.Unlock()
	return f.answer(req), nil
}

// startFakeConsumer connects a client whose heartbeat registers clientID
// in group, answering broker requests with f.
func startFakeConsumer(t *testing.T, b *Broker, f *fakeConsumer, clientID, group string) {
	t.Helper()
	fc := remoting.NewClient(remoting.ClientConfig{Processor: f})
	t.Cleanup(func() { _ = fc.Close() })
	heartbeat(t, b, fc, clientID, group, body2Sub("T", "*"))
}

func TestConsumerRunningInfo(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	info := []byte(`{"properties":{"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"},"subscriptionSet":[]}`)
	ok := &fakeConsumer{answer: func(req *remoting.Command) *remoting.Command {
		resp := remoting.NewResponse(req, int32(protocol.Success), "")
		resp.Body = info
		resp.SetExt("fromClient", "yes")
		return resp
	}}
	startFakeConsumer(t, b, ok, "good@1", "G")
	failing := &fakeConsumer{answer: func(req *remoting.Command) *remoting.Command {
		return remoting.NewResponse(req, int32(protocol.SystemError), "client says no")
	}}
	startFakeConsumer(t, b, failing, "bad@1", "G")
	silent := &fakeConsumer{answer: func(*remoting.Command) *remoting.Command { return nil }}
	startFakeConsumer(t, b, silent, "mute@1", "G")

	running := func(clientID string) *remoting.Command {
		t.Helper()
		return call(t, b, cli, protocol.GetConsumerRunningInfo,
			&protocol.GetConsumerRunningInfoRequestHeader{ConsumerGroup: "G", ClientID: clientID, JstackEnable: true}, []byte("admin-body"))
	}

	resp := running("good@1")
	wantCode(t, "online client", resp, protocol.Success, "")
	if string(resp.Body) != string(info) || resp.Ext("fromClient") != "yes" {
		t.Errorf("relayed answer: body %q ext %v", resp.Body, resp.ExtFields)
	}
	ok.mu.Lock()
	if len(ok.got) != 1 {
		t.Fatalf("client got %d requests", len(ok.got))
	}
	fwd := ok.got[0]
	ok.mu.Unlock()
	wantExt := map[string]string{"consumerGroup": "G", "clientId": "good@1", "jstackEnable": "true"}
	if !maps.Equal(fwd.ExtFields, wantExt) || string(fwd.Body) != "admin-body" {
		t.Errorf("forwarded ext %v body %q; want %v", fwd.ExtFields, fwd.Body, wantExt)
	}

	wantCode(t, "client error", running("bad@1"), protocol.SystemError, "client says no")
	wantCode(t, "not online", running("gone@1"), protocol.SystemError, "The Consumer <G> <gone@1> not online")

	consumerCallTimeoutOverride.Store(int64(200 * time.Millisecond))
	t.Cleanup(func() { consumerCallTimeoutOverride.Store(0) })
	resp = running("mute@1")
	wantCode(t, "silent client", resp, protocol.ConsumeMsgTimeout, "")
	if !strings.HasPrefix(resp.Remark, "consumer <G> <mute@1> Timeout") {
		t.Errorf("timeout remark %q", resp.Remark)
	}
}
