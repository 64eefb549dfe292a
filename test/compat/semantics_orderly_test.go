// The official Go client's orderly consumer races inside itself:
// processQueue.takeMessages (consumer/process_queue.go) polls
// msgCache.Empty() without pq.mutex while the pull goroutine's putMessage
// writes the same tree under it, so the race detector fails any orderly
// consumption. This test therefore runs without -race (scripts/test.sh
// runs it in the separate non-race pass); the broker's side, the queue
// locks, is race-tested in internal/broker (locks_test.go).

//go:build !race

package compat

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/bolidemq/bolide/internal/broker"
)

// Orderly consumption timing, scaled down from upstream's 60 s lock expiry
// and 20 s renewal so that a takeover fits in a test: the broker's locks
// lapse after orderlyLockExpiry, the clients renew every
// orderlyLockRenewal (well inside the expiry, as upstream).
const (
	orderlyLockExpiry  = 8 * time.Second
	orderlyLockRenewal = time.Second
	orderlyWork        = 80 * time.Millisecond // each message's handler time
	// When the second consumer joins, the first is inside a message this
	// long on every queue (shorter than the lock expiry, as an orderly
	// handler must be): it keeps working on the queues the rebalance
	// takes from it, and only the broker's locks keep the newcomer off
	// them until it is done. (Without the locks the newcomer starts
	// about 3 s after joining.)
	orderlySlowWork = 5 * time.Second
)

// distinctHashKeys returns n sharding keys that the official hash queue
// selector (FNV-1a of the key, modulo the queue count) sends to n
// different queues of an n-queue topic.
func distinctHashKeys(n int) []string {
	keys := make([]string, n)
	found := 0
	for i := 0; found < n; i++ {
		k := "order-" + strconv.Itoa(i)
		h := fnv.New32a()
		h.Write([]byte(k))
		if idx := int(h.Sum32()) % n; keys[idx] == "" {
			keys[idx] = k
			found++
		}
	}
	return keys
}

// orderlyDelivery is one handler call of the orderly test.
type orderlyDelivery struct {
	key      string
	seq      int
	queue    int
	consumer string
	start    time.Time
	end      time.Time
}

// orderlyLog records deliveries in their global order and which consumer
// is inside a handler for each queue.
type orderlyLog struct {
	mu         sync.Mutex
	all        []orderlyDelivery
	active     map[int]int // queue -> index in all of the delivery being handled
	overlaps   []string
	slowFrom   time.Time // handlers started from then until slowUntil take orderlySlowWork
	slowUntil  time.Time
	wake       chan struct{}
	deliveries map[string]int // "key:seq" -> count
}

func newOrderlyLog() *orderlyLog {
	return &orderlyLog{active: map[int]int{}, deliveries: map[string]int{}, wake: make(chan struct{}, 1)}
}

// handler is consumer name's message handler: it marks the queue busy,
// records the delivery, works (orderlyWork, or orderlySlowWork while the
// log says so), and frees the queue.
func (l *orderlyLog) handler(t *testing.T, name string) func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
	return func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			key, seqText, ok := strings.Cut(string(m.Body), ":")
			seq, err := strconv.Atoi(seqText)
			if !ok || err != nil {
				t.Errorf("%s: unexpected body %q", name, m.Body)
				continue
			}
			q := m.Queue.QueueId
			now := time.Now()
			l.mu.Lock()
			if j, busy := l.active[q]; busy && l.all[j].consumer != name {
				l.overlaps = append(l.overlaps, fmt.Sprintf("queue %d: %s started %s while %s was handling %s:%d",
					q, name, m.Body, l.all[j].consumer, l.all[j].key, l.all[j].seq))
			}
			i := len(l.all)
			l.active[q] = i
			l.all = append(l.all, orderlyDelivery{key: key, seq: seq, queue: q, consumer: name, start: now})
			l.deliveries[string(m.Body)]++
			work := orderlyWork
			if !now.Before(l.slowFrom) && now.Before(l.slowUntil) {
				work = orderlySlowWork
			}
			l.mu.Unlock()

			time.Sleep(work) // the application's work on the message

			l.mu.Lock()
			l.all[i].end = time.Now()
			if l.active[q] == i {
				delete(l.active, q)
			}
			l.mu.Unlock()
		}
		select {
		case l.wake <- struct{}{}:
		default:
		}
		return consumer.ConsumeSuccess, nil
	}
}

// busySlow reports whether every queue of qs is inside a handler started
// at or after from.
func (l *orderlyLog) busySlow(qs []int, from time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, q := range qs {
		if j, busy := l.active[q]; !busy || l.all[j].start.Before(from) {
			return false
		}
	}
	return true
}

// count returns how many distinct messages were delivered and the number
// of deliveries.
func (l *orderlyLog) count() (distinct, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.deliveries), len(l.all)
}

// TestOfficialClientOrderlyRebalance: 4 keys x 50 messages, each key on
// its own queue (hash queue selector), consumed orderly by one consumer;
// a second consumer of the group joins mid-stream, while the first is
// inside a long message on every queue, and takes over half the queues
// once the first consumer's broker locks on them lapse (the Go client
// does not unlock a queue it drops in a rebalance: pushConsumer.
// removeUnnecessaryMessageQueue has a TODO there) and its next rebalance
// (every 20 s) retries them. Every message arrives, each key's deliveries
// only ever advance by one or replay from a committed offset, and no
// queue is handled by both consumers at once.
//
// Replays are expected beyond the message in flight at the handover: the
// client persists a dropped queue's offset with
// remoteBrokerOffsetStore.persist([mq]), which also deletes every other
// queue's offset from its table (consumer/offset_store.go), so the second
// queue dropped in the same rebalance loses the progress made since the
// last periodic commit (5 s) and its new owner replays it.
func TestOfficialClientOrderlyRebalance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := startBrokerSpec(t, startNamesrv(t), brokerSpec{setup: func(cfg *broker.Config) { cfg.LockExpiry = orderlyLockExpiry }})
	c.waitRoute(t, "TBW102")
	const queues, perKey = 4, 50
	topic := uniqueName(t, "Orderly")
	c.createTopic(t, topic, queues)
	keys := distinctHashKeys(queues)
	p := newProducer(t, c, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	keyQueue := map[string]int{}
	for seq := range perKey {
		for _, k := range keys {
			m := primitive.NewMessage(topic, fmt.Appendf(nil, "%s:%d", k, seq))
			m.WithShardingKey(k)
			r, err := p.SendSync(ctx, m)
			if err != nil {
				t.Fatalf("send %s:%d: %v", k, seq, err)
			}
			if q, ok := keyQueue[k]; ok && q != r.MessageQueue.QueueId {
				t.Fatalf("key %s went to queues %d and %d", k, q, r.MessageQueue.QueueId)
			}
			keyQueue[k] = r.MessageQueue.QueueId
		}
	}
	t.Logf("keys on queues: %v", keyQueue)

	group := uniqueName(t, "cg")
	log := newOrderlyLog()
	opts := []consumer.Option{consumer.WithConsumerOrder(true), consumer.WithRebalanceLockInterval(orderlyLockRenewal)}
	startFuncConsumer(t, c, group, topic, log.handler(t, "A"), opts...)
	poll(t, 30*time.Second, "consumer A under way", func() (bool, string) {
		d, _ := log.count()
		return d >= 20, fmt.Sprintf("%d consumed", d)
	})
	// A enters a long message on every queue; then B joins.
	slowFrom := time.Now()
	log.mu.Lock()
	log.slowFrom, log.slowUntil = slowFrom, slowFrom.Add(time.Hour)
	log.mu.Unlock()
	poll(t, 10*time.Second, "A inside a long message on every queue", func() (bool, string) {
		return log.busySlow(slices.Collect(maps.Values(keyQueue)), slowFrom), ""
	})
	joined := time.Now()
	log.mu.Lock()
	log.slowUntil = joined
	log.mu.Unlock()
	startFuncConsumer(t, c, group, topic, log.handler(t, "B"), opts...)

	for {
		d, n := log.count()
		if d == queues*perKey {
			break
		}
		select {
		case <-log.wake:
		case <-ctx.Done():
			t.Fatalf("%d of %d messages consumed (%d deliveries)", d, queues*perKey, n)
		}
	}
	t.Logf("all consumed %v after B joined", time.Since(joined).Round(time.Millisecond))

	log.mu.Lock()
	defer log.mu.Unlock()
	for _, o := range log.overlaps {
		t.Error(o)
	}
	last := map[string]int{}
	for _, k := range keys {
		last[k] = -1
	}
	byQueue := map[int][]string{}      // queue -> consumers in delivery order, deduplicated runs
	lastA := map[int]orderlyDelivery{} // queue -> A's last delivery
	firstB := map[int]orderlyDelivery{}
	for i, d := range log.all {
		prev := last[d.key]
		if d.seq != prev+1 && d.seq > prev {
			t.Errorf("delivery %d: %s:%d by %s after %s:%d: skipped forward", i, d.key, d.seq, d.consumer, d.key, prev)
		}
		if d.seq <= prev {
			t.Logf("delivery %d: %s:%d by %s replays (previous %d)", i, d.key, d.seq, d.consumer, prev)
		}
		last[d.key] = d.seq
		if d.queue != keyQueue[d.key] {
			t.Errorf("%s:%d consumed from queue %d, sent to %d", d.key, d.seq, d.queue, keyQueue[d.key])
		}
		if runs := byQueue[d.queue]; len(runs) == 0 || runs[len(runs)-1] != d.consumer {
			byQueue[d.queue] = append(runs, d.consumer)
		}
		if d.consumer == "A" {
			lastA[d.queue] = d
		} else if _, ok := firstB[d.queue]; !ok {
			firstB[d.queue] = d
		}
	}
	handedOver := 0
	for q := range queues {
		runs := byQueue[q]
		if !slices.Equal(runs, []string{"A", "B"}) {
			t.Logf("queue %d consumed by %v", q, runs)
			continue
		}
		handedOver++
		a, b := lastA[q], firstB[q]
		t.Logf("queue %d: A's last message %s:%d ended %v after B joined; B started %s:%d %v after B joined",
			q, a.key, a.seq, a.end.Sub(joined).Round(time.Millisecond), b.key, b.seq, b.start.Sub(joined).Round(time.Millisecond))
		// The handover is only a test of the locks if A was still
		// working on the queue after B joined.
		if !a.end.After(joined) {
			t.Errorf("queue %d: A was done with it before B joined; the locks were not exercised", q)
		}
	}
	if handedOver == 0 {
		t.Errorf("no queue moved from A to B mid-stream (%v): the rebalance was not exercised", byQueue)
	}
}
