package broker

import (
	"container/list"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// The query cache answers repeated QUERY_MESSAGE (key and unique key),
// VIEW_MESSAGE_BY_ID and GET_TOPIC_STATS_INFO requests from memory for a
// TTL, in a bounded LRU.
//
// Invalidation is by generation rather than by tracking keys: an entry
// remembers the store's state it was computed from and is served only
// while that state is unchanged.
//
//   - QUERY_MESSAGE: the dispatched commit-log offset and the commit log's
//     min offset. Any new message dispatched to the index (so a newer
//     message with the same key) or any expiry makes every cached query
//     stale: one atomic load per lookup, no index bookkeeping, and under
//     steady produce traffic a cached answer simply lives until the next
//     dispatch.
//   - VIEW_MESSAGE_BY_ID: a record never changes where it is stored, so
//     only the commit log's min offset (retention) matters.
//   - GET_TOPIC_STATS_INFO: dispatched and min offsets, plus the topic's
//     queue counts (a topic update or delete changes the answer).
//
// GET_CONSUME_STATS is not cached: its consumer offsets change without any
// store activity, and a stale consumerProgress is worse than a slow one.

// cacheGen is the store state an answer was computed from.
type cacheGen struct {
	dispatched int64
	minOffset  int64
	topic      string // topic config summary, for GET_TOPIC_STATS_INFO
}

type cacheEntry struct {
	key     string
	gen     cacheGen
	expires time.Time
	resp    cachedAnswer
}

// cachedAnswer is a response without its opaque: the body is shared by
// every answer made from it and never written.
type cachedAnswer struct {
	code   int32
	remark string
	ext    map[string]string
	body   []byte
}

func (a cachedAnswer) answer(req *remoting.Command) *remoting.Command {
	resp := remoting.NewResponse(req, a.code, a.remark)
	resp.ExtFields = maps.Clone(a.ext)
	resp.Body = a.body
	return resp
}

// queryCache is a bounded LRU of answers with a TTL.
type queryCache struct {
	mu    sync.Mutex
	size  int
	ttl   time.Duration
	order *list.List // front: most recently used *cacheEntry
	byKey map[string]*list.Element

	hits, misses atomic.Int64
}

func newQueryCache(l config.QueryLimits) *queryCache {
	c := &queryCache{order: list.New(), byKey: map[string]*list.Element{}}
	c.configure(l)
	return c
}

// configure applies a new size and TTL, dropping the oldest entries beyond
// the size.
func (c *queryCache) configure(l config.QueryLimits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.size = max(l.CacheSize, 0)
	c.ttl = time.Duration(l.CacheTTLMillis) * time.Millisecond
	c.trimLocked()
}

func (c *queryCache) trimLocked() {
	for c.order.Len() > c.size {
		e := c.order.Back()
		c.order.Remove(e)
		delete(c.byKey, e.Value.(*cacheEntry).key)
	}
}

func (c *queryCache) enabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size > 0
}

// get returns the answer cached under key if it is still fresh and was
// computed from the same generation.
func (c *queryCache) get(key string, gen cacheGen, now time.Time) (cachedAnswer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		c.misses.Add(1)
		return cachedAnswer{}, false
	}
	e := el.Value.(*cacheEntry)
	if e.gen != gen || !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		c.misses.Add(1)
		return cachedAnswer{}, false
	}
	c.order.MoveToFront(el)
	c.hits.Add(1)
	return e.resp, true
}

// put caches a successful or not-found answer.
func (c *queryCache) put(key string, gen cacheGen, resp *remoting.Command, now time.Time) {
	if resp.Code != int32(protocol.Success) && resp.Code != int32(protocol.QueryNotFound) {
		return
	}
	a := cachedAnswer{code: resp.Code, remark: resp.Remark, ext: maps.Clone(resp.ExtFields), body: resp.Body}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size == 0 {
		return
	}
	e := &cacheEntry{key: key, gen: gen, expires: now.Add(c.ttl), resp: a}
	if el, ok := c.byKey[key]; ok {
		el.Value = e
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(e)
	c.trimLocked()
}

// cacheKey is the cache key and generation of a request, cacheable false
// for codes not cached (or with the cache off). The key is the code and
// every request ext field, sorted: the header determines the answer.
func (b *Broker) cacheKey(code protocol.RequestCode, req *remoting.Command) (string, cacheGen, bool) {
	switch code {
	case protocol.QueryMessage, protocol.ViewMessageByID, protocol.GetTopicStatsInfo:
	default:
		return "", cacheGen{}, false
	}
	if !b.qcache.enabled() {
		return "", cacheGen{}, false
	}
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(int(code)))
	for _, k := range slices.Sorted(maps.Keys(req.ExtFields)) {
		sb.WriteByte(0)
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(req.ExtFields[k])
	}
	st := b.store.Stats()
	gen := cacheGen{minOffset: st.CommitLogMinOffset}
	switch code {
	case protocol.QueryMessage:
		gen.dispatched = st.Dispatched
	case protocol.GetTopicStatsInfo:
		gen.dispatched = st.Dispatched
		if tc, ok := b.topics.Get(req.ExtFields["topic"]); ok {
			gen.topic = strconv.Itoa(int(tc.ReadQueueNums)) + "/" + strconv.Itoa(int(tc.WriteQueueNums))
		}
	}
	return sb.String(), gen, true
}

// QueryCacheStats are the query cache's counters.
type QueryCacheStats struct {
	Hits, Misses int64
	Entries      int
}

// QueryCacheStats returns the query cache's hit and miss counts.
func (b *Broker) QueryCacheStats() QueryCacheStats {
	c := b.qcache
	c.mu.Lock()
	n := c.order.Len()
	c.mu.Unlock()
	return QueryCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: n}
}

// addQueryInfo adds the cache and guard counters to the runtime info
// (GET_BROKER_RUNTIME_INFO, Bolide's keys).
func (b *Broker) addQueryInfo(info map[string]string) {
	s := b.QueryCacheStats()
	info["queryCacheHits"] = strconv.FormatInt(s.Hits, 10)
	info["queryCacheMisses"] = strconv.FormatInt(s.Misses, 10)
	info["queryCacheEntries"] = strconv.Itoa(s.Entries)
	info["queryRateLimited"] = strconv.FormatInt(b.guard.rateBusy.Load(), 10)
	info["queryPoolRejected"] = strconv.FormatInt(b.guard.poolBusy.Load(), 10)
}
