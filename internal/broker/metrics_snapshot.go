package broker

import (
	"container/heap"
	"slices"
	"strings"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store"
)

// Default bounds of a metrics snapshot (see SnapshotOptions).
const (
	DefaultMetricsMaxQueues = 50_000
	DefaultMetricsTopLMQs   = 10
)

// SnapshotOptions bound the cost of MetricsSnapshot.
type SnapshotOptions struct {
	// MaxQueues caps the queues whose consumer lag is computed (each costs
	// a few consume-queue lookups); beyond it the snapshot is marked
	// LagTruncated. Default DefaultMetricsMaxQueues.
	MaxQueues int
	// TopLMQs is how many LMQs with the largest lag are listed one by one
	// (default DefaultMetricsTopLMQs; negative lists none).
	TopLMQs int
}

// MetricsSnapshot is a broker's state for a metrics scrape, as plain
// values: internal/metrics turns it into series.
type MetricsSnapshot struct {
	// Time is when the snapshot was taken: lag latencies are Time minus
	// the store times below.
	Time       time.Time
	Cluster    string
	BrokerName string

	Topics         int // topic configs (LMQs have none)
	ConsumerGroups int // subscription group configs

	In  []TopicTraffic // per topic; LMQs never appear (sends go to the parent topic)
	Out []GroupTraffic // per topic and group; all LMQs as LMQAggregateTopic
	// MessageSizes counts sent message bodies per MessageSizeBuckets bound
	// (not cumulative; the last element is above the largest bound).
	MessageSizes   []int64
	MessageSizeSum int64
	// LMQEntries counts the LMQ consume-queue entries sends produced.
	LMQEntries int64

	// Lag has one row per (topic, group) of normal topics with committed
	// offsets, and one per group for all its LMQs (Topic is
	// LMQAggregateTopic), in (group, topic) order.
	Lag []ConsumerLag
	// TopLMQs are the LMQs with the most messages to consume, largest
	// first.
	TopLMQs []ConsumerLag
	// LagQueues is the number of queues examined; LagTruncated says the
	// MaxQueues cap stopped the walk (groups after it are missing).
	LagQueues    int
	LagTruncated bool
	// LagErrors counts queues whose figures could not be read (skipped).
	LagErrors int

	ConsumerConnections []ConsumerConnections
	ProducerConnections []ProducerConnections
	Connections         int // open remoting connections
	HeldPulls           int

	Store   store.Stats
	MaxLMQs int // maxLmqConsumeQueueNum
}

// TopicTraffic is what was sent to a topic since the broker started.
type TopicTraffic struct {
	Topic           string
	Messages, Bytes int64
}

// GroupTraffic is what a group pulled from a topic since the broker
// started.
type GroupTraffic struct {
	Topic, Group    string
	Messages, Bytes int64
}

// ConsumerLag is a group's progress on a topic (or on all its LMQs),
// summed over the queues, with RocketMQ 5's definitions:
// lag = max offset - committed offset, inflight = last pull offset -
// committed offset, ready = max offset - last pull offset.
type ConsumerLag struct {
	Topic, Group string
	Queues       int
	Lag          int64
	Inflight     int64
	Ready        int64
	// EarliestUnconsumed is the store time (Unix ms) of the oldest message
	// not yet committed, over the queues; 0 when there is none.
	EarliestUnconsumed int64
	// EarliestUnpulled is the store time (Unix ms) of the oldest message
	// not yet pulled; 0 when there is none.
	EarliestUnpulled int64
}

// ConsumerConnections counts a group's consumer clients of one kind.
type ConsumerConnections struct {
	Group       string
	Language    remoting.LanguageCode
	Version     int32
	ConsumeType string // CONSUME_ACTIVELY (pull) or CONSUME_PASSIVELY (push)
	Count       int
}

// ProducerConnections counts producer clients of one kind.
type ProducerConnections struct {
	Language remoting.LanguageCode
	Version  int32
	Count    int
}

// MetricsSnapshot takes a snapshot for a scrape. Its cost is bounded by
// opts.MaxQueues consume-queue walks of a few lookups each, plus a scan of
// the committed-offset rows it covers.
func (b *Broker) MetricsSnapshot(opts SnapshotOptions) MetricsSnapshot {
	if opts.MaxQueues <= 0 {
		opts.MaxQueues = DefaultMetricsMaxQueues
	}
	if opts.TopLMQs == 0 {
		opts.TopLMQs = DefaultMetricsTopLMQs
	}
	s := MetricsSnapshot{Time: b.now(), Cluster: b.bc.BrokerClusterName, BrokerName: b.bc.BrokerName,
		MaxLMQs: b.bc.MaxLmqConsumeQueueNum, Connections: b.rs.ConnCount()}
	if b.store == nil {
		return s // not listening yet: nothing else is open
	}
	s.Store, s.HeldPulls = b.store.Stats(), b.HeldPulls()
	topics, _ := b.topics.Snapshot()
	groups, _ := b.groups.Snapshot()
	s.Topics, s.ConsumerGroups = len(topics), len(groups)
	b.trafficSnapshot(&s)
	b.lagSnapshot(&s, opts)
	b.connectionSnapshot(&s)
	return s
}

func (b *Broker) trafficSnapshot(s *MetricsSnapshot) {
	t := &b.traffic
	t.in.Range(func(k, v any) bool {
		c := v.(*trafficCounter)
		s.In = append(s.In, TopicTraffic{Topic: k.(string), Messages: c.messages.Load(), Bytes: c.bytes.Load()})
		return true
	})
	t.out.Range(func(k, v any) bool {
		c, key := v.(*trafficCounter), k.(outKey)
		s.Out = append(s.Out, GroupTraffic{Topic: key.topic, Group: key.group, Messages: c.messages.Load(), Bytes: c.bytes.Load()})
		return true
	})
	slices.SortFunc(s.In, func(a, b TopicTraffic) int { return strings.Compare(a.Topic, b.Topic) })
	slices.SortFunc(s.Out, func(a, b GroupTraffic) int {
		if c := strings.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return strings.Compare(a.Topic, b.Topic)
	})
	s.MessageSizes = make([]int64, len(t.sizes))
	for i := range t.sizes {
		s.MessageSizes[i] = t.sizes[i].Load()
	}
	s.MessageSizeSum = t.sizeSum.Load()
	s.LMQEntries = t.lmqEntries.Load()
}

// groupTopic is one (group, topic) pair with committed offsets.
type groupTopic struct {
	group, topic string
	committed    map[int32]int64
}

// lagSnapshot computes consumer lag from the committed offsets, per queue
// exactly as GET_CONSUME_STATS does (queueProgress), so that the metrics
// agree with consumerProgress.
func (b *Broker) lagSnapshot(s *MetricsSnapshot, opts SnapshotOptions) {
	pairs, truncated := b.committedPairs(opts.MaxQueues)
	s.LagTruncated = truncated
	top := &lagHeap{}
	var lmq *ConsumerLag // the current group's LMQ aggregate
	flushLMQ := func() {
		if lmq != nil {
			s.Lag = append(s.Lag, *lmq)
			lmq = nil
		}
	}
	for _, p := range pairs {
		if lmq != nil && lmq.Group != p.group {
			flushLMQ()
		}
		tc, ok := b.topics.Get(p.topic)
		if !ok {
			continue // as GET_CONSUME_STATS: no config, no row
		}
		if s.LagQueues+int(tc.ReadQueueNums) > opts.MaxQueues {
			s.LagTruncated = true
			break
		}
		row := ConsumerLag{Topic: p.topic, Group: p.group}
		for q := range tc.ReadQueueNums {
			s.LagQueues++
			if err := b.addQueueLag(&row, p, q); err != nil {
				s.LagErrors++
				b.log.Debug("metrics: queue lag", "group", p.group, "topic", p.topic, "queue", q, "err", err)
			}
		}
		if !message.IsLMQ(p.topic) {
			s.Lag = append(s.Lag, row)
			continue
		}
		if lmq == nil {
			lmq = &ConsumerLag{Topic: LMQAggregateTopic, Group: p.group}
		}
		lmq.add(row)
		if opts.TopLMQs > 0 && row.Lag > 0 {
			if top.Len() < opts.TopLMQs {
				heap.Push(top, row)
			} else if row.Lag > (*top)[0].Lag {
				(*top)[0] = row
				heap.Fix(top, 0)
			}
		}
	}
	flushLMQ()
	s.TopLMQs = make([]ConsumerLag, top.Len())
	for i := len(s.TopLMQs) - 1; i >= 0; i-- {
		s.TopLMQs[i] = heap.Pop(top).(ConsumerLag)
	}
}

// committedPairs lists the (group, topic) pairs with committed offsets, in
// key order, stopping after about maxQueues committed rows.
func (b *Broker) committedPairs(maxQueues int) (pairs []groupTopic, truncated bool) {
	rows := 0
	err := b.offsets.Range(func(group, topic string, q int32, off int64) bool {
		if rows >= maxQueues {
			truncated = true
			return false
		}
		rows++
		if n := len(pairs); n == 0 || pairs[n-1].group != group || pairs[n-1].topic != topic {
			pairs = append(pairs, groupTopic{group: group, topic: topic, committed: map[int32]int64{}})
		}
		pairs[len(pairs)-1].committed[q] = off
		return true
	})
	if err != nil {
		b.log.Warn("metrics: scan committed offsets", "err", err)
	}
	return pairs, truncated
}

// addQueueLag adds queue q of pair p to row.
func (b *Broker) addQueueLag(row *ConsumerLag, p groupTopic, q int32) error {
	ow, err := b.queueProgress(p.group, p.topic, q, p.committed)
	if err != nil {
		return err
	}
	row.Queues++
	row.Lag += max(ow.BrokerOffset-ow.ConsumerOffset, 0)
	row.Inflight += max(ow.PullOffset-ow.ConsumerOffset, 0)
	ready := max(ow.BrokerOffset-ow.PullOffset, 0)
	row.Ready += ready
	row.EarliestUnconsumed = earliest(row.EarliestUnconsumed, ow.FirstUnconsumedTimestamp)
	if ready > 0 {
		unpulled := ow.FirstUnconsumedTimestamp
		if ow.PullOffset > ow.ConsumerOffset {
			ts, err := b.storeTimeAt(p.topic, q, ow.PullOffset)
			if err != nil {
				return err
			}
			if ts > 0 {
				unpulled = ts
			}
		}
		row.EarliestUnpulled = earliest(row.EarliestUnpulled, unpulled)
	}
	return nil
}

// earliest is the smaller of two store times, 0 meaning none.
func earliest(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

func (l *ConsumerLag) add(o ConsumerLag) {
	l.Queues += o.Queues
	l.Lag += o.Lag
	l.Inflight += o.Inflight
	l.Ready += o.Ready
	l.EarliestUnconsumed = earliest(l.EarliestUnconsumed, o.EarliestUnconsumed)
	l.EarliestUnpulled = earliest(l.EarliestUnpulled, o.EarliestUnpulled)
}

// lagHeap is a min-heap of LMQ rows by lag (container/heap), keeping the
// largest N.
type lagHeap []ConsumerLag

func (h lagHeap) Len() int           { return len(h) }
func (h lagHeap) Less(i, j int) bool { return h[i].Lag < h[j].Lag }
func (h lagHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *lagHeap) Push(x any)        { *h = append(*h, x.(ConsumerLag)) }
func (h *lagHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// connectionSnapshot counts the registered clients by kind.
func (b *Broker) connectionSnapshot(s *MetricsSnapshot) {
	for _, g := range b.clients.ConsumerGroups() {
		info, ok := b.clients.ConsumerGroup(g)
		if !ok {
			continue
		}
		counts := map[ConsumerConnections]int{}
		for _, c := range info.Clients {
			counts[ConsumerConnections{Group: g, Language: c.Language, Version: c.Version, ConsumeType: info.ConsumeType}]++
		}
		for k, n := range counts {
			k.Count = n
			s.ConsumerConnections = append(s.ConsumerConnections, k)
		}
	}
	s.ProducerConnections = b.clients.producerCounts()
}

// producerCounts counts producers by language and version (every group).
func (m *ClientManager) producerCounts() []ProducerConnections {
	m.mu.Lock()
	counts := map[ProducerConnections]int{}
	for _, g := range m.producers {
		for _, c := range g {
			counts[ProducerConnections{Language: c.Language, Version: c.Version}]++
		}
	}
	m.mu.Unlock()
	out := make([]ProducerConnections, 0, len(counts))
	for k, n := range counts {
		k.Count = n
		out = append(out, k)
	}
	return out
}
