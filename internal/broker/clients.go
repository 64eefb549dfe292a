package broker

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Client expiry, as upstream (ClientHousekeepingService): a client not
// heard from for 120 s is dropped; the scan runs every 10 s.
const (
	clientExpiry       = 120 * time.Second
	clientScanInterval = 10 * time.Second
)

// ClientInfo is one registered client of a group: the id it announced and
// the connection its heartbeats came over (used for broker-to-client
// requests).
type ClientInfo struct {
	ClientID   string
	Conn       *remoting.Conn
	Language   remoting.LanguageCode
	Version    int32
	LastUpdate time.Time
}

// ConsumerGroupInfo is a snapshot of one consumer group's registration.
type ConsumerGroupInfo struct {
	Group            string
	Clients          []ClientInfo // sorted by client id
	Subscriptions    map[string]body.SubscriptionData
	ConsumeType      string
	MessageModel     string
	ConsumeFromWhere string
	LastUpdate       time.Time
}

type consumerGroup struct {
	clients          map[string]*ClientInfo // client id -> client
	subs             map[string]body.SubscriptionData
	consumeType      string
	messageModel     string
	consumeFromWhere string
	lastUpdate       time.Time
}

// ClientManager tracks the producers and consumers connected to the broker
// by group, from their heartbeats; it expires silent clients, drops the
// clients of a closed connection and tells consumers when their group's
// membership changes so that they rebalance at once.
type ClientManager struct {
	b      *Broker
	expiry time.Duration

	mu        sync.Mutex
	consumers map[string]*consumerGroup         // group -> consumers
	producers map[string]map[string]*ClientInfo // group -> client id -> producer

	scan *lifecycle.Loop
}

func newClientManager(b *Broker) *ClientManager {
	m := &ClientManager{
		b: b, expiry: clientExpiry,
		consumers: map[string]*consumerGroup{},
		producers: map[string]map[string]*ClientInfo{},
	}
	b.rs.OnConnClose(m.connClosed)
	m.scan = lifecycle.NewLoop("client-expiry", clientScanInterval, func(context.Context) {
		m.expire(b.now().Add(-m.expiry))
	})
	m.scan.Start()
	return m
}

// Close stops the expiry scan.
func (m *ClientManager) Close() error {
	m.scan.Stop()
	return nil
}

// Subscription returns the heartbeat subscription of group to topic.
func (m *ClientManager) Subscription(group, topic string) (body.SubscriptionData, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.consumers[group]
	if g == nil {
		return body.SubscriptionData{}, false
	}
	sd, ok := g.subs[topic]
	return sd, ok
}

// ConsumerGroupOnline reports whether group has a registered consumer.
func (m *ClientManager) ConsumerGroupOnline(group string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.consumers[group]
	return g != nil && len(g.clients) > 0
}

// ConsumerIDs returns the client ids of group's consumers, sorted.
func (m *ClientManager) ConsumerIDs(group string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.consumers[group]
	if g == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(g.clients))
}

// ConsumerGroup returns a snapshot of group's registration.
func (m *ClientManager) ConsumerGroup(group string) (ConsumerGroupInfo, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.consumers[group]
	if g == nil {
		return ConsumerGroupInfo{}, false
	}
	info := ConsumerGroupInfo{
		Group: group, Subscriptions: maps.Clone(g.subs), ConsumeType: g.consumeType,
		MessageModel: g.messageModel, ConsumeFromWhere: g.consumeFromWhere, LastUpdate: g.lastUpdate,
	}
	for _, id := range slices.Sorted(maps.Keys(g.clients)) {
		info.Clients = append(info.Clients, *g.clients[id])
	}
	return info, true
}

// ConsumerGroups returns the names of the groups with consumers, sorted.
func (m *ClientManager) ConsumerGroups() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.consumers))
}

// Producers returns the producers of group, sorted by client id.
func (m *ClientManager) Producers(group string) []ClientInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ClientInfo
	for _, id := range slices.Sorted(maps.Keys(m.producers[group])) {
		out = append(out, *m.producers[group][id])
	}
	return out
}

// notice is a NOTIFY_CONSUMER_IDS_CHANGED to send once the lock is
// released.
type notice struct {
	group string
	conns []*remoting.Conn
}

// membersLocked lists the distinct connections of group's consumers.
func (m *ClientManager) membersLocked(group string) notice {
	n := notice{group: group}
	g := m.consumers[group]
	if g == nil || g.messageModel == body.Broadcasting {
		return n // broadcasting consumers do not rebalance
	}
	seen := map[*remoting.Conn]bool{}
	for _, id := range slices.Sorted(maps.Keys(g.clients)) {
		c := g.clients[id].Conn
		if c != nil && !seen[c] {
			seen[c] = true
			n.conns = append(n.conns, c)
		}
	}
	return n
}

func (m *ClientManager) notify(ns []notice) {
	for _, n := range ns {
		if sc, ok := m.b.groups.Get(n.group); ok && !sc.NotifyConsumerIdsChangedEnable {
			continue
		}
		for _, c := range n.conns {
			req := remoting.NewRequest(int32(protocol.NotifyConsumerIDsChanged),
				protocol.EncodeHeader(&protocol.NotifyConsumerIDsChangedRequestHeader{ConsumerGroup: n.group}), nil)
			if err := c.InvokeOneway(req); err != nil {
				m.b.log.Debug("notify consumer ids changed", "group", n.group, "remote", c.RemoteAddr(), "err", err)
			}
		}
	}
}

// heartbeat registers hb's groups for the client on conn and notifies the
// consumer groups whose membership or subscriptions changed.
func (m *ClientManager) heartbeat(conn *remoting.Conn, lang remoting.LanguageCode, version int32, hb *body.HeartbeatData) {
	now := m.b.now()
	info := func() *ClientInfo {
		return &ClientInfo{ClientID: hb.ClientID, Conn: conn, Language: lang, Version: version, LastUpdate: now}
	}
	var ns []notice
	m.mu.Lock()
	for _, p := range hb.ProducerDataSet {
		if p.GroupName == "" {
			continue
		}
		g := m.producers[p.GroupName]
		if g == nil {
			g = map[string]*ClientInfo{}
			m.producers[p.GroupName] = g
		}
		g[hb.ClientID] = info()
	}
	for i := range hb.ConsumerDataSet {
		cd := &hb.ConsumerDataSet[i]
		if cd.GroupName == "" {
			continue
		}
		g := m.consumers[cd.GroupName]
		if g == nil {
			g = &consumerGroup{clients: map[string]*ClientInfo{}, subs: map[string]body.SubscriptionData{}}
			m.consumers[cd.GroupName] = g
		}
		g.consumeType, g.messageModel, g.consumeFromWhere, g.lastUpdate = cd.ConsumeType, cd.MessageModel, cd.ConsumeFromWhere, now
		changed := false
		if old := g.clients[hb.ClientID]; old == nil || old.Conn != conn {
			changed = true
		}
		g.clients[hb.ClientID] = info()
		if !hb.WithoutSub && updateSubscriptions(g, cd.SubscriptionDataSet) {
			changed = true
		}
		if changed {
			ns = append(ns, m.membersLocked(cd.GroupName))
		}
	}
	m.mu.Unlock()
	m.notify(ns)
}

// updateSubscriptions replaces g's subscriptions with subs as Java's
// ConsumerGroupInfo.updateSubscription does: a topic's entry is replaced
// only by a newer subVersion, and topics missing from subs are removed. It
// reports whether anything changed.
func updateSubscriptions(g *consumerGroup, subs []body.SubscriptionData) bool {
	changed := false
	want := make(map[string]bool, len(subs))
	for _, sd := range subs {
		want[sd.Topic] = true
		old, ok := g.subs[sd.Topic]
		if !ok || sd.SubVersion > old.SubVersion {
			if !ok || old.SubString != sd.SubString || old.ExpressionType != sd.ExpressionType {
				changed = true
			}
			g.subs[sd.Topic] = sd
		}
	}
	for topic := range g.subs {
		if !want[topic] {
			delete(g.subs, topic)
			changed = true
		}
	}
	return changed
}

// removeLocked removes client id from consumer group (if conn is nil or
// matches) and reports whether it was there.
func (m *ClientManager) removeConsumerLocked(group, id string, conn *remoting.Conn) bool {
	g := m.consumers[group]
	if g == nil {
		return false
	}
	c := g.clients[id]
	if c == nil || (conn != nil && c.Conn != conn) {
		return false
	}
	delete(g.clients, id)
	if len(g.clients) == 0 {
		delete(m.consumers, group)
	}
	return true
}

func (m *ClientManager) removeProducerLocked(group, id string, conn *remoting.Conn) {
	g := m.producers[group]
	if c := g[id]; c != nil && (conn == nil || c.Conn == conn) {
		delete(g, id)
		if len(g) == 0 {
			delete(m.producers, group)
		}
	}
}

// unregister removes client id from the named groups.
func (m *ClientManager) unregister(id, producerGroup, consumerGroup string, conn *remoting.Conn) {
	var ns []notice
	m.mu.Lock()
	if producerGroup != "" {
		m.removeProducerLocked(producerGroup, id, conn)
	}
	if consumerGroup != "" && m.removeConsumerLocked(consumerGroup, id, conn) {
		ns = append(ns, m.membersLocked(consumerGroup))
	}
	m.mu.Unlock()
	m.notify(ns)
}

// connClosed drops every client registered over conn.
func (m *ClientManager) connClosed(conn *remoting.Conn) {
	m.drop(func(c *ClientInfo) bool { return c.Conn == conn })
}

// expire drops every client last heard from before cutoff.
func (m *ClientManager) expire(cutoff time.Time) {
	m.drop(func(c *ClientInfo) bool { return c.LastUpdate.Before(cutoff) })
}

func (m *ClientManager) drop(match func(*ClientInfo) bool) {
	var ns []notice
	m.mu.Lock()
	for group, g := range m.producers {
		for id, c := range g {
			if match(c) {
				delete(g, id)
			}
		}
		if len(g) == 0 {
			delete(m.producers, group)
		}
	}
	for group, g := range m.consumers {
		changed := false
		for id, c := range g.clients {
			if match(c) {
				delete(g.clients, id)
				changed = true
			}
		}
		if len(g.clients) == 0 {
			delete(m.consumers, group)
		}
		if changed {
			ns = append(ns, m.membersLocked(group))
		}
	}
	m.mu.Unlock()
	m.notify(ns)
}

func (b *Broker) registerClientProcessors() {
	b.handle(protocol.HeartBeat, b.heartBeat)
	b.handle(protocol.UnregisterClient, b.unregisterClient)
	b.handle(protocol.GetConsumerListByGroup, b.getConsumerListByGroup)
}

// heartBeat answers HEART_BEAT: it registers the client's groups and
// makes sure every clustering consumer group has its %RETRY% topic. The
// response carries no body; clients record its version as the broker's.
func (b *Broker) heartBeat(_ context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var hb body.HeartbeatData
	if err := hb.Decode(req.Body); err != nil {
		return nil, fail(protocol.InvalidParameter, "bad heartbeat body: %v", err)
	}
	if hb.ClientID == "" {
		return nil, fail(protocol.InvalidParameter, "heartbeat without clientID")
	}
	for i := range hb.ConsumerDataSet {
		cd := &hb.ConsumerDataSet[i]
		if cd.GroupName == "" || message.IsLMQ(cd.GroupName) {
			continue // LMQ groups get no retry topic: there may be millions
		}
		b.prepareConsumerGroup(cd.GroupName, cd.MessageModel != body.Broadcasting)
	}
	b.clients.heartbeat(conn, req.Language, req.Version, &hb)
	return success(req), nil
}

// unregisterClient answers UNREGISTER_CLIENT.
func (b *Broker) unregisterClient(_ context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.UnregisterClientRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	b.clients.unregister(h.ClientID, h.ProducerGroup, h.ConsumerGroup, conn)
	return success(req), nil
}

// getConsumerListByGroup answers GET_CONSUMER_LIST_BY_GROUP with every live
// client id of the group, sorted (Go clients must find their own id).
func (b *Broker) getConsumerListByGroup(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetConsumerListByGroupRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	ids := b.clients.ConsumerIDs(h.ConsumerGroup)
	if len(ids) == 0 {
		return nil, fail(protocol.SystemError, "no consumer for this group, %s", h.ConsumerGroup)
	}
	resp := success(req)
	resp.Body = (&body.GetConsumerListByGroupResponseBody{ConsumerIDList: ids}).Encode()
	return resp, nil
}

// prepareConsumerGroup makes sure a heartbeating consumer group exists
// (auto-created when autoCreateSubscriptionGroup is on, as upstream) and,
// for clustering consumers, that its %RETRY% topic exists.
func (b *Broker) prepareConsumerGroup(group string, clustering bool) {
	if _, ok := b.groups.GetOrCreate(group); !ok || !clustering {
		return
	}
	if _, err := b.topics.EnsureRetryTopic(group); err != nil {
		b.log.Warn("create retry topic", "group", group, "err", err)
	}
}
