package broker

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/message"
)

// Metrics hooks. The broker does not import a metrics library: it counts
// traffic with atomics on the hot path, reports request latencies to a
// MetricsExporter, and hands out a plain snapshot (MetricsSnapshot, in
// metrics_snapshot.go) that internal/metrics turns into Prometheus series
// at scrape time.

// LMQAggregateTopic is the topic label under which all LMQ traffic and lag
// is counted: one series per LMQ would be millions of series.
const LMQAggregateTopic = "%LMQ%"

// MetricsExporter publishes a broker's figures; internal/metrics implements
// it. With Config.Metrics set and metricsExporterType=PROM, Listen starts it
// once the store is open and the broker stops it before closing the store.
type MetricsExporter interface {
	// Start serves b's metrics on addr (host:port; port 0 picks a free
	// one) and returns the bound address.
	Start(b *Broker, addr string) (net.Addr, error)
	// ObserveRPC records one answered request: its code, the response
	// code and the time to answer; longPolling is true for a pull that
	// was held before it was answered.
	ObserveRPC(requestCode, responseCode int32, elapsed time.Duration, longPolling bool)
	// Shutdown stops serving.
	Shutdown(ctx context.Context) error
}

// MessageSizeBuckets are the upper bounds, in bytes, of the message size
// histogram: upstream's rocketmq_message_size buckets (1 KiB to 4 MiB).
var MessageSizeBuckets = [...]int64{1 << 10, 4 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20}

// traffic counts messages and bytes in per topic and out per topic and
// group. Recording a known key costs a sync.Map lookup and atomic adds; a
// new key allocates once. Keys are topics and groups the broker accepted,
// and all LMQs share LMQAggregateTopic, so the maps stay small.
type traffic struct {
	in  sync.Map // topic -> *trafficCounter
	out sync.Map // outKey -> *trafficCounter

	sizes      [len(MessageSizeBuckets) + 1]atomic.Int64 // the last is +Inf
	sizeSum    atomic.Int64
	lmqEntries atomic.Int64 // LMQ consume-queue entries written by sends
}

type trafficCounter struct{ messages, bytes atomic.Int64 }

type outKey struct{ topic, group string }

// countedTopic reports whether traffic of topic is counted and under
// which label: retry and dead-letter topics are not (as upstream), every
// LMQ counts as LMQAggregateTopic.
func countedTopic(topic string) (string, bool) {
	switch {
	case message.IsLMQ(topic):
		return LMQAggregateTopic, true
	case message.IsRetryTopic(topic), message.IsDLQTopic(topic):
		return "", false
	}
	return topic, true
}

// sent counts messages stored by a send to topic, of the given body sizes,
// and the LMQ entries they were dispatched to.
func (t *traffic) sent(topic string, lmqEntries int, bodySizes ...int) {
	if lmqEntries > 0 {
		t.lmqEntries.Add(int64(lmqEntries))
	}
	label, ok := countedTopic(topic)
	if !ok {
		return
	}
	var total int64
	for _, n := range bodySizes {
		total += int64(n)
		i := 0
		for i < len(MessageSizeBuckets) && int64(n) > MessageSizeBuckets[i] {
			i++
		}
		t.sizes[i].Add(1)
	}
	t.sizeSum.Add(total)
	c, ok := t.in.Load(label)
	if !ok {
		c, _ = t.in.LoadOrStore(label, new(trafficCounter))
	}
	tc := c.(*trafficCounter)
	tc.messages.Add(int64(len(bodySizes)))
	tc.bytes.Add(total)
}

// pulled counts messages delivered to group from topic.
func (t *traffic) pulled(topic, group string, messages int, bytes int) {
	label, ok := countedTopic(topic)
	if !ok || messages == 0 {
		return
	}
	k := outKey{label, group}
	c, ok := t.out.Load(k)
	if !ok {
		c, _ = t.out.LoadOrStore(k, new(trafficCounter))
	}
	tc := c.(*trafficCounter)
	tc.messages.Add(int64(messages))
	tc.bytes.Add(int64(bytes))
}

// observeRPC reports a request answered outside the remoting server's
// dispatch (a held pull) to the exporter, if any.
func (b *Broker) observeRPC(requestCode, responseCode int32, elapsed time.Duration, longPolling bool) {
	if b.metrics != nil {
		b.metrics.ObserveRPC(requestCode, responseCode, elapsed, longPolling)
	}
}

// ClusterName is the broker's brokerClusterName.
func (b *Broker) ClusterName() string { return b.bc.BrokerClusterName }

// MetricsAddr is the bound address of the metrics endpoint, or "" when the
// broker exports no metrics.
func (b *Broker) MetricsAddr() string {
	if b.metricsAddr == nil {
		return ""
	}
	return b.metricsAddr.String()
}

// startMetrics starts the exporter (see MetricsExporter); its shutdown runs
// before the store closes.
func (b *Broker) startMetrics() error {
	if b.metrics == nil {
		return nil
	}
	addr := b.bc.MetricsAddr()
	a, err := b.metrics.Start(b, addr)
	if err != nil {
		return err
	}
	b.metricsAddr = a
	b.stopFuncs = append(b.stopFuncs, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return b.metrics.Shutdown(ctx)
	})
	b.log.Info("metrics listening", "addr", a.String())
	return nil
}
