package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Query and admin commands that scan indexes or consume queues can hurt a
// busy broker (upstream #7948), so they pass a guard before they run:
//
//  1. a token bucket per client (remote host) and one per request code;
//  2. for QUERY_MESSAGE and VIEW_MESSAGE_BY_ID, a bounded worker pool with
//     a bounded queue of waiting requests;
//
// and a request that passes neither gets SYSTEM_BUSY with a remark naming
// the limit and, for rate limits, when to retry. Produce, pull and
// heartbeats are never guarded: a flooding admin tool must not slow the
// data path down. Answers are cached in between (querycache.go).

// guardedCodes are the request codes the guard applies to; pooled marks
// those that also run in the query worker pool.
var guardedCodes = map[protocol.RequestCode]bool{
	protocol.QueryMessage:              true,
	protocol.ViewMessageByID:           true,
	protocol.SearchOffsetByTimestamp:   false,
	protocol.GetTopicStatsInfo:         false,
	protocol.GetConsumeStats:           false,
	protocol.QueryTopicConsumeByWho:    false,
	protocol.GetConsumerConnectionList: false,
	protocol.GetProducerConnectionList: false,
	protocol.GetConsumerRunningInfo:    false,
	protocol.InvokeBrokerToResetOffset: false,
	protocol.BolideResetOffset:         false,
	protocol.BolideGetLMQList:          false,
	protocol.BolideGetLagAdvice:        false,
}

// maxTrackedClients bounds the per-client buckets kept: beyond it the
// table starts afresh (clients then get a full bucket), which costs a
// little precision under a storm of distinct hosts instead of memory.
const maxTrackedClients = 10_000

// queryState is the broker's share of the guard, the cache and the lock
// that serializes runtime config changes (embedded in Broker).
type queryState struct {
	guard  *queryGuard
	qcache *queryCache
	bcMu   sync.Mutex // serializes UPDATE_BROKER_CONFIG and guards b.bc.QueryLimits
}

func (q *queryState) initQueryState(l config.QueryLimits) {
	q.guard = newQueryGuard(l)
	q.qcache = newQueryCache(l)
}

// queryGuard holds the buckets and the pool. Its limits can change at
// runtime (UPDATE_BROKER_CONFIG): buckets are retuned in place.
type queryGuard struct {
	mu      sync.Mutex
	limits  config.QueryLimits
	clients map[string]*rate.Limiter
	codes   map[protocol.RequestCode]*rate.Limiter

	poolMu  sync.Mutex
	poolCnd *sync.Cond
	running int
	waiting int

	rateBusy atomic.Int64 // requests refused by a rate limit
	poolBusy atomic.Int64 // requests refused because the pool queue was full
}

func newQueryGuard(l config.QueryLimits) *queryGuard {
	g := &queryGuard{limits: l, clients: map[string]*rate.Limiter{}, codes: map[protocol.RequestCode]*rate.Limiter{}}
	g.poolCnd = sync.NewCond(&g.poolMu)
	return g
}

// perSecond is a bucket's rate: n per second, n = 0 meaning unlimited.
// The burst is one second's worth, so a client may spend its second at once.
func perSecond(n int) (rate.Limit, int) {
	if n <= 0 {
		return rate.Inf, 1
	}
	return rate.Limit(n), n
}

// setLimits retunes every bucket and wakes pool waiters (the pool may
// have grown).
func (g *queryGuard) setLimits(l config.QueryLimits) {
	g.mu.Lock()
	g.limits = l
	cr, cb := perSecond(l.RateLimitPerClient)
	for _, lim := range g.clients {
		lim.SetLimit(cr)
		lim.SetBurst(cb)
	}
	kr, kb := perSecond(l.RateLimitPerCode)
	for _, lim := range g.codes {
		lim.SetLimit(kr)
		lim.SetBurst(kb)
	}
	g.mu.Unlock()
	g.poolMu.Lock()
	g.poolCnd.Broadcast()
	g.poolMu.Unlock()
}

// current returns the limits in force.
func (g *queryGuard) current() config.QueryLimits {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limits
}

// clientIdentity is the remote host of the connection: clients behind one
// host share a bucket, reconnecting does not refill it.
func clientIdentity(conn *remoting.Conn) string {
	if conn == nil {
		return "local"
	}
	addr := conn.RemoteAddr()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// busy is the SYSTEM_BUSY answer for a refused request.
func busy(format string, args ...any) error {
	return fail(protocol.SystemBusy, format, args...)
}

// maxBusyHold bounds how long a rate-limited request's answer is held.
const maxBusyHold = 100 * time.Millisecond

// busyWait is a rate-limit refusal that knows when a retry could pass.
// guarded holds the SYSTEM_BUSY answer that long (at most maxBusyHold):
// a client flooding with a window of requests then gets its refusals at
// the pace it could be served, instead of making the broker spend a CPU
// on answering refusals as fast as it can send (measured: ~60 µs each).
type busyWait struct {
	error
	wait time.Duration
}

func (e busyWait) Unwrap() error { return e.error }

// holdBusy waits before a busy answer, as busyWait explains; a closed
// connection (ctx) ends the wait.
func holdBusy(ctx context.Context, err error) {
	var bw busyWait
	if !errors.As(err, &bw) || bw.wait <= 0 {
		return
	}
	t := time.NewTimer(min(bw.wait, maxBusyHold))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// admit takes a token from the client's and the code's bucket, or takes
// none and says which limit refused and when to retry.
func (g *queryGuard) admit(code protocol.RequestCode, client string, now time.Time) error {
	g.mu.Lock()
	l := g.limits
	cl, ok := g.clients[client]
	if !ok {
		if len(g.clients) >= maxTrackedClients {
			g.clients = map[string]*rate.Limiter{}
		}
		cl = rate.NewLimiter(perSecond(l.RateLimitPerClient))
		g.clients[client] = cl
	}
	kl, ok := g.codes[code]
	if !ok {
		kl = rate.NewLimiter(perSecond(l.RateLimitPerCode))
		g.codes[code] = kl
	}
	g.mu.Unlock()

	cr := cl.ReserveN(now, 1)
	if d := cr.DelayFrom(now); d > 0 || !cr.OK() {
		cr.CancelAt(now)
		g.rateBusy.Add(1)
		return busyWait{busy("rate limited: queryRateLimitPerClient %d/s for %s, retry in %d ms", l.RateLimitPerClient, client, retryMillis(d)), d}
	}
	kr := kl.ReserveN(now, 1)
	if d := kr.DelayFrom(now); d > 0 || !kr.OK() {
		kr.CancelAt(now)
		cr.CancelAt(now)
		g.rateBusy.Add(1)
		return busyWait{busy("rate limited: queryRateLimitPerCode %d/s for request code %d, retry in %d ms", l.RateLimitPerCode, code, retryMillis(d)), d}
	}
	return nil
}

// retryMillis rounds a delay up to whole milliseconds, at least 1.
func retryMillis(d time.Duration) int64 {
	return max(int64((d+time.Millisecond-1)/time.Millisecond), 1)
}

// acquire takes a pool slot, waiting in the bounded queue if all are in
// use; with the queue full it refuses at once. Call release after.
func (g *queryGuard) acquire(ctx context.Context) error {
	l := g.current()
	g.poolMu.Lock()
	defer g.poolMu.Unlock()
	if g.running < l.PoolSize {
		g.running++
		return nil
	}
	if g.waiting >= l.QueueSize {
		g.poolBusy.Add(1)
		return busy("query pool full: queryPoolSize %d busy and queryQueueSize %d waiting, retry later", l.PoolSize, l.QueueSize)
	}
	g.waiting++
	defer func() { g.waiting-- }()
	// The connection's context ends when it closes: wake up then too.
	stop := context.AfterFunc(ctx, func() {
		g.poolMu.Lock()
		g.poolCnd.Broadcast()
		g.poolMu.Unlock()
	})
	defer stop()
	for g.running >= g.current().PoolSize {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("broker: waiting for the query pool: %w", err)
		}
		g.poolCnd.Wait()
	}
	g.running++
	return nil
}

func (g *queryGuard) release() {
	g.poolMu.Lock()
	g.running--
	g.poolCnd.Signal()
	g.poolMu.Unlock()
}

// guarded wraps the processor of a guarded code: rate limits, then the
// cache, then (for pooled codes) the worker pool.
func (b *Broker) guarded(code protocol.RequestCode, fn remoting.ProcessorFunc) remoting.ProcessorFunc {
	pooled, ok := guardedCodes[code]
	if !ok {
		return fn
	}
	return func(ctx context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		if err := b.guard.admit(code, clientIdentity(conn), b.now()); err != nil {
			holdBusy(ctx, err)
			return nil, err
		}
		key, gen, cacheable := b.cacheKey(code, req)
		if cacheable {
			if resp, ok := b.qcache.get(key, gen, b.now()); ok {
				return resp.answer(req), nil
			}
		}
		if pooled {
			if err := b.guard.acquire(ctx); err != nil {
				return nil, err
			}
			defer b.guard.release()
		}
		resp, err := fn(ctx, conn, req)
		if err == nil && cacheable && resp != nil {
			b.qcache.put(key, gen, resp, b.now())
		}
		return resp, err
	}
}
