package metrics

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bolidemq/bolide/internal/protocol"
)

// rpcLatencyBuckets are upstream's rocketmq_rpc_latency buckets, in
// milliseconds (RemotingMetricsManager.getMetricsView).
var rpcLatencyBuckets = []float64{1, 3, 5, 7, 10, 100, 1000, 2000, 3000}

const codeGetRouteInfo = int32(protocol.GetRouteInfoByTopic)

// rpcMetrics is one node's rocketmq_rpc_latency histogram. The label
// values of a (request code, response code, long polling) triple are
// resolved once and cached, so an observation is a map lookup and the
// histogram's atomic adds.
type rpcMetrics struct {
	hist   *prometheus.HistogramVec
	cache  sync.Map // rpcKey -> prometheus.Observer
	cached atomic.Int64
}

// maxRPCCache bounds the cache: a client sending random codes gets
// "unknown" labels, and must not grow the cache without bound either.
const maxRPCCache = 4096

type rpcKey struct {
	code, resp  int32
	longPolling bool
}

func newRPCMetrics() *rpcMetrics {
	return &rpcMetrics{hist: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "rocketmq_rpc_latency",
		Help:    "Time to answer a remoting request, in milliseconds, by request and response code.",
		Buckets: rpcLatencyBuckets,
	}, []string{"protocol_type", "request_code", "response_code", "is_long_polling"})}
}

func (m *rpcMetrics) observe(code, resp int32, elapsed time.Duration, longPolling bool) {
	ms := float64(elapsed) / float64(time.Millisecond)
	k := rpcKey{code, resp, longPolling}
	if o, ok := m.cache.Load(k); ok {
		o.(prometheus.Observer).Observe(ms)
		return
	}
	o := m.hist.WithLabelValues("remoting", requestCodeLabel(code), responseCodeLabel(resp), boolLabel(longPolling))
	if m.cached.Load() < maxRPCCache {
		if _, loaded := m.cache.LoadOrStore(k, o); !loaded {
			m.cached.Add(1)
		}
	}
	o.Observe(ms)
}

// requestCodeLabel is upstream's label value, the lower-cased constant
// name (RemotingHelper.getRequestCodeDesc). Codes without a name become
// "unknown" rather than one series per number a client may send.
func requestCodeLabel(code int32) string {
	s := protocol.RequestCode(code).String()
	if strings.HasPrefix(s, "RequestCode(") {
		return "unknown"
	}
	return strings.ToLower(s)
}

// responseCodeLabel is requestCodeLabel for response codes.
func responseCodeLabel(code int32) string {
	s := protocol.ResponseCode(code).String()
	if strings.HasPrefix(s, "ResponseCode(") {
		return "unknown"
	}
	return strings.ToLower(s)
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// routeResult is the result label of a route lookup's response code.
func routeResult(resp int32) string {
	switch protocol.ResponseCode(resp) {
	case protocol.Success:
		return "found"
	case protocol.TopicNotExist:
		return "not_found"
	}
	return "error"
}
