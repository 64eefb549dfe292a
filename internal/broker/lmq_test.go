package broker

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// fakeClock is a settable clock for the broker and its store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func lmqBrokerConfig(t *testing.T) config.Broker {
	bc := config.DefaultBroker()
	bc.StorePathRootDir = t.TempDir()
	bc.ListenPort = 0
	bc.MappedFileSizeCommitLog = 4096
	bc.EnableLmq = true
	bc.EnableMultiDispatch = true
	bc.FileReservedTimeHours = 1
	bc.DiskSpaceCleanForciblyRatio = -1 // only expiry deletes segments
	return bc
}

func queryOffsetNoZero(t *testing.T, b *Broker, cli *remoting.Client, group, topic string) int32 {
	t.Helper()
	no := false
	return call(t, b, cli, protocol.QueryConsumerOffset, &protocol.QueryConsumerOffsetRequestHeader{
		ConsumerGroup: group, Topic: topic, QueueID: 0, SetZeroIfNotFound: &no}, nil).Code
}

// An LMQ whose messages all expired is removed by retention together with
// every group's consumer offsets of it; other offsets stay.
func TestLMQRetentionDeletesOffsets(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	b, cli := startBrokerConfig(t, Config{Broker: lmqBrokerConfig(t), Now: clock.Now})
	createTopic(t, b, "Parent", 1)
	createTopic(t, b, "Filler", 1)

	putLMQ(t, b, "Parent", "old0", "%LMQ%old", "%LMQ%both")
	putLMQ(t, b, "Parent", "old1", "%LMQ%old")
	for _, g := range []string{"%LMQ%old", "plain"} {
		if code := updateOffset(t, b, cli, g, "%LMQ%old", 0, 2); code != 0 {
			t.Fatalf("commit %s: code %d", g, code)
		}
	}
	updateOffset(t, b, cli, "plain", "Filler", 0, 3)
	// Roll past the first segment; then %LMQ%both gets a message that stays.
	for b.store.Stats().CommitLogWriteOffset < 4096 {
		putMsgs(t, b, "Filler", 0, "", strings.Repeat("x", 200))
	}
	putLMQ(t, b, "Parent", "new", "%LMQ%both")
	updateOffset(t, b, cli, "%LMQ%both", "%LMQ%both", 0, 1)
	before := b.store.LMQCount()
	if before != 2 {
		t.Fatalf("%d LMQs before retention", before)
	}

	clock.Advance(2 * time.Hour)
	res, err := b.Store().Retain()
	if err != nil {
		t.Fatal(err)
	}
	if res.SegmentsDeleted == 0 || len(res.LMQsRemoved) != 1 || res.LMQsRemoved[0] != "%LMQ%old" {
		t.Fatalf("retention: %+v", res)
	}
	if n := b.store.LMQCount(); n != before-1 {
		t.Errorf("LMQ count %d after removing one of %d", n, before)
	}
	// Every group's offset of the removed LMQ is gone: the answers are those
	// of a group that never committed (as for an LMQ never seen).
	for _, g := range []string{"%LMQ%old", "plain"} {
		if _, found, err := b.offsets.Query(g, "%LMQ%old", 0); err != nil || found {
			t.Errorf("%s offset of the removed LMQ: found %v, %v", g, found, err)
		}
		wantOff, wantCode := queryOffset(t, b, cli, "%LMQ%never", "%LMQ%never", 0)
		if off, code := queryOffset(t, b, cli, g, "%LMQ%old", 0); off != wantOff || code != wantCode {
			t.Errorf("%s query: offset %d code %d, a new group gets %d code %d", g, off, code, wantOff, wantCode)
		}
		if code := queryOffsetNoZero(t, b, cli, g, "%LMQ%old"); code != int32(protocol.QueryNotFound) {
			t.Errorf("%s query with setZeroIfNotFound=false: code %d", g, code)
		}
	}
	if off, _ := queryOffset(t, b, cli, "%LMQ%both", "%LMQ%both", 0); off != 1 {
		t.Errorf("surviving LMQ offset %d", off)
	}
	if off, _ := queryOffset(t, b, cli, "plain", "Filler", 0); off != 3 {
		t.Errorf("topic offset %d", off)
	}
	// The index forgot the removed topic; a new commit re-creates both.
	if n, err := b.offsets.DeleteTopics([]string{"%LMQ%old"}); err != nil || n != 0 {
		t.Errorf("second delete: %d, %v", n, err)
	}
	updateOffset(t, b, cli, "g", "%LMQ%old", 0, 1)
	if n, err := b.offsets.DeleteTopics([]string{"%LMQ%old"}); err != nil || n != 1 {
		t.Errorf("delete after recommit: %d, %v", n, err)
	}
}

// A restart keeps LMQ offsets, consumer offsets of %LMQ% and normal groups
// on an LMQ, and the next LMQ offset.
func TestLMQRestart(t *testing.T) {
	bc := lmqBrokerConfig(t)
	b, cli := startBrokerConfig(t, Config{Broker: bc})
	createTopicConfig(t, b, newTopicConfig("Parent", 1, permRead|permWrite))
	dispatch := message.Properties{message.PropertyInnerMultiDispatch: "%LMQ%r1,%LMQ%r2"}
	for i := range 3 {
		checkSendResponse(t, sendV1(t, b, cli, sendHeader("Parent", 0, dispatch), []byte{'m', byte('0' + i)}))
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	updateOffset(t, b, cli, "%LMQ%r1", "%LMQ%r1", 0, 2)
	updateOffset(t, b, cli, "normal", "%LMQ%r1", 0, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_ = cli.Close()

	b, cli = startBrokerConfig(t, Config{Broker: bc})
	for _, lmq := range []string{"%LMQ%r1", "%LMQ%r2"} {
		resp := call(t, b, cli, protocol.GetMaxOffset, &protocol.GetMaxOffsetRequestHeader{Topic: lmq, QueueID: 0}, nil)
		if max := extInt(t, resp, "offset"); max != 3 {
			t.Errorf("%s max offset %d after restart", lmq, max)
		}
	}
	if off, code := queryOffset(t, b, cli, "%LMQ%r1", "%LMQ%r1", 0); code != 0 || off != 2 {
		t.Errorf("LMQ group offset %d code %d", off, code)
	}
	if off, code := queryOffset(t, b, cli, "normal", "%LMQ%r1", 0); code != 0 || off != 1 {
		t.Errorf("normal group offset %d code %d", off, code)
	}
	resp := sendV1(t, b, cli, sendHeader("Parent", 0, message.Properties{message.PropertyInnerMultiDispatch: "%LMQ%r2,%LMQ%r1,%LMQ%r3"}), []byte("m3"))
	checkSendResponse(t, resp)
	if m := storedAt(t, b, resp.ExtFields["msgId"]); m.Property(message.PropertyInnerMultiQueueOffset) != "3,3,0" {
		t.Errorf("LMQ offsets after restart: %v", m.Property(message.PropertyInnerMultiQueueOffset))
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	wantPull(t, "pull after restart", pull(t, b, cli, pullHeader("normal", "%LMQ%r1", 0, 1, "")), 0, 4, 0, 4, "m1", "m2", "m3")
}

// A consumer offset database written before the topic index existed gets
// its index on open, so DeleteTopics finds its rows.
func TestOffsetTopicIndexBuiltOnOpen(t *testing.T) {
	dir := t.TempDir()
	b := &Broker{cfg: Config{Logger: slog.New(slog.DiscardHandler)}, log: slog.New(slog.DiscardHandler)}
	m, err := newOffsetManager(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Rows as an old version wrote them: no index keys, no version marker.
	for _, g := range []string{"g1", "%LMQ%x"} {
		var v [8]byte
		v[7] = 5
		if err := m.db.Pebble().Set(offsetKey(g, "%LMQ%x", 0), v[:], nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Commit("g1", "T", 0, 9); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{topicIndexVersion, topicIndexKey("%LMQ%x", "g1"), topicIndexKey("T", "g1")} {
		if err := m.db.Pebble().Delete(k, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if m, err = newOffsetManager(b, dir); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n := 0
	if err := m.Range(func(string, string, int32, int64) bool { n++; return true }); err != nil || n != 3 {
		t.Fatalf("Range saw %d rows (index keys must not show), %v", n, err)
	}
	if n, err := m.DeleteTopics([]string{"%LMQ%x"}); err != nil || n != 2 {
		t.Fatalf("DeleteTopics: %d, %v", n, err)
	}
	if off, ok, _ := m.Query("g1", "T", 0); !ok || off != 9 {
		t.Fatalf("other topic: %d %v", off, ok)
	}
	if got, _ := m.TopicOffsets("g1", "%LMQ%x"); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
}
