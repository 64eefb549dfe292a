package client_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/message"
)

// TestSendBatch stores batches with many in flight at once: each is
// answered once, lands as consecutive offsets of one queue, and a pull
// reads every message back in order with the UNIQ_KEY and properties it
// was sent with; the queues hold exactly what was sent, no more.
func TestSendBatch(t *testing.T) {
	env := clienttest.Start(t)
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const topic = "BatchTopic"
	if err := c.CreateTopic(ctx, env.BrokerAddr, topic, 2); err != nil {
		t.Fatal(err)
	}
	clienttest.WaitRoute(t, c, topic)

	if _, err := c.SendBatch(ctx, topic, 0, nil); err == nil {
		t.Fatal("an empty batch was sent")
	}

	const batches, per = 40, 7
	type sent struct {
		res  client.BatchResult
		msgs []*message.Message
	}
	var mu sync.Mutex
	var all []sent
	var wg sync.WaitGroup
	wg.Add(batches)
	for b := range batches {
		msgs := make([]*message.Message, per)
		for i := range msgs {
			msgs[i] = &message.Message{Body: fmt.Appendf(nil, "b%d-m%d", b, i),
				Properties: message.Properties{"n": fmt.Sprint(i)}}
		}
		if b%5 == 0 {
			msgs[0].Properties[message.PropertyUniqKey] = fmt.Sprintf("MYKEY%04d", b)
		}
		err := c.SendBatchAsync(ctx, topic, -1, msgs, func(r client.BatchResult, err error) {
			defer wg.Done()
			if err != nil {
				t.Errorf("batch %d: %v", b, err)
				return
			}
			mu.Lock()
			all = append(all, sent{r, msgs})
			mu.Unlock()
		})
		if err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
	}
	wg.Wait()
	if len(all) != batches {
		t.Fatalf("%d of %d batches answered", len(all), batches)
	}

	stored := map[int32]int{}
	for _, s := range all {
		r := s.res
		if len(r.UniqKeys) != per || len(r.MsgIDs) != per {
			t.Fatalf("batch at %d/%d: %d uniq keys, %d msg ids for %d messages", r.QueueID, r.FirstOffset, len(r.UniqKeys), len(r.MsgIDs), per)
		}
		if s.msgs[0].Properties.UniqKey() != "" && r.UniqKeys[0] != s.msgs[0].Properties.UniqKey() {
			t.Fatalf("given UNIQ_KEY %q reported as %q", s.msgs[0].Properties.UniqKey(), r.UniqKeys[0])
		}
		// The answer means stored, not yet dispatched: wait until the
		// queue shows the batch before pulling it.
		clienttest.Poll(t, 10*time.Second, func() bool {
			max, err := c.MaxOffset(ctx, r.BrokerAddr, topic, r.QueueID)
			return err == nil && max >= r.FirstOffset+per
		})
		pr, err := c.Pull(ctx, r.BrokerAddr, "batch-test", topic, r.QueueID, r.FirstOffset, per, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(pr.Messages) != per {
			t.Fatalf("queue %d offset %d: pulled %d of %d", r.QueueID, r.FirstOffset, len(pr.Messages), per)
		}
		for i, m := range pr.Messages {
			if string(m.Body) != string(s.msgs[i].Body) || m.Properties.Get("n") != fmt.Sprint(i) ||
				m.Properties.UniqKey() != r.UniqKeys[i] || m.QueueOffset != r.FirstOffset+int64(i) {
				t.Fatalf("queue %d offset %d: got %q n=%s uniq %s at %d, sent %q uniq %s",
					r.QueueID, r.FirstOffset+int64(i), m.Body, m.Properties.Get("n"), m.Properties.UniqKey(), m.QueueOffset,
					s.msgs[i].Body, r.UniqKeys[i])
			}
		}
		stored[r.QueueID] += per
	}
	for q, n := range stored {
		max, err := c.MaxOffset(ctx, env.BrokerAddr, topic, q)
		if err != nil {
			t.Fatal(err)
		}
		if max != int64(n) {
			t.Fatalf("queue %d holds %d messages, %d were sent to it", q, max, n)
		}
	}
}
