package namesrv

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bolidemq/bolide/internal/protocol/body"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a manually advanced clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func topicConf(name string, queues, perm int32) body.TopicConfig {
	return body.TopicConfig{TopicName: name, ReadQueueNums: queues, WriteQueueNums: queues, Perm: perm}
}

func wrapper(counter int64, tcs ...body.TopicConfig) *body.TopicConfigAndMappingSerializeWrapper {
	tw := &body.TopicConfigAndMappingSerializeWrapper{}
	tw.DataVersion = body.DataVersion{Timestamp: 1700000000000, Counter: counter}
	tw.TopicConfigTable = make(map[string]body.TopicConfig, len(tcs))
	for _, tc := range tcs {
		tw.TopicConfigTable[tc.TopicName] = tc
	}
	return tw
}

func master(cluster, name, addr string, tw *body.TopicConfigAndMappingSerializeWrapper) Registration {
	return Registration{Cluster: cluster, BrokerName: name, BrokerAddr: addr, HAServerAddr: haOf(addr), BrokerID: 0, Topics: tw}
}

func haOf(addr string) string { return addr + "-ha" }

func mustRoute(t *testing.T, rt *RouteTable, topic string) *body.TopicRouteData {
	t.Helper()
	r, ok := rt.TopicRoute(topic)
	if !ok {
		t.Fatalf("TopicRoute(%q): not found", topic)
	}
	return r
}

func noRoute(t *testing.T, rt *RouteTable, topic string) {
	t.Helper()
	if r, ok := rt.TopicRoute(topic); ok {
		t.Fatalf("TopicRoute(%q) = %+v, want none", topic, r)
	}
}

func routeBrokers(r *body.TopicRouteData) (qNames, bNames []string) {
	for _, qd := range r.QueueDatas {
		qNames = append(qNames, qd.BrokerName)
	}
	for _, bd := range r.BrokerDatas {
		bNames = append(bNames, bd.BrokerName)
	}
	return qNames, bNames
}

func queueOf(t *testing.T, rt *RouteTable, topic, broker string) body.QueueData {
	t.Helper()
	for _, qd := range mustRoute(t, rt, topic).QueueDatas {
		if qd.BrokerName == broker {
			return qd
		}
	}
	t.Fatalf("topic %q has no queue data for %q", topic, broker)
	return body.QueueData{}
}

func TestRegisterMasterCreatesClusterBrokerAndQueues(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	tw := wrapper(1, topicConf("T1", 4, 6), topicConf("T2", 8, 7))
	r := master("C", "broker-a", "10.0.0.1:10911", tw)
	r.ZoneName = "zone-1"
	if res := rt.Register(r); res != (RegisterResult{}) {
		t.Errorf("master RegisterResult = %+v, want zero", res)
	}

	ci := rt.ClusterInfo()
	wantBD := body.BrokerData{Cluster: "C", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: "10.0.0.1:10911"}, ZoneName: "zone-1"}
	if !reflect.DeepEqual(ci.BrokerAddrTable, map[string]body.BrokerData{"broker-a": wantBD}) {
		t.Errorf("BrokerAddrTable = %+v", ci.BrokerAddrTable)
	}
	if !reflect.DeepEqual(ci.ClusterAddrTable, map[string][]string{"C": {"broker-a"}}) {
		t.Errorf("ClusterAddrTable = %+v", ci.ClusterAddrTable)
	}
	if got := rt.Topics(); !slices.Equal(got, []string{"T1", "T2"}) {
		t.Errorf("Topics = %v", got)
	}

	route := mustRoute(t, rt, "T2")
	want := &body.TopicRouteData{
		QueueDatas:        []body.QueueData{{BrokerName: "broker-a", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 7}},
		BrokerDatas:       []body.BrokerData{wantBD},
		FilterServerTable: map[string][]string{},
	}
	if !reflect.DeepEqual(route, want) {
		t.Errorf("route T2 = %+v\nwant %+v", route, want)
	}

	// The route is a copy: changing it does not change the table.
	route.BrokerDatas[0].BrokerAddrs[5] = "x"
	if got := mustRoute(t, rt, "T2").BrokerDatas[0].BrokerAddrs; len(got) != 1 {
		t.Errorf("route aliases the table: %v", got)
	}
	noRoute(t, rt, "T3")
}

func TestRouteHasOnlyBrokersServingTopic(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	rt.Register(master("C1", "broker-b", "10.0.0.2:10911", wrapper(1, topicConf("T2", 4, 6))))
	rt.Register(master("C1", "broker-a", "10.0.0.1:10911", wrapper(1, topicConf("T1", 4, 6), topicConf("T2", 2, 6))))
	rt.Register(master("C2", "broker-c", "10.0.0.3:10911", wrapper(1, topicConf("T1", 1, 6))))
	rt.Register(master("C2", "broker-d", "10.0.0.4:10911", wrapper(1)))

	for topic, want := range map[string][]string{
		"T1": {"broker-a", "broker-c"},
		"T2": {"broker-a", "broker-b"},
	} {
		r := mustRoute(t, rt, topic)
		q, b := routeBrokers(r)
		if !slices.Equal(q, want) || !slices.Equal(b, want) {
			t.Errorf("%s: queue brokers %v, broker datas %v, want %v", topic, q, b, want)
		}
		for _, bd := range r.BrokerDatas {
			if len(bd.BrokerAddrs) != 1 || bd.BrokerAddrs[0] == "" {
				t.Errorf("%s: %s brokerAddrs = %v, want the master at id 0", topic, bd.BrokerName, bd.BrokerAddrs)
			}
		}
	}
	if qd := queueOf(t, rt, "T2", "broker-a"); qd.ReadQueueNums != 2 {
		t.Errorf("T2 on broker-a = %+v", qd)
	}
}

func TestSlaveRegistration(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	const m, s = "10.0.0.1:10911", "10.0.0.2:10911"

	// A slave registering before its master learns no master.
	early := Registration{Cluster: "C", BrokerName: "broker-b", BrokerAddr: "10.0.0.9:10911", HAServerAddr: "h", BrokerID: 1, Topics: wrapper(1, topicConf("TB", 4, 6))}
	if res := rt.Register(early); res != (RegisterResult{}) {
		t.Errorf("slave without master: RegisterResult = %+v", res)
	}
	noRoute(t, rt, "TB") // slaves never contribute queues

	rt.Register(master("C", "broker-a", m, wrapper(1, topicConf("T1", 4, 6))))
	res := rt.Register(Registration{
		Cluster: "C", BrokerName: "broker-a", BrokerAddr: s, HAServerAddr: haOf(s), BrokerID: 1,
		Topics: wrapper(7, topicConf("T1", 2, 4), topicConf("T9", 3, 6)),
	})
	if want := (RegisterResult{MasterAddr: m, HAServerAddr: haOf(m)}); res != want {
		t.Errorf("slave RegisterResult = %+v, want %+v", res, want)
	}
	route := mustRoute(t, rt, "T1")
	if want := []body.QueueData{{BrokerName: "broker-a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}}; !reflect.DeepEqual(route.QueueDatas, want) {
		t.Errorf("slave changed queue data: %+v", route.QueueDatas)
	}
	if want := map[int64]string{0: m, 1: s}; !reflect.DeepEqual(route.BrokerDatas[0].BrokerAddrs, want) {
		t.Errorf("brokerAddrs = %v, want %v", route.BrokerDatas[0].BrokerAddrs, want)
	}
	noRoute(t, rt, "T9")

	// The same address re-registering as master (slave promoted) keeps
	// one role per address.
	rt.Register(master("C", "broker-a", s, wrapper(8, topicConf("T1", 2, 6))))
	if got := mustRoute(t, rt, "T1").BrokerDatas[0].BrokerAddrs; !reflect.DeepEqual(got, map[int64]string{0: s}) {
		t.Errorf("after promotion brokerAddrs = %v", got)
	}
}

func TestActingMasterIsReadOnly(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	const m, s = "10.0.0.1:10911", "10.0.0.2:10911"
	slave := Registration{Cluster: "C", BrokerName: "broker-a", BrokerAddr: s, BrokerID: 1, EnableActingMaster: true,
		Topics: wrapper(1, topicConf("T1", 4, 6))}

	// With its master present, an acting-master-capable slave is a slave.
	mr := master("C", "broker-a", m, wrapper(1, topicConf("T1", 8, 6)))
	mr.EnableActingMaster = true
	rt.Register(mr)
	rt.Register(slave)
	if qd := queueOf(t, rt, "T1", "broker-a"); qd.ReadQueueNums != 8 || qd.Perm != 6 {
		t.Errorf("with master: %+v", qd)
	}

	// Master gone: the lowest-id slave serves the topics, read-only.
	rt.Unregister("C", "broker-a", m, 0)
	slave.Topics = wrapper(2, topicConf("T1", 4, 6))
	rt.Register(slave)
	if qd := queueOf(t, rt, "T1", "broker-a"); qd.ReadQueueNums != 4 || qd.Perm != 4 {
		t.Errorf("acting master queue data = %+v, want 4 queues perm 4", qd)
	}

	// Without enableActingMaster a lone slave contributes nothing.
	rt.Register(Registration{Cluster: "C", BrokerName: "broker-x", BrokerAddr: "10.0.0.5:10911", BrokerID: 1,
		Topics: wrapper(1, topicConf("TX", 4, 6))})
	noRoute(t, rt, "TX")
}

func TestReRegistrationAppliesTopicsOnlyOnChange(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	const a = "10.0.0.1:10911"
	rt.Register(master("C", "broker-a", a, wrapper(1, topicConf("T1", 4, 6), topicConf("T2", 4, 6))))
	if n := rt.SetWritePerm("broker-a", false); n != 2 {
		t.Fatalf("SetWritePerm = %d", n)
	}

	// Periodic re-registration with the same DataVersion keeps the state.
	rt.Register(master("C", "broker-a", a, wrapper(1, topicConf("T1", 4, 6), topicConf("T2", 4, 6))))
	if qd := queueOf(t, rt, "T1", "broker-a"); qd.Perm != 4 {
		t.Errorf("unchanged DataVersion re-applied topics: perm %d, want 4", qd.Perm)
	}
	rt.DeleteTopic("T2", "")
	rt.Register(master("C", "broker-a", a, wrapper(1, topicConf("T1", 4, 6), topicConf("T2", 4, 6))))
	noRoute(t, rt, "T2")

	// A new DataVersion re-applies the table.
	rt.Register(master("C", "broker-a", a, wrapper(2, topicConf("T1", 8, 6), topicConf("T2", 4, 6))))
	if qd := queueOf(t, rt, "T1", "broker-a"); qd.Perm != 6 || qd.ReadQueueNums != 8 {
		t.Errorf("changed DataVersion: %+v", qd)
	}
	mustRoute(t, rt, "T2")

	// A broker with no topics left gets them back even with the same version.
	rt.DeleteTopic("T1", "")
	rt.DeleteTopic("T2", "")
	rt.Register(master("C", "broker-a", a, wrapper(2, topicConf("T1", 8, 6), topicConf("T2", 4, 6))))
	mustRoute(t, rt, "T1")
	mustRoute(t, rt, "T2")
}

func TestDeleteTopicWithRegistration(t *testing.T) {
	for _, del := range []bool{false, true} {
		t.Run(fmt.Sprint(del), func(t *testing.T) {
			rt := NewRouteTable(newFakeClock().Now)
			rt.deleteTopicWithRegistration = del
			rt.Register(master("C", "broker-a", "a:1", wrapper(1, topicConf("T1", 4, 6), topicConf("T2", 4, 6))))
			rt.Register(master("C", "broker-b", "b:1", wrapper(1, topicConf("T2", 4, 6), topicConf("T3", 4, 6))))

			rt.Register(master("C", "broker-a", "a:1", wrapper(2, topicConf("T1", 4, 6))))
			mustRoute(t, rt, "T1")
			q, _ := routeBrokers(mustRoute(t, rt, "T2"))
			want := []string{"broker-a", "broker-b"}
			if del {
				want = []string{"broker-b"}
			}
			if !slices.Equal(q, want) {
				t.Errorf("T2 served by %v, want %v", q, want)
			}
			mustRoute(t, rt, "T3") // another broker's topics are untouched

			rt.Register(master("C", "broker-b", "b:1", wrapper(2, topicConf("T3", 4, 6))))
			if del {
				noRoute(t, rt, "T2")
			} else {
				mustRoute(t, rt, "T2")
			}
		})
	}
}

func TestPseudoTopics(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	rt.Register(master("C", "broker-a", "a:1", wrapper(1, topicConf("T1", 4, 6))))
	rt.Register(master("C", "broker-b", "b:1", wrapper(1)))
	rt.Register(master("D", "broker-d", "d:1", wrapper(1)))

	pseudo := func(name string) body.QueueData {
		return body.QueueData{BrokerName: name, ReadQueueNums: 16, WriteQueueNums: 16, Perm: 7}
	}
	r := mustRoute(t, rt, "C")
	if want := []body.QueueData{pseudo("broker-a"), pseudo("broker-b")}; !reflect.DeepEqual(r.QueueDatas, want) {
		t.Errorf("route C queues = %+v", r.QueueDatas)
	}
	if _, b := routeBrokers(r); !slices.Equal(b, []string{"broker-a", "broker-b"}) {
		t.Errorf("route C brokers = %v", b)
	}
	r = mustRoute(t, rt, "broker-b")
	if want := []body.QueueData{pseudo("broker-b")}; !reflect.DeepEqual(r.QueueDatas, want) {
		t.Errorf("route broker-b queues = %+v", r.QueueDatas)
	}
	if _, b := routeBrokers(r); !slices.Equal(b, []string{"broker-b"}) {
		t.Errorf("route broker-b brokers = %v", b)
	}
	noRoute(t, rt, "nobody")

	// A registered topic of the same name wins.
	rt.Register(master("D", "broker-d", "d:1", wrapper(2, topicConf("C", 2, 6))))
	r = mustRoute(t, rt, "C")
	if want := []body.QueueData{{BrokerName: "broker-d", ReadQueueNums: 2, WriteQueueNums: 2, Perm: 6}}; !reflect.DeepEqual(r.QueueDatas, want) {
		t.Errorf("registered topic C queues = %+v", r.QueueDatas)
	}
}

func TestScanExpired(t *testing.T) {
	clk := newFakeClock()
	rt := NewRouteTable(clk.Now)
	rt.Register(master("C", "broker-a", "a:1", wrapper(1, topicConf("OnlyA", 4, 6), topicConf("Shared", 4, 6))))
	short := master("C", "broker-b", "b:1", wrapper(1, topicConf("OnlyB", 4, 6)))
	short.Timeout = 10 * time.Second
	rt.Register(short)

	clk.Advance(11 * time.Second) // t0+11s
	if got := rt.ScanExpired(); !reflect.DeepEqual(got, []Expired{{Cluster: "C", BrokerName: "broker-b", Addr: "b:1", BrokerID: 0}}) {
		t.Fatalf("scan at +11s = %+v", got)
	}
	noRoute(t, rt, "OnlyB")
	rt.Register(master("C", "broker-c", "c:1", wrapper(1, topicConf("Shared", 4, 6))))

	clk.Advance(109 * time.Second) // t0+120s: exactly the timeout is still alive
	if got := rt.ScanExpired(); len(got) != 0 {
		t.Fatalf("scan at +120s = %+v", got)
	}
	clk.Advance(time.Second) // t0+121s
	if got := rt.ScanExpired(); !reflect.DeepEqual(got, []Expired{{Cluster: "C", BrokerName: "broker-a", Addr: "a:1"}}) {
		t.Fatalf("scan at +121s = %+v", got)
	}
	noRoute(t, rt, "OnlyA")
	if q, b := routeBrokers(mustRoute(t, rt, "Shared")); !slices.Equal(q, []string{"broker-c"}) || !slices.Equal(b, q) {
		t.Errorf("Shared after expiry: %v %v", q, b)
	}
	if got := rt.ClusterInfo().ClusterAddrTable["C"]; !slices.Equal(got, []string{"broker-c"}) {
		t.Errorf("cluster C = %v", got)
	}
	if got := rt.ScanExpired(); len(got) != 0 {
		t.Errorf("second scan = %+v", got)
	}

	clk.Advance(11 * time.Second) // c registered at +11s: now +132s
	if got := rt.ScanExpired(); len(got) != 1 || got[0].BrokerName != "broker-c" {
		t.Errorf("final scan = %+v", got)
	}
	if ci := rt.ClusterInfo(); len(ci.BrokerAddrTable) != 0 || len(ci.ClusterAddrTable) != 0 || len(rt.Topics()) != 0 {
		t.Errorf("table not empty: %+v topics %v", ci, rt.Topics())
	}
}

func TestConnClosed(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	connA, connB, connC := new(int), new(int), new(int)
	reg := func(name, addr string, conn any, topics ...body.TopicConfig) {
		r := master("C", name, addr, wrapper(1, topics...))
		r.Conn = conn
		rt.Register(r)
	}
	reg("broker-a", "a:1", connA, topicConf("TA", 4, 6))
	reg("broker-b", "b:1", connA, topicConf("TB", 4, 6))
	reg("broker-c", "c:1", connB, topicConf("TA", 4, 6))
	reg("broker-n", "n:1", nil, topicConf("TN", 4, 6))

	if got := rt.ConnClosed(nil); got != nil {
		t.Errorf("ConnClosed(nil) = %+v", got)
	}
	mustRoute(t, rt, "TN")
	if got := rt.ConnClosed(new(int)); len(got) != 0 {
		t.Errorf("unknown conn dropped %+v", got)
	}

	got := rt.ConnClosed(connA)
	names := []string{}
	for _, e := range got {
		names = append(names, e.BrokerName)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"broker-a", "broker-b"}) {
		t.Errorf("ConnClosed(connA) dropped %+v", got)
	}
	noRoute(t, rt, "TB")
	if q, _ := routeBrokers(mustRoute(t, rt, "TA")); !slices.Equal(q, []string{"broker-c"}) {
		t.Errorf("TA served by %v", q)
	}

	// A broker that re-registered over a new connection survives the old
	// one closing.
	reg("broker-c", "c:1", connC, topicConf("TA", 4, 6))
	if got := rt.ConnClosed(connB); len(got) != 0 {
		t.Errorf("stale conn dropped %+v", got)
	}
	mustRoute(t, rt, "TA")
}

func TestUnregister(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	rt.Register(master("C", "broker-a", "a:1", wrapper(1, topicConf("T", 4, 6))))
	rt.Register(Registration{Cluster: "C", BrokerName: "broker-a", BrokerAddr: "a:2", BrokerID: 1, Topics: wrapper(1)})
	rt.Register(master("C", "broker-b", "b:1", wrapper(1, topicConf("T", 4, 6))))

	rt.Unregister("C", "broker-a", "a:2", 1)
	if got := mustRoute(t, rt, "T").BrokerDatas[0].BrokerAddrs; !reflect.DeepEqual(got, map[int64]string{0: "a:1"}) {
		t.Errorf("after slave unregister: %v", got)
	}
	rt.Unregister("C", "broker-a", "a:1", 0)
	if q, b := routeBrokers(mustRoute(t, rt, "T")); !slices.Equal(q, []string{"broker-b"}) || !slices.Equal(b, q) {
		t.Errorf("after master unregister: %v %v", q, b)
	}
	if _, ok := rt.ClusterInfo().BrokerAddrTable["broker-a"]; ok {
		t.Error("broker-a still in cluster info")
	}
	// Unknown brokers are ignored.
	rt.Unregister("C", "broker-zz", "z:1", 0)
	rt.Unregister("C", "broker-b", "b:1", 0)
	noRoute(t, rt, "T")
	if _, ok := rt.TopicsByCluster("C"); ok {
		t.Error("cluster C survives its last broker")
	}
	if got := rt.ScanExpired(); len(got) != 0 {
		t.Errorf("unregistered brokers still live: %+v", got)
	}
}

func TestTouchAndQueryDataVersionRefreshLiveness(t *testing.T) {
	clk := newFakeClock()
	rt := NewRouteTable(clk.Now)
	dv1 := wrapper(1).DataVersion
	rt.Register(master("C", "broker-a", "a:1", wrapper(1, topicConf("TA", 4, 6))))
	rt.Register(master("C", "broker-b", "b:1", wrapper(1, topicConf("TB", 4, 6))))
	rt.Register(master("C", "broker-c", "c:1", wrapper(1, topicConf("TC", 4, 6))))

	clk.Advance(100 * time.Second)
	if !rt.Touch("C", "a:1") {
		t.Error("Touch(known) = false")
	}
	if rt.Touch("C", "zz:1") || rt.Touch("D", "a:1") {
		t.Error("Touch(unknown) = true")
	}
	changed, known := rt.QueryDataVersion("C", "b:1", dv1)
	if changed || known == nil || *known != dv1 {
		t.Errorf("QueryDataVersion(same) = %v, %+v", changed, known)
	}

	clk.Advance(30 * time.Second) // +130s: only c was not refreshed
	got := rt.ScanExpired()
	if len(got) != 1 || got[0].BrokerName != "broker-c" {
		t.Fatalf("scan = %+v, want only broker-c", got)
	}
	mustRoute(t, rt, "TA")
	mustRoute(t, rt, "TB")
	noRoute(t, rt, "TC")

	dv2 := wrapper(2).DataVersion
	changed, known = rt.QueryDataVersion("C", "b:1", dv2)
	if !changed || known == nil || *known != dv1 {
		t.Errorf("QueryDataVersion(other) = %v, %+v; want true, %+v", changed, known, dv1)
	}
	changed, known = rt.QueryDataVersion("C", "zz:1", dv1)
	if !changed || known != nil {
		t.Errorf("QueryDataVersion(unknown) = %v, %+v; want true, nil", changed, known)
	}

	rt.Touch("C", "b:1")
	clk.Advance(100 * time.Second) // +230s: a last refreshed at +100s, b at +130s
	got = rt.ScanExpired()
	if len(got) != 1 || got[0].BrokerName != "broker-a" {
		t.Errorf("scan = %+v, want only broker-a", got)
	}
}

func TestDeleteTopic(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	rt.Register(master("C1", "broker-a", "a:1", wrapper(1, topicConf("T", 4, 6), topicConf("U", 4, 6))))
	rt.Register(master("C1", "broker-b", "b:1", wrapper(1, topicConf("T", 4, 6))))
	rt.Register(master("C2", "broker-c", "c:1", wrapper(1, topicConf("T", 4, 6), topicConf("U", 4, 6))))

	rt.DeleteTopic("T", "nope") // unknown cluster: nothing
	rt.DeleteTopic("nope", "")  // unknown topic: nothing
	rt.DeleteTopic("nope", "C1")
	if q, _ := routeBrokers(mustRoute(t, rt, "T")); len(q) != 3 {
		t.Fatalf("T served by %v", q)
	}

	rt.DeleteTopic("T", "C1")
	if q, b := routeBrokers(mustRoute(t, rt, "T")); !slices.Equal(q, []string{"broker-c"}) || !slices.Equal(b, q) {
		t.Errorf("after delete in C1: %v %v", q, b)
	}
	rt.DeleteTopic("T", "C2")
	noRoute(t, rt, "T")

	rt.DeleteTopic("U", "")
	noRoute(t, rt, "U")
	if got := rt.Topics(); len(got) != 0 {
		t.Errorf("Topics = %v", got)
	}
	// The brokers stay.
	if got := rt.ClusterInfo().ClusterAddrTable; !reflect.DeepEqual(got, map[string][]string{"C1": {"broker-a", "broker-b"}, "C2": {"broker-c"}}) {
		t.Errorf("clusters = %v", got)
	}
}

func TestTopicsByClusterAndSystemTopics(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	if topics, addr := rt.SystemTopics(); len(topics) != 0 || addr != "" {
		t.Errorf("empty SystemTopics = %v %q", topics, addr)
	}
	rt.Register(master("C1", "broker-a", "a:1", wrapper(1, topicConf("T2", 4, 6), topicConf("T1", 4, 6))))
	rt.Register(master("C2", "broker-b", "b:1", wrapper(1, topicConf("T3", 4, 6), topicConf("T2", 4, 6))))
	rt.Register(master("C3", "broker-e", "e:1", wrapper(1)))

	for cluster, want := range map[string][]string{"C1": {"T1", "T2"}, "C2": {"T2", "T3"}} {
		if got, ok := rt.TopicsByCluster(cluster); !ok || !slices.Equal(got, want) {
			t.Errorf("TopicsByCluster(%s) = %v, %v; want %v", cluster, got, ok, want)
		}
	}
	if got, ok := rt.TopicsByCluster("C3"); !ok || len(got) != 0 {
		t.Errorf("TopicsByCluster(C3) = %v, %v", got, ok)
	}
	if got, ok := rt.TopicsByCluster("nope"); ok || got != nil {
		t.Errorf("TopicsByCluster(nope) = %v, %v", got, ok)
	}

	topics, addr := rt.SystemTopics()
	if want := []string{"C1", "C2", "C3", "broker-a", "broker-b", "broker-e"}; !slices.Equal(topics, want) {
		t.Errorf("SystemTopics = %v, want %v", topics, want)
	}
	if !slices.Contains([]string{"a:1", "b:1", "e:1"}, addr) {
		t.Errorf("SystemTopics addr = %q", addr)
	}
}

func TestSetWritePerm(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	rt.Register(master("C", "broker-a", "a:1", wrapper(1, topicConf("T1", 4, 6), topicConf("T2", 4, 7), topicConf("T3", 4, 4))))
	rt.Register(master("C", "broker-b", "b:1", wrapper(1, topicConf("T1", 4, 6))))

	if n := rt.SetWritePerm("broker-a", false); n != 3 {
		t.Errorf("wipe count = %d, want 3", n)
	}
	for topic, want := range map[string]int32{"T1": 4, "T2": 5, "T3": 4} {
		if qd := queueOf(t, rt, topic, "broker-a"); qd.Perm != want {
			t.Errorf("after wipe %s perm = %d, want %d", topic, qd.Perm, want)
		}
	}
	if qd := queueOf(t, rt, "T1", "broker-b"); qd.Perm != 6 {
		t.Errorf("broker-b perm changed: %d", qd.Perm)
	}

	if n := rt.SetWritePerm("broker-a", true); n != 3 {
		t.Errorf("add count = %d, want 3", n)
	}
	for _, topic := range []string{"T1", "T2", "T3"} {
		if qd := queueOf(t, rt, topic, "broker-a"); qd.Perm != 6 {
			t.Errorf("after add %s perm = %d, want 6 (read|write)", topic, qd.Perm)
		}
	}
	if n := rt.SetWritePerm("nope", false); n != 0 {
		t.Errorf("unknown broker count = %d", n)
	}
}

func TestRegisterTopic(t *testing.T) {
	rt := NewRouteTable(newFakeClock().Now)
	rt.Register(master("C", "broker-a", "a:1", wrapper(1)))
	rt.RegisterTopic("X", []body.QueueData{
		{BrokerName: "broker-zz", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6},
		{BrokerName: "broker-a", ReadQueueNums: 3, WriteQueueNums: 2, Perm: 6},
	})
	r := mustRoute(t, rt, "X")
	if want := []body.QueueData{{BrokerName: "broker-a", ReadQueueNums: 3, WriteQueueNums: 2, Perm: 6}}; !reflect.DeepEqual(r.QueueDatas, want) {
		t.Errorf("X queues = %+v", r.QueueDatas)
	}
	if _, b := routeBrokers(r); !slices.Equal(b, []string{"broker-a"}) {
		t.Errorf("X brokers = %v", b)
	}
	rt.RegisterTopic("Y", []body.QueueData{{BrokerName: "broker-zz", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}})
	noRoute(t, rt, "Y")
	if got := rt.Topics(); !slices.Equal(got, []string{"X"}) {
		t.Errorf("Topics = %v", got)
	}
}

// TestConcurrentUse is a smoke test for the race detector.
func TestConcurrentUse(t *testing.T) {
	clk := newFakeClock()
	rt := NewRouteTable(clk.Now)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("broker-%d", i)
			addr := fmt.Sprintf("10.0.0.%d:10911", i)
			for j := range 50 {
				rt.Register(master("C", name, addr, wrapper(int64(j), topicConf("T", 4, 6))))
				rt.TopicRoute("T")
				rt.Touch("C", addr)
				rt.SetWritePerm(name, j%2 == 0)
				rt.ClusterInfo()
				rt.SystemTopics()
				clk.Advance(time.Second)
				rt.ScanExpired()
			}
		}()
	}
	wg.Wait()
}
