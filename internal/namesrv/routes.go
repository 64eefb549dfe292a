package namesrv

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/protocol/body"
)

// DefaultBrokerTimeout is how long a broker stays routable without
// re-registering, when its registration does not say (Java: 120 s).
const DefaultBrokerTimeout = 120 * time.Second

// pseudoTopicQueues is the queue count of the routes synthesised for a
// cluster or broker name (Java's TopicConfig default).
const pseudoTopicQueues = 16

// brokerKey identifies one broker process: an address within a cluster.
type brokerKey struct {
	cluster string
	addr    string
}

// liveBroker is the liveness record of one registered broker process.
type liveBroker struct {
	name        string
	id          int64
	haAddr      string
	lastUpdate  time.Time
	timeout     time.Duration
	dataVersion body.DataVersion
	conn        any // the connection it registered over; nil if unknown
}

// Registration is one REGISTER_BROKER call, decoded.
type Registration struct {
	Cluster            string
	BrokerName         string
	BrokerAddr         string
	HAServerAddr       string
	BrokerID           int64
	ZoneName           string
	EnableActingMaster bool
	Timeout            time.Duration // zero: DefaultBrokerTimeout
	Topics             *body.TopicConfigAndMappingSerializeWrapper
	Conn               any // connection identity, for dropping the broker when it closes
}

// RegisterResult is what a registering broker learns back.
type RegisterResult struct {
	MasterAddr   string
	HAServerAddr string
}

// RouteTable is the name server's state: clusters, brokers, and the queues
// each broker name serves per topic. It has no network code; Server wires
// it to requests. All methods are safe for concurrent use.
type RouteTable struct {
	now func() time.Time

	// deleteTopicWithRegistration drops a broker's topics that are missing
	// from its registration (Java's deleteTopicWithBrokerRegistration,
	// off by default so that a partial registration never loses routes).
	deleteTopicWithRegistration bool

	mu       sync.RWMutex
	topics   map[string]map[string]body.QueueData // topic -> broker name -> queues
	brokers  map[string]*body.BrokerData          // broker name -> cluster and addresses
	clusters map[string]map[string]struct{}       // cluster -> broker names
	live     map[brokerKey]*liveBroker
}

// NewRouteTable returns an empty table using now as its clock.
func NewRouteTable(now func() time.Time) *RouteTable {
	if now == nil {
		now = time.Now
	}
	return &RouteTable{
		now:      now,
		topics:   make(map[string]map[string]body.QueueData),
		brokers:  make(map[string]*body.BrokerData),
		clusters: make(map[string]map[string]struct{}),
		live:     make(map[brokerKey]*liveBroker),
	}
}

// Register records a broker registration. Topic queues are taken only from
// masters (broker id 0) or acting masters; slaves add their address.
func (t *RouteTable) Register(r Registration) RegisterResult {
	t.mu.Lock()
	defer t.mu.Unlock()

	names := t.clusters[r.Cluster]
	if names == nil {
		names = make(map[string]struct{})
		t.clusters[r.Cluster] = names
	}
	names[r.BrokerName] = struct{}{}

	bd := t.brokers[r.BrokerName]
	if bd == nil {
		bd = &body.BrokerData{Cluster: r.Cluster, BrokerName: r.BrokerName, BrokerAddrs: make(map[int64]string)}
		t.brokers[r.BrokerName] = bd
	}
	bd.Cluster = r.Cluster
	bd.ZoneName = r.ZoneName
	bd.EnableActingMaster = r.EnableActingMaster
	// One address holds one role: a broker restarted with another id
	// (slave promoted, say) must not leave its old id behind.
	for id, addr := range bd.BrokerAddrs {
		if addr == r.BrokerAddr && id != r.BrokerID {
			delete(bd.BrokerAddrs, id)
		}
	}
	bd.BrokerAddrs[r.BrokerID] = r.BrokerAddr

	key := brokerKey{r.Cluster, r.BrokerAddr}
	prev := t.live[key]
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultBrokerTimeout
	}
	lb := &liveBroker{name: r.BrokerName, id: r.BrokerID, haAddr: r.HAServerAddr, lastUpdate: t.now(), timeout: timeout, conn: r.Conn}
	if r.Topics != nil {
		lb.dataVersion = r.Topics.DataVersion
	}
	t.live[key] = lb

	// An acting master (the lowest-id slave while the master is away) is
	// routed read-only, as Java's "wipe write perm for prime slave".
	actingMaster := r.BrokerID != body.MasterID && r.EnableActingMaster && t.lowestIDLocked(bd) == r.BrokerID
	isMaster := r.BrokerID == body.MasterID || actingMaster
	if r.Topics != nil && isMaster {
		changed := prev == nil || prev.dataVersion != lb.dataVersion
		if changed || !t.hasTopicsLocked(r.BrokerName) {
			t.applyTopicsLocked(r.BrokerName, r.Topics.TopicConfigTable, actingMaster)
		}
	}

	var res RegisterResult
	if r.BrokerID != body.MasterID {
		if master, ok := bd.BrokerAddrs[body.MasterID]; ok {
			res.MasterAddr = master
			if ml := t.live[brokerKey{r.Cluster, master}]; ml != nil {
				res.HAServerAddr = ml.haAddr
			}
		}
	}
	return res
}

func (t *RouteTable) lowestIDLocked(bd *body.BrokerData) int64 {
	first := true
	var low int64
	for id := range bd.BrokerAddrs {
		if first || id < low {
			low, first = id, false
		}
	}
	return low
}

func (t *RouteTable) hasTopicsLocked(brokerName string) bool {
	for _, qds := range t.topics {
		if _, ok := qds[brokerName]; ok {
			return true
		}
	}
	return false
}

func (t *RouteTable) applyTopicsLocked(brokerName string, table map[string]body.TopicConfig, readOnly bool) {
	for name, tc := range table {
		if tc.TopicName == "" {
			tc.TopicName = name
		}
		if readOnly {
			tc.Perm &^= permWrite
		}
		qds := t.topics[tc.TopicName]
		if qds == nil {
			qds = make(map[string]body.QueueData)
			t.topics[tc.TopicName] = qds
		}
		qds[brokerName] = body.QueueData{
			BrokerName:     brokerName,
			ReadQueueNums:  tc.ReadQueueNums,
			WriteQueueNums: tc.WriteQueueNums,
			Perm:           tc.Perm,
			TopicSysFlag:   tc.TopicSysFlag,
		}
	}
	if t.deleteTopicWithRegistration {
		for topic, qds := range t.topics {
			if _, ok := table[topic]; !ok {
				t.removeQueueLocked(topic, qds, brokerName)
			}
		}
	}
}

func (t *RouteTable) removeQueueLocked(topic string, qds map[string]body.QueueData, brokerName string) {
	delete(qds, brokerName)
	if len(qds) == 0 {
		delete(t.topics, topic)
	}
}

// Unregister removes one broker process, as on UNREGISTER_BROKER.
func (t *RouteTable) Unregister(cluster, brokerName, addr string, id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeBrokerLocked(brokerKey{cluster, addr}, brokerName, id)
}

// removeBrokerLocked drops one broker process; when a broker name loses its
// last address it leaves the cluster and every topic route.
func (t *RouteTable) removeBrokerLocked(key brokerKey, brokerName string, id int64) {
	delete(t.live, key)
	bd := t.brokers[brokerName]
	if bd == nil {
		return
	}
	if addr, ok := bd.BrokerAddrs[id]; ok && addr == key.addr {
		delete(bd.BrokerAddrs, id)
	}
	if len(bd.BrokerAddrs) > 0 {
		return
	}
	delete(t.brokers, brokerName)
	if names := t.clusters[bd.Cluster]; names != nil {
		delete(names, brokerName)
		if len(names) == 0 {
			delete(t.clusters, bd.Cluster)
		}
	}
	for topic, qds := range t.topics {
		if _, ok := qds[brokerName]; ok {
			t.removeQueueLocked(topic, qds, brokerName)
		}
	}
}

// Expired is a broker dropped by ScanExpired or ConnClosed.
type Expired struct {
	Cluster, BrokerName, Addr string
	BrokerID                  int64
}

// ScanExpired drops brokers that have not refreshed their registration
// within their timeout and returns them.
func (t *RouteTable) ScanExpired() []Expired {
	now := t.now()
	return t.dropWhere(func(lb *liveBroker) bool { return now.Sub(lb.lastUpdate) > lb.timeout })
}

// ConnClosed drops the brokers that registered over conn (Java's
// onChannelDestroy): a broker whose connection broke is gone until it
// registers again, without waiting for the timeout.
func (t *RouteTable) ConnClosed(conn any) []Expired {
	if conn == nil {
		return nil
	}
	return t.dropWhere(func(lb *liveBroker) bool { return lb.conn == conn })
}

func (t *RouteTable) dropWhere(match func(*liveBroker) bool) []Expired {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Expired
	for key, lb := range t.live {
		if match(lb) {
			out = append(out, Expired{Cluster: key.cluster, BrokerName: lb.name, Addr: key.addr, BrokerID: lb.id})
			t.removeBrokerLocked(key, lb.name, lb.id)
		}
	}
	return out
}

// Touch refreshes a broker's liveness (BROKER_HEARTBEAT), reporting whether
// it is registered.
func (t *RouteTable) Touch(cluster, addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	lb := t.live[brokerKey{cluster, addr}]
	if lb == nil {
		return false
	}
	lb.lastUpdate = t.now()
	return true
}

// QueryDataVersion refreshes a broker's liveness and reports whether dv
// differs from the version of its last registration, and that version.
func (t *RouteTable) QueryDataVersion(cluster, addr string, dv body.DataVersion) (changed bool, known *body.DataVersion) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lb := t.live[brokerKey{cluster, addr}]
	if lb == nil {
		return true, nil
	}
	lb.lastUpdate = t.now()
	v := lb.dataVersion
	return v != dv, &v
}

// TopicRoute returns the route of topic: the queues of every broker name
// serving it and those brokers' addresses. A topic nobody registered but
// that names a cluster or a broker gets a route to that cluster's or
// broker's brokers, as if they had registered it (Java brokers register
// such topics themselves; admin tools route LMQ commands through them).
func (t *RouteTable) TopicRoute(topic string) (*body.TopicRouteData, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var qds []body.QueueData
	if reg := t.topics[topic]; len(reg) > 0 {
		for _, qd := range reg {
			qds = append(qds, qd)
		}
	} else {
		for _, name := range t.pseudoTopicBrokersLocked(topic) {
			qds = append(qds, body.QueueData{
				BrokerName: name, ReadQueueNums: pseudoTopicQueues, WriteQueueNums: pseudoTopicQueues,
				Perm: permRead | permWrite | permInherit,
			})
		}
	}
	if len(qds) == 0 {
		return nil, false
	}
	slices.SortFunc(qds, func(a, b body.QueueData) int { return strings.Compare(a.BrokerName, b.BrokerName) })
	route := &body.TopicRouteData{QueueDatas: qds, FilterServerTable: map[string][]string{}}
	for _, qd := range qds {
		if bd := t.brokers[qd.BrokerName]; bd != nil {
			route.BrokerDatas = append(route.BrokerDatas, cloneBrokerData(bd))
		}
	}
	return route, true
}

func (t *RouteTable) pseudoTopicBrokersLocked(topic string) []string {
	if names, ok := t.clusters[topic]; ok {
		out := make([]string, 0, len(names))
		for n := range names {
			out = append(out, n)
		}
		return out
	}
	if _, ok := t.brokers[topic]; ok {
		return []string{topic}
	}
	return nil
}

func cloneBrokerData(bd *body.BrokerData) body.BrokerData {
	c := *bd
	c.BrokerAddrs = make(map[int64]string, len(bd.BrokerAddrs))
	for id, a := range bd.BrokerAddrs {
		c.BrokerAddrs[id] = a
	}
	return c
}

// ClusterInfo returns every cluster and broker.
func (t *RouteTable) ClusterInfo() *body.ClusterInfo {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ci := &body.ClusterInfo{
		BrokerAddrTable:  make(map[string]body.BrokerData, len(t.brokers)),
		ClusterAddrTable: make(map[string][]string, len(t.clusters)),
	}
	for name, bd := range t.brokers {
		ci.BrokerAddrTable[name] = cloneBrokerData(bd)
	}
	for cluster, names := range t.clusters {
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		slices.Sort(list)
		ci.ClusterAddrTable[cluster] = list
	}
	return ci
}

// Topics returns every registered topic, sorted.
func (t *RouteTable) Topics() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.topics))
	for topic := range t.topics {
		out = append(out, topic)
	}
	slices.Sort(out)
	return out
}

// TopicsByCluster returns the topics served by any broker of cluster,
// sorted; ok is false for an unknown cluster.
func (t *RouteTable) TopicsByCluster(cluster string) (topics []string, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	names, ok := t.clusters[cluster]
	if !ok {
		return nil, false
	}
	for topic, qds := range t.topics {
		for name := range qds {
			if _, in := names[name]; in {
				topics = append(topics, topic)
				break
			}
		}
	}
	slices.Sort(topics)
	return topics, true
}

// SystemTopics returns the cluster and broker names (which double as
// topics) and one broker address, for GET_SYSTEM_TOPIC_LIST_FROM_NS.
func (t *RouteTable) SystemTopics() (topics []string, someAddr string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for cluster, names := range t.clusters {
		topics = append(topics, cluster)
		for n := range names {
			topics = append(topics, n)
			if bd := t.brokers[n]; bd != nil && someAddr == "" {
				for _, a := range bd.BrokerAddrs {
					someAddr = a
					break
				}
			}
		}
	}
	slices.Sort(topics)
	return topics, someAddr
}

// DeleteTopic removes a topic's route, on every broker or only on those of
// cluster when it is non-empty.
func (t *RouteTable) DeleteTopic(topic, cluster string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	qds := t.topics[topic]
	if qds == nil {
		return
	}
	if cluster == "" {
		delete(t.topics, topic)
		return
	}
	for name := range t.clusters[cluster] {
		if _, ok := qds[name]; ok {
			t.removeQueueLocked(topic, qds, name)
		}
	}
}

// RegisterTopic adds the queue data of a route (REGISTER_TOPIC_IN_NAMESRV)
// for broker names that are already known.
func (t *RouteTable) RegisterTopic(topic string, qds []body.QueueData) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, qd := range qds {
		if _, known := t.brokers[qd.BrokerName]; !known {
			continue
		}
		m := t.topics[topic]
		if m == nil {
			m = make(map[string]body.QueueData)
			t.topics[topic] = m
		}
		m[qd.BrokerName] = qd
	}
}

// SetWritePerm clears (allow=false) or restores the write permission of
// every topic queue served by brokerName and returns how many changed
// (WIPE_WRITE_PERM_OF_BROKER / ADD_WRITE_PERM_OF_BROKER).
func (t *RouteTable) SetWritePerm(brokerName string, allow bool) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, qds := range t.topics {
		qd, ok := qds[brokerName]
		if !ok {
			continue
		}
		if allow {
			qd.Perm = permRead | permWrite
		} else {
			qd.Perm &^= permWrite
		}
		qds[brokerName] = qd
		n++
	}
	return n
}

// Perm bits of a topic (upstream PermName).
const (
	permInherit = 1
	permWrite   = 2
	permRead    = 4
)
