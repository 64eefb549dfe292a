package broker

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store/cq"
)

// Offset resets are operations, not a side table.
//
// Upstream keeps a reset "pending" in a memory-only table until the next
// pull of that queue, and ignores every commit meanwhile; a group that
// commits without pulling (rocketmq-mqtt's LMQ groups) never clears it
// (storage-lmq-admin 2.4). Bolide instead writes each reset, with an
// operation id and the old and new offset of every queue, to the offset
// database in the same atomic, synced batch that sets the new offsets: a
// crash leaves a broker either fully reset or untouched for that
// operation, and the record is what --undo restores.
//
// Clients that have not yet seen a reset may still commit their old
// position (the official clients persist offsets every 5 s, and apply a
// RESET_CONSUMER_CLIENT_OFFSET only after a 10 s pause). So for a group
// with consumers online, each reset queue gets a fence: commits other
// than the reset offset are ignored (and answered with a remark saying
// so), and a pull from another offset is answered PULL_OFFSET_MOVED to
// the reset offset. The fence lifts as soon as the group shows it has
// adopted the reset (a pull from, or a commit of, the reset offset) and in
// any case after resetFenceTimeout, so it can never swallow commits
// forever. A group with nobody online gets no fence: there is no client
// holding an old position to protect against.

// resetFenceTimeout bounds how long a fence may ignore commits. The
// official clients apply a reset after sleeping 10 s; twice that and a
// persist period leaves room for a loaded machine.
const resetFenceTimeout = 30 * time.Second

// maxOpIDLen bounds the operation ids admins choose.
const maxOpIDLen = 128

// resetLogRetention is how long reset records are kept for --undo.
const resetLogRetention = 30 * 24 * time.Hour

// resetLogPrefix starts the keys of reset records in the offset database
// ("\x00r" opId): a leading NUL, like the topic index, so no offset row
// (whose group name is never empty and holds no NUL) can collide.
var resetLogPrefix = []byte{0, 'r'}

// groupLocks serialise resets of a group against each other and against
// commits of that group, so a commit cannot slip between a reset's read of
// the old offsets and its write (or land after it unfenced). Commits take
// the read side; striping keeps it one uncontended RWMutex per commit.
type groupLocks struct {
	locks [64]sync.RWMutex
}

func (l *groupLocks) of(group string) *sync.RWMutex {
	h := uint32(2166136261) // FNV-1a: stable, no seed to set up
	for i := 0; i < len(group); i++ {
		h = (h ^ uint32(group[i])) * 16777619
	}
	return &l.locks[h%uint32(len(l.locks))]
}

type fenceKey struct {
	group, topic string
	queue        int32
}

type fence struct {
	op     string
	offset int64
	until  time.Time
}

// fences holds the live fences. active lets the commit and pull paths skip
// the map (and its mutex) when no reset is in flight, which is nearly
// always.
type fences struct {
	active atomic.Int64
	mu     sync.Mutex
	m      map[fenceKey]fence
}

// check looks up the fence of a queue, dropping it when expired.
func (f *fences) check(k fenceKey, now time.Time) (fence, bool) {
	if f.active.Load() == 0 {
		return fence{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fc, ok := f.m[k]
	if ok && now.After(fc.until) {
		f.deleteLocked(k)
		return fence{}, false
	}
	return fc, ok
}

func (f *fences) set(k fenceKey, fc fence) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[fenceKey]fence{}
	}
	if _, ok := f.m[k]; !ok {
		f.active.Add(1)
	}
	f.m[k] = fc
}

func (f *fences) lift(k fenceKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteLocked(k)
}

func (f *fences) deleteLocked(k fenceKey) {
	if _, ok := f.m[k]; ok {
		delete(f.m, k)
		f.active.Add(-1)
	}
}

// commitOffset is the one way client commits reach the offset database
// (UPDATE_CONSUMER_OFFSET and commits piggybacked on pulls). It reports
// ignored, with a reason, when a reset fence discards the commit.
func (b *Broker) commitOffset(group, topic string, queueID int32, offset int64) (ignored string, err error) {
	mu := b.resetLocks.of(group)
	mu.RLock()
	defer mu.RUnlock()
	k := fenceKey{group, topic, queueID}
	if fc, ok := b.fences.check(k, time.Now()); ok {
		if offset != fc.offset {
			return fmt.Sprintf("offset %d ignored: reset operation %s set it to %d and the consumer has not applied it yet", offset, fc.op, fc.offset), nil
		}
		b.fences.lift(k)
	}
	if err := b.offsets.Commit(group, topic, queueID, offset); err != nil {
		return "", err
	}
	b.noteCommit(group, topic, queueID)
	return "", nil
}

// pullFence is asked by every pull read: a pull of a fenced queue from
// another offset than the reset one is redirected there (ok false, next);
// a pull from the reset offset shows the reset was applied and lifts it.
func (b *Broker) pullFence(group, topic string, queueID int32, offset int64) (next int64, redirect bool) {
	k := fenceKey{group, topic, queueID}
	fc, ok := b.fences.check(k, time.Now())
	if !ok {
		return 0, false
	}
	if offset == fc.offset {
		b.fences.lift(k)
		return 0, false
	}
	return fc.offset, true
}

// resetRequest is one reset as the processors decode it.
type resetRequest struct {
	opID      string
	group     string
	topic     string
	timestamp int64 // < 0: the max offset
	queueID   int32 // < 0: every queue
	offset    int64 // < 0: by timestamp (only with queueID >= 0)
	dryRun    bool
	undo      string
}

// resetRecord is what the reset log keeps per operation.
type resetRecord struct {
	Time   int64                  `json:"time"` // ms
	Result body.ResetOffsetResult `json:"result"`
}

func (b *Broker) registerResetProcessors() {
	b.handle(protocol.InvokeBrokerToResetOffset, b.invokeResetOffset)
	b.handle(protocol.BolideResetOffset, b.bolideResetOffset)
}

// invokeResetOffset answers INVOKE_BROKER_TO_RESET_OFFSET (222), what the
// Java mqadmin sends: a reset under an operation id the broker makes up,
// answered with Java's ResetOffsetBody (queue -> new offset).
func (b *Broker) invokeResetOffset(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.ResetOffsetRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	r := resetRequest{opID: b.newOpID(), group: h.Group, topic: h.Topic, timestamp: h.Timestamp, queueID: -1, offset: -1}
	if h.QueueID != nil {
		r.queueID = *h.QueueID
	}
	if h.Offset != nil && r.queueID >= 0 {
		r.offset = *h.Offset
	}
	res, err := b.resetOffsets(r)
	if err != nil {
		return nil, err
	}
	out := body.ResetOffsetBody{OffsetTable: map[body.MessageQueue]int64{}}
	for _, q := range res.Queues {
		if q.Status == body.ResetApplied || q.Status == body.ResetUnchanged {
			out.OffsetTable[body.MessageQueue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID}] = q.New
		}
	}
	resp := success(req)
	resp.Body = out.Encode()
	return resp, nil
}

// bolideResetOffset answers BOLIDE_RESET_OFFSET (10002): the same reset
// with the admin's operation id, dry run and undo, answered per queue.
func (b *Broker) bolideResetOffset(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.BolideResetOffsetRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	r := resetRequest{opID: h.OpID, group: h.Group, topic: h.Topic, timestamp: h.Timestamp, queueID: -1, offset: -1,
		dryRun: h.DryRun, undo: h.Undo}
	if h.QueueID != nil {
		r.queueID = *h.QueueID
	}
	if h.Offset != nil && r.queueID >= 0 {
		r.offset = *h.Offset
	}
	if r.undo == "" && (r.group == "" || r.topic == "") {
		return nil, fail(protocol.InvalidParameter, "a reset needs group and topic (or undo)")
	}
	res, err := b.resetOffsets(r)
	if err != nil {
		return nil, err
	}
	resp := success(req)
	resp.Body = res.Encode()
	return resp, nil
}

var opSeq atomic.Uint64

// newOpID makes an operation id for resets that came without one (Java's
// 222): time-ordered and unique within the process.
func (b *Broker) newOpID() string {
	return fmt.Sprintf("%s-%d-%d", b.cfg.Broker.BrokerName, time.Now().UnixMilli(), opSeq.Add(1))
}

func checkOpID(id string) error {
	if id == "" || len(id) > maxOpIDLen {
		return fail(protocol.InvalidParameter, "operation id must be 1 to %d characters", maxOpIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fail(protocol.InvalidParameter, "operation id %q: only printable ASCII without spaces", id)
		}
	}
	return nil
}

// resetOffsets plans and (unless a dry run) applies one reset.
func (b *Broker) resetOffsets(r resetRequest) (*body.ResetOffsetResult, error) {
	if err := checkOpID(r.opID); err != nil {
		return nil, err
	}
	if r.undo != "" {
		if err := checkOpID(r.undo); err != nil {
			return nil, err
		}
		orig, ok, err := b.offsets.resetRecord(r.undo)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fail(protocol.QueryNotFound, "reset operation %s not found on broker %s", r.undo, b.cfg.Broker.BrokerName)
		}
		r.group, r.topic = orig.Result.Group, orig.Result.Topic
	}
	if !r.dryRun {
		if prev, ok, err := b.offsets.resetRecord(r.opID); err != nil {
			return nil, err
		} else if ok {
			// A retried operation (the admin lost the answer): it was applied
			// once, say what it did rather than applying it again.
			return &prev.Result, nil
		}
	}
	mu := b.resetLocks.of(r.group)
	if r.dryRun {
		mu.RLock()
		defer mu.RUnlock()
	} else {
		mu.Lock()
		defer mu.Unlock()
	}
	res := &body.ResetOffsetResult{OpID: r.opID, Group: r.group, Topic: r.topic, DryRun: r.dryRun, Undo: r.undo}
	var err error
	if r.undo != "" {
		res.Queues, err = b.planUndo(r)
	} else {
		res.Queues, err = b.planReset(r)
	}
	if err != nil {
		return nil, err
	}
	if r.dryRun {
		return res, nil
	}
	if err := b.offsets.applyReset(res, time.Now()); err != nil {
		return nil, err
	}
	b.afterReset(r, res)
	return res, nil
}

// planUndo targets the old offsets of the undone operation.
func (b *Broker) planUndo(r resetRequest) ([]body.ResetQueue, error) {
	orig, _, err := b.offsets.resetRecord(r.undo)
	if err != nil {
		return nil, err
	}
	var out []body.ResetQueue
	for _, q := range orig.Result.Queues {
		if q.Status != body.ResetApplied {
			continue
		}
		cur, found, err := b.offsets.Query(r.group, q.Topic, q.QueueID)
		if err != nil {
			return nil, err
		}
		e := body.ResetQueue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID, Old: -1, New: q.Old}
		if found {
			e.Old = cur
		}
		e.Status = outcome(e, r.dryRun)
		out = append(out, e)
	}
	return out, nil
}

// planReset finds the queues of the topic and each one's target offset.
// A topic may have a thousand queues and each target is a few consume-queue
// lookups, so the queues are planned on every CPU at once.
func (b *Broker) planReset(r resetRequest) ([]body.ResetQueue, error) {
	queues, err := b.resetQueues(r.topic)
	if err != nil {
		return nil, err
	}
	if !b.groupKnown(r.group) {
		return nil, fail(protocol.SubscriptionGroupNotExist, "subscription group [%s] does not exist on broker %s", r.group, b.cfg.Broker.BrokerName)
	}
	committed, err := b.offsets.TopicOffsets(r.group, r.topic)
	if err != nil {
		return nil, err
	}
	name := b.cfg.Broker.BrokerName
	var ids []int32
	for q := range queues {
		if r.queueID < 0 || q == r.queueID {
			ids = append(ids, q)
		}
	}
	out := make([]body.ResetQueue, len(ids))
	workers := min(runtime.GOMAXPROCS(0), len(ids))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ids); i += workers {
				q := ids[i]
				e := body.ResetQueue{Topic: r.topic, BrokerName: name, QueueID: q, Old: -1}
				if cur, ok := committed[q]; ok {
					e.Old = cur
				}
				e.New, e.Reason = b.resetTarget(r, q)
				if e.Reason != "" {
					e.New, e.Status = e.Old, body.ResetSkipped
				} else {
					e.Status = outcome(e, r.dryRun)
				}
				out[i] = e
			}
		})
	}
	wg.Wait()
	if r.queueID >= queues {
		out = append(out, body.ResetQueue{Topic: r.topic, BrokerName: name, QueueID: r.queueID, Old: -1, New: -1,
			Status: body.ResetSkipped, Reason: fmt.Sprintf("no queue %d: the topic has %d", r.queueID, queues)})
	}
	return out, nil
}

func outcome(e body.ResetQueue, dryRun bool) string {
	switch {
	case e.Old == e.New:
		return body.ResetUnchanged
	case dryRun:
		return body.ResetPlanned
	default:
		return body.ResetApplied
	}
}

// resetQueues is the number of queues a reset of topic covers: the read
// queues of a topic, queue 0 of an LMQ this broker holds.
func (b *Broker) resetQueues(topic string) (int32, error) {
	if message.IsLMQ(topic) {
		if max, err := b.store.MaxOffset(topic, 0); err != nil || max <= 0 {
			return 0, fail(protocol.TopicNotExist, "LMQ %s not found on broker %s", topic, b.cfg.Broker.BrokerName)
		}
		return 1, nil
	}
	tc, ok := b.consumeTopic(topic)
	if !ok {
		return 0, fail(protocol.TopicNotExist, "topic[%s] not exist on broker %s", topic, b.cfg.Broker.BrokerName)
	}
	return max(tc.ReadQueueNums, tc.WriteQueueNums), nil
}

// resetTarget computes one queue's new offset, or why it is skipped. A
// time search already answers within the queue's [min, max].
func (b *Broker) resetTarget(r resetRequest, q int32) (int64, string) {
	switch {
	case r.offset >= 0:
		minOff, err := b.store.MinOffset(r.topic, q)
		if err != nil {
			return 0, fmt.Sprintf("min offset: %v", err)
		}
		maxOff, err := b.store.MaxOffset(r.topic, q)
		if err != nil {
			return 0, fmt.Sprintf("max offset: %v", err)
		}
		if r.offset < minOff || r.offset > maxOff {
			return 0, fmt.Sprintf("offset %d outside the queue's [%d, %d]", r.offset, minOff, maxOff)
		}
		return r.offset, ""
	case r.timestamp < 0:
		maxOff, err := b.store.MaxOffset(r.topic, q)
		if err != nil {
			return 0, fmt.Sprintf("max offset: %v", err)
		}
		return maxOff, ""
	}
	off, err := b.store.OffsetByTime(r.topic, q, r.timestamp, cq.Lower)
	if err != nil {
		return 0, fmt.Sprintf("search by time: %v", err)
	}
	return off, ""
}

// groupKnown: a reset needs a group that exists in some form — configured,
// with offsets, online, or an LMQ group (which never needs creating).
func (b *Broker) groupKnown(group string) bool {
	if message.IsLMQ(group) || b.clients.ConsumerGroupOnline(group) {
		return true
	}
	if _, ok := b.groups.Get(group); ok {
		return true
	}
	has, err := b.offsets.hasGroup(group)
	return err == nil && has
}

// afterReset fences the applied queues of an online group and tells the
// group's clients. Pulls held on those queues are left to their deadline:
// the official Go client clears a queue's state on RESET_CONSUMER_CLIENT_OFFSET
// without the lock its pull loop reads it under, so answering its held
// pulls at the same moment invites that race (a pull redirected later is
// for a queue the client has dropped, and it ignores it).
func (b *Broker) afterReset(r resetRequest, res *body.ResetOffsetResult) {
	applied := body.ResetOffsetBody{OffsetTable: map[body.MessageQueue]int64{}}
	for _, q := range res.Queues {
		if q.Status == body.ResetApplied {
			applied.OffsetTable[body.MessageQueue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID}] = q.New
		}
	}
	b.log.Info("consumer offsets reset", "op", res.OpID, "group", res.Group, "topic", res.Topic, "undo", res.Undo,
		"queues", len(res.Queues), "applied", len(applied.OffsetTable))
	if len(applied.OffsetTable) == 0 {
		return
	}
	b.noteReset(r.group, applied.OffsetTable)
	for mq := range applied.OffsetTable {
		b.holds.pulled.forget(r.group, mq.Topic, mq.QueueID)
	}
	info, online := b.clients.ConsumerGroup(r.group)
	if !online || len(info.Clients) == 0 {
		return
	}
	until := time.Now().Add(resetFenceTimeout)
	for mq, off := range applied.OffsetTable {
		b.fences.set(fenceKey{r.group, mq.Topic, mq.QueueID}, fence{op: res.OpID, offset: off, until: until})
	}
	payload := applied.Encode()
	for _, c := range info.Clients {
		hdr := protocol.ResetClientOffsetRequestHeader{Topic: res.Topic, Group: r.group, Timestamp: r.timestamp, QueueID: -1}
		req := remoting.NewRequest(int32(protocol.ResetConsumerClientOffset), protocol.EncodeHeader(&hdr), payload)
		if err := c.Conn.InvokeOneway(req); err != nil {
			b.log.Warn("tell consumer about reset", "op", res.OpID, "client", c.ClientID, "err", err)
		}
	}
}
