package broker

import (
	"strings"
	"testing"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

func TestQueryCacheHitAndInvalidationByNewMessage(t *testing.T) {
	b, cli := startBroker(t, nil)
	putKeyed(t, b, "T", "first", "k1", "")
	q := queryMsgs(t, b, cli, "T", "k1", 8, false)
	if got := q.sorted(); got != "[first]" {
		t.Fatalf("first query: %s", got)
	}
	before := b.QueryCacheStats()
	q = queryMsgs(t, b, cli, "T", "k1", 8, false)
	after := b.QueryCacheStats()
	if got := q.sorted(); got != "[first]" || after.Hits != before.Hits+1 {
		t.Fatalf("repeated query: %s, hits %d -> %d", got, before.Hits, after.Hits)
	}
	// A newer message with the same key must appear at once, TTL or not.
	putKeyed(t, b, "T", "second", "k1", "")
	q = queryMsgs(t, b, cli, "T", "k1", 8, false)
	if got := q.sorted(); got != "[first second]" {
		t.Fatalf("query after a new message with the key: %s", got)
	}
	if s := b.QueryCacheStats(); s.Misses != after.Misses+1 {
		t.Fatalf("misses %d -> %d, want one more", after.Misses, s.Misses)
	}
	info := b.runtimeInfo(b.now())
	if info["queryCacheHits"] == "" || info["queryCacheMisses"] == "" {
		t.Fatalf("runtime info lacks the cache counters: %v", info)
	}
}

func TestQueryCacheViewMessageAndOff(t *testing.T) {
	b, cli := startBroker(t, func(bc *config.Broker) { bc.QueryLimits.CacheSize = 1 })
	phy, _ := putKeyed(t, b, "T", "one", "", "")
	h := &protocol.ViewMessageRequestHeader{Offset: phy}
	r1 := call(t, b, cli, protocol.ViewMessageByID, h, nil)
	r2 := call(t, b, cli, protocol.ViewMessageByID, h, nil)
	if r1.Code != int32(protocol.Success) || string(r1.Body) != string(r2.Body) || r2.Opaque == r1.Opaque {
		t.Fatalf("view answers differ: %d/%d", r1.Code, r2.Code)
	}
	if s := b.QueryCacheStats(); s.Hits != 1 || s.Entries != 1 {
		t.Fatalf("stats %+v, want 1 hit and 1 entry", s)
	}
	// Size 1: another entry evicts the first.
	putKeyed(t, b, "T", "two", "k", "")
	queryMsgs(t, b, cli, "T", "k", 8, false)
	if s := b.QueryCacheStats(); s.Entries != 1 {
		t.Fatalf("entries %d beyond size 1", s.Entries)
	}
	// Off at runtime: nothing is cached any more.
	resp := call(t, b, cli, protocol.UpdateBrokerConfig, nil, []byte("queryCacheSize=0\n"))
	if resp.Code != int32(protocol.Success) {
		t.Fatalf("update: %d %q", resp.Code, resp.Remark)
	}
	call(t, b, cli, protocol.ViewMessageByID, h, nil)
	call(t, b, cli, protocol.ViewMessageByID, h, nil)
	if s := b.QueryCacheStats(); s.Hits != 1 || s.Entries != 0 {
		t.Fatalf("cache off: stats %+v", s)
	}
}

func TestRuntimeConfigChangesLimit(t *testing.T) {
	b, cli := startBroker(t, nil)
	resp := call(t, b, cli, protocol.UpdateBrokerConfig, nil, []byte("queryRateLimitPerClient=1\nqueryPoolSize=2\n"))
	if resp.Code != int32(protocol.Success) {
		t.Fatalf("update: %d %q", resp.Code, resp.Remark)
	}
	got := call(t, b, cli, protocol.GetBrokerConfig, nil, nil)
	if !strings.Contains(string(got.Body), "queryRateLimitPerClient=1\n") || !strings.Contains(string(got.Body), "queryPoolSize=2\n") {
		t.Fatalf("GET_BROKER_CONFIG body %q", got.Body)
	}
	h := &protocol.GetTopicStatsInfoRequestHeader{Topic: "TBW102"}
	busySeen := false
	for range 4 {
		if r := call(t, b, cli, protocol.GetTopicStatsInfo, h, nil); r.Code == int32(protocol.SystemBusy) {
			busySeen = strings.Contains(r.Remark, "queryRateLimitPerClient 1/s")
		}
	}
	if !busySeen {
		t.Fatal("4 requests at the new limit of 1/s were all answered")
	}
}

func TestRuntimeConfigRefusesOtherKeys(t *testing.T) {
	b, cli := startBroker(t, nil)
	for _, c := range []struct {
		body string
		code protocol.ResponseCode
		want string
	}{
		{"storePathRootDir=/tmp/evil\n", protocol.NoPermission, `"storePathRootDir"`},
		{"queryPoolSize=3\nrocketmqHome=/tmp\n", protocol.NoPermission, `"rocketmqHome"`},
		{"queryPoolSize=0\n", protocol.InvalidParameter, "queryPoolSize"},
		{"", protocol.InvalidParameter, "no properties"},
	} {
		resp := call(t, b, cli, protocol.UpdateBrokerConfig, nil, []byte(c.body))
		if resp.Code != int32(c.code) || !strings.Contains(resp.Remark, c.want) {
			t.Errorf("%q: %d %q, want %d naming %s", c.body, resp.Code, resp.Remark, c.code, c.want)
		}
	}
	if l := b.guard.current(); l.PoolSize != config.DefaultBroker().QueryLimits.PoolSize {
		t.Fatalf("a refused update changed the pool size to %d", l.PoolSize)
	}
}

func TestQueryCacheTopicStatsFollowsNewMessages(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopicConfig(t, b, body.TopicConfig{TopicName: "S", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6})
	h := &protocol.GetTopicStatsInfoRequestHeader{Topic: "S"}
	maxOffset := func() int64 {
		t.Helper()
		resp := call(t, b, cli, protocol.GetTopicStatsInfo, h, nil)
		var table body.TopicStatsTable
		if err := table.Decode(resp.Body); err != nil {
			t.Fatalf("decode stats (code %d %q): %v", resp.Code, resp.Remark, err)
		}
		for _, to := range table.OffsetTable {
			return to.MaxOffset
		}
		t.Fatal("no queue in the stats")
		return 0
	}
	if got := maxOffset(); got != 0 {
		t.Fatalf("empty topic max offset %d", got)
	}
	hits := b.QueryCacheStats().Hits
	if got := maxOffset(); got != 0 || b.QueryCacheStats().Hits != hits+1 {
		t.Fatalf("repeated stats: max %d, hits %d -> %d", got, hits, b.QueryCacheStats().Hits)
	}
	putKeyed(t, b, "S", "m", "", "")
	pollUntil(t, "the message in the stats", func() bool { return maxOffset() == 1 })
}
