package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

func lockQueues(topic string, ids ...int32) []body.MessageQueue {
	out := make([]body.MessageQueue, len(ids))
	for i, id := range ids {
		out[i] = body.MessageQueue{Topic: topic, BrokerName: "broker-a", QueueID: id}
	}
	return out
}

func queueIDs(mqs []body.MessageQueue) []int32 {
	ids := make([]int32, len(mqs))
	for i, mq := range mqs {
		ids[i] = mq.QueueID
	}
	return ids
}

func TestLockTableLockRenewExpire(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	lt := newLockTable(clk.Now, 0) // 0: upstream's 60 s
	if lt.expiry != 60*time.Second {
		t.Fatalf("default expiry %v, want 60s", lt.expiry)
	}
	check := func(what string, got []body.MessageQueue, want ...int32) {
		t.Helper()
		if ids := queueIDs(got); !slices.Equal(ids, want) {
			t.Errorf("%s: locked %v, want %v", what, ids, want)
		}
	}
	check("c1 locks free queues", lt.lock("g", "c1", lockQueues("T", 0, 1)), 0, 1)
	check("c2 competes", lt.lock("g", "c2", lockQueues("T", 0, 2)), 2)
	check("another group is independent", lt.lock("g2", "c2", lockQueues("T", 0)), 0)
	check("duplicates answered once", lt.lock("g", "c1", lockQueues("T", 1, 1, 1)), 1)

	clk.Advance(30 * time.Second)
	check("c1 renews q0 only", lt.lock("g", "c1", lockQueues("T", 0)), 0)
	clk.Advance(30 * time.Second) // q1: exactly 60 s since renewal, not lapsed yet
	check("at the expiry", lt.lock("g", "c2", lockQueues("T", 0, 1)))
	clk.Advance(time.Millisecond)
	check("q1 lapsed, q0 renewed 30 s ago", lt.lock("g", "c2", lockQueues("T", 0, 1)), 1)
	if o, _ := lt.owner("g", lockQueues("T", 1)[0]); o != "c2" {
		t.Errorf("q1 owner %q after the steal, want c2", o)
	}
	check("the former owner lost q1", lt.lock("g", "c1", lockQueues("T", 0, 1)), 0)
	clk.Advance(61 * time.Second)
	check("c2 steals q0 after c1 stopped renewing", lt.lock("g", "c2", lockQueues("T", 0)), 0)
	if _, ok := lt.owner("g", lockQueues("T", 2)[0]); ok {
		t.Error("q2 still owned 121 s after its only lock")
	}
}

func TestLockTableUnlock(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	lt := newLockTable(clk.Now, time.Minute)
	mqs := lockQueues("T", 0, 1)
	lt.lock("g", "c1", mqs)
	if n := lt.unlock("g", "c2", mqs); n != 0 {
		t.Errorf("a non-owner released %d locks", n)
	}
	if n := lt.unlock("other", "c1", mqs); n != 0 {
		t.Errorf("unlock in another group released %d locks", n)
	}
	if got := lt.lock("g", "c2", mqs); len(got) != 0 {
		t.Errorf("c2 locked %v after its unlock of c1's queues", queueIDs(got))
	}
	if n := lt.unlock("g", "c1", mqs[:1]); n != 1 {
		t.Errorf("owner released %d locks, want 1", n)
	}
	if got := queueIDs(lt.lock("g", "c2", mqs)); !slices.Equal(got, []int32{0}) {
		t.Errorf("c2 locked %v after the owner released q0, want [0]", got)
	}
}

// TestLockTableCompeting: clients racing for the same queues never both
// get one; the first to lock keeps it while it renews.
func TestLockTableCompeting(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	lt := newLockTable(clk.Now, time.Minute)
	mqs := lockQueues("T", 0, 1, 2, 3, 4, 5, 6, 7)
	const clients, rounds = 4, 200
	owners := make([]map[int32]bool, clients)
	var wg sync.WaitGroup
	for c := range clients {
		owners[c] = map[int32]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%d", c)
			for r := range rounds {
				// Rotate the request order so clients collide on
				// different queues first.
				req := append(slices.Clone(mqs[r%len(mqs):]), mqs[:r%len(mqs)]...)
				for _, mq := range lt.lock("g", id, req) {
					owners[c][mq.QueueID] = true
				}
			}
		}()
	}
	wg.Wait()
	for q := range int32(len(mqs)) {
		var got []int
		for c := range clients {
			if owners[c][q] {
				got = append(got, c)
			}
		}
		if len(got) != 1 {
			t.Errorf("queue %d answered as locked to clients %v, want exactly one", q, got)
		}
	}
}

func TestLockTableSweep(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	lt := newLockTable(clk.Now, 10*time.Second)
	lt.lock("g1", "c1", lockQueues("T", 0, 1))
	clk.Advance(6 * time.Second)
	lt.lock("g2", "c1", lockQueues("T", 0))
	if n := lt.sweep(); n != 3 {
		t.Errorf("sweep kept %d locks, want 3", n)
	}
	clk.Advance(6 * time.Second) // g1's locks lapse, g2's do not
	if n := lt.sweep(); n != 1 {
		t.Errorf("sweep kept %d locks, want 1", n)
	}
	lt.mu.RLock()
	_, g1 := lt.groups["g1"]
	groups := len(lt.groups)
	lt.mu.RUnlock()
	if g1 || groups != 1 {
		t.Errorf("after the sweep: g1 present %v, %d groups; want g1 dropped, 1 group", g1, groups)
	}
	if got := lt.lock("g1", "c2", lockQueues("T", 0)); len(got) != 1 {
		t.Errorf("lock in a swept group: %v", got)
	}
}

// TestLockTableSweepRace: a sweep dropping an empty group while clients
// lock in it never loses a lock a client was told it holds.
func TestLockTableSweepRace(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	lt := newLockTable(clk.Now, time.Minute)
	mq := lockQueues("T", 0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				lt.sweep()
			}
		}
	}()
	for i := range 2000 {
		id := fmt.Sprintf("c%d", i)
		if got := lt.lock("g", id, mq); len(got) != 1 {
			t.Fatalf("round %d: lock of a free queue failed", i)
		}
		if o, ok := lt.owner("g", mq[0]); !ok || o != id {
			t.Fatalf("round %d: owner %q %v right after locking, want %s", i, o, ok, id)
		}
		lt.unlock("g", id, mq) // leaves the group empty for the sweeper
	}
	close(stop)
	wg.Wait()
}

// lockBody is a LOCK/UNLOCK_BATCH_MQ body as rocketmq-client-go marshals
// it (standard JSON, no onlyThisBroker).
func lockBody(t *testing.T, group, clientID string, mqs []body.MessageQueue) []byte {
	t.Helper()
	type mq struct {
		Topic      string `json:"topic"`
		BrokerName string `json:"brokerName"`
		QueueID    int32  `json:"queueId"`
	}
	v := struct {
		ConsumerGroup string `json:"consumerGroup"`
		ClientID      string `json:"clientId"`
		MQs           []mq   `json:"mqSet"`
	}{ConsumerGroup: group, ClientID: clientID}
	for _, q := range mqs {
		v.MQs = append(v.MQs, mq{q.Topic, q.BrokerName, q.QueueID})
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// lockOverWire locks mqs for clientID and decodes the answer with
// encoding/json, as the Go client does (with jsoniter).
func lockOverWire(t *testing.T, b *Broker, cli *remoting.Client, group, clientID string, mqs []body.MessageQueue) []int32 {
	t.Helper()
	resp := call(t, b, cli, protocol.LockBatchMQ, nil, lockBody(t, group, clientID, mqs))
	if resp.Code != int32(protocol.Success) {
		t.Fatalf("LOCK_BATCH_MQ: code %d %s", resp.Code, resp.Remark)
	}
	var got struct {
		MQs []struct {
			Topic      string `json:"topic"`
			BrokerName string `json:"brokerName"`
			QueueID    int32  `json:"queueId"`
		} `json:"lockOKMQSet"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatalf("LOCK_BATCH_MQ reply %q is not standard JSON: %v", resp.Body, err)
	}
	if got.MQs == nil {
		t.Fatalf("LOCK_BATCH_MQ reply %q has no lockOKMQSet array", resp.Body)
	}
	ids := make([]int32, 0, len(got.MQs))
	for _, q := range got.MQs {
		if q.Topic != mqs[0].Topic || q.BrokerName != mqs[0].BrokerName {
			t.Errorf("reply names queue %+v, not one of the request's", q)
		}
		ids = append(ids, q.QueueID)
	}
	return ids
}

// TestLockBatchMQ drives the two processors over the wire, with the
// broker's clock skewed forward to pass the expiry.
func TestLockBatchMQ(t *testing.T) {
	var skew atomic.Int64
	cfg := Config{Broker: testBrokerConfig(t, nil), LockExpiry: 5 * time.Second,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }}
	b, cli := startBrokerConfig(t, cfg)
	mqs := lockQueues("T", 0, 1, 2, 3)

	if got := lockOverWire(t, b, cli, "cg", "c1", mqs[:2]); !slices.Equal(got, []int32{0, 1}) {
		t.Errorf("c1 locked %v, want [0 1]", got)
	}
	if got := lockOverWire(t, b, cli, "cg", "c2", mqs); !slices.Equal(got, []int32{2, 3}) {
		t.Errorf("c2 locked %v, want [2 3]", got)
	}

	// Unlock by a non-owner: SUCCESS, but nothing changes.
	if resp := call(t, b, cli, protocol.UnlockBatchMQ, nil, lockBody(t, "cg", "c2", mqs[:2])); resp.Code != int32(protocol.Success) {
		t.Fatalf("UNLOCK_BATCH_MQ: code %d %s", resp.Code, resp.Remark)
	}
	if got := lockOverWire(t, b, cli, "cg", "c2", mqs[:2]); len(got) != 0 {
		t.Errorf("c2 locked %v of c1's queues after unlocking them itself", got)
	}

	// The owner unlocks q0 oneway, as the Go client does on a dropped queue.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := remoting.NewRequest(int32(protocol.UnlockBatchMQ), nil, lockBody(t, "cg", "c1", mqs[:1]))
	if err := cli.InvokeOneway(ctx, b.Addr(), req); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(lockOverWire(t, b, cli, "cg", "c2", mqs[:1]), []int32{0}) {
		if time.Now().After(deadline) {
			t.Fatal("c2 never got q0 after c1's oneway unlock")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// c1 stops renewing q1: past the expiry c2 takes it.
	if got := lockOverWire(t, b, cli, "cg", "c2", mqs[1:2]); len(got) != 0 {
		t.Errorf("c2 locked c1's live q1: %v", got)
	}
	skew.Add(int64(6 * time.Second))
	if got := lockOverWire(t, b, cli, "cg", "c2", mqs); !slices.Equal(got, []int32{0, 1, 2, 3}) {
		t.Errorf("after the expiry c2 locked %v, want all four", got)
	}
	if got := lockOverWire(t, b, cli, "cg", "c1", mqs); len(got) != 0 {
		t.Errorf("c1 re-locked %v held by c2", got)
	}
}

func TestLockBatchMQMalformed(t *testing.T) {
	b, cli := startBroker(t, nil)
	for name, data := range map[string][]byte{
		"no body":      nil,
		"not JSON":     []byte("{consumerGroup"),
		"not a object": []byte(`[1,2]`),
		"no clientId":  []byte(`{"consumerGroup":"cg","mqSet":[]}`),
		"no group":     []byte(`{"clientId":"c1","mqSet":[]}`),
		"bad mqSet":    []byte(`{"consumerGroup":"cg","clientId":"c1","mqSet":{"topic":1}}`),
	} {
		for _, code := range []protocol.RequestCode{protocol.LockBatchMQ, protocol.UnlockBatchMQ} {
			resp := call(t, b, cli, code, nil, data)
			if resp.Code != int32(protocol.InvalidParameter) || resp.Remark == "" {
				t.Errorf("%s %v: code %d remark %q, want INVALID_PARAMETER with a reason", name, code, resp.Code, resp.Remark)
			}
		}
	}
	// An empty set is valid and answers an empty array.
	resp := call(t, b, cli, protocol.LockBatchMQ, nil, []byte(`{"consumerGroup":"cg","clientId":"c1","mqSet":[]}`))
	if resp.Code != int32(protocol.Success) || string(resp.Body) != `{"lockOKMQSet":[]}` {
		t.Errorf("empty mqSet: code %d body %q", resp.Code, resp.Body)
	}
}
