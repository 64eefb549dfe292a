// Package metrics exports the broker's and the name server's figures to
// Prometheus with RocketMQ 5's metric names and labels
// (BrokerMetricsConstant, RemotingMetricsConstant), so that dashboards and
// alerts written for RocketMQ keep working, plus Bolide's own series
// (bolide_*) for what upstream does not export. docs/metrics.md lists every
// series.
//
// The broker, the remoting layer and the store import no metrics library:
// the broker counts traffic with atomics and hands out a plain snapshot
// (broker.MetricsSnapshot), the remoting server reports request latencies
// to an optional observer, and this package turns both into series. Lag
// figures are computed at scrape time from committed offsets and
// consume-queue rows, with the broker's GET_CONSUME_STATS code, so they
// agree with mqadmin consumerProgress; the cost of a scrape is capped (see
// broker.SnapshotOptions). Per-LMQ series are never exported one by one:
// all LMQs of a group count as topic="%LMQ%", and the top N LMQs by lag get
// their own bolide_lmq_lag_top_* series.
//
// An Exporter owns one registry (never the global one) and one HTTP server;
// it implements broker.MetricsExporter, and the name server's figures are
// added with AddNamesrv (standalone serves both on one endpoint).
package metrics
