package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
)

// TestSendAsync keeps many sends in flight without a goroutine each:
// every callback runs once with a stored result, and the queue offsets
// of each queue are dense.
func TestSendAsync(t *testing.T) {
	env := clienttest.Start(t)
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const topic = "AsyncTopic"
	if err := c.CreateTopic(ctx, env.BrokerAddr, topic, 2); err != nil {
		t.Fatal(err)
	}
	clienttest.WaitRoute(t, c, topic)

	const n = 300
	var mu sync.Mutex
	var wg sync.WaitGroup
	offsets := map[int32]map[int64]bool{}
	wg.Add(n)
	for i := range n {
		err := c.SendAsync(ctx, topic, -1, []byte{byte(i)}, nil, func(r client.SendResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if offsets[r.QueueID] == nil {
				offsets[r.QueueID] = map[int64]bool{}
			}
			if offsets[r.QueueID][r.QueueOffset] {
				t.Errorf("queue %d offset %d answered twice", r.QueueID, r.QueueOffset)
			}
			offsets[r.QueueID][r.QueueOffset] = true
		})
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	wg.Wait()
	total := 0
	for q, offs := range offsets {
		for o := range int64(len(offs)) {
			if !offs[o] {
				t.Fatalf("queue %d: offset %d missing of %d", q, o, len(offs))
			}
		}
		total += len(offs)
	}
	if total != n {
		t.Fatalf("%d results for %d sends", total, n)
	}
}
