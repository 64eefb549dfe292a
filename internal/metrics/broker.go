package metrics

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// Label sets, with upstream's label names (BrokerMetricsConstant).
var (
	inLabels    = []string{"topic", "message_type", "is_system"}
	outLabels   = []string{"topic", "consumer_group", "is_system"}
	lagLabels   = []string{"topic", "consumer_group", "is_retry", "is_system"}
	ccLabels    = []string{"consumer_group", "language", "version", "consume_mode", "protocol_type", "is_system"}
	pcLabels    = []string{"language", "version", "protocol_type"}
	topLMQLabel = []string{"lmq", "consumer_group"}
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// Broker series. Names starting rocketmq_ are upstream's, with its units
// (latencies in milliseconds); bolide_ series are Bolide's own.
var (
	descMessagesIn    = desc("rocketmq_messages_in_total", "Messages stored by sends, per topic (retry and DLQ topics excluded).", inLabels...)
	descThroughputIn  = desc("rocketmq_throughput_in_total", "Message body bytes stored by sends, per topic.", inLabels...)
	descMessagesOut   = desc("rocketmq_messages_out_total", "Messages delivered by pulls, per topic and group; all LMQs as topic=\"%LMQ%\".", outLabels...)
	descThroughputOut = desc("rocketmq_throughput_out_total", "Stored record bytes delivered by pulls, per topic and group.", outLabels...)
	descMessageSize   = desc("rocketmq_message_size", "Body sizes of the messages sent, in bytes.")
	descLMQEntries    = desc("bolide_lmq_entries_total", "LMQ consume-queue entries written by sends (one per LMQ a message is dispatched to).")

	descTopicNumber = desc("rocketmq_topic_number", "Topic configs on the broker (LMQs have none).")
	descGroupNumber = desc("rocketmq_consumer_group_number", "Subscription group configs on the broker.")

	descLagMessages     = desc("rocketmq_consumer_lag_messages", "Messages not yet committed: max offset - committed offset, summed over the queues.", lagLabels...)
	descLagLatency      = desc("rocketmq_consumer_lag_latency", "Age of the oldest message not yet committed, in milliseconds (0 when caught up).", lagLabels...)
	descInflight        = desc("rocketmq_consumer_inflight_messages", "Messages pulled but not committed: last pull offset - committed offset.", lagLabels...)
	descReady           = desc("rocketmq_consumer_ready_messages", "Messages not yet pulled: max offset - last pull offset.", lagLabels...)
	descQueueingLatency = desc("rocketmq_consumer_queueing_latency", "Age of the oldest message not yet pulled, in milliseconds (0 when none).", lagLabels...)
	descLagQueues       = desc("bolide_consumer_lag_queues", "Queues summed in the lag series of a topic and group.", lagLabels...)

	descTopLMQMessages = desc("bolide_lmq_lag_top_messages", "Lag in messages of the LMQs with the largest lag (top N over all groups).", topLMQLabel...)
	descTopLMQLatency  = desc("bolide_lmq_lag_top_latency", "Age in milliseconds of the oldest unconsumed message of the top-N LMQs by lag.", topLMQLabel...)

	descLagExamined  = desc("bolide_metrics_lag_queues_examined", "Queues whose lag this scrape computed.")
	descLagTruncated = desc("bolide_metrics_lag_truncated", "1 when the per-scrape queue cap cut the lag walk short (groups past it are missing).")
	descLagErrors    = desc("bolide_metrics_lag_errors", "Queues skipped by this scrape because their figures could not be read.")

	descConsumerConns = desc("rocketmq_consumer_connections", "Consumer clients registered, per group and kind.", ccLabels...)
	descProducerConns = desc("rocketmq_producer_connections", "Producer clients registered, per kind.", pcLabels...)
	descConnections   = desc("bolide_remoting_connections", "Open remoting connections.")
	descHeldPulls     = desc("bolide_pull_held", "Pull requests held by long polling.")

	descFlushBehind    = desc("rocketmq_storage_flush_behind_bytes", "Commit-log bytes written but not yet flushed.")
	descDispatchBehind = desc("rocketmq_storage_dispatch_behind_bytes", "Commit-log bytes written but not yet dispatched to consume queues and index.")
	descCLMin          = desc("bolide_commitlog_min_offset", "Smallest commit-log offset retained.")
	descCLMax          = desc("bolide_commitlog_max_offset", "Commit-log write offset.")
	descCLFlushed      = desc("bolide_commitlog_flushed_offset", "Commit-log offset flushed to disk.")
	descLMQCount       = desc("bolide_lmq_count", "LMQs the store holds.")
	descLMQMax         = desc("bolide_lmq_max", "maxLmqConsumeQueueNum: the LMQ count beyond which sends creating LMQs fail.")

	descGroupStatus = desc("bolide_consumer_group_status", "Lag evaluator status of a consumer group: 1 for its current status.", "consumer_group", "status")
)

// brokerCollector turns a broker.MetricsSnapshot into series at scrape
// time. mu serializes the snapshots and guards detached.
type brokerCollector struct {
	b    *broker.Broker
	opts broker.SnapshotOptions

	mu       sync.Mutex
	detached bool // the broker is closing: collect nothing
}

// detach stops c from reading its broker, waiting for a running Collect.
func (c *brokerCollector) detach() {
	c.mu.Lock()
	c.detached = true
	c.mu.Unlock()
}

func (c *brokerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descMessagesIn, descThroughputIn, descMessagesOut, descThroughputOut, descMessageSize, descLMQEntries,
		descTopicNumber, descGroupNumber,
		descLagMessages, descLagLatency, descInflight, descReady, descQueueingLatency, descLagQueues,
		descTopLMQMessages, descTopLMQLatency, descLagExamined, descLagTruncated, descLagErrors,
		descConsumerConns, descProducerConns, descConnections, descHeldPulls,
		descFlushBehind, descDispatchBehind, descCLMin, descCLMax, descCLFlushed, descLMQCount, descLMQMax,
		descGroupStatus,
	} {
		ch <- d
	}
}

func (c *brokerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.detached {
		return
	}
	s := c.b.MetricsSnapshot(c.opts)
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}

	for _, t := range s.In {
		sys := boolLabel(message.IsSystemTopic(t.Topic))
		counter(descMessagesIn, float64(t.Messages), t.Topic, "normal", sys)
		counter(descThroughputIn, float64(t.Bytes), t.Topic, "normal", sys)
	}
	for _, t := range s.Out {
		sys := boolLabel(message.IsSystemTopic(t.Topic) || isSystemGroup(t.Group))
		counter(descMessagesOut, float64(t.Messages), t.Topic, t.Group, sys)
		counter(descThroughputOut, float64(t.Bytes), t.Topic, t.Group, sys)
	}
	ch <- messageSizeHistogram(s)
	counter(descLMQEntries, float64(s.LMQEntries))

	gauge(descTopicNumber, float64(s.Topics))
	gauge(descGroupNumber, float64(s.ConsumerGroups))

	now := s.Time.UnixMilli()
	age := func(ts int64) float64 {
		if ts == 0 {
			return 0
		}
		return float64(max(now-ts, 0))
	}
	for _, l := range s.Lag {
		labels := []string{l.Topic, l.Group, boolLabel(message.IsRetryTopic(l.Topic)),
			boolLabel(message.IsSystemTopic(l.Topic) || isSystemGroup(l.Group))}
		gauge(descLagMessages, float64(l.Lag), labels...)
		gauge(descLagLatency, age(l.EarliestUnconsumed), labels...)
		gauge(descInflight, float64(l.Inflight), labels...)
		gauge(descReady, float64(l.Ready), labels...)
		gauge(descQueueingLatency, age(l.EarliestUnpulled), labels...)
		gauge(descLagQueues, float64(l.Queues), labels...)
	}
	for _, l := range s.TopLMQs {
		gauge(descTopLMQMessages, float64(l.Lag), l.Topic, l.Group)
		gauge(descTopLMQLatency, age(l.EarliestUnconsumed), l.Topic, l.Group)
	}
	gauge(descLagExamined, float64(s.LagQueues))
	truncated := 0.0
	if s.LagTruncated {
		truncated = 1
	}
	gauge(descLagTruncated, truncated)
	gauge(descLagErrors, float64(s.LagErrors))

	for _, cc := range s.ConsumerConnections {
		gauge(descConsumerConns, float64(cc.Count), cc.Group, languageLabel(cc.Language.String()),
			strings.ToLower(render.VersionDesc(cc.Version)), consumeMode(cc.ConsumeType), "remoting",
			boolLabel(isSystemGroup(cc.Group)))
	}
	for _, pc := range s.ProducerConnections {
		gauge(descProducerConns, float64(pc.Count), languageLabel(pc.Language.String()),
			strings.ToLower(render.VersionDesc(pc.Version)), "remoting")
	}
	gauge(descConnections, float64(s.Connections))
	gauge(descHeldPulls, float64(s.HeldPulls))

	st := s.Store
	gauge(descFlushBehind, float64(max(st.CommitLogWriteOffset-st.CommitLogFlushed, 0)))
	gauge(descDispatchBehind, float64(max(st.CommitLogWriteOffset-st.Dispatched, 0)))
	gauge(descCLMin, float64(st.CommitLogMinOffset))
	gauge(descCLMax, float64(st.CommitLogWriteOffset))
	gauge(descCLFlushed, float64(st.CommitLogFlushed))
	gauge(descLMQCount, float64(st.LMQCount))
	gauge(descLMQMax, float64(s.MaxLMQs))

	for _, r := range c.b.LagReports() {
		gauge(descGroupStatus, 1, r.Group, string(r.Status))
	}
}

// messageSizeHistogram builds rocketmq_message_size from the snapshot's
// per-bucket counts.
func messageSizeHistogram(s broker.MetricsSnapshot) prometheus.Metric {
	buckets := make(map[float64]uint64, len(broker.MessageSizeBuckets))
	var cum uint64
	for i, bound := range broker.MessageSizeBuckets {
		if i < len(s.MessageSizes) {
			cum += uint64(s.MessageSizes[i])
		}
		buckets[float64(bound)] = cum
	}
	if n := len(s.MessageSizes); n > len(broker.MessageSizeBuckets) {
		cum += uint64(s.MessageSizes[n-1])
	}
	return prometheus.MustNewConstHistogram(descMessageSize, cum, float64(s.MessageSizeSum), buckets)
}

// isSystemGroup is MixAll.isSysConsumerGroup plus the tool groups upstream
// treats as system ones.
func isSystemGroup(group string) bool {
	switch group {
	case "TOOLS_CONSUMER", "FILTERSRV_CONSUMER", "__MONITOR_CONSUMER", "CID_ONS-HTTP-PROXY",
		"CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER", "CID_ONSAPI_PULL", "CID_RMQ_SYS_TRANS":
		return true
	}
	return strings.HasPrefix(group, "CID_RMQ_SYS_")
}

// languageLabel is upstream's language label: the LanguageCode name in
// lower case.
func languageLabel(name string) string { return strings.ToLower(name) }

// consumeMode is upstream's consume_mode label (ConsumeType.getTypeCN in
// lower case).
func consumeMode(consumeType string) string {
	switch consumeType {
	case body.ConsumeActively:
		return "pull"
	case body.ConsumePassively:
		return "push"
	case "CONSUME_POP":
		return "pop"
	case "":
		return "unknown"
	}
	return strings.ToLower(consumeType)
}
