// The official Go client's handler of RESET_CONSUMER_CLIENT_OFFSET clears a
// queue's state (processQueue.clear) while its pull loop reads the same
// fields without the lock (push_consumer.go, maxOffsetInQueue), so the race
// detector flags the client itself now and then. This test therefore runs
// without -race: scripts/test.sh runs it in a separate, non-race pass. The
// broker's side of resets (fences, logging, notification) is race-tested in
// internal/broker.

//go:build !race

package compat

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// TestOfficialClientResetWhileConsuming: a running official push consumer
// that has consumed and committed everything gets its group reset to a
// point in time by the broker; without a restart it re-consumes exactly
// the messages stored from that time on, and its stale offset commits do
// not undo the reset.
func TestOfficialClientResetWhileConsuming(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := startCluster(t)
	const queues = 4
	topic := uniqueName(t, "Reset")
	c.createTopic(t, topic, queues)
	p := newProducer(t, c)
	before := produceN(t, ctx, p, topic, "before", 12)
	// Every message so far is stored at or before last; the next ones at
	// or after ts.
	last := time.Now().UnixMilli()
	poll(t, 5*time.Second, "clock tick", func() (bool, string) { return time.Now().UnixMilli() > last, "" })
	ts := last + 1
	after := produceN(t, ctx, p, topic, "after", 12)

	group := uniqueName(t, "cg")
	col := newCollector()
	startPushConsumer(t, c, group, topic, col)
	all := maps.Clone(before)
	maps.Copy(all, after)
	col.waitFor(ctx, t, all)
	c.waitCommitted(t, group, topic, queues)

	h := protocol.BolideResetOffsetRequestHeader{Topic: topic, Group: group, Timestamp: ts, OpID: uniqueName(t, "op")}
	resp, err := c.invoke(ctx, c.broker.Addr(), protocol.BolideResetOffset, &h)
	if err != nil || resp.Code != 0 {
		t.Fatalf("reset: %v %+v", err, resp)
	}
	var res body.ResetOffsetResult
	if err := res.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	beforeIn := map[int32]int64{}
	for _, s := range before {
		beforeIn[int32(s.queueID)]++
	}
	for _, q := range res.Queues {
		if q.New != beforeIn[q.QueueID] || (q.Old != q.New && q.Status != body.ResetApplied) {
			t.Errorf("queue %d: %+v, want new offset %d", q.QueueID, q, beforeIn[q.QueueID])
		}
	}

	// The client applies a reset after a 10 s pause; everything stored
	// from ts on comes again, nothing before it.
	poll(t, 60*time.Second, "re-consumption from the reset point", func() (bool, string) {
		_, dups := col.snapshot()
		again := 0
		for k := range after {
			if slices.Contains(dups, k) {
				again++
			}
		}
		return again == len(after), fmt.Sprintf("%d of %d redelivered", again, len(after))
	})
	_, dups := col.snapshot()
	for _, k := range dups {
		if _, ok := before[k]; ok {
			t.Errorf("%q (stored before the reset time) was consumed again", k)
		}
	}
	c.waitCommitted(t, group, topic, queues)
}
