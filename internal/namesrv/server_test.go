package namesrv

import (
	"context"
	"hash/crc32"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// testServer is a name server on a random loopback port and a client to it.
type testServer struct {
	srv  *Server
	addr string
	cli  *remoting.Client
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.ScanInterval == 0 {
		cfg.ScanInterval = time.Hour // tests scan explicitly
	}
	srv := New(cfg)
	a, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &testServer{srv: srv, addr: a.String(), cli: newClient(t)}
}

func newClient(t *testing.T) *remoting.Client {
	t.Helper()
	cli := remoting.NewClient(remoting.ClientConfig{RequestTimeout: 10 * time.Second})
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func (ts *testServer) callWith(t *testing.T, cli *remoting.Client, code protocol.RequestCode, ext map[string]string, b []byte) *remoting.Command {
	t.Helper()
	return ts.invoke(t, cli, remoting.NewRequest(int32(code), ext, b))
}

func (ts *testServer) invoke(t *testing.T, cli *remoting.Client, req *remoting.Command) *remoting.Command {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Invoke(ctx, ts.addr, req)
	if err != nil {
		t.Fatalf("invoke code %d: %v", req.Code, err)
	}
	return resp
}

func (ts *testServer) call(t *testing.T, code protocol.RequestCode, ext map[string]string, b []byte) *remoting.Command {
	t.Helper()
	return ts.callWith(t, ts.cli, code, ext, b)
}

// ok calls and requires SUCCESS.
func (ts *testServer) ok(t *testing.T, code protocol.RequestCode, ext map[string]string, b []byte) *remoting.Command {
	t.Helper()
	resp := ts.call(t, code, ext, b)
	expectCode(t, resp, protocol.Success)
	return resp
}

func expectCode(t *testing.T, resp *remoting.Command, code protocol.ResponseCode) {
	t.Helper()
	if resp.Code != int32(code) {
		t.Fatalf("response code %d remark %q, want %d", resp.Code, resp.Remark, code)
	}
}

func registerBody(counter int64, tcs ...body.TopicConfig) *body.RegisterBrokerBody {
	return &body.RegisterBrokerBody{TopicConfigSerializeWrapper: *wrapper(counter, tcs...)}
}

func registerHeader(cluster, name, addr string, id int64) *protocol.RegisterBrokerRequestHeader {
	return &protocol.RegisterBrokerRequestHeader{
		BrokerName: name, BrokerAddr: addr, ClusterName: cluster, HAServerAddr: haOf(addr), BrokerID: id,
	}
}

// register sends a JSON REGISTER_BROKER over cli.
func (ts *testServer) register(t *testing.T, cli *remoting.Client, h *protocol.RegisterBrokerRequestHeader, rb *body.RegisterBrokerBody) *remoting.Command {
	t.Helper()
	resp := ts.callWith(t, cli, protocol.RegisterBroker, protocol.EncodeHeader(h), rb.Encode())
	expectCode(t, resp, protocol.Success)
	return resp
}

func (ts *testServer) route(t *testing.T, topic string) *body.TopicRouteData {
	t.Helper()
	resp := ts.ok(t, protocol.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil)
	var r body.TopicRouteData
	if err := r.Decode(resp.Body); err != nil {
		t.Fatalf("decode route: %v\n%s", err, resp.Body)
	}
	return &r
}

func (ts *testServer) expectNoRoute(t *testing.T, topic string) {
	t.Helper()
	resp := ts.call(t, protocol.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil)
	expectCode(t, resp, protocol.TopicNotExist)
	if want := "No topic route info in name server for the topic: " + topic; !strings.HasPrefix(resp.Remark, want) {
		t.Errorf("remark %q, want prefix %q", resp.Remark, want)
	}
}

func topicList(t *testing.T, resp *remoting.Command) []string {
	t.Helper()
	var tl body.TopicList
	if err := tl.Decode(resp.Body); err != nil {
		t.Fatalf("decode topic list: %v\n%s", err, resp.Body)
	}
	return tl.TopicList
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const (
	addrA = "127.0.0.1:10911"
	addrB = "127.0.0.1:20911"
)

// registerTwo registers broker-a (JSON body, TopicTest) and broker-b
// (compressed body, CompressedTopic) in DefaultCluster.
func (ts *testServer) registerTwo(t *testing.T) {
	t.Helper()
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", addrA, 0), registerBody(1, topicConf("TopicTest", 4, 6)))

	rb := registerBody(1, topicConf("CompressedTopic", 8, 6), topicConf("Shared", 2, 6))
	zbody, err := rb.EncodeCompressed()
	if err != nil {
		t.Fatal(err)
	}
	h := registerHeader("DefaultCluster", "broker-b", addrB, 0)
	h.Compressed = true
	h.BodyCrc32 = int32(crc32.ChecksumIEEE(zbody) & 0x7FFFFFFF)
	ts.ok(t, protocol.RegisterBroker, protocol.EncodeHeader(h), zbody)
}

func TestServerRouteJSONForms(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	ts.registerTwo(t)

	const fastjsonForm = `{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}`
	const standardForm = `{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}`
	for _, tc := range []struct {
		name    string
		version int32
		ext     map[string]string
		want    string
	}{
		{"v317", 317, nil, fastjsonForm},
		{"v400", 400, nil, fastjsonForm},
		{"v317 acceptStandardJsonOnly=false", 317, map[string]string{"acceptStandardJsonOnly": "false"}, fastjsonForm},
		{"v401", 401, nil, standardForm},
		{"v479", 479, nil, standardForm},
		{"v317 acceptStandardJsonOnly=true", 317, map[string]string{"acceptStandardJsonOnly": "true"}, standardForm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext := map[string]string{"topic": "TopicTest"}
			for k, v := range tc.ext {
				ext[k] = v
			}
			req := remoting.NewRequest(int32(protocol.GetRouteInfoByTopic), ext, nil)
			req.Version = tc.version
			resp := ts.invoke(t, ts.cli, req)
			expectCode(t, resp, protocol.Success)
			if string(resp.Body) != tc.want {
				t.Errorf("body\n got %s\nwant %s", resp.Body, tc.want)
			}
		})
	}

	// The compressed registration produced its route too.
	r := ts.route(t, "CompressedTopic")
	if want := []body.QueueData{{BrokerName: "broker-b", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 6}}; !reflect.DeepEqual(r.QueueDatas, want) {
		t.Errorf("CompressedTopic queues = %+v", r.QueueDatas)
	}
	if len(r.BrokerDatas) != 1 || r.BrokerDatas[0].BrokerAddrs[0] != addrB {
		t.Errorf("CompressedTopic brokers = %+v", r.BrokerDatas)
	}

	ts.expectNoRoute(t, "NoSuchTopic")
}

func TestServerRegisterErrors(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	good := registerBody(1, topicConf("TopicTest", 4, 6)).Encode()

	// Missing required header fields.
	ext := protocol.EncodeHeader(registerHeader("DefaultCluster", "broker-a", addrA, 0))
	delete(ext, "brokerName")
	resp := ts.call(t, protocol.RegisterBroker, ext, good)
	expectCode(t, resp, protocol.InvalidParameter)
	if !strings.Contains(resp.Remark, "brokerName") {
		t.Errorf("remark %q does not name the field", resp.Remark)
	}
	ext = protocol.EncodeHeader(registerHeader("DefaultCluster", "broker-a", addrA, 0))
	ext["brokerId"] = "zero"
	expectCode(t, ts.call(t, protocol.RegisterBroker, ext, good), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.GetRouteInfoByTopic, nil, nil), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.GetRouteInfoByTopic, map[string]string{"topic": ""}, nil), protocol.InvalidParameter)

	// Checksum mismatch.
	h := registerHeader("DefaultCluster", "broker-a", addrA, 0)
	h.BodyCrc32 = int32(crc32.ChecksumIEEE(good)&0x7FFFFFFF) ^ 1
	resp = ts.call(t, protocol.RegisterBroker, protocol.EncodeHeader(h), good)
	expectCode(t, resp, protocol.SystemError)
	if resp.Remark != "crc32 not match" {
		t.Errorf("remark %q", resp.Remark)
	}

	// Garbage bodies, plain and compressed.
	h = registerHeader("DefaultCluster", "broker-a", addrA, 0)
	expectCode(t, ts.call(t, protocol.RegisterBroker, protocol.EncodeHeader(h), []byte("{not json")), protocol.InvalidParameter)
	h.Compressed = true
	expectCode(t, ts.call(t, protocol.RegisterBroker, protocol.EncodeHeader(h), []byte("not zlib")), protocol.InvalidParameter)

	// Nothing was registered, and the server keeps serving on the same
	// connection.
	ts.expectNoRoute(t, "TopicTest")
	h = registerHeader("DefaultCluster", "broker-a", addrA, 0)
	h.BodyCrc32 = int32(crc32.ChecksumIEEE(good) & 0x7FFFFFFF)
	ts.ok(t, protocol.RegisterBroker, protocol.EncodeHeader(h), good)
	ts.route(t, "TopicTest")
}

func TestServerSlaveRegistration(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", addrA, 0), registerBody(1, topicConf("TopicTest", 4, 6)))
	resp := ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", "127.0.0.1:10921", 1), registerBody(1, topicConf("TopicTest", 4, 6)))
	var rh protocol.RegisterBrokerResponseHeader
	if err := protocol.DecodeHeader(resp.ExtFields, &rh); err != nil {
		t.Fatal(err)
	}
	if rh.MasterAddr != addrA || rh.HAServerAddr != haOf(addrA) {
		t.Errorf("slave response header = %+v", rh)
	}
	r := ts.route(t, "TopicTest")
	if want := map[int64]string{0: addrA, 1: "127.0.0.1:10921"}; !reflect.DeepEqual(r.BrokerDatas[0].BrokerAddrs, want) {
		t.Errorf("brokerAddrs = %v", r.BrokerDatas[0].BrokerAddrs)
	}
}

func TestServerClusterAndTopicLists(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	ts.registerTwo(t)
	ts.register(t, ts.cli, registerHeader("OtherCluster", "broker-o", "127.0.0.1:30911", 0), registerBody(1, topicConf("OtherTopic", 1, 6)))

	var ci body.ClusterInfo
	if err := ci.Decode(ts.ok(t, protocol.GetBrokerClusterInfo, nil, nil).Body); err != nil {
		t.Fatal(err)
	}
	want := body.ClusterInfo{
		BrokerAddrTable: map[string]body.BrokerData{
			"broker-a": {Cluster: "DefaultCluster", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: addrA}},
			"broker-b": {Cluster: "DefaultCluster", BrokerName: "broker-b", BrokerAddrs: map[int64]string{0: addrB}},
			"broker-o": {Cluster: "OtherCluster", BrokerName: "broker-o", BrokerAddrs: map[int64]string{0: "127.0.0.1:30911"}},
		},
		ClusterAddrTable: map[string][]string{"DefaultCluster": {"broker-a", "broker-b"}, "OtherCluster": {"broker-o"}},
	}
	if !reflect.DeepEqual(ci, want) {
		t.Errorf("cluster info = %+v\nwant %+v", ci, want)
	}

	if got := topicList(t, ts.ok(t, protocol.GetAllTopicListFromNameServer, nil, nil)); !slices.Equal(got, []string{"CompressedTopic", "OtherTopic", "Shared", "TopicTest"}) {
		t.Errorf("all topics = %v", got)
	}
	if got := topicList(t, ts.ok(t, protocol.GetTopicsByCluster, map[string]string{"cluster": "DefaultCluster"}, nil)); !slices.Equal(got, []string{"CompressedTopic", "Shared", "TopicTest"}) {
		t.Errorf("DefaultCluster topics = %v", got)
	}
	resp := ts.ok(t, protocol.GetTopicsByCluster, map[string]string{"cluster": "NoCluster"}, nil)
	if got := topicList(t, resp); len(got) != 0 || !strings.Contains(string(resp.Body), `"topicList":[]`) {
		t.Errorf("unknown cluster topics = %v (%s)", got, resp.Body)
	}
	expectCode(t, ts.call(t, protocol.GetTopicsByCluster, nil, nil), protocol.InvalidParameter)

	resp = ts.ok(t, protocol.GetSystemTopicListFromNS, nil, nil)
	var tl body.TopicList
	if err := tl.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	if want := []string{"DefaultCluster", "OtherCluster", "broker-a", "broker-b", "broker-o"}; !slices.Equal(tl.TopicList, want) {
		t.Errorf("system topics = %v", tl.TopicList)
	}
	if !slices.Contains([]string{addrA, addrB, "127.0.0.1:30911"}, tl.BrokerAddr) {
		t.Errorf("system topic broker addr = %q", tl.BrokerAddr)
	}
	if got := topicList(t, ts.ok(t, protocol.GetUnitTopicList, nil, nil)); len(got) != 0 {
		t.Errorf("unit topics = %v", got)
	}
}

func TestServerDeleteTopicAndUnregister(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	ts.registerTwo(t)

	ts.ok(t, protocol.DeleteTopicInNamesrv, map[string]string{"topic": "TopicTest"}, nil)
	ts.expectNoRoute(t, "TopicTest")
	ts.ok(t, protocol.DeleteTopicInNamesrv, map[string]string{"topic": "Shared", "clusterName": "NoCluster"}, nil)
	ts.route(t, "Shared")
	ts.ok(t, protocol.DeleteTopicInNamesrv, map[string]string{"topic": "Shared", "clusterName": "DefaultCluster"}, nil)
	ts.expectNoRoute(t, "Shared")
	expectCode(t, ts.call(t, protocol.DeleteTopicInNamesrv, nil, nil), protocol.InvalidParameter)

	ts.ok(t, protocol.UnregisterBroker, protocol.EncodeHeader(&protocol.UnregisterBrokerRequestHeader{
		BrokerName: "broker-b", BrokerAddr: addrB, ClusterName: "DefaultCluster", BrokerID: 0,
	}), nil)
	ts.expectNoRoute(t, "CompressedTopic")
	var ci body.ClusterInfo
	if err := ci.Decode(ts.ok(t, protocol.GetBrokerClusterInfo, nil, nil).Body); err != nil {
		t.Fatal(err)
	}
	if _, ok := ci.BrokerAddrTable["broker-b"]; ok || !slices.Equal(ci.ClusterAddrTable["DefaultCluster"], []string{"broker-a"}) {
		t.Errorf("after unregister: %+v", ci)
	}
	expectCode(t, ts.call(t, protocol.UnregisterBroker, map[string]string{"brokerName": "broker-a"}, nil), protocol.InvalidParameter)
}

func TestServerRegisterTopic(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	ts.registerTwo(t)
	rd := body.TopicRouteData{QueueDatas: []body.QueueData{
		{BrokerName: "broker-a", ReadQueueNums: 3, WriteQueueNums: 3, Perm: 6},
		{BrokerName: "broker-unknown", ReadQueueNums: 3, WriteQueueNums: 3, Perm: 6},
	}}
	ts.ok(t, protocol.RegisterTopicInNamesrv, map[string]string{"topic": "NewTopic"}, rd.Encode(body.StyleStandard))
	r := ts.route(t, "NewTopic")
	if want := rd.QueueDatas[:1]; !reflect.DeepEqual(r.QueueDatas, want) {
		t.Errorf("NewTopic queues = %+v", r.QueueDatas)
	}
	expectCode(t, ts.call(t, protocol.RegisterTopicInNamesrv, nil, nil), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.RegisterTopicInNamesrv, map[string]string{"topic": "X"}, []byte("[")), protocol.InvalidParameter)
}

func TestServerConnCloseRemovesBrokers(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	broker := remoting.NewClient(remoting.ClientConfig{})
	defer broker.Close()
	ts.register(t, broker, registerHeader("DefaultCluster", "broker-a", addrA, 0), registerBody(1, topicConf("TopicTest", 4, 6)))
	ts.register(t, broker, registerHeader("DefaultCluster", "broker-c", "127.0.0.1:40911", 0), registerBody(1, topicConf("TopicC", 4, 6)))
	// Registered over the test's own client: must survive.
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-b", addrB, 0), registerBody(1, topicConf("TopicB", 4, 6)))
	ts.route(t, "TopicTest")

	if err := broker.Close(); err != nil {
		t.Fatal(err)
	}
	gone := func(topic string) bool {
		return ts.call(t, protocol.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil).Code == int32(protocol.TopicNotExist)
	}
	eventually(t, "brokers of the closed connection to be removed", func() bool { return gone("TopicTest") && gone("TopicC") })
	ts.route(t, "TopicB")
	if got := ts.srv.Routes().ClusterInfo().ClusterAddrTable["DefaultCluster"]; !slices.Equal(got, []string{"broker-b"}) {
		t.Errorf("cluster = %v", got)
	}
}

func TestServerHeartbeatAndExpiry(t *testing.T) {
	clk := newFakeClock()
	ts := startServer(t, Config{Settings: DefaultSettings(), Now: clk.Now})
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", addrA, 0), registerBody(1, topicConf("TopicTest", 4, 6)))
	h := registerHeader("DefaultCluster", "broker-s", addrB, 0)
	ms := int64(5000)
	h.HeartbeatTimeoutMillis = &ms
	ts.register(t, ts.cli, h, registerBody(1, topicConf("ShortLived", 4, 6)))

	clk.Advance(100 * time.Second)
	ts.ok(t, protocol.BrokerHeartbeat, protocol.EncodeHeader(&protocol.BrokerHeartbeatRequestHeader{
		ClusterName: "DefaultCluster", BrokerAddr: addrA, BrokerName: "broker-a",
	}), nil)
	clk.Advance(30 * time.Second) // +130s: alive only thanks to the heartbeat
	ts.srv.ScanExpired()
	ts.route(t, "TopicTest")
	ts.expectNoRoute(t, "ShortLived") // heartbeatTimeoutMillis=5000

	clk.Advance(91 * time.Second) // 121 s after the heartbeat
	ts.srv.ScanExpired()
	ts.expectNoRoute(t, "TopicTest")

	// Heartbeats of unknown brokers are accepted and change nothing.
	ts.ok(t, protocol.BrokerHeartbeat, map[string]string{"clusterName": "X", "brokerAddr": "y:1", "brokerName": "z"}, nil)
	expectCode(t, ts.call(t, protocol.BrokerHeartbeat, map[string]string{"clusterName": "X"}, nil), protocol.InvalidParameter)
}

func TestServerQueryDataVersion(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	rb := registerBody(3, topicConf("TopicTest", 4, 6))
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", addrA, 0), rb)
	dv := rb.TopicConfigSerializeWrapper.DataVersion
	hdr := func(addr string) map[string]string {
		return protocol.EncodeHeader(&protocol.QueryDataVersionRequestHeader{
			BrokerName: "broker-a", BrokerAddr: addr, ClusterName: "DefaultCluster", BrokerID: 0,
		})
	}
	query := func(addr string, v body.DataVersion) (changed string, known *body.DataVersion) {
		t.Helper()
		resp := ts.ok(t, protocol.QueryDataVersion, hdr(addr), v.Encode())
		if len(resp.Body) > 0 {
			known = new(body.DataVersion)
			if err := known.Decode(resp.Body); err != nil {
				t.Fatal(err)
			}
		}
		return resp.Ext("changed"), known
	}

	if changed, known := query(addrA, dv); changed != "false" || known == nil || *known != dv {
		t.Errorf("same version: changed=%q known=%+v", changed, known)
	}
	other := dv
	other.Counter++
	if changed, known := query(addrA, other); changed != "true" || known == nil || *known != dv {
		t.Errorf("other version: changed=%q known=%+v", changed, known)
	}
	if changed, known := query("127.0.0.1:1", dv); changed != "true" || known != nil {
		t.Errorf("unknown broker: changed=%q known=%+v", changed, known)
	}
	expectCode(t, ts.call(t, protocol.QueryDataVersion, hdr(addrA), []byte("garbage")), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.QueryDataVersion, map[string]string{"brokerName": "broker-a"}, nil), protocol.InvalidParameter)
}

func TestServerWritePerm(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", addrA, 0),
		registerBody(1, topicConf("T1", 4, 6), topicConf("T2", 4, 7)))
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-b", addrB, 0), registerBody(1, topicConf("T1", 4, 6)))

	resp := ts.ok(t, protocol.WipeWritePermOfBroker, map[string]string{"brokerName": "broker-a"}, nil)
	if got := resp.Ext("wipeTopicCount"); got != "2" {
		t.Errorf("wipeTopicCount = %q", got)
	}
	perms := func(topic string) map[string]int32 {
		m := map[string]int32{}
		for _, qd := range ts.route(t, topic).QueueDatas {
			m[qd.BrokerName] = qd.Perm
		}
		return m
	}
	if got := perms("T1"); !reflect.DeepEqual(got, map[string]int32{"broker-a": 4, "broker-b": 6}) {
		t.Errorf("T1 perms after wipe = %v", got)
	}
	if got := perms("T2"); !reflect.DeepEqual(got, map[string]int32{"broker-a": 5}) {
		t.Errorf("T2 perms after wipe = %v", got)
	}

	resp = ts.ok(t, protocol.AddWritePermOfBroker, map[string]string{"brokerName": "broker-a"}, nil)
	if got := resp.Ext("addTopicCount"); got != "2" {
		t.Errorf("addTopicCount = %q", got)
	}
	if got := perms("T2"); !reflect.DeepEqual(got, map[string]int32{"broker-a": 6}) {
		t.Errorf("T2 perms after add = %v", got)
	}
	resp = ts.ok(t, protocol.WipeWritePermOfBroker, map[string]string{"brokerName": "nope"}, nil)
	if got := resp.Ext("wipeTopicCount"); got != "0" {
		t.Errorf("unknown broker wipeTopicCount = %q", got)
	}
	expectCode(t, ts.call(t, protocol.AddWritePermOfBroker, nil, nil), protocol.InvalidParameter)
}

func TestServerKV(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	kv := func(ns, key string) map[string]string { return map[string]string{"namespace": ns, "key": key} }

	resp := ts.call(t, protocol.GetKVConfig, kv("NS", "k1"), nil)
	expectCode(t, resp, protocol.QueryNotFound)
	if resp.Remark != "No config item, Namespace: NS Key: k1" {
		t.Errorf("remark %q", resp.Remark)
	}
	expectCode(t, ts.call(t, protocol.GetKVListByNamespace, map[string]string{"namespace": "NS"}, nil), protocol.QueryNotFound)

	ts.ok(t, protocol.PutKVConfig, map[string]string{"namespace": "NS", "key": "k1", "value": "v1"}, nil)
	ts.ok(t, protocol.PutKVConfig, map[string]string{"namespace": "NS", "key": "k2", "value": "v2"}, nil)
	ts.ok(t, protocol.PutKVConfig, map[string]string{"namespace": "NS", "key": "k1", "value": "v1b"}, nil)
	ts.ok(t, protocol.PutKVConfig, map[string]string{"namespace": "Other", "key": "k1", "value": "o"}, nil)
	if got := ts.ok(t, protocol.GetKVConfig, kv("NS", "k1"), nil).Ext("value"); got != "v1b" {
		t.Errorf("get k1 = %q", got)
	}

	var table body.KVTable
	if err := table.Decode(ts.ok(t, protocol.GetKVListByNamespace, map[string]string{"namespace": "NS"}, nil).Body); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"k1": "v1b", "k2": "v2"}; !reflect.DeepEqual(table.Table, want) {
		t.Errorf("list NS = %v", table.Table)
	}

	ts.ok(t, protocol.DeleteKVConfig, kv("NS", "k1"), nil)
	ts.ok(t, protocol.DeleteKVConfig, kv("NS", "absent"), nil)
	expectCode(t, ts.call(t, protocol.GetKVConfig, kv("NS", "k1"), nil), protocol.QueryNotFound)
	if got := ts.ok(t, protocol.GetKVConfig, kv("Other", "k1"), nil).Ext("value"); got != "o" {
		t.Errorf("other namespace k1 = %q", got)
	}
	ts.ok(t, protocol.DeleteKVConfig, kv("NS", "k2"), nil)
	expectCode(t, ts.call(t, protocol.GetKVListByNamespace, map[string]string{"namespace": "NS"}, nil), protocol.QueryNotFound)

	expectCode(t, ts.call(t, protocol.PutKVConfig, map[string]string{"namespace": "NS", "key": "k"}, nil), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.GetKVConfig, map[string]string{"namespace": "NS"}, nil), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.DeleteKVConfig, map[string]string{"key": "k"}, nil), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.GetKVListByNamespace, nil, nil), protocol.InvalidParameter)
}

func TestServerNamesrvConfig(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", addrA, 0), registerBody(1, topicConf("TopicTest", 4, 6)))
	config := func() string { return string(ts.ok(t, protocol.GetNamesrvConfig, nil, nil).Body) }
	const defaults = "deleteTopicWithBrokerRegistration=false\nenableAllTopicList=true\norderMessageEnable=false\n"
	if got := config(); got != defaults {
		t.Errorf("initial config %q", got)
	}

	// Refused keys answer NO_PERMISSION and change nothing, even next to
	// allowed ones.
	for _, props := range []string{
		"kvConfigPath=/tmp/x",
		"configStorePath=/tmp/x",
		"orderMessageEnable=true\nkvConfigPath=/tmp/x",
		"enableAllTopicList=false\nrocketmqHome=/tmp",
		"kvConfigPath:/tmp/x",
	} {
		resp := ts.call(t, protocol.UpdateNamesrvConfig, nil, []byte(props))
		expectCode(t, resp, protocol.NoPermission)
		if got := config(); got != defaults {
			t.Fatalf("%q changed the config to %q", props, got)
		}
	}
	expectCode(t, ts.call(t, protocol.UpdateNamesrvConfig, nil, []byte("enableAllTopicList=maybe")), protocol.InvalidParameter)
	expectCode(t, ts.call(t, protocol.UpdateNamesrvConfig, nil, []byte("justakey")), protocol.InvalidParameter)
	if got := config(); got != defaults {
		t.Fatalf("invalid update changed the config to %q", got)
	}

	// enableAllTopicList=false disables GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
	ts.ok(t, protocol.GetAllTopicListFromNameServer, nil, nil)
	ts.ok(t, protocol.UpdateNamesrvConfig, nil, []byte("# comment\nenableAllTopicList = false\n"))
	resp := ts.call(t, protocol.GetAllTopicListFromNameServer, nil, nil)
	expectCode(t, resp, protocol.SystemError)
	if resp.Remark != "disable" {
		t.Errorf("remark %q", resp.Remark)
	}

	// orderMessageEnable adds the KV ORDER_TOPIC_CONFIG entry to routes.
	ts.ok(t, protocol.PutKVConfig, map[string]string{"namespace": "ORDER_TOPIC_CONFIG", "key": "TopicTest", "value": "broker-a:4"}, nil)
	if r := ts.route(t, "TopicTest"); r.OrderTopicConf != "" {
		t.Errorf("orderTopicConf %q while orderMessageEnable=false", r.OrderTopicConf)
	}
	ts.ok(t, protocol.UpdateNamesrvConfig, nil, []byte("orderMessageEnable=true"))
	if r := ts.route(t, "TopicTest"); r.OrderTopicConf != "broker-a:4" {
		t.Errorf("orderTopicConf = %q", r.OrderTopicConf)
	}
	if got, want := config(), "deleteTopicWithBrokerRegistration=false\nenableAllTopicList=false\norderMessageEnable=true\n"; got != want {
		t.Errorf("config %q, want %q", got, want)
	}

	// deleteTopicWithBrokerRegistration reaches the route table.
	ts.ok(t, protocol.UpdateNamesrvConfig, nil, []byte("deleteTopicWithBrokerRegistration=true"))
	if !ts.srv.settings().DeleteTopicWithBrokerRegistration {
		t.Error("deleteTopicWithBrokerRegistration not applied")
	}
	ts.register(t, ts.cli, registerHeader("DefaultCluster", "broker-a", addrA, 0), registerBody(2, topicConf("Other", 4, 6)))
	ts.expectNoRoute(t, "TopicTest")
}
