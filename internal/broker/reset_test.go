package broker

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	pebblevfs "github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// bolideReset sends BOLIDE_RESET_OFFSET and decodes the per-queue result.
func bolideReset(t *testing.T, b *Broker, cli *remoting.Client, h protocol.BolideResetOffsetRequestHeader) (body.ResetOffsetResult, *remoting.Command) {
	t.Helper()
	resp := call(t, b, cli, protocol.BolideResetOffset, &h, nil)
	var res body.ResetOffsetResult
	if resp.Code == 0 {
		if err := res.Decode(resp.Body); err != nil {
			t.Fatalf("reset result: %v", err)
		}
	}
	return res, resp
}

// queueOffsets returns group's committed offset of queues 0..n-1 (-1 when
// none).
func queueOffsets(t *testing.T, b *Broker, group, topic string, n int32) []int64 {
	t.Helper()
	out := make([]int64, n)
	for q := range n {
		off, found, err := b.offsets.Query(group, topic, q)
		if err != nil {
			t.Fatal(err)
		}
		out[q] = -1
		if found {
			out[q] = off
		}
	}
	return out
}

// storedAfter puts msgs into every queue of topic, then waits until the
// clock has moved past their store time and returns that time: messages
// put later are stored at or after it.
func storedAfter(t *testing.T, b *Broker, topic string, queues int32, msgs int) int64 {
	t.Helper()
	for q := range queues {
		for i := range msgs {
			putMsgs(t, b, topic, q, "", fmt.Sprintf("q%d-%d", q, i))
		}
	}
	last := time.Now().UnixMilli()
	for time.Now().UnixMilli() <= last {
		time.Sleep(time.Millisecond)
	}
	return time.Now().UnixMilli()
}

func TestResetByTimeDryRunApplyRetryUndo(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 4)
	ts := storedAfter(t, b, "T", 4, 3)
	storedAfter(t, b, "T", 4, 2) // offsets 3, 4 stored at or after ts
	for q := range int32(4) {
		if code := updateOffset(t, b, cli, "g", "T", q, 5); code != 0 {
			t.Fatal(code)
		}
	}

	dry, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", Timestamp: ts, OpID: "op1", DryRun: true})
	if resp.Code != 0 || len(dry.Queues) != 4 || !dry.DryRun {
		t.Fatalf("dry run: %d %s %+v", resp.Code, resp.Remark, dry)
	}
	for _, q := range dry.Queues {
		if q.Old != 5 || q.New != 3 || q.Status != body.ResetPlanned {
			t.Errorf("dry run queue %+v, want 5 -> 3 planned", q)
		}
	}
	if got := queueOffsets(t, b, "g", "T", 4); fmt.Sprint(got) != "[5 5 5 5]" {
		t.Fatalf("dry run changed offsets: %v", got)
	}

	res, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", Timestamp: ts, OpID: "op1"})
	if resp.Code != 0 || len(res.Queues) != 4 || res.OpID != "op1" {
		t.Fatalf("reset: %d %s %+v", resp.Code, resp.Remark, res)
	}
	for _, q := range res.Queues {
		if q.Old != 5 || q.New != 3 || q.Status != body.ResetApplied || q.BrokerName != b.Name() {
			t.Errorf("reset queue %+v, want 5 -> 3 applied", q)
		}
	}
	if got := queueOffsets(t, b, "g", "T", 4); fmt.Sprint(got) != "[3 3 3 3]" {
		t.Fatalf("after reset: %v", got)
	}

	// Nobody is online, so nothing is fenced: a later commit counts.
	if resp := call(t, b, cli, protocol.UpdateConsumerOffset, &protocol.UpdateConsumerOffsetRequestHeader{
		ConsumerGroup: "g", Topic: "T", QueueID: 0, CommitOffset: 4}, nil); resp.Code != 0 || resp.Remark != "" {
		t.Fatalf("commit after reset: %d %q", resp.Code, resp.Remark)
	}
	// The same operation again (an admin retrying) is not applied twice.
	again, _ := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", Timestamp: ts, OpID: "op1"})
	if fmt.Sprint(again) != fmt.Sprint(res) {
		t.Errorf("retried op answered %+v, want the recorded %+v", again, res)
	}
	if got := queueOffsets(t, b, "g", "T", 4); fmt.Sprint(got) != "[4 3 3 3]" {
		t.Fatalf("retried op re-applied: %v", got)
	}

	undo, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{OpID: "op2", Undo: "op1"})
	if resp.Code != 0 || undo.Undo != "op1" || undo.Group != "g" || len(undo.Queues) != 4 {
		t.Fatalf("undo: %d %s %+v", resp.Code, resp.Remark, undo)
	}
	if undo.Queues[0].Old != 4 || undo.Queues[0].New != 5 || undo.Queues[1].Old != 3 {
		t.Errorf("undo queues %+v", undo.Queues)
	}
	if got := queueOffsets(t, b, "g", "T", 4); fmt.Sprint(got) != "[5 5 5 5]" {
		t.Fatalf("after undo: %v", got)
	}
	if _, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{OpID: "op3", Undo: "nope"}); resp.Code != int32(protocol.QueryNotFound) {
		t.Errorf("undo of an unknown op: %d %s", resp.Code, resp.Remark)
	}
}

func TestResetEdgeCases(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 2)
	storedAfter(t, b, "T", 2, 4)
	updateOffset(t, b, cli, "g", "T", 0, 1)

	if _, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "Nope", Group: "g", OpID: "x1"}); resp.Code != int32(protocol.TopicNotExist) {
		t.Errorf("unknown topic: %d", resp.Code)
	}
	if _, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "ghost", OpID: "x2"}); resp.Code != int32(protocol.SubscriptionGroupNotExist) {
		t.Errorf("unknown group: %d", resp.Code)
	}
	if _, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", OpID: "bad id"}); resp.Code != int32(protocol.InvalidParameter) {
		t.Errorf("op id with a space: %d", resp.Code)
	}
	// An explicit offset outside the queue is skipped, with the reason.
	q0, off := int32(0), int64(99)
	res, _ := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", OpID: "x3", QueueID: &q0, Offset: &off})
	if len(res.Queues) != 1 || res.Queues[0].Status != body.ResetSkipped || res.Queues[0].Reason == "" || res.Queues[0].New != 1 {
		t.Errorf("out-of-range offset: %+v", res.Queues)
	}
	// A queue the topic lacks is skipped too.
	q9 := int32(9)
	res, _ = bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", OpID: "x4", QueueID: &q9})
	if len(res.Queues) != 1 || res.Queues[0].Status != body.ResetSkipped {
		t.Errorf("missing queue: %+v", res.Queues)
	}
	// A timestamp before everything gives the min offset; -1 the max; a
	// queue the group never committed goes from -1 (none).
	res, _ = bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", OpID: "x5", Timestamp: -1})
	if len(res.Queues) != 2 || res.Queues[0].New != 4 || res.Queues[1].Old != -1 || res.Queues[1].New != 4 {
		t.Errorf("reset to max: %+v", res.Queues)
	}
	res, _ = bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", OpID: "x6", Timestamp: 1})
	if res.Queues[0].New != 0 || res.Queues[1].New != 0 {
		t.Errorf("reset to the beginning: %+v", res.Queues)
	}

	// Java's INVOKE_BROKER_TO_RESET_OFFSET: same reset, Java's body.
	resp := call(t, b, cli, protocol.InvokeBrokerToResetOffset, &protocol.ResetOffsetRequestHeader{Topic: "T", Group: "g", Timestamp: -1}, nil)
	var rb body.ResetOffsetBody
	if resp.Code != 0 || rb.Decode(resp.Body) != nil || len(rb.OffsetTable) != 2 ||
		rb.OffsetTable[body.MessageQueue{Topic: "T", BrokerName: b.Name(), QueueID: 1}] != 4 {
		t.Errorf("222 reset: %d %s %v", resp.Code, resp.Remark, rb.OffsetTable)
	}
	if got := queueOffsets(t, b, "g", "T", 2); fmt.Sprint(got) != "[4 4]" {
		t.Errorf("after 222: %v", got)
	}
}

func TestResetLMQ(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "P", 1)
	for i := range 5 {
		putLMQ(t, b, "P", fmt.Sprint(i), "%LMQ%a", "%LMQ%b")
	}
	// An LMQ group and a normal group, neither created nor committed.
	for _, g := range []string{"%LMQ%grp", "plain"} {
		if g == "plain" {
			updateOffset(t, b, cli, g, "%LMQ%a", 0, 5)
		}
		res, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "%LMQ%a", Group: g, OpID: "l-" + g, Timestamp: 1})
		if resp.Code != 0 || len(res.Queues) != 1 || res.Queues[0].New != 0 || res.Queues[0].Status == body.ResetSkipped {
			t.Fatalf("LMQ reset for %s: %d %s %+v", g, resp.Code, resp.Remark, res)
		}
		if off, found, _ := b.offsets.Query(g, "%LMQ%a", 0); !found || off != 0 {
			t.Errorf("%s offset %d %v after reset", g, off, found)
		}
	}
	if _, resp := bolideReset(t, b, cli, protocol.BolideResetOffsetRequestHeader{Topic: "%LMQ%never", Group: "%LMQ%grp", OpID: "l3"}); resp.Code != int32(protocol.TopicNotExist) {
		t.Errorf("LMQ this broker never saw: %d", resp.Code)
	}
}

// resetCatcher is a consumer's side of RESET_CONSUMER_CLIENT_OFFSET.
type resetCatcher struct {
	mu  sync.Mutex
	got []body.ResetOffsetBody
}

func (c *resetCatcher) Process(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	if req.Code == int32(protocol.ResetConsumerClientOffset) {
		var rb body.ResetOffsetBody
		if err := rb.Decode(req.Body); err == nil {
			c.mu.Lock()
			c.got = append(c.got, rb)
			c.mu.Unlock()
		}
	}
	return nil, nil
}

// With the group online, the reset is announced to its clients, and
// commits and pulls from positions the clients had before it are fenced
// off until they show they applied it.
func TestResetFencesOnlineGroup(t *testing.T) {
	b, _ := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	storedAfter(t, b, "T", 1, 6)
	var rc resetCatcher
	consumer := remoting.NewClient(remoting.ClientConfig{Processor: &rc})
	defer consumer.Close()
	heartbeat(t, b, consumer, "c1", "g", body2Sub("T", "*"))
	updateOffset(t, b, consumer, "g", "T", 0, 6)

	admin := remoting.NewClient(remoting.ClientConfig{})
	defer admin.Close()
	q0, two := int32(0), int64(2)
	res, resp := bolideReset(t, b, admin, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", OpID: "f1", QueueID: &q0, Offset: &two})
	if resp.Code != 0 || res.Queues[0].Status != body.ResetApplied {
		t.Fatalf("reset: %d %s %+v", resp.Code, resp.Remark, res)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		n := len(rc.got)
		rc.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the consumer was not told about the reset")
		}
		time.Sleep(5 * time.Millisecond)
	}
	rc.mu.Lock()
	if off := rc.got[0].OffsetTable[body.MessageQueue{Topic: "T", BrokerName: b.Name(), QueueID: 0}]; off != 2 || len(rc.got[0].OffsetTable) != 1 {
		t.Errorf("client told %v", rc.got[0].OffsetTable)
	}
	rc.mu.Unlock()

	// The consumer's periodic commit of its old position is ignored.
	resp = call(t, b, consumer, protocol.UpdateConsumerOffset, &protocol.UpdateConsumerOffsetRequestHeader{
		ConsumerGroup: "g", Topic: "T", QueueID: 0, CommitOffset: 6}, nil)
	if resp.Code != 0 || resp.Remark == "" {
		t.Errorf("stale commit: %d %q, want success with a remark", resp.Code, resp.Remark)
	}
	if got := queueOffsets(t, b, "g", "T", 1); got[0] != 2 {
		t.Fatalf("a stale commit undid the reset: %v", got)
	}
	// Its next pull from the old position is sent to the reset offset.
	resp = call(t, b, consumer, protocol.PullMessage, pullHeader("g", "T", 0, 6, "*"), nil)
	var ph protocol.PullMessageResponseHeader
	if resp.Code != int32(protocol.PullOffsetMoved) || protocol.DecodeHeader(resp.ExtFields, &ph) != nil || ph.NextBeginOffset != 2 {
		t.Fatalf("stale pull: %d %s next %d", resp.Code, resp.Remark, ph.NextBeginOffset)
	}
	// Pulling from the reset offset shows it was applied: the fence lifts
	// and commits count again.
	if resp = call(t, b, consumer, protocol.PullMessage, pullHeader("g", "T", 0, 2, "*"), nil); resp.Code != 0 {
		t.Fatalf("pull at the reset offset: %d %s", resp.Code, resp.Remark)
	}
	resp = call(t, b, consumer, protocol.UpdateConsumerOffset, &protocol.UpdateConsumerOffsetRequestHeader{
		ConsumerGroup: "g", Topic: "T", QueueID: 0, CommitOffset: 3}, nil)
	if resp.Code != 0 || resp.Remark != "" {
		t.Errorf("commit after the fence lifted: %d %q", resp.Code, resp.Remark)
	}
	if got := queueOffsets(t, b, "g", "T", 1); got[0] != 3 {
		t.Errorf("offset %v, want 3", got)
	}
}

// A reset is one synced batch: a crash at any moment — including a torn,
// partly written WAL record — leaves the offsets either all reset (with
// the operation's record) or all untouched (without it).
func TestResetAtomicUnderCrash(t *testing.T) {
	const queues = 1000
	log := slog.New(slog.DiscardHandler)
	b := &Broker{cfg: Config{Logger: log}, log: log}
	fs := pebblevfs.NewCrashableMem()
	m, err := newOffsetManagerFS(b, "offsets", fs)
	if err != nil {
		t.Fatal(err)
	}
	res := &body.ResetOffsetResult{OpID: "crash-op", Group: "g", Topic: "T"}
	for q := range int32(queues) {
		if err := m.Commit("g", "T", q, 100); err != nil {
			t.Fatal(err)
		}
		res.Queues = append(res.Queues, body.ResetQueue{Topic: "T", QueueID: q, Old: 100, New: 7, Status: body.ResetApplied})
	}
	if err := m.db.Sync(); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() { done <- m.applyReset(res, time.Now()) }()
	rng := rand.New(rand.NewPCG(1, 2))
	var clones []*pebblevfs.MemFS
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
			if len(clones) >= 24 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				finished = true
			}
		}
		// Clones while the batch is written, and one after: each keeps a
		// random share of what was not yet synced.
		clones = append(clones, fs.CrashClone(pebblevfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng}))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	clones = append(clones, fs.CrashClone(pebblevfs.CrashCloneCfg{}))
	outcomes := map[string]int{}
	for i, c := range clones {
		m, err := newOffsetManagerFS(b, "offsets", c)
		if err != nil {
			t.Fatalf("clone %d: reopen: %v", i, err)
		}
		counts := map[int64]int{}
		for q := range int32(queues) {
			off, found, err := m.Query("g", "T", q)
			if err != nil || !found {
				t.Fatalf("clone %d queue %d: %d %v %v", i, q, off, found, err)
			}
			counts[off]++
		}
		_, logged, err := m.resetRecord("crash-op")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case counts[7] == queues && logged:
			outcomes["reset"]++
		case counts[100] == queues && !logged:
			outcomes["untouched"]++
		default:
			t.Errorf("clone %d: half a reset: offsets %v, record %v", i, counts, logged)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The last clone was taken after the synced reset returned.
	if outcomes["reset"] == 0 {
		t.Errorf("no clone saw the reset: %v", outcomes)
	}
	t.Logf("%d crash points: %v", len(clones), outcomes)
}

// Reset records are kept resetLogRetention, then pruned by a later reset
// through the time index.
func TestResetLogPruned(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	b := &Broker{cfg: Config{Logger: log}, log: log}
	m, err := newOffsetManagerFS(b, "offsets", pebblevfs.NewMem())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	res := func(id string) *body.ResetOffsetResult {
		return &body.ResetOffsetResult{OpID: id, Group: "g", Topic: "T",
			Queues: []body.ResetQueue{{Topic: "T", QueueID: 0, Old: -1, New: 1, Status: body.ResetApplied}}}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(resetLogRetention + 30*time.Minute)} {
		if err := m.applyReset(res(fmt.Sprint("op", i)), at); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[string]bool{"op0": false, "op1": true, "op2": true} {
		if _, ok, err := m.resetRecord(id); err != nil || ok != want {
			t.Errorf("%s kept %v (%v), want %v", id, ok, err, want)
		}
	}
}
