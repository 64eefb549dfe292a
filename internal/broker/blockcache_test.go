package broker

import (
	"strconv"
	"testing"
)

// The block cache's figures (the in-memory level under the query cache)
// are in the runtime info, and reads move them.
func TestRuntimeInfoBlockCache(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	putMsgs(t, b, "T", 0, "", "a", "b", "c")
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	lookups := func() int64 {
		info := runtimeInfo(t, b, cli)
		var n int64
		for _, k := range []string{"storeBlockCacheHits", "storeBlockCacheMisses"} {
			v, err := strconv.ParseInt(info[k], 10, 64)
			if err != nil || v < 0 {
				t.Fatalf("%s = %q", k, info[k])
			}
			n += v
		}
		return n
	}
	before := lookups()
	// Flushed to tables, then read: the reads go through the block cache.
	if err := b.store.FlushKV(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := b.store.MaxOffset("T", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.StoreTimeAt("T", 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	if after := lookups(); after <= before {
		t.Errorf("block cache lookups %d -> %d after reads", before, after)
	}
}
