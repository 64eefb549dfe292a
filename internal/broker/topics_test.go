package broker

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// restartSameDir shuts b down and starts a new broker on the same data
// directory (and config), with a fresh client.
func restartSameDir(t *testing.T, b *Broker) (*Broker, *remoting.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	return startBrokerConfig(t, Config{Broker: b.bc})
}

// pollUntil polls cond until it holds or the deadline passes.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func wantResp(t *testing.T, resp *remoting.Command, code protocol.ResponseCode, remark string) {
	t.Helper()
	if resp.Code != int32(code) {
		t.Fatalf("code %d (%s), want %d", resp.Code, resp.Remark, code)
	}
	if remark != "" && !strings.Contains(resp.Remark, remark) {
		t.Fatalf("remark %q does not contain %q", resp.Remark, remark)
	}
}

func adminCreateTopic(t *testing.T, b *Broker, cli *remoting.Client, h protocol.CreateTopicRequestHeader) *remoting.Command {
	t.Helper()
	return call(t, b, cli, protocol.UpdateAndCreateTopic, &h, nil)
}

func adminAllTopics(t *testing.T, b *Broker, cli *remoting.Client) body.TopicConfigAndMappingSerializeWrapper {
	t.Helper()
	resp := call(t, b, cli, protocol.GetAllTopicConfig, nil, nil)
	wantResp(t, resp, protocol.Success, "")
	var w body.TopicConfigAndMappingSerializeWrapper
	if err := w.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	if _, ok := resp.ExtFields["totalTopicNum"]; ok {
		t.Error("totalTopicNum present: 5.x clients would page")
	}
	return w
}

func TestTopicAdminRoundTrip(t *testing.T) {
	b, cli := startBroker(t, nil)
	before := adminAllTopics(t, b, cli).DataVersion

	sysFlag := int32(0)
	resp := adminCreateTopic(t, b, cli, protocol.CreateTopicRequestHeader{
		Topic: "T1", DefaultTopic: "TBW102", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6,
		TopicFilterType: body.SingleTag, TopicSysFlag: &sysFlag, Attributes: "+a=1,+b=2",
	})
	wantResp(t, resp, protocol.Success, "")
	w := adminAllTopics(t, b, cli)
	want := body.TopicConfig{TopicName: "T1", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6, TopicFilterType: body.SingleTag,
		Attributes: map[string]string{"a": "1", "b": "2"}}
	if got := w.TopicConfigTable["T1"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("T1 = %+v", got)
	}
	if w.DataVersion.Counter <= before.Counter {
		t.Errorf("data version did not advance: %+v -> %+v", before, w.DataVersion)
	}

	// Update: more queues, MULTI_TAG, order, one attribute removed.
	resp = adminCreateTopic(t, b, cli, protocol.CreateTopicRequestHeader{
		Topic: "T1", ReadQueueNums: 8, WriteQueueNums: 6, Perm: 4, TopicFilterType: body.MultiTag, Order: true, Attributes: "-a,+c=3",
	})
	wantResp(t, resp, protocol.Success, "")
	resp = call(t, b, cli, protocol.GetTopicConfig, &protocol.GetTopicConfigRequestHeader{Topic: "T1"}, nil)
	wantResp(t, resp, protocol.Success, "")
	var tc body.TopicConfig
	if err := tc.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	want = body.TopicConfig{TopicName: "T1", ReadQueueNums: 8, WriteQueueNums: 6, Perm: 4, TopicFilterType: body.MultiTag,
		Order: true, Attributes: map[string]string{"b": "2", "c": "3"}}
	if !reflect.DeepEqual(tc, want) {
		t.Fatalf("after update: %+v", tc)
	}

	wantResp(t, call(t, b, cli, protocol.DeleteTopicInBroker, &protocol.DeleteTopicRequestHeader{Topic: "T1"}, nil), protocol.Success, "")
	if _, ok := adminAllTopics(t, b, cli).TopicConfigTable["T1"]; ok {
		t.Fatal("T1 still listed after delete")
	}
	resp = call(t, b, cli, protocol.GetTopicConfig, &protocol.GetTopicConfigRequestHeader{Topic: "T1"}, nil)
	wantResp(t, resp, protocol.TopicNotExist, "T1")
	// Deleting again is fine.
	wantResp(t, call(t, b, cli, protocol.DeleteTopicInBroker, &protocol.DeleteTopicRequestHeader{Topic: "T1"}, nil), protocol.Success, "")
}

func TestTopicAdminRefusals(t *testing.T) {
	b, cli := startBroker(t, nil)
	ok := protocol.CreateTopicRequestHeader{Topic: "T", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}
	for _, tc := range []struct {
		name   string
		mut    func(h *protocol.CreateTopicRequestHeader)
		remark string
	}{
		{"bad char", func(h *protocol.CreateTopicRequestHeader) { h.Topic = "a b" }, "illegal character"},
		{"too long", func(h *protocol.CreateTopicRequestHeader) { h.Topic = strings.Repeat("x", 128) }, "max 127"},
		{"lmq", func(h *protocol.CreateTopicRequestHeader) { h.Topic = "%LMQ%1" }, "light message queue"},
		{"tbw102", func(h *protocol.CreateTopicRequestHeader) { h.Topic = "TBW102" }, "system topic"},
		{"cluster", func(h *protocol.CreateTopicRequestHeader) { h.Topic = b.bc.BrokerClusterName }, "system topic"},
		{"broker", func(h *protocol.CreateTopicRequestHeader) { h.Topic = b.bc.BrokerName }, "system topic"},
		{"rmq_sys_", func(h *protocol.CreateTopicRequestHeader) { h.Topic = "rmq_sys_x" }, "system topic"},
		{"zero queues", func(h *protocol.CreateTopicRequestHeader) { h.WriteQueueNums = 0 }, "writeQueueNums"},
		{"bad perm", func(h *protocol.CreateTopicRequestHeader) { h.Perm = 16 }, "perm"},
		{"bad filter", func(h *protocol.CreateTopicRequestHeader) { h.TopicFilterType = "X" }, "topicFilterType"},
		{"bad attribute", func(h *protocol.CreateTopicRequestHeader) { h.Attributes = "a=1" }, "attribute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := ok
			tc.mut(&h)
			wantResp(t, adminCreateTopic(t, b, cli, h), protocol.InvalidParameter, tc.remark)
		})
	}
	// A missing required header field.
	resp := call(t, b, cli, protocol.UpdateAndCreateTopic, nil, nil)
	wantResp(t, resp, protocol.InvalidParameter, "topic")
	wantResp(t, call(t, b, cli, protocol.DeleteTopicInBroker, &protocol.DeleteTopicRequestHeader{Topic: "TBW102"}, nil),
		protocol.InvalidParameter, "system topic")
	if _, ok := b.topics.Get("T"); ok {
		t.Error("a refused request created T")
	}
}

func TestSystemTopics(t *testing.T) {
	b, cli := startBroker(t, nil)
	w := adminAllTopics(t, b, cli)
	check := func(name string, queues, perm int32) {
		t.Helper()
		tc, ok := w.TopicConfigTable[name]
		if !ok || tc.ReadQueueNums != queues || tc.WriteQueueNums != queues || tc.Perm != perm {
			t.Errorf("%s = %+v (present %v), want %d queues perm %d", name, tc, ok, queues, perm)
		}
	}
	check("TBW102", 8, 7)
	check("DefaultCluster", 16, 7)
	check("broker-a", 1, 7)
	check("SELF_TEST_TOPIC", 1, 6)
	check("OFFSET_MOVED_EVENT", 1, 6)
	check("DefaultCluster_REPLY_TOPIC", 1, 6)
	if _, ok := w.TopicConfigTable["RMQ_SYS_TRACE_TOPIC"]; ok {
		t.Error("trace topic created, upstream does not by default")
	}

	b2, cli2 := startBroker(t, func(bc *config.Broker) {
		bc.AutoCreateTopicEnable = false
		bc.ClusterTopicEnable = false
		bc.BrokerTopicEnable = false
	})
	w = adminAllTopics(t, b2, cli2)
	if _, ok := w.TopicConfigTable["TBW102"]; ok {
		t.Error("TBW102 created with autoCreateTopicEnable=false")
	}
	check("DefaultCluster", 16, 1)
	check("broker-a", 1, 1)
}

func TestTopicPersistence(t *testing.T) {
	b, cli := startBroker(t, nil)
	wantResp(t, adminCreateTopic(t, b, cli, protocol.CreateTopicRequestHeader{
		Topic: "P1", ReadQueueNums: 3, WriteQueueNums: 2, Perm: 6, Order: true, Attributes: "+k=v",
	}), protocol.Success, "")
	wantResp(t, adminCreateTopic(t, b, cli, protocol.CreateTopicRequestHeader{Topic: "P2", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}),
		protocol.Success, "")
	wantResp(t, call(t, b, cli, protocol.DeleteTopicInBroker, &protocol.DeleteTopicRequestHeader{Topic: "P2"}, nil), protocol.Success, "")
	if _, err := b.topics.EnsureRetryTopic("G"); err != nil {
		t.Fatal(err)
	}
	before := adminAllTopics(t, b, cli)

	dir := filepath.Join(b.bc.StorePathRootDir, "config")
	if _, err := os.Stat(filepath.Join(dir, topicsFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left behind: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, topicsFile))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk body.TopicConfigSerializeWrapper
	if err := onDisk.Decode(data); err != nil {
		t.Fatalf("topics.json is not a TopicConfigSerializeWrapper: %v", err)
	}
	if !reflect.DeepEqual(onDisk.TopicConfigTable, before.TopicConfigTable) || onDisk.DataVersion != before.DataVersion {
		t.Errorf("file differs from memory")
	}

	b, cli = restartSameDir(t, b)
	after := adminAllTopics(t, b, cli)
	if !reflect.DeepEqual(after.TopicConfigTable, before.TopicConfigTable) {
		t.Errorf("after restart:\n%+v\nwant\n%+v", after.TopicConfigTable, before.TopicConfigTable)
	}
	if after.DataVersion != before.DataVersion {
		t.Errorf("data version %+v, want %+v", after.DataVersion, before.DataVersion)
	}
	if _, ok := after.TopicConfigTable["P2"]; ok {
		t.Error("deleted topic came back")
	}
	if tc := after.TopicConfigTable["%RETRY%G"]; tc.WriteQueueNums != 1 || tc.Perm != 6 {
		t.Errorf("retry topic = %+v", tc)
	}
}

func TestLMQTopicSynthesized(t *testing.T) {
	b, cli := startBroker(t, nil)
	tc, ok := b.topics.Get("%LMQ%abc")
	want := body.TopicConfig{TopicName: "%LMQ%abc", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6, TopicFilterType: body.SingleTag,
		Attributes: map[string]string{}}
	if !ok || !reflect.DeepEqual(tc, want) {
		t.Fatalf("Get = %+v, %v", tc, ok)
	}
	if _, ok := adminAllTopics(t, b, cli).TopicConfigTable["%LMQ%abc"]; ok {
		t.Error("LMQ topic listed")
	}
	resp := call(t, b, cli, protocol.GetTopicConfig, &protocol.GetTopicConfigRequestHeader{Topic: "%LMQ%abc"}, nil)
	wantResp(t, resp, protocol.Success, "")
	if err := b.topics.CreateOrUpdate(want); !errors.Is(err, ErrTopicRefused) {
		t.Errorf("CreateOrUpdate(LMQ) = %v", err)
	}

	b2, _ := startBroker(t, func(bc *config.Broker) { bc.EnableLmq = false })
	if _, ok := b2.topics.Get("%LMQ%abc"); ok {
		t.Error("LMQ topic exists with enableLmq=false")
	}
}

func TestAutoCreate(t *testing.T) {
	b, _ := startBroker(t, nil)
	tc, err := b.topics.AutoCreate("A1", "TBW102", 4)
	if err != nil || tc.WriteQueueNums != 4 || tc.ReadQueueNums != 4 || tc.Perm != 6 {
		t.Fatalf("AutoCreate = %+v, %v", tc, err)
	}
	// min(client's count, template's write queues).
	if tc, err := b.topics.AutoCreate("A2", "", 100); err != nil || tc.WriteQueueNums != 8 {
		t.Fatalf("AutoCreate(100) = %+v, %v", tc, err)
	}
	// A template without the inherit bit, or missing, does not create.
	if err := b.topics.CreateOrUpdate(newTopicConfig("NoInherit", 4, 6)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.topics.AutoCreate("A3", "NoInherit", 4); !errors.Is(err, ErrTopicNotFound) {
		t.Errorf("no-inherit template: %v", err)
	}
	if _, err := b.topics.AutoCreate("A3", "Missing", 4); !errors.Is(err, ErrTopicNotFound) {
		t.Errorf("missing template: %v", err)
	}
	if _, ok := b.topics.Get("A3"); ok {
		t.Error("A3 created")
	}

	b2, _ := startBroker(t, func(bc *config.Broker) { bc.AutoCreateTopicEnable = false })
	if _, err := b2.topics.AutoCreate("A1", "TBW102", 4); !errors.Is(err, ErrTopicNotFound) ||
		!strings.Contains(err.Error(), "autoCreateTopicEnable") {
		t.Errorf("auto-create disabled: %v", err)
	}
}

// regRecorder records REGISTER_BROKER bodies.
type regRecorder struct {
	addr string
	mu   sync.Mutex
	regs []*body.RegisterBrokerBody
}

func startRegRecorder(t *testing.T) *regRecorder {
	t.Helper()
	ns := &regRecorder{}
	srv := remoting.NewServer(remoting.ServerConfig{})
	srv.Register(int32(protocol.RegisterBroker), remoting.ProcessorFunc(
		func(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			rb, err := body.DecodeRegisterBrokerBody(req.Body, false, 0)
			if err != nil {
				return nil, err
			}
			ns.mu.Lock()
			ns.regs = append(ns.regs, rb)
			ns.mu.Unlock()
			return remoting.NewResponse(req, int32(protocol.Success), ""), nil
		}))
	srv.Register(int32(protocol.UnregisterBroker), remoting.ProcessorFunc(
		func(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			return remoting.NewResponse(req, int32(protocol.Success), ""), nil
		}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ns.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return ns
}

// registered reports whether the latest registration lists topic.
func (ns *regRecorder) registered(topic string) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if len(ns.regs) == 0 {
		return false
	}
	_, ok := ns.regs[len(ns.regs)-1].TopicConfigSerializeWrapper.TopicConfigTable[topic]
	return ok
}

func TestTopicChangesAnnounced(t *testing.T) {
	ns := startRegRecorder(t)
	b, cli := startBroker(t, func(bc *config.Broker) {
		bc.NamesrvAddr = []string{ns.addr}
	})
	pollUntil(t, "first registration", func() bool { return ns.registered("TBW102") })
	wantResp(t, adminCreateTopic(t, b, cli, protocol.CreateTopicRequestHeader{Topic: "N1", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}),
		protocol.Success, "")
	pollUntil(t, "N1 registered", func() bool { return ns.registered("N1") })
	wantResp(t, call(t, b, cli, protocol.DeleteTopicInBroker, &protocol.DeleteTopicRequestHeader{Topic: "N1"}, nil), protocol.Success, "")
	pollUntil(t, "N1 unregistered", func() bool { return !ns.registered("N1") })
	if _, err := b.topics.EnsureRetryTopic("CG"); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "retry topic registered", func() bool { return ns.registered("%RETRY%CG") })
}

func TestParseAttributes(t *testing.T) {
	got, err := parseAttributes(map[string]string{"x": "1"}, "+a=1,-x,+b=c=d")
	if err != nil || !reflect.DeepEqual(got, map[string]string{"a": "1", "b": "c=d"}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"a=1", "+a", "+=1", "-", "-a=1", "+a=1,,"} {
		if _, err := parseAttributes(nil, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
