package broker

import (
	"container/heap"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store"
	"github.com/bolidemq/bolide/internal/store/cq"
)

// Pull limits, as upstream's defaults for messages in memory
// (maxTransferCountOnMessageInMemory, maxTransferBytesOnMessageInMemory).
const (
	maxPullMsgNums = 32
	maxPullBytes   = 256 << 10
	// maxPullHold bounds a long poll: clients time a suspended pull out
	// after 30 s (client-go asks for 20 s, Java push consumers for 15 s).
	maxPullHold = 20 * time.Second
	// pullHoldTick is how often expired holds are answered.
	pullHoldTick = 100 * time.Millisecond
)

// forbiddenType values of NO_PERMISSION pull answers.
const (
	forbiddenGroup int32 = 2
	forbiddenTopic int32 = 3
)

// sql92Unsupported is Java's answer when property filtering is off (its
// default): Bolide filters by tag only.
const sql92Unsupported = "The broker does not support consumer to filter message by SQL92"

// consumeTopic returns the config of a topic consumers read; %LMQ% topics
// are synthesized by the topic manager (one queue, read-write).
func (b *Broker) consumeTopic(topic string) (body.TopicConfig, bool) { return b.topics.Get(topic) }

// pullRequest is a pull being served, possibly held.
type pullRequest struct {
	conn   *remoting.Conn
	req    *remoting.Command
	h      protocol.PullMessageRequestHeader
	filter store.Filter
	// offset is where the next read starts: the request's queueOffset,
	// advanced past messages the filter rejected while the pull was held
	// (the answer's nextBeginOffset tells the client).
	offset int64

	key      queueKey
	deadline time.Time
	index    int       // in the deadline heap; -1 when not there
	start    time.Time // arrival, for the latency of held pulls
}

type queueKey struct {
	topic string
	queue int32
}

func (b *Broker) registerPullProcessors() {
	// On workers, not inline: a pull behind the in-memory tail reads the
	// commit log, maybe from disk, and a client shares one connection
	// between its producers and consumers.
	b.handleRoute(protocol.PullMessage, remoting.RouteList, b.pullMessage)
	b.handleRoute(protocol.LitePullMessage, remoting.RouteList, b.pullMessage)
}

// pullMessage answers PULL_MESSAGE and LITE_PULL_MESSAGE. When nothing new
// is there and the client allows suspension, the request is kept in
// PullHolds and answered later with conn.Reply; the processor returns
// (nil, nil) at once so that it never blocks the connection.
func (b *Broker) pullMessage(_ context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	// The fields arrive in ExtList (handleRoute) unless ACL or a binary
	// header put them in ExtFields.
	var fields protocol.PullHeaderFields
	req.EachExt(fields.Set)
	h, err := fields.Decode()
	if err != nil {
		return nil, remoting.HeaderFail(err)
	}
	tc, ok := b.consumeTopic(h.Topic)
	if !ok {
		return nil, fail(protocol.TopicNotExist, "topic[%s] not exist, apply first please!", h.Topic)
	}
	if tc.Perm&permRead == 0 {
		resp := remoting.NewResponse(req, int32(protocol.NoPermission), "the topic["+h.Topic+"] pulling message is forbidden")
		ft := forbiddenTopic
		resp.ExtList = pullResponseExt(protocol.PullMessageResponseHeader{ForbiddenType: &ft})
		return resp, nil
	}
	if h.QueueID < 0 || h.QueueID >= tc.ReadQueueNums {
		return nil, fail(protocol.InvalidParameter, "queueId[%d] is illegal, topic:[%s] topicConfig.readQueueNums:[%d] consumer:[%s]",
			h.QueueID, h.Topic, tc.ReadQueueNums, conn.RemoteAddr())
	}
	sc, ok := b.groups.GetOrCreate(h.ConsumerGroup)
	if !ok {
		return nil, fail(protocol.SubscriptionGroupNotExist, "subscription group [%s] does not exist", h.ConsumerGroup)
	}
	if !sc.ConsumeEnable {
		resp := remoting.NewResponse(req, int32(protocol.NoPermission), "subscription group no permission, "+h.ConsumerGroup)
		ft := forbiddenGroup
		resp.ExtList = pullResponseExt(protocol.PullMessageResponseHeader{ForbiddenType: &ft})
		return resp, nil
	}
	filter, err := b.pullFilter(&h)
	if err != nil {
		return nil, err
	}
	if h.HasFlag(protocol.PullFlagCommitOffset) && h.CommitOffset >= 0 {
		if _, err := b.commitOffset(h.ConsumerGroup, h.Topic, h.QueueID, h.CommitOffset); err != nil {
			b.log.Warn("commit offset piggybacked on pull", "group", h.ConsumerGroup, "topic", h.Topic, "queue", h.QueueID, "err", err)
		}
	}
	p := &pullRequest{conn: conn, req: req, h: h, filter: filter, offset: h.QueueOffset,
		key: queueKey{h.Topic, h.QueueID}, index: -1, start: time.Now()}
	suspend := h.HasFlag(protocol.PullFlagSuspend) && h.SuspendTimeoutMillis > 0
	resp, hold, err := b.readPull(p, suspend)
	if err != nil {
		return nil, err
	}
	if hold {
		p.deadline = time.Now().Add(min(time.Duration(h.SuspendTimeoutMillis)*time.Millisecond, time.Duration(b.holds.maxHold.Load())))
		if b.holds.add(p) {
			return nil, nil
		}
		// Shutting down: answer now.
		resp, _, err = b.readPull(p, false)
		if err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// pullFilter resolves the pull's subscription into a tag filter (nil:
// everything). The expression comes from the request when it says so
// (lite pull, postSubscriptionWhenPull), else from the group's heartbeat;
// LMQs and retry topics, which clients often pull without subscribing,
// default to "*".
func (b *Broker) pullFilter(h *protocol.PullMessageRequestHeader) (store.Filter, error) {
	if h.HasFlag(protocol.PullFlagSubscription) {
		if !isTagExpression(h.ExpressionType) {
			return nil, fail(protocol.SystemError, sql92Unsupported)
		}
		return tagFilter(parseTags(h.Subscription)), nil
	}
	sd, ok := b.clients.Subscription(h.ConsumerGroup, h.Topic)
	if !ok {
		if message.IsLMQ(h.Topic) || message.IsRetryTopic(h.Topic) {
			return nil, nil
		}
		return nil, fail(protocol.SubscriptionNotExist, "the consumer's subscription not exist, group: %s, topic: %s",
			h.ConsumerGroup, h.Topic)
	}
	if sd.SubVersion < h.SubVersion {
		return nil, fail(protocol.SubscriptionNotLatest, "the consumer's subscription not latest, group: %s, topic: %s",
			h.ConsumerGroup, h.Topic)
	}
	if !isTagExpression(sd.ExpressionType) {
		return nil, fail(protocol.SystemError, sql92Unsupported)
	}
	if isSubAll(sd.SubString) {
		return nil, nil
	}
	if len(sd.CodeSet) > 0 {
		return tagFilter(sd.CodeSet), nil
	}
	return tagFilter(parseTags(sd.SubString)), nil
}

func isTagExpression(t string) bool { return t == "" || strings.EqualFold(t, body.ExpressionTag) }

func isSubAll(expr string) bool {
	expr = strings.TrimSpace(expr)
	return expr == "" || expr == "*"
}

// parseTags returns the tag hash codes of a TAG expression ("TagA ||
// TagB"), as FilterAPI.buildSubscriptionData; nil means "*".
func parseTags(expr string) []int32 {
	if isSubAll(expr) {
		return nil
	}
	var codes []int32
	for tag := range strings.SplitSeq(expr, "||") {
		if tag = strings.TrimSpace(tag); tag != "" {
			codes = append(codes, message.TagHash(tag))
		}
	}
	if codes == nil {
		codes = []int32{} // "||": matches nothing, as Java's empty code set
	}
	return codes
}

// tagFilter matches consume-queue entries whose tag hash is in codes
// (compared as Java's tagsCode.intValue()); nil codes match everything.
func tagFilter(codes []int32) store.Filter {
	if codes == nil {
		return nil
	}
	return func(e cq.Entry) bool {
		c := int32(e.TagHash)
		for _, x := range codes {
			if x == c {
				return true
			}
		}
		return false
	}
}

// readPull reads p's queue and builds the answer. With suspend, a read
// that found nothing new reports hold instead (and may advance p.offset
// past filtered-out messages).
func (b *Broker) readPull(p *pullRequest, suspend bool) (resp *remoting.Command, hold bool, err error) {
	h := &p.h
	maxNums := int(h.MaxMsgNums)
	if maxNums <= 0 {
		maxNums = 1
	}
	maxNums = min(maxNums, maxPullMsgNums)
	maxBytes := maxPullBytes
	if h.MaxMsgBytes != nil && *h.MaxMsgBytes > 0 {
		maxBytes = min(maxBytes, int(*h.MaxMsgBytes))
	}
	if next, redirect := b.pullFence(h.ConsumerGroup, h.Topic, h.QueueID, p.offset); redirect {
		// A reset moved this queue; send the consumer there (see reset.go).
		resp = remoting.NewResponse(p.req, int32(protocol.PullOffsetMoved), "offset reset by an operator")
		minOff, _ := b.store.MinOffset(h.Topic, h.QueueID)
		maxOff, _ := b.store.MaxOffset(h.Topic, h.QueueID)
		resp.ExtList = pullResponseExt(protocol.PullMessageResponseHeader{NextBeginOffset: next, MinOffset: minOff, MaxOffset: maxOff})
		return resp, false, nil
	}
	res, err := b.store.GetMessages(h.Topic, h.QueueID, p.offset, maxNums, maxBytes, p.filter)
	if err != nil {
		if errors.Is(err, cq.ErrInvalidTopic) || errors.Is(err, cq.ErrInvalidQueue) || errors.Is(err, cq.ErrInvalidOffset) {
			return nil, false, fail(protocol.InvalidParameter, "%v", err)
		}
		return nil, false, err
	}
	var code protocol.ResponseCode
	next := res.NextOffset
	switch res.Status {
	case store.Found:
		code = protocol.Success
	case store.NoMatchedMessage:
		if suspend && res.NextOffset >= res.MaxOffset {
			p.offset = res.NextOffset
			return nil, true, nil
		}
		code = protocol.PullRetryImmediately
	case store.NoMessageInQueue:
		if p.offset != 0 {
			code, next = protocol.PullOffsetMoved, 0
			break
		}
		if suspend {
			return nil, true, nil
		}
		code, next = protocol.PullNotFound, 0
	case store.OffsetOverflowOne:
		if suspend {
			return nil, true, nil
		}
		code, next = protocol.PullNotFound, p.offset
	case store.OffsetTooSmall, store.OffsetOverflowBadly:
		code = protocol.PullOffsetMoved
	default:
		code = protocol.PullNotFound
	}
	if code == protocol.Success || code == protocol.PullRetryImmediately || res.Status == store.OffsetOverflowOne {
		b.holds.pulled.record(h.ConsumerGroup, h.Topic, h.QueueID, next) // for GET_CONSUME_STATS
	}
	resp = remoting.NewResponse(p.req, int32(code), res.Status.String())
	resp.ExtList = pullResponseExt(protocol.PullMessageResponseHeader{
		SuggestWhichBrokerID: 0, NextBeginOffset: next, MinOffset: res.MinOffset, MaxOffset: res.MaxOffset,
	})
	if code == protocol.Success {
		resp.Body = res.Body // the records back to back, read once
		b.traffic.pulled(h.Topic, h.ConsumerGroup, len(res.Records), len(res.Body))
	}
	return resp, false, nil
}

// pullResponseExt is a pull response's header as an ExtList: no map and
// no reflection per pull.
func pullResponseExt(h protocol.PullMessageResponseHeader) []remoting.ExtField {
	ext := make([]remoting.ExtField, 0, 5)
	h.EachField(func(k, v string) { ext = append(ext, remoting.ExtField{Key: k, Value: v}) })
	return ext
}

// PullHolds keeps suspended pulls until a message arrives on their queue
// or their deadline passes. It costs no goroutine or timer per pull or per
// queue: holds live in one map (by queue) and one deadline heap under a
// mutex; the store's arrival callback moves woken pulls to a ready list,
// and one background loop re-runs them and answers the expired ones.
type PullHolds struct {
	b       *Broker
	maxHold atomic.Int64 // time.Duration; tests shorten it

	count atomic.Int64 // held pulls, so that Arrived skips the lock when zero

	mu      sync.Mutex
	byQueue map[queueKey][]*pullRequest
	dl      deadlineHeap
	ready   []*pullRequest
	closed  bool

	loop *lifecycle.Loop

	// pulled is the last pull offset per group and queue (see
	// pull_offsets.go), kept here as the pull path's in-memory state.
	pulled *pullOffsets
}

func newPullHolds(b *Broker) *PullHolds {
	h := &PullHolds{b: b, byQueue: map[queueKey][]*pullRequest{}, pulled: newPullOffsets()}
	h.maxHold.Store(int64(maxPullHold))
	h.loop = lifecycle.NewLoop("pull-holds", pullHoldTick, func(context.Context) { h.run() })
	h.loop.Start()
	return h
}

// Held reports the number of pulls held.
func (h *PullHolds) Held() int { return int(h.count.Load()) }

// add holds p; false means the holds are closed and p must be answered
// now. A message that arrived between p's read and add is not missed: add
// re-checks the queue's end after inserting.
func (h *PullHolds) add(p *pullRequest) bool {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return false
	}
	h.insertLocked(p)
	h.mu.Unlock()
	if max, err := h.b.store.MaxOffset(p.h.Topic, p.h.QueueID); err == nil && max > p.offset {
		h.Arrived(p.h.Topic, p.h.QueueID, max)
	}
	return true
}

func (h *PullHolds) insertLocked(p *pullRequest) {
	h.byQueue[p.key] = append(h.byQueue[p.key], p)
	heap.Push(&h.dl, p)
	h.count.Add(1)
}

// removeLocked takes p out of the queue map (the heap is the caller's
// business).
func (h *PullHolds) removeLocked(p *pullRequest) {
	list := h.byQueue[p.key]
	for i, q := range list {
		if q == p {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(h.byQueue, p.key)
	} else {
		h.byQueue[p.key] = list
	}
	h.count.Add(-1)
}

// Arrived is the store's arrival listener: queue (topic, queueID) now
// ends at nextOffset. Pulls held at a smaller offset are handed to the
// loop. With nothing held it costs an atomic load.
func (h *PullHolds) Arrived(topic string, queueID int32, nextOffset int64) {
	if h.count.Load() == 0 {
		return
	}
	key := queueKey{topic, queueID}
	h.mu.Lock()
	list := h.byQueue[key]
	if len(list) == 0 || h.closed {
		h.mu.Unlock()
		return
	}
	woke := false
	kept := list[:0]
	for _, p := range list {
		if nextOffset > p.offset {
			heap.Remove(&h.dl, p.index)
			h.ready = append(h.ready, p)
			h.count.Add(-1)
			woke = true
			continue
		}
		kept = append(kept, p)
	}
	clear(list[len(kept):])
	if len(kept) == 0 {
		delete(h.byQueue, key)
	} else {
		h.byQueue[key] = kept
	}
	h.mu.Unlock()
	if woke {
		h.loop.Wakeup()
	}
}

// run answers woken pulls (re-holding those whose new messages were all
// filtered out) and expired ones.
func (h *PullHolds) run() {
	now := time.Now()
	h.mu.Lock()
	ready := h.ready
	h.ready = nil
	var expired []*pullRequest
	for h.dl.Len() > 0 && !h.dl[0].deadline.After(now) {
		p := heap.Pop(&h.dl).(*pullRequest)
		h.removeLocked(p)
		expired = append(expired, p)
	}
	h.mu.Unlock()
	for _, p := range ready {
		h.answer(p, true)
	}
	for _, p := range expired {
		h.answer(p, false)
	}
}

// answer re-runs p and replies, or holds it again when allowed and still
// nothing matched.
func (h *PullHolds) answer(p *pullRequest, mayHold bool) {
	select {
	case <-p.conn.Done():
		return // the client is gone
	default:
	}
	resp, hold, err := h.b.readPull(p, mayHold && time.Now().Before(p.deadline))
	if hold {
		if h.add(p) {
			return
		}
		resp, _, err = h.b.readPull(p, false)
	}
	if err != nil {
		var re *remoting.Error
		if errors.As(err, &re) {
			resp = remoting.NewResponse(p.req, re.Code, re.Remark)
		} else {
			resp = remoting.NewResponse(p.req, int32(protocol.SystemError), err.Error())
		}
	}
	if err := p.conn.Reply(resp); err != nil && !errors.Is(err, remoting.ErrConnClosed) {
		h.b.log.Debug("answer held pull", "topic", p.h.Topic, "queue", p.h.QueueID, "err", err)
	}
	h.b.observeRPC(p.req.Code, resp.Code, time.Since(p.start), true)
}

// Close stops the loop and answers every held pull with what its queue
// holds now (PULL_NOT_FOUND when nothing arrived), best effort: during
// shutdown the connections are usually closed already. Idempotent.
func (h *PullHolds) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.loop.Stop()
	h.mu.Lock()
	pending := append(h.ready, h.dl...)
	h.ready, h.dl, h.byQueue = nil, nil, map[queueKey][]*pullRequest{}
	h.count.Store(0)
	h.mu.Unlock()
	for _, p := range pending {
		h.answer(p, false)
	}
	return nil
}

// deadlineHeap orders held pulls by deadline (container/heap).
type deadlineHeap []*pullRequest

func (d deadlineHeap) Len() int           { return len(d) }
func (d deadlineHeap) Less(i, j int) bool { return d[i].deadline.Before(d[j].deadline) }
func (d deadlineHeap) Swap(i, j int) {
	d[i], d[j] = d[j], d[i]
	d[i].index, d[j].index = i, j
}
func (d *deadlineHeap) Push(x any) {
	p := x.(*pullRequest)
	p.index = len(*d)
	*d = append(*d, p)
}
func (d *deadlineHeap) Pop() any {
	old := *d
	p := old[len(old)-1]
	old[len(old)-1] = nil
	p.index = -1
	*d = old[:len(old)-1]
	return p
}
