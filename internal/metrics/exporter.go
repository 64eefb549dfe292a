package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/namesrv"
)

// Path is where the metrics are served.
const Path = "/metrics"

// Options tune an Exporter. Zero values take the defaults noted.
type Options struct {
	// Logger receives the HTTP server's errors (default: discard).
	Logger *slog.Logger
	// MaxLagQueues caps the queues whose lag one scrape computes
	// (default broker.DefaultMetricsMaxQueues).
	MaxLagQueues int
	// TopLMQs is how many LMQs with the largest lag get their own series
	// (default broker.DefaultMetricsTopLMQs; negative: none).
	TopLMQs int
}

// Exporter serves Prometheus metrics of a broker and/or a name server on
// one HTTP endpoint. It implements broker.MetricsExporter.
type Exporter struct {
	opts Options
	log  *slog.Logger
	reg  *prometheus.Registry

	brokerRPC *rpcMetrics
	nsRPC     *rpcMetrics
	routes    *prometheus.CounterVec // name server route lookups by result

	mu      sync.Mutex
	srv     *http.Server
	serving sync.WaitGroup
	closed  bool
	brokers []*brokerCollector // detached on Shutdown
}

var _ broker.MetricsExporter = (*Exporter)(nil)

// New returns an exporter with the Go runtime and process collectors
// registered; add a broker (Start or AddBroker) and/or a name server
// (AddNamesrv), then serve with Listen or Handler.
func New(opts Options) *Exporter {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Exporter{
		opts:      opts,
		log:       opts.Logger.With("component", "metrics"),
		reg:       prometheus.NewRegistry(),
		brokerRPC: newRPCMetrics(),
		nsRPC:     newRPCMetrics(),
		routes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bolide_namesrv_route_requests_total",
			Help: "GET_ROUTEINFO_BY_TOPIC requests answered, by result (found, not_found, error).",
		}, []string{"result"}),
	}
	e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return e
}

// Registry is the exporter's registry (for tests and embedding).
func (e *Exporter) Registry() *prometheus.Registry { return e.reg }

// Handler serves the registry in the Prometheus text (or negotiated)
// format. The broker collector serializes its snapshots (each walks
// consumer offsets; two at once would only double that cost), so
// concurrent scrapes wait rather than fail; beyond four in flight they get
// 503.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
}

// nodeLabels are the labels upstream puts on every series of a node.
func nodeLabels(cluster, nodeType, nodeID string) prometheus.Labels {
	return prometheus.Labels{"cluster": cluster, "node_type": nodeType, "node_id": nodeID}
}

// AddBroker registers b's collectors and its request latency histogram,
// labelled cluster, node_type="broker" and node_id=<brokerName> as
// upstream's series are. b must be listening (its store open): Start is
// called by the broker at that point.
func (e *Exporter) AddBroker(b *broker.Broker) error {
	reg := prometheus.WrapRegistererWith(nodeLabels(b.ClusterName(), "broker", b.Name()), e.reg)
	if err := reg.Register(e.brokerRPC.hist); err != nil {
		return fmt.Errorf("metrics: register broker rpc latency: %w", err)
	}
	c := &brokerCollector{b: b, opts: broker.SnapshotOptions{MaxQueues: e.opts.MaxLagQueues, TopLMQs: e.opts.TopLMQs}}
	if err := reg.Register(c); err != nil {
		return fmt.Errorf("metrics: register broker collector: %w", err)
	}
	e.mu.Lock()
	e.brokers = append(e.brokers, c)
	e.mu.Unlock()
	return nil
}

// Start implements broker.MetricsExporter: AddBroker, then Listen.
func (e *Exporter) Start(b *broker.Broker, addr string) (net.Addr, error) {
	if err := e.AddBroker(b); err != nil {
		return nil, err
	}
	return e.Listen(addr)
}

// ObserveRPC implements broker.MetricsExporter (rocketmq_rpc_latency of
// the broker).
func (e *Exporter) ObserveRPC(requestCode, responseCode int32, elapsed time.Duration, longPolling bool) {
	e.brokerRPC.observe(requestCode, responseCode, elapsed, longPolling)
}

// ObserveNamesrvRPC is the name server's remoting observer
// (remoting.ServerConfig.Observer): rocketmq_rpc_latency of the name
// server, and route lookups by result.
func (e *Exporter) ObserveNamesrvRPC(requestCode, responseCode int32, elapsed time.Duration) {
	e.nsRPC.observe(requestCode, responseCode, elapsed, false)
	if requestCode == codeGetRouteInfo {
		e.routes.WithLabelValues(routeResult(responseCode)).Inc()
	}
}

// AddNamesrv registers the name server's collectors, labelled
// node_type="namesrv" and node_id=addr (its listen address). Pass
// ObserveNamesrvRPC as the name server's remoting observer for its request
// latencies and route lookups.
func (e *Exporter) AddNamesrv(ns *namesrv.Server, addr string) error {
	reg := prometheus.WrapRegistererWith(nodeLabels("", "namesrv", addr), e.reg)
	for _, c := range []prometheus.Collector{e.nsRPC.hist, e.routes, &namesrvCollector{ns: ns}} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: register name server collectors: %w", err)
		}
	}
	return nil
}

// Listen serves Path on addr (host:port; port 0 picks a free one) until
// Shutdown, and returns the bound address.
func (e *Exporter) Listen(addr string) (net.Addr, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errors.New("metrics: exporter shut down")
	}
	if e.srv != nil {
		return nil, errors.New("metrics: already listening")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s (set metricsPromExporterPort or --metrics-addr, or disable metrics): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle(Path, e.Handler())
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	e.serving.Add(1)
	go func() {
		defer e.serving.Done()
		if err := e.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("metrics server stopped", "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Shutdown stops the HTTP server, waiting for running scrapes until ctx
// ends (then closing their connections), and detaches the brokers: when it
// returns no scrape reads a broker any more, so the broker may close its
// store. Idempotent.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	srv, brokers := e.srv, e.brokers
	already := e.closed
	e.closed = true
	e.mu.Unlock()
	if already {
		return nil
	}
	var err error
	if srv != nil {
		if err = srv.Shutdown(ctx); err != nil {
			err = errors.Join(fmt.Errorf("metrics: shutdown: %w", err), srv.Close())
		}
		e.serving.Wait()
	}
	for _, c := range brokers {
		c.detach() // waits for a Collect cut off by the deadline
	}
	return err
}
