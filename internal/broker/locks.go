package broker

import (
	"context"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Orderly consumers lock the queues they consume (LOCK_BATCH_MQ) so that a
// queue is processed by one client of a group at a time, also while a
// rebalance moves it from one client to another. The semantics are
// upstream's RebalanceLockManager: a lock belongs to a client id and
// lapses when not renewed for the expiry (60 s; clients renew every 20 s).
// A request locks each queue that is free, lapsed or already the caller's,
// and answers only the queues the caller now holds. Unlocking releases
// only the caller's own locks.
//
// Locks live in memory only, as upstream: after a broker restart every
// queue is free, and clients re-lock within one renewal period.

// defaultLockExpiry is upstream's rocketmq.broker.rebalance.lockMaxLiveTime.
const defaultLockExpiry = 60 * time.Second

// queueLock is one held queue: its owner and when it last locked or
// renewed it.
type queueLock struct {
	clientID string
	renewed  time.Time
}

// groupQueueLocks are the queue locks of one consumer group. Each group has
// its own mutex, so groups never contend with each other.
type groupQueueLocks struct {
	mu     sync.Mutex
	dead   bool // removed from the table by a sweep; callers must look again
	queues map[body.MessageQueue]queueLock
}

// lockTable holds the queue locks of every group. Memory stays bounded by
// the queues locked within the last expiry: lapsed locks are replaced when
// someone asks for them and removed by a periodic sweep, and a group left
// without locks is dropped.
type lockTable struct {
	now    func() time.Time
	expiry time.Duration

	mu     sync.RWMutex // guards groups (the map, not the groups' contents)
	groups map[string]*groupQueueLocks
}

func newLockTable(now func() time.Time, expiry time.Duration) *lockTable {
	if expiry <= 0 {
		expiry = defaultLockExpiry
	}
	return &lockTable{now: now, expiry: expiry, groups: map[string]*groupQueueLocks{}}
}

// lockedGroup returns group's locks with their mutex held, creating them
// when create is set; nil when absent and not created.
func (lt *lockTable) lockedGroup(group string, create bool) *groupQueueLocks {
	for {
		lt.mu.RLock()
		g := lt.groups[group]
		lt.mu.RUnlock()
		if g == nil {
			if !create {
				return nil
			}
			lt.mu.Lock()
			if g = lt.groups[group]; g == nil {
				g = &groupQueueLocks{queues: map[body.MessageQueue]queueLock{}}
				lt.groups[group] = g
			}
			lt.mu.Unlock()
		}
		g.mu.Lock()
		if !g.dead {
			return g
		}
		// A sweep dropped g between the lookup and the lock: its
		// replacement (if any) is in the map.
		g.mu.Unlock()
	}
}

// lock locks for clientID every queue of mqs that is free, lapsed or
// already held by clientID (renewing it), and returns the queues of mqs
// clientID holds afterwards, each once, in request order.
func (lt *lockTable) lock(group, clientID string, mqs []body.MessageQueue) []body.MessageQueue {
	now := lt.now()
	g := lt.lockedGroup(group, true)
	defer g.mu.Unlock()
	held := make([]body.MessageQueue, 0, len(mqs))
	var seen map[body.MessageQueue]struct{} // mqSet is a Java set; Go clients could repeat
	if len(mqs) > 1 {
		seen = make(map[body.MessageQueue]struct{}, len(mqs))
	}
	for _, mq := range mqs {
		if seen != nil {
			if _, dup := seen[mq]; dup {
				continue
			}
			seen[mq] = struct{}{}
		}
		if l, ok := g.queues[mq]; ok && l.clientID != clientID && !lt.lapsed(l, now) {
			continue // another live client holds it
		}
		g.queues[mq] = queueLock{clientID: clientID, renewed: now}
		held = append(held, mq)
	}
	return held
}

// unlock releases the queues of mqs that clientID holds; others' locks are
// left alone. It returns how many it released.
func (lt *lockTable) unlock(group, clientID string, mqs []body.MessageQueue) int {
	g := lt.lockedGroup(group, false)
	if g == nil {
		return 0
	}
	defer g.mu.Unlock()
	n := 0
	for _, mq := range mqs {
		if l, ok := g.queues[mq]; ok && l.clientID == clientID {
			delete(g.queues, mq)
			n++
		}
	}
	return n
}

// owner returns the client holding a live lock on mq for group.
func (lt *lockTable) owner(group string, mq body.MessageQueue) (string, bool) {
	g := lt.lockedGroup(group, false)
	if g == nil {
		return "", false
	}
	defer g.mu.Unlock()
	l, ok := g.queues[mq]
	if !ok || lt.lapsed(l, lt.now()) {
		return "", false
	}
	return l.clientID, true
}

// lapsed reports whether l went unrenewed for longer than the expiry.
func (lt *lockTable) lapsed(l queueLock, now time.Time) bool {
	return now.Sub(l.renewed) > lt.expiry
}

// sweep removes lapsed locks and groups left without any, and returns how
// many locks remain.
func (lt *lockTable) sweep() int {
	now := lt.now()
	lt.mu.RLock()
	groups := make([]string, 0, len(lt.groups))
	for name := range lt.groups {
		groups = append(groups, name)
	}
	lt.mu.RUnlock()
	live := 0
	for _, name := range groups {
		g := lt.lockedGroup(name, false)
		if g == nil {
			continue
		}
		for mq, l := range g.queues {
			if lt.lapsed(l, now) {
				delete(g.queues, mq)
			}
		}
		live += len(g.queues)
		empty := len(g.queues) == 0
		g.mu.Unlock()
		if empty {
			lt.dropIfEmpty(name)
		}
	}
	return live
}

// dropIfEmpty removes group from the table if it still holds no locks.
// Lock order: table, then group (lockedGroup never holds both).
func (lt *lockTable) dropIfEmpty(group string) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	g := lt.groups[group]
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queues) == 0 {
		g.dead = true
		delete(lt.groups, group)
	}
}

// registerLockProcessors serves LOCK_BATCH_MQ and UNLOCK_BATCH_MQ and
// starts the sweep of lapsed locks, stopped with the broker.
func (b *Broker) registerLockProcessors() {
	lt := newLockTable(b.now, b.cfg.LockExpiry)
	// Sweeping once per expiry keeps lapsed locks at most two expiries old.
	loop := lifecycle.NewLoop("queue-lock-sweep", max(lt.expiry, time.Second), func(context.Context) { lt.sweep() })
	loop.Start()
	b.stopFuncs = append(b.stopFuncs, func() error { loop.Stop(); return nil })
	b.handle(protocol.LockBatchMQ, lt.lockBatchMQ)
	b.handle(protocol.UnlockBatchMQ, lt.unlockBatchMQ)
}

// decodeLockBody reads and validates a LOCK/UNLOCK_BATCH_MQ body.
func decodeLockBody(req *remoting.Command) (body.LockBatchRequestBody, error) {
	var lb body.LockBatchRequestBody
	if len(req.Body) == 0 {
		return lb, fail(protocol.InvalidParameter, "the request body must be a LockBatchRequestBody")
	}
	if err := lb.Decode(req.Body); err != nil {
		return lb, fail(protocol.InvalidParameter, "bad LockBatchRequestBody: %v", err)
	}
	if lb.ConsumerGroup == "" || lb.ClientID == "" {
		return lb, fail(protocol.InvalidParameter, "LockBatchRequestBody needs consumerGroup and clientId")
	}
	return lb, nil
}

// lockBatchMQ answers the queues of the request now locked by its client,
// in standard JSON ({"lockOKMQSet":[...]}, which the Go client decodes
// with jsoniter and Java with fastjson).
func (lt *lockTable) lockBatchMQ(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	lb, err := decodeLockBody(req)
	if err != nil {
		return nil, err
	}
	rb := body.LockBatchResponseBody{LockOKMQSet: lt.lock(lb.ConsumerGroup, lb.ClientID, lb.MQSet)}
	resp := success(req)
	resp.Body = rb.Encode()
	return resp, nil
}

// unlockBatchMQ releases the caller's locks; the Go client sends it oneway
// when it drops a queue and synchronously on shutdown.
func (lt *lockTable) unlockBatchMQ(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	lb, err := decodeLockBody(req)
	if err != nil {
		return nil, err
	}
	lt.unlock(lb.ConsumerGroup, lb.ClientID, lb.MQSet)
	return success(req), nil
}
