package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// exportedNames are the metric family names the broker and name server
// collectors can export, from their descriptors.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 256)
	for _, c := range []prometheus.Collector{&brokerCollector{}, &namesrvCollector{}, newRPCMetrics().hist, New(Options{}).routes} {
		c.Describe(ch)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		m := fq.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		names[m[1]] = true
	}
	return names
}

type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// Every series the Grafana dashboard queries is one this package exports
// (histograms through their _bucket, _sum and _count series), and the
// headline series have panels.
func TestDashboardQueriesExportedSeries(t *testing.T) {
	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	names := exportedNames(t)
	series := regexp.MustCompile(`\b(?:rocketmq|bolide)_[a-z_]+\b`)
	shown := map[string]bool{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range series.FindAllString(tg.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if trimmed, ok := strings.CutSuffix(name, suffix); ok && names[trimmed] {
						base = trimmed
					}
				}
				if !names[base] {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, name)
				}
				shown[base] = true
			}
		}
	}
	for _, must := range []string{"rocketmq_messages_in_total", "rocketmq_messages_out_total", "rocketmq_rpc_latency",
		"rocketmq_consumer_lag_messages", "rocketmq_consumer_lag_latency", "rocketmq_consumer_inflight_messages",
		"rocketmq_consumer_ready_messages", "bolide_lmq_lag_top_messages", "rocketmq_storage_dispatch_behind_bytes",
		"bolide_namesrv_brokers"} {
		if !shown[must] {
			t.Errorf("no panel shows %s", must)
		}
	}
}
