package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Permission bits (Java PermName).
const (
	permPriority = 8
	permRead     = 4
	permWrite    = 2
	permInherit  = 1
)

// Upstream defaults (TopicConfig, TopicConfigManager).
const (
	defaultTopicQueues  = 16   // new TopicConfig(name)
	scheduleTopicQueues = 18   // one per delay level
	benchmarkQueues     = 1024 // BenchmarkTest
	replyTopicSuffix    = "_REPLY_TOPIC"
	topicsFile          = "topics.json"
)

// Errors of the topic manager.
var (
	// ErrTopicNotFound: the topic does not exist and was not auto-created.
	ErrTopicNotFound = errors.New("broker: topic not found")
	// ErrTopicRefused: the name cannot be created or changed this way
	// (LMQ and system topics).
	ErrTopicRefused = errors.New("broker: topic refused")
)

// TopicManager holds the broker's topic configs: in memory, persisted to
// <dir>/topics.json (TopicConfigSerializeWrapper, as upstream) after every
// change, and announced to the name servers. %LMQ% topics are never stored:
// Get synthesizes them.
type TopicManager struct {
	b    *Broker
	path string

	mu     sync.RWMutex
	topics map[string]body.TopicConfig
	dv     body.DataVersion
	system map[string]bool // names created by the broker itself

	persistMu sync.Mutex // serialises file writes; newer versions win
	persisted int64      // DataVersion.Counter on disk

	announce *lifecycle.Loop // re-registers with the name servers when woken
}

func newTopicManager(b *Broker, dir string) (*TopicManager, error) {
	m := &TopicManager{
		b: b, path: filepath.Join(dir, topicsFile),
		topics: map[string]body.TopicConfig{}, system: map[string]bool{},
	}
	data, err := readConfigFile(m.path)
	switch {
	case err != nil:
		return nil, err
	case data != nil:
		var w body.TopicConfigSerializeWrapper
		if err := w.Decode(data); err != nil {
			return nil, fmt.Errorf("broker: load %s: %w", m.path, err)
		}
		for name, tc := range w.TopicConfigTable {
			if message.IsLMQ(name) {
				continue // never stored; an old file may have some
			}
			tc.TopicName = name
			m.topics[name] = tc
		}
		m.dv = w.DataVersion
		m.persisted = m.dv.Counter
	}
	added := m.ensureSystemTopics()
	if added {
		m.bumpLocked()
		if err := m.persist(); err != nil {
			return nil, err
		}
	}
	m.announce = lifecycle.NewLoop("topic-announce", 0, func(ctx context.Context) {
		select {
		case <-b.done:
			return // shutting down: do not re-register after unregistering
		default:
		}
		if b.addr != "" {
			b.RegisterAll(ctx)
		}
	})
	m.announce.Start()
	b.stopFuncs = append(b.stopFuncs, func() error { m.announce.Stop(); return nil })
	return m, nil
}

// ensureSystemTopics adds the topics upstream brokers create at start
// (TopicConfigManager.init) when the loaded table lacks them; a persisted
// config wins, as upstream. It reports whether anything was added. Left
// out: the POP revive topic and the controller-mode sync topic, whose
// features Bolide does not have.
func (m *TopicManager) ensureSystemTopics() bool {
	bc := &m.b.bc
	one := func(name string) body.TopicConfig { return newTopicConfig(name, 1, permRead|permWrite) }
	sys := []body.TopicConfig{
		one(message.TopicSelfTest),
		newTopicConfig(message.TopicBenchmark, benchmarkQueues, permRead|permWrite),
		one(message.TopicOffsetMovedEvent),
		newTopicConfig(message.TopicSchedule, scheduleTopicQueues, permRead|permWrite),
		one(bc.BrokerClusterName + replyTopicSuffix),
		one(message.TopicTransHalf),
		one(message.TopicTransOpHalf),
	}
	if bc.AutoCreateTopicEnable {
		n := int32(bc.DefaultTopicQueueNums)
		sys = append(sys, newTopicConfig(message.TopicAutoCreateTemplate, n, permRead|permWrite|permInherit))
	}
	clusterPerm, brokerPerm := int32(permInherit), int32(permInherit)
	if bc.ClusterTopicEnable {
		clusterPerm |= permRead | permWrite
	}
	if bc.BrokerTopicEnable {
		brokerPerm |= permRead | permWrite
	}
	sys = append(sys,
		newTopicConfig(bc.BrokerClusterName, defaultTopicQueues, clusterPerm),
		newTopicConfig(bc.BrokerName, 1, brokerPerm))
	added := false
	for _, tc := range sys {
		if tc.TopicName == "" {
			continue
		}
		m.system[tc.TopicName] = true
		if _, ok := m.topics[tc.TopicName]; !ok {
			m.topics[tc.TopicName] = tc
			added = true
		}
	}
	return added
}

func newTopicConfig(name string, queues, perm int32) body.TopicConfig {
	return body.TopicConfig{
		TopicName: name, ReadQueueNums: queues, WriteQueueNums: queues, Perm: perm,
		TopicFilterType: body.SingleTag, Attributes: map[string]string{},
	}
}

// lmqTopicConfig is the config every %LMQ% topic has (LmqTopicConfigManager).
func lmqTopicConfig(name string) body.TopicConfig {
	return newTopicConfig(name, 1, permRead|permWrite)
}

// IsSystem reports whether topic is reserved for the broker: the upstream
// system topics and prefix, and the names this broker created at start
// (cluster, broker, reply topic).
func (m *TopicManager) IsSystem(topic string) bool {
	if message.IsSystemTopic(topic) {
		return true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.system[topic]
}

// Get returns a topic's config. With enableLmq, %LMQ% names always exist:
// their config is synthesized (one queue, read-write), never stored.
func (m *TopicManager) Get(name string) (body.TopicConfig, bool) {
	if m.b.bc.EnableLmq && message.IsLMQ(name) {
		return lmqTopicConfig(name), true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	tc, ok := m.topics[name]
	return tc, ok
}

// Snapshot returns every topic config and the table's data version, for
// name-server registration and GET_ALL_TOPIC_CONFIG.
func (m *TopicManager) Snapshot() (map[string]body.TopicConfig, body.DataVersion) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return maps.Clone(m.topics), m.dv
}

// bumpLocked advances the data version after a change.
func (m *TopicManager) bumpLocked() {
	m.dv.Counter++
	m.dv.Timestamp = m.b.now().UnixMilli()
}

// CreateOrUpdate stores tc (replacing any config of that name), persists the
// table and announces it. LMQ names are refused: they are never stored.
func (m *TopicManager) CreateOrUpdate(tc body.TopicConfig) error {
	if message.IsLMQ(tc.TopicName) {
		return fmt.Errorf("%w: %s is a light message queue; LMQ topics exist implicitly and are never stored",
			ErrTopicRefused, tc.TopicName)
	}
	if err := message.ValidateTopic(tc.TopicName); err != nil {
		return err
	}
	if tc.TopicFilterType == "" {
		tc.TopicFilterType = body.SingleTag
	}
	if tc.Attributes == nil {
		tc.Attributes = map[string]string{}
	}
	m.mu.Lock()
	m.topics[tc.TopicName] = tc
	m.bumpLocked()
	m.mu.Unlock()
	return m.changed()
}

// Delete removes a topic; deleting an unknown topic is not an error. The
// store is not told: the topic's messages expire with retention.
func (m *TopicManager) Delete(name string) error {
	m.mu.Lock()
	if _, ok := m.topics[name]; !ok {
		m.mu.Unlock()
		return nil
	}
	delete(m.topics, name)
	m.bumpLocked()
	m.mu.Unlock()
	return m.changed()
}

// createIfAbsent stores tc unless its name exists, returning the config
// now in force and whether it was created.
func (m *TopicManager) createIfAbsent(tc body.TopicConfig) (body.TopicConfig, bool, error) {
	m.mu.Lock()
	if cur, ok := m.topics[tc.TopicName]; ok {
		m.mu.Unlock()
		return cur, false, nil
	}
	m.topics[tc.TopicName] = tc
	m.bumpLocked()
	m.mu.Unlock()
	return tc, true, m.changed()
}

// AutoCreate creates topic for a send to an unknown topic, the way
// upstream's createTopicInSendMessageMethod does: only with
// autoCreateTopicEnable, and only from a default topic (normally TBW102)
// that exists with the inherit bit; it gets min(queueNums, the default
// topic's write queues) queues and the default topic's permission without
// the inherit bit. An existing topic is returned as is.
func (m *TopicManager) AutoCreate(topic, defaultTopic string, queueNums int) (body.TopicConfig, error) {
	if tc, ok := m.Get(topic); ok {
		return tc, nil
	}
	if !m.b.bc.AutoCreateTopicEnable {
		return body.TopicConfig{}, fmt.Errorf("%w: topic[%s] does not exist on broker %s and autoCreateTopicEnable is false; create it first (mqadmin updateTopic)",
			ErrTopicNotFound, topic, m.b.bc.BrokerName)
	}
	if defaultTopic == "" {
		defaultTopic = message.TopicAutoCreateTemplate
	}
	def, ok := m.Get(defaultTopic)
	if !ok {
		return body.TopicConfig{}, fmt.Errorf("%w: topic[%s] does not exist and its default topic[%s] does not exist either; create it first",
			ErrTopicNotFound, topic, defaultTopic)
	}
	if def.Perm&permInherit == 0 {
		return body.TopicConfig{}, fmt.Errorf("%w: topic[%s] does not exist and default topic[%s] (perm %d) has no inherit permission; create it first",
			ErrTopicNotFound, topic, defaultTopic, def.Perm)
	}
	n := int32(min(queueNums, int(def.WriteQueueNums)))
	if n <= 0 {
		n = def.WriteQueueNums
	}
	if n <= 0 {
		return body.TopicConfig{}, fmt.Errorf("%w: topic[%s] does not exist and default topic[%s] has no write queues",
			ErrTopicNotFound, topic, defaultTopic)
	}
	tc := newTopicConfig(topic, n, def.Perm&^permInherit)
	tc.TopicFilterType = def.TopicFilterType
	tc, created, err := m.createIfAbsent(tc)
	if created {
		m.b.log.Info("topic auto-created", "topic", topic, "from", defaultTopic, "queues", n)
	}
	return tc, err
}

// EnsureRetryTopic returns the %RETRY% topic of group, creating it (one
// queue, read-write) if needed. The consume side calls it when a consumer
// of the group heartbeats or sends a message back.
func (m *TopicManager) EnsureRetryTopic(group string) (body.TopicConfig, error) {
	return m.ensureGroupTopic(message.RetryTopic(group))
}

// ensureGroupTopic returns a group's %RETRY% or %DLQ% topic, creating it
// with one read-write queue if needed.
func (m *TopicManager) ensureGroupTopic(name string) (body.TopicConfig, error) {
	if tc, ok := m.Get(name); ok {
		return tc, nil
	}
	if err := message.ValidateTopic(name); err != nil {
		return body.TopicConfig{}, err
	}
	tc, _, err := m.createIfAbsent(newTopicConfig(name, 1, permRead|permWrite))
	return tc, err
}

// changed persists the table and wakes the name-server announcement. The
// in-memory change stands even if persisting fails (as upstream); the error
// is returned so that admin requests can report it.
func (m *TopicManager) changed() error {
	err := m.persist()
	m.announce.Wakeup()
	return err
}

// persist writes the current table if no newer version is on disk yet.
func (m *TopicManager) persist() error {
	m.persistMu.Lock()
	defer m.persistMu.Unlock()
	m.mu.RLock()
	w := body.TopicConfigSerializeWrapper{TopicConfigTable: maps.Clone(m.topics), DataVersion: m.dv}
	m.mu.RUnlock()
	if w.DataVersion.Counter <= m.persisted && m.persisted != 0 {
		return nil
	}
	if err := writeFileAtomic(m.path, w.Encode()); err != nil {
		m.b.log.Error("persisting topic configs failed", "path", m.path, "err", err)
		return err
	}
	m.persisted = w.DataVersion.Counter
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new content: write a temporary file, sync it, rename it over
// path, sync the directory.
// readConfigFile reads a metadata file, creating its directory on first
// use; a file that does not exist yet reads as nil.
func readConfigFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("broker: config dir: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("broker: read %s: %w", path, err)
	}
	return data, nil
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("broker: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("broker: write %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("broker: write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("broker: sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("broker: sync %s: %w", dir, err)
	}
	return nil
}

// parseAttributes applies an UPDATE_AND_CREATE_TOPIC attributes string to
// cur: comma-separated "+key=value" (set) and "-key" (delete) entries, as
// Java's AttributeParser.
func parseAttributes(cur map[string]string, s string) (map[string]string, error) {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]string{}
	}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		switch {
		case strings.HasPrefix(kv, "+"):
			k, v, ok := strings.Cut(kv[1:], "=")
			if !ok || k == "" || v == "" {
				return nil, fmt.Errorf("attribute %q: want +key=value", kv)
			}
			out[k] = v
		case strings.HasPrefix(kv, "-"):
			k := kv[1:]
			if k == "" || strings.Contains(k, "=") {
				return nil, fmt.Errorf("attribute %q: want -key", kv)
			}
			delete(out, k)
		default:
			return nil, fmt.Errorf("attribute %q must start with + or -", kv)
		}
	}
	return out, nil
}

func (b *Broker) registerTopicProcessors() {
	b.handle(protocol.UpdateAndCreateTopic, b.updateAndCreateTopic)
	b.handle(protocol.DeleteTopicInBroker, b.deleteTopic)
	b.handle(protocol.GetAllTopicConfig, b.getAllTopicConfig)
	b.handle(protocol.GetTopicConfig, b.getTopicConfig)
	b.registerGroupProcessors()
}

// updateAndCreateTopic serves UPDATE_AND_CREATE_TOPIC (17).
func (b *Broker) updateAndCreateTopic(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.CreateTopicRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	if err := message.ValidateTopic(h.Topic); err != nil {
		return nil, fail(protocol.InvalidParameter, "%v", err)
	}
	if message.IsLMQ(h.Topic) {
		return nil, fail(protocol.InvalidParameter,
			"the topic[%s] is a light message queue: LMQ topics exist implicitly (enableLmq) and cannot be created", h.Topic)
	}
	if b.topics.IsSystem(h.Topic) {
		return nil, fail(protocol.InvalidParameter, "the topic[%s] is conflict with system topic.", h.Topic)
	}
	if h.ReadQueueNums <= 0 || h.WriteQueueNums <= 0 {
		return nil, fail(protocol.InvalidParameter, "the topic[%s] needs readQueueNums and writeQueueNums > 0, got %d and %d",
			h.Topic, h.ReadQueueNums, h.WriteQueueNums)
	}
	if h.Perm&^(permPriority|permRead|permWrite|permInherit) != 0 {
		return nil, fail(protocol.InvalidParameter, "the topic[%s] perm %d is not a combination of 8 (priority), 4 (read), 2 (write), 1 (inherit)",
			h.Topic, h.Perm)
	}
	filter := h.TopicFilterType
	switch filter {
	case "":
		filter = body.SingleTag
	case body.SingleTag, body.MultiTag:
	default:
		return nil, fail(protocol.InvalidParameter, "topicFilterType %q: want SINGLE_TAG or MULTI_TAG", filter)
	}
	cur, _ := b.topics.Get(h.Topic)
	attrs, err := parseAttributes(cur.Attributes, h.Attributes)
	if err != nil {
		return nil, fail(protocol.InvalidParameter, "the topic[%s]: %v", h.Topic, err)
	}
	tc := body.TopicConfig{
		TopicName: h.Topic, ReadQueueNums: h.ReadQueueNums, WriteQueueNums: h.WriteQueueNums, Perm: h.Perm,
		TopicFilterType: filter, Order: h.Order, Attributes: attrs,
	}
	if h.TopicSysFlag != nil {
		tc.TopicSysFlag = *h.TopicSysFlag
	}
	if err := b.topics.CreateOrUpdate(tc); err != nil {
		return nil, fail(protocol.SystemError, "update topic[%s]: %v", h.Topic, err)
	}
	b.log.Info("topic created or updated", "topic", h.Topic, "read", tc.ReadQueueNums, "write", tc.WriteQueueNums, "perm", tc.Perm)
	return success(req), nil
}

// deleteTopic serves DELETE_TOPIC_IN_BROKER (215).
func (b *Broker) deleteTopic(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.DeleteTopicRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	if b.topics.IsSystem(h.Topic) {
		return nil, fail(protocol.InvalidParameter, "the topic[%s] is conflict with system topic.", h.Topic)
	}
	if err := b.topics.Delete(h.Topic); err != nil {
		return nil, fail(protocol.SystemError, "delete topic[%s]: %v", h.Topic, err)
	}
	b.log.Info("topic deleted", "topic", h.Topic)
	return success(req), nil
}

// getAllTopicConfig serves GET_ALL_TOPIC_CONFIG (21): the whole table in
// one response, without the 5.x paging fields (reference 4.8: a response
// without totalTopicNum ends the client's paging loop).
func (b *Broker) getAllTopicConfig(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	topics, dv := b.topics.Snapshot()
	w := body.TopicConfigAndMappingSerializeWrapper{
		TopicConfigSerializeWrapper: body.TopicConfigSerializeWrapper{TopicConfigTable: topics, DataVersion: dv},
		MappingDataVersion:          body.DataVersion{Timestamp: dv.Timestamp},
	}
	resp := success(req)
	resp.Body = w.Encode()
	return resp, nil
}

// getTopicConfig serves GET_TOPIC_CONFIG (351). The body is
// TopicConfigAndQueueMapping, whose mappingDetail is null (not written)
// without static topics: the plain TopicConfig JSON.
func (b *Broker) getTopicConfig(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetTopicConfigRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		return nil, fail(protocol.TopicNotExist, "No topic in this broker. topic: %s", h.Topic)
	}
	resp := success(req)
	resp.Body = tc.Encode()
	return resp, nil
}
