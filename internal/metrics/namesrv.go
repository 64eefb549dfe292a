package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bolidemq/bolide/internal/namesrv"
)

// Name server series (Bolide's own: upstream's name server exports only
// rocketmq_rpc_latency).
var (
	descNSClusters = desc("bolide_namesrv_clusters", "Clusters with registered brokers.")
	descNSBrokers  = desc("bolide_namesrv_brokers", "Registered broker addresses (masters and slaves).")
	descNSTopics   = desc("bolide_namesrv_topics", "Topics with a route.")
)

// namesrvCollector reads the route table at scrape time.
type namesrvCollector struct{ ns *namesrv.Server }

func (c *namesrvCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descNSClusters
	ch <- descNSBrokers
	ch <- descNSTopics
}

func (c *namesrvCollector) Collect(ch chan<- prometheus.Metric) {
	rt := c.ns.Routes()
	ci := rt.ClusterInfo()
	brokers := 0
	for _, bd := range ci.BrokerAddrTable {
		brokers += len(bd.BrokerAddrs)
	}
	ch <- prometheus.MustNewConstMetric(descNSClusters, prometheus.GaugeValue, float64(len(ci.ClusterAddrTable)))
	ch <- prometheus.MustNewConstMetric(descNSBrokers, prometheus.GaugeValue, float64(brokers))
	ch <- prometheus.MustNewConstMetric(descNSTopics, prometheus.GaugeValue, float64(len(rt.Topics())))
}
