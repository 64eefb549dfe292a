package broker

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	pebblevfs "github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store"
	"github.com/bolidemq/bolide/internal/vfs"
)

// TestRemovedLMQOffsetsSurviveACrash: retention removes an LMQ whose
// messages expired, and the broker's hook deletes the groups' offsets on
// it. A crash right after the pass, before the offsets database's
// periodic sync, must not leave the old offset on a removed name: a put
// re-creates the LMQ at 0 and a group still at 10 would skip its messages
// (PULL_OFFSET_MOVED to the max).
func TestRemovedLMQOffsetsSurviveACrash(t *testing.T) {
	const lmq, group = "%LMQ%again", "g"
	logger := slog.New(slog.DiscardHandler)
	offFS := pebblevfs.NewCrashableMem()
	b := &Broker{cfg: Config{Logger: logger}, log: logger}
	m, err := newOffsetManagerFS(b, "offsets", offFS)
	if err != nil {
		t.Fatal(err)
	}
	m.sync.Stop() // no periodic sync: the crash falls before it
	b.offsets = m

	var clock atomic.Int64
	clock.Store(10_000_000)
	fs, kvfs := vfs.NewMem(), pebblevfs.NewCrashableMem()
	cfg := store.Config{
		Dir: "data", FS: fs, KVFS: kvfs, SegmentSize: 4096, StoreHost: netip.MustParseAddrPort("127.0.0.1:10911"),
		EnableLMQ: true, Now: func() time.Time { return time.UnixMilli(clock.Load()) }, Logger: logger,
		FileReservedTime: time.Hour, DiskMaxUsedRatio: -1, RetentionInterval: -1,
		OnLMQsRemoved: b.lmqsRemoved,
	}
	st, err := store.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	put := func(body string, props ...string) store.PutResult {
		t.Helper()
		msg := &message.Message{Topic: "R", Body: []byte(body), BornHost: cfg.StoreHost}
		for i := 0; i+1 < len(props); i += 2 {
			msg.Properties.Set(props[i], props[i+1])
		}
		r, err := st.Put(msg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i := range 10 {
		put(fmt.Sprintf("old%03d", i), message.PropertyInnerMultiDispatch, lmq)
	}
	for i := range 60 { // the LMQ's records fill whole segments that expire
		put(fmt.Sprintf("filler%03d", i))
	}
	clock.Add(2 * time.Hour.Milliseconds())
	for i := range 5 {
		put(fmt.Sprintf("new%03d", i))
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := m.Commit(group, lmq, 0, 10); err != nil { // consumed all ten
		t.Fatal(err)
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	res, err := st.Retain()
	if err != nil || len(res.LMQsRemoved) != 1 {
		t.Fatalf("retention: %+v, %v; want %s removed", res, err, lmq)
	}
	if _, ok, _ := m.Query(group, lmq, 0); ok {
		t.Fatal("the hook left the removed LMQ's offset")
	}

	stFS, stKV, offKV := fs.Crash(), kvfs.CrashClone(pebblevfs.CrashCloneCfg{}), offFS.CrashClone(pebblevfs.CrashCloneCfg{})
	_ = st.Close()
	_ = m.Close()

	// The broker's order: offsets first (the store's start-up pass may
	// call the hook), then the store.
	m, err = newOffsetManagerFS(b, "offsets", offKV)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	b.offsets = m
	cfg.FS, cfg.KVFS = stFS, stKV
	if st, err = store.Open(cfg); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if off, ok, err := m.Query(group, lmq, 0); err != nil || ok {
		t.Fatalf("after the crash group %s has offset %d (%v) on %s, which retention removed", group, off, err, lmq)
	}
	if r := put("reborn", message.PropertyInnerMultiDispatch, lmq); r.LMQOffsets[0][0] != 0 {
		t.Fatalf("re-created LMQ at %v, want 0", r.LMQOffsets[0])
	}
}

// DeleteTopics' deletions survive a crash however they were split into
// batches: with a batch per topic, the last batch is left empty, and
// pebble does not sync for an empty batch.
func TestDeletedOffsetsSurviveACrashAcrossBatches(t *testing.T) {
	defer func(n int) { maxDeleteBatch = n }(maxDeleteBatch)
	maxDeleteBatch = 1 // a batch per topic
	logger := slog.New(slog.DiscardHandler)
	fs := pebblevfs.NewCrashableMem()
	b := &Broker{cfg: Config{Logger: logger}, log: logger}
	m, err := newOffsetManagerFS(b, "offsets", fs)
	if err != nil {
		t.Fatal(err)
	}
	m.sync.Stop() // no periodic sync: the crash falls before it
	topics := []string{"%LMQ%a", "%LMQ%b", "%LMQ%c"}
	for _, topic := range topics {
		if err := m.Commit("g", topic, 0, 7); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	if n, err := m.DeleteTopics(topics); err != nil || n != len(topics) {
		t.Fatalf("deleted %d offsets (%v), want %d", n, err, len(topics))
	}
	crashed := fs.CrashClone(pebblevfs.CrashCloneCfg{})
	_ = m.Close()

	m, err = newOffsetManagerFS(b, "offsets", crashed)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, topic := range topics {
		if off, ok, err := m.Query("g", topic, 0); err != nil || ok {
			t.Errorf("after the crash, g has offset %d (%v) on %s, deleted before it", off, err, topic)
		}
	}
}
