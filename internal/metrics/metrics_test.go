package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/metrics"
	"github.com/bolidemq/bolide/internal/namesrv"
	"github.com/bolidemq/bolide/internal/remoting"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scrape GETs /metrics over HTTP and parses the text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + metrics.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v\n%s", resp.StatusCode, err, raw)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, raw)
	}
	return fams
}

// sample finds the series of family name whose labels include want, and
// returns its value (counter, gauge or histogram count); ok is false when
// there is none.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// wantSample fails unless the series exists with value want.
func wantSample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string, want float64) {
	t.Helper()
	got, ok := sample(fams, name, labels)
	if !ok {
		t.Errorf("%s%v: no such series", name, labels)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// startBroker runs a name server and a broker with LMQs on and the metrics
// endpoint on a free loopback port.
func startBroker(t *testing.T, opts metrics.Options) *clienttest.Env {
	t.Helper()
	cl := clienttest.StartClusterWith(t, 1, func(c *broker.Config) {
		c.Metrics = metrics.New(opts)
	}, func(bc *config.Broker) {
		bc.EnableLmq, bc.EnableMultiDispatch = true, true
		bc.MetricsExporterType = config.MetricsExporterPROM
		bc.MetricsPromExporterHost = "127.0.0.1"
		bc.MetricsPromExporterPort = 0
	})
	env := cl.Brokers[0]
	if env.Broker.MetricsAddr() == "" || strings.HasSuffix(env.Broker.MetricsAddr(), ":0") {
		t.Fatalf("metrics address %q", env.Broker.MetricsAddr())
	}
	return env
}

// A scripted workload, then one scrape: traffic counters, lag, inflight,
// ready, lag latency against the test's own clock readings, LMQ aggregates
// and the top-N LMQ, request latencies and store figures.
func TestBrokerMetricsAfterWorkload(t *testing.T) {
	env := startBroker(t, metrics.Options{TopLMQs: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	defer c.Close()
	addr := env.BrokerAddr
	for _, topic := range []string{"T", "P"} {
		if err := c.CreateTopic(ctx, addr, topic, 1); err != nil {
			t.Fatal(err)
		}
	}
	clienttest.WaitRoute(t, c, "T")
	clienttest.WaitRoute(t, c, "P")

	// Five 100-byte messages to T; the clock is read around each send:
	// message 2 is the first the group will not have committed, message 3
	// the first it will not have pulled.
	payload := bytes.Repeat([]byte("x"), 100)
	var before, after [5]time.Time
	for i := range 5 {
		before[i] = time.Now()
		if _, err := c.SendTo(ctx, addr, "T", 0, payload, nil); err != nil {
			t.Fatal(err)
		}
		after[i] = time.Now()
	}
	// Three 10-byte messages to P, each dispatched to two LMQs.
	for range 3 {
		props := message.Properties{}
		props.Set(message.PropertyInnerMultiDispatch, "%LMQ%a,%LMQ%b")
		if _, err := c.SendTo(ctx, addr, "P", 0, payload[:10], props); err != nil {
			t.Fatal(err)
		}
	}
	// G pulls three messages of T and commits two of them, once they are
	// dispatched (a send is answered before).
	clienttest.Poll(t, 10*time.Second, func() bool {
		n, err := c.MaxOffset(ctx, addr, "T", 0)
		return err == nil && n == 5
	})
	pr, err := c.Pull(ctx, addr, "G", "T", 0, 0, 3, 0)
	if err != nil || len(pr.Messages) != 3 {
		t.Fatalf("pull T: %v, %d messages", err, len(pr.Messages))
	}
	if err := c.UpdateConsumerOffset(ctx, addr, "G", "T", 0, 2); err != nil {
		t.Fatal(err)
	}
	// L consumes LMQs: one message of %LMQ%a pulled and committed, none of
	// %LMQ%b (committed at 0), once the dispatch has caught up.
	clienttest.Poll(t, 10*time.Second, func() bool {
		a, errA := c.MaxOffset(ctx, addr, "%LMQ%a", 0)
		b, errB := c.MaxOffset(ctx, addr, "%LMQ%b", 0)
		return errA == nil && errB == nil && a == 3 && b == 3
	})
	pr, err = c.Pull(ctx, addr, "L", "%LMQ%a", 0, 0, 1, 0)
	if err != nil || len(pr.Messages) != 1 {
		t.Fatalf("pull LMQ: %v, %d messages", err, len(pr.Messages))
	}
	for topic, off := range map[string]int64{"%LMQ%a": 1, "%LMQ%b": 0} {
		if err := c.UpdateConsumerOffset(ctx, addr, "L", topic, 0, off); err != nil {
			t.Fatal(err)
		}
	}
	// Commits are applied when the broker answers; a scrape after that
	// sees them.
	scrapeStart := time.Now()
	fams := scrape(t, env.Broker.MetricsAddr())
	scrapeEnd := time.Now()

	node := func(kv ...string) map[string]string {
		return labels(append([]string{"cluster", "DefaultCluster", "node_type", "broker", "node_id", "broker-a"}, kv...)...)
	}
	wantSample(t, fams, "rocketmq_messages_in_total", node("topic", "T", "message_type", "normal", "is_system", "false"), 5)
	wantSample(t, fams, "rocketmq_throughput_in_total", node("topic", "T"), 500)
	wantSample(t, fams, "rocketmq_messages_in_total", node("topic", "P"), 3)
	wantSample(t, fams, "rocketmq_throughput_in_total", node("topic", "P"), 30)
	wantSample(t, fams, "rocketmq_message_size", node(), 8)
	wantSample(t, fams, "bolide_lmq_entries_total", node(), 6)
	wantSample(t, fams, "rocketmq_messages_out_total", node("topic", "T", "consumer_group", "G", "is_system", "false"), 3)
	wantSample(t, fams, "rocketmq_messages_out_total", node("topic", "%LMQ%", "consumer_group", "L"), 1)
	if v, ok := sample(fams, "rocketmq_throughput_out_total", node("topic", "T", "consumer_group", "G")); !ok || v <= 300 {
		t.Errorf("throughput out of T to G = %v (%v), want the three records (> 300 bytes)", v, ok)
	}
	if _, ok := sample(fams, "rocketmq_messages_out_total", node("topic", "%LMQ%a")); ok {
		t.Error("an LMQ has its own messages_out series")
	}

	g := node("topic", "T", "consumer_group", "G", "is_retry", "false", "is_system", "false")
	wantSample(t, fams, "rocketmq_consumer_lag_messages", g, 3)      // 5 - 2
	wantSample(t, fams, "rocketmq_consumer_inflight_messages", g, 1) // pulled to 3, committed 2
	wantSample(t, fams, "rocketmq_consumer_ready_messages", g, 2)    // 5 - 3
	wantSample(t, fams, "bolide_consumer_lag_queues", g, 1)
	// Lag latency is the snapshot's now minus the store time of message
	// 2, queueing latency the same for message 3: both were stored while
	// their send ran, and the snapshot was taken during the scrape
	// (store times have ms resolution).
	within := func(name string, msg int) {
		t.Helper()
		v, ok := sample(fams, name, g)
		lo := float64(scrapeStart.UnixMilli() - after[msg].UnixMilli() - 1)
		hi := float64(scrapeEnd.UnixMilli() - before[msg].UnixMilli() + 1)
		if !ok || v < lo || v > hi {
			t.Errorf("%s = %v ms (%v), want within [%v, %v]", name, v, ok, lo, hi)
		}
	}
	within("rocketmq_consumer_lag_latency", 2)
	within("rocketmq_consumer_queueing_latency", 3)

	l := node("topic", "%LMQ%", "consumer_group", "L")
	wantSample(t, fams, "rocketmq_consumer_lag_messages", l, 5) // (3-1) + (3-0)
	wantSample(t, fams, "bolide_consumer_lag_queues", l, 2)
	wantSample(t, fams, "bolide_lmq_lag_top_messages", node("lmq", "%LMQ%b", "consumer_group", "L"), 3)
	if _, ok := sample(fams, "bolide_lmq_lag_top_messages", node("lmq", "%LMQ%a")); ok {
		t.Error("top-1 LMQs lists %LMQ%a too")
	}
	if _, ok := sample(fams, "rocketmq_consumer_lag_messages", node("topic", "%LMQ%a")); ok {
		t.Error("an LMQ has its own lag series")
	}
	wantSample(t, fams, "bolide_metrics_lag_truncated", node(), 0)
	wantSample(t, fams, "bolide_metrics_lag_queues_examined", node(), 3)

	if n, ok := sample(fams, "rocketmq_rpc_latency", node("request_code", "send_message_v2", "response_code", "success",
		"protocol_type", "remoting", "is_long_polling", "false")); !ok || n < 8 {
		t.Errorf("rpc latency of sends: %v observations (%v), want >= 8", n, ok)
	}
	if n, ok := sample(fams, "rocketmq_rpc_latency", node("request_code", "pull_message", "response_code", "success")); !ok || n < 2 {
		t.Errorf("rpc latency of pulls: %v observations (%v), want >= 2", n, ok)
	}
	if v, _ := sample(fams, "rocketmq_topic_number", node()); v < 2 {
		t.Errorf("topic number %v, want >= 2", v)
	}
	if v, _ := sample(fams, "bolide_commitlog_max_offset", node()); v <= 0 {
		t.Errorf("commit-log max offset %v", v)
	}
	wantSample(t, fams, "bolide_lmq_count", node(), 2)
	wantSample(t, fams, "bolide_lmq_max", node(), float64(config.DefaultBroker().MaxLmqConsumeQueueNum))
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// A held pull is answered later; its latency is recorded with
// is_long_polling="true", and it shows in bolide_pull_held while held.
func TestHeldPullMetrics(t *testing.T) {
	env := startBroker(t, metrics.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	defer c.Close()
	addr := env.BrokerAddr
	if err := c.CreateTopic(ctx, addr, "H", 1); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		pr, err := c.Pull(ctx, addr, "G", "H", 0, 0, 1, 10*time.Second)
		if err == nil && len(pr.Messages) != 1 {
			err = fmt.Errorf("held pull got %d messages", len(pr.Messages))
		}
		done <- err
	}()
	held := labels("node_id", "broker-a")
	clienttest.Poll(t, 10*time.Second, func() bool {
		v, _ := sample(scrape(t, env.Broker.MetricsAddr()), "bolide_pull_held", held)
		return v == 1
	})
	if _, err := c.SendTo(ctx, addr, "H", 0, []byte("wake"), nil); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The held answer is observed after it is sent: poll for it.
	clienttest.Poll(t, 10*time.Second, func() bool {
		n, _ := sample(scrape(t, env.Broker.MetricsAddr()), "rocketmq_rpc_latency",
			labels("request_code", "pull_message", "response_code", "success", "is_long_polling", "true"))
		return n == 1
	})
}

// The endpoint goes away with the broker.
func TestMetricsStopWithBroker(t *testing.T) {
	env := startBroker(t, metrics.Options{})
	addr := env.Broker.MetricsAddr()
	scrape(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.Broker.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get("http://" + addr + metrics.Path); err == nil {
		resp.Body.Close()
		t.Fatalf("metrics still served after shutdown: %s", resp.Status)
	}
}

// The name server's endpoint: route lookups by result, brokers and topics.
func TestNamesrvMetrics(t *testing.T) {
	e := metrics.New(metrics.Options{})
	ns := namesrv.New(namesrv.Config{Settings: namesrv.DefaultSettings(),
		Remoting: remoting.ServerConfig{Observer: e.ObserveNamesrvRPC}})
	nsAddr, err := ns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.AddNamesrv(ns, nsAddr.String()); err != nil {
		t.Fatal(err)
	}
	addr, err := e.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := ns.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	c := client.New(client.Config{NamesrvAddrs: []string{nsAddr.String()}})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		if _, err := c.RefreshRoute(ctx, "missing"); err == nil {
			t.Fatal("route of a missing topic found")
		}
	}
	fams := scrape(t, addr.String())
	ns1 := labels("node_type", "namesrv", "node_id", nsAddr.String())
	wantSample(t, fams, "bolide_namesrv_route_requests_total", labels("node_type", "namesrv", "result", "not_found"), 2)
	wantSample(t, fams, "rocketmq_rpc_latency", labels("node_type", "namesrv", "request_code", "get_routeinfo_by_topic",
		"response_code", "topic_not_exist"), 2)
	wantSample(t, fams, "bolide_namesrv_brokers", ns1, 0)
	wantSample(t, fams, "bolide_namesrv_topics", ns1, 0)
}

// The per-scrape queue cap stops the lag walk, and says so.
func TestLagWalkCapped(t *testing.T) {
	env := startBroker(t, metrics.Options{MaxLagQueues: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	defer c.Close()
	if err := c.CreateTopic(ctx, env.BrokerAddr, "C", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTo(ctx, env.BrokerAddr, "C", 0, []byte("m"), nil); err != nil {
		t.Fatal(err)
	}
	// A send is answered once the commit log has it; the lag counts
	// consume-queue entries, which dispatch adds a moment later.
	clienttest.Poll(t, 10*time.Second, func() bool {
		n, err := c.MaxOffset(ctx, env.BrokerAddr, "C", 0)
		return err == nil && n == 1
	})
	for _, g := range []string{"GA", "GB", "GC"} {
		if err := c.UpdateConsumerOffset(ctx, env.BrokerAddr, g, "C", 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	fams := scrape(t, env.Broker.MetricsAddr())
	wantSample(t, fams, "bolide_metrics_lag_queues_examined", nil, 2)
	wantSample(t, fams, "bolide_metrics_lag_truncated", nil, 1)
	for g, want := range map[string]bool{"GA": true, "GB": true, "GC": false} {
		v, ok := sample(fams, "rocketmq_consumer_lag_messages", labels("topic", "C", "consumer_group", g))
		if ok != want || (ok && v != 1) {
			t.Errorf("lag of %s: %v (present %v), want present %v with 1", g, v, ok, want)
		}
	}
}
