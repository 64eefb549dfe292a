package store

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/dispatch"
)

// PutResult describes stored messages.
type PutResult struct {
	// PhyOffsets are the commit-log offsets of the stored records, one per
	// message; with the store host they make the offset message ids.
	PhyOffsets []int64
	// QueueOffsets are the messages' offsets in their queue (the same queue
	// for every message of a batch).
	QueueOffsets []int64
	StoreTime    int64
	// LMQOffsets holds, per message, the offsets assigned in each LMQ named
	// in its INNER_MULTI_DISPATCH, in the same order.
	LMQOffsets [][]int64
	// lmqNames are the LMQ names LMQOffsets are for, per message, as the
	// put parsed them (showEarly reads them, not the property again).
	lmqNames [][]string
	// Flushed is false when a SYNC_FLUSH put waited for its sync and timed
	// out (RocketMQ's FLUSH_DISK_TIMEOUT): stored, not yet confirmed.
	Flushed bool
}

// queueKey identifies one queue; LMQs use queue 0.
type queueKey struct {
	topic string
	queue int32
}

// Put stores one message. The message's QueueID must be set (the broker
// picks it); QueueOffset, CommitLogOffset and StoreTimestamp are assigned
// here, as is INNER_MULTI_QUEUE_OFFSET for LMQ dispatch.
func (s *Store) Put(m *message.Message) (PutResult, error) {
	return s.PutBatch([]*message.Message{m})
}

// Group commit of puts. A put queues itself; if no put is being written,
// its caller becomes the leader: it takes the queued puts (up to
// maxGroupMsgs, and no more than fit the active segment), encodes them all
// under the commit-log writer lock, appends them with one write and
// reports every result. Under load this turns a syscall and a lock
// handoff per message into one per group; a lone put is written at once.
// A caller that leads (PutAsync: a broker connection's reader; PutBatch)
// writes one group — the oldest queued puts, its own unless more than a
// group was waiting — and hands the rest to a new leader goroutine, which
// goes on until the queue is empty. A reader that
// kept leading while other connections kept the queue full would stop
// reading its own connection.
const (
	maxGroupMsgs  = 1024
	maxGroupBytes = 4 << 20
)

// putGroup is the queue of puts waiting for the leader.
type putGroup struct {
	mu      sync.Mutex
	queue   []*putReq
	leading bool // a leader is writing; queued puts wait for it

	// Owned by the leader (one at a time): reused from group to group.
	batch   []*putReq
	pending map[queueKey]int64 // offsets assigned in the group so far
	fresh   []string           // LMQs the group creates

	testBuildHook func() // tests: runs at the start of every group's build
}

// putReq is one queued put.
type putReq struct {
	msgs []*message.Message
	wait bool
	res  PutResult
	err  error
	end  int64 // commit-log offset after the group holding it
	done func(PutResult, error)
}

// PutBatch stores messages of one queue as consecutive records in one
// write: they get consecutive queue offsets, or none at all on error.
func (s *Store) PutBatch(msgs []*message.Message) (PutResult, error) {
	ch := putDonePool.Get().(chan putOutcome)
	s.put(msgs, func(r PutResult, err error) { ch <- putOutcome{r, err} })
	out := <-ch
	putDonePool.Put(ch)
	return out.res, out.err
}

type putOutcome struct {
	res PutResult
	err error
}

var putDonePool = sync.Pool{New: func() any { return make(chan putOutcome, 1) }}

// PutAsync is PutBatch reporting to done instead of returning. done runs
// exactly once: on the goroutine of whichever put leads the group holding
// this one (possibly the caller's, before PutAsync returns), or, under
// SYNC_FLUSH, on the commit log's flusher once the group is synced. It
// must not block, nor put (it may run on the goroutine writing the very
// group the put would wait for): a broker queues its answer there. The
// caller's goroutine may write one group, of its own and other puts,
// before PutAsync returns.
func (s *Store) PutAsync(msgs []*message.Message, done func(PutResult, error)) {
	s.put(msgs, done)
}

func (s *Store) put(msgs []*message.Message, done func(PutResult, error)) {
	if err := s.checkBatch(msgs); err != nil {
		done(PutResult{}, err)
		return
	}
	r := &putReq{msgs: msgs, wait: true, done: done}
	for _, m := range msgs {
		if v, ok := m.Properties.Lookup(message.PropertyWaitStoreMsgOK); ok && v == "false" {
			r.wait = false
		}
	}
	g := &s.puts
	g.mu.Lock()
	g.queue = append(g.queue, r)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		s.lead(false)
	}
}

func (s *Store) checkBatch(msgs []*message.Message) error {
	if len(msgs) == 0 {
		return fmt.Errorf("%w: empty batch", ErrInvalidMessage)
	}
	if s.closed.Load() {
		return ErrClosed
	}
	topic, queue := msgs[0].Topic, msgs[0].QueueID
	for _, m := range msgs {
		if m.Topic != topic || m.QueueID != queue {
			return fmt.Errorf("%w: a batch must target one queue", ErrInvalidMessage)
		}
		if err := s.checkMessage(m); err != nil {
			return err
		}
	}
	return nil
}

// lead writes groups until the queue is empty (loop: a leader goroutine
// of its own), or one group before handing over to a new leader goroutine.
func (s *Store) lead(loop bool) {
	g := &s.puts
	st := leadState{leading: true}
	defer s.recoverLead(&st)
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.leading = false
			st.leading = false
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), maxGroupMsgs)
		g.batch = append(g.batch[:0], g.queue[:n]...)
		rest := copy(g.queue, g.queue[n:])
		clear(g.queue[rest:])
		g.queue = g.queue[:rest]
		g.mu.Unlock()

		st.unanswered = g.batch
		taken, a, wrote := s.writeGroup(g.batch)
		finished := slices.Clone(g.batch[:taken]) // reported below, outside the leader's state
		if wrote {
			// Still the leader: groups are shown in commit-log order.
			s.showEarly(finished, a)
		}

		g.mu.Lock()
		if left := g.batch[taken:]; len(left) > 0 { // did not fit: first in the next group
			g.queue = slices.Insert(g.queue, 0, left...)
		}
		st.unanswered = nil
		clear(g.batch)
		if !loop {
			st.leading = false
			if len(g.queue) > 0 {
				go s.lead(true) // leading stays set: the new goroutine owns it
			} else {
				g.leading = false
			}
		}
		g.mu.Unlock()
		s.report(finished)
		if !loop {
			return
		}
	}
}

// leadState is what a leader must clean up if it panics.
type leadState struct {
	unanswered []*putReq // taken from the queue, results not reported
	leading    bool      // this goroutine owns putGroup.leading
}

// recoverLead keeps a panic while writing a group (a bug) from wedging
// every later put: the group's puts fail and leadership passes on, as a
// panicking request handler fails only its own request.
func (s *Store) recoverLead(st *leadState) {
	p := recover()
	if p == nil {
		return
	}
	s.log.Error("writing a put group panicked", "panic", p, "stack", string(debug.Stack()))
	err := fmt.Errorf("store: internal error while storing: %v", p)
	for _, r := range st.unanswered {
		s.deliver(r, PutResult{}, err)
	}
	if !st.leading {
		return
	}
	g := &s.puts
	g.mu.Lock()
	clear(g.batch)
	if len(g.queue) > 0 {
		go s.lead(true)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

// deliver reports one put's result. A panicking callback is logged and
// affects no other put.
func (s *Store) deliver(r *putReq, res PutResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("put callback panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	r.done(res, err)
}

// report delivers the results of finished puts. Under SYNC_FLUSH the
// puts that asked to wait for the disk are reported together once the
// group's bytes are synced (or the wait timed out), from the commit log's
// flusher: no goroutine waits for them.
func (s *Store) report(finished []*putReq) {
	var durable []*putReq
	var end int64
	for _, r := range finished {
		switch {
		case r.err != nil:
			s.deliver(r, PutResult{}, r.err)
		case r.wait && s.cfg.Flush == commitlog.SyncFlush:
			durable = append(durable, r)
			end = max(end, r.end)
		default:
			// Async puts and WAIT=false puts make no durability promise
			// to break (as upstream, which answers PUT_OK for them).
			r.res.Flushed = true
			s.deliver(r, r.res, nil)
		}
	}
	if len(durable) == 0 {
		return
	}
	s.commit.OnDurable(end, func(err error) {
		for _, r := range durable {
			switch {
			case err == nil:
				r.res.Flushed = true
				s.deliver(r, r.res, nil)
			case errors.Is(err, commitlog.ErrFlushTimeout):
				// Stored, not confirmed on disk in time: FLUSH_DISK_TIMEOUT.
				s.deliver(r, r.res, nil)
			default:
				s.deliver(r, PutResult{}, err)
			}
		}
	})
}

// writeGroup encodes and appends the puts of one group and sets their
// results. It returns how many of them (from the first) it finished: a
// put that would make the group exceed its byte limit or roll the
// segment waits for the next group; and, when it wrote them, where.
func (s *Store) writeGroup(batch []*putReq) (int, commitlog.Appended, bool) {
	g := &s.puts
	taken, built := 0, false
	build := func(dst []byte, storeTime int64) ([]byte, func(commitlog.Appended), error) {
		built = true
		if g.testBuildHook != nil {
			g.testBuildHook()
		}
		if g.pending == nil {
			g.pending = make(map[queueKey]int64)
		}
		clear(g.pending)
		g.fresh = g.fresh[:0]
		room := int(min(s.commit.RoomLocked(), maxGroupBytes))
		for i, r := range batch {
			limit := room - len(dst)
			if len(dst) == 0 {
				limit = -1 // the first record goes whatever its size: the log rolls or refuses it
			}
			out, err := s.buildLocked(dst, storeTime, r.msgs, &r.res, limit)
			if errors.Is(err, errGroupFull) {
				break
			}
			taken = i + 1
			if err != nil {
				r.err = err
				continue
			}
			dst = out
		}
		if len(dst) == 0 {
			// Every put failed: nothing to append (their errors are set).
			return nil, nil, errNothingToAppend
		}
		return dst, func(commitlog.Appended) {
			for k, off := range g.pending {
				s.nextOffsets[k] = off
			}
			for _, n := range g.fresh {
				if _, loaded := s.freshLMQs.LoadOrStore(n, struct{}{}); !loaded {
					s.freshCount.Add(1)
				}
			}
		}, nil
	}
	a, err := s.commit.Append(build, false)
	if errors.Is(err, errNothingToAppend) {
		return taken, a, false
	}
	if !built {
		// Refused before building (closed log, failed fsync): the error
		// is every put's.
		taken = len(batch)
	}
	i := 0
	for _, r := range batch[:taken] {
		if r.err != nil {
			continue
		}
		if err != nil {
			r.err = err
			continue
		}
		n := len(r.msgs)
		r.res.PhyOffsets = a.Offsets[i : i+n : i+n]
		r.res.StoreTime = a.StoreTime
		r.end = a.End
		i += n
	}
	if err == nil {
		s.scheduleDispatch(a)
	}
	return taken, a, err == nil
}

// Dispatch after a write. Under ASYNC_FLUSH the group's entries are noted
// for the queues being pulled (showEarly), so consumers need not wait for
// dispatch, and dispatch runs dispatchDelay after the first undispatched
// write, or at once when dispatchEagerBytes are waiting: at 20,000 msg/s
// a pass then covers about twenty messages instead of one or two, and
// its fixed costs (the dispatch-log and checkpoint rows, a pebble commit,
// two goroutine wake-ups) are paid once for all of them. Readers of other
// queues (a first pull, admin queries, key lookups) see a message
// dispatchDelay and one pass later than a consumer does. Under SYNC_FLUSH
// dispatch covers synced bytes only, so it is woken when the group is
// synced (after a flush timeout, by the next write or the 100 ms tick).
const (
	dispatchDelay      = time.Millisecond
	dispatchEagerBytes = 256 << 10
)

func (s *Store) scheduleDispatch(a commitlog.Appended) {
	if s.cfg.Flush == commitlog.SyncFlush {
		s.commit.OnDurable(a.End, func(error) { s.dispatcher.Wakeup() })
		return
	}
	if a.End-s.dispatched.Load() >= dispatchEagerBytes {
		s.dispatcher.Wakeup()
		return
	}
	if s.lazyArmed.CompareAndSwap(false, true) {
		s.lazyTimer.Reset(dispatchDelay)
	}
}

// lazyDispatch is the lazy timer's function.
func (s *Store) lazyDispatch() {
	s.lazyArmed.Store(false) // first: a write from now on arms it again
	s.dispatcher.Wakeup()
}

// showEarly notes the entries of a written group for the queues (and
// LMQs) being pulled, in commit-log order (the group's leader runs it
// before the next group is written), moves their ends and tells the
// arrival listener once per queue, so that held pulls are answered before
// dispatch (ASYNC_FLUSH only). A panic here (a bug, in the store or the
// listener) is logged: the group's puts are stored and still answered.
func (s *Store) showEarly(batch []*putReq, a commitlog.Appended) {
	if s.cfg.Flush == commitlog.SyncFlush || s.bounds.n.Load() == 0 {
		return // consumers wait for synced bytes, or nothing is pulled
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("showing stored messages to consumers panicked", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	var arrivals []dispatch.Arrival // the last per queue
	var index map[queueKey]int      // into arrivals, once there are many
	show := func(topic string, queueID int32, e cq.Entry) {
		if !s.bounds.noteEarly(topic, queueID, e) {
			return
		}
		next := e.QueueOffset + 1
		if index == nil {
			for i := range arrivals {
				if arrivals[i].QueueID == queueID && arrivals[i].Topic == topic {
					arrivals[i].NextOffset = next
					return
				}
			}
			if len(arrivals) == 8 {
				index = make(map[queueKey]int)
				for i, a := range arrivals {
					index[queueKey{a.Topic, a.QueueID}] = i
				}
			}
		} else if i, ok := index[queueKey{topic, queueID}]; ok {
			arrivals[i].NextOffset = next
			return
		}
		if index != nil {
			index[queueKey{topic, queueID}] = len(arrivals)
		}
		arrivals = append(arrivals, dispatch.Arrival{Topic: topic, QueueID: queueID, NextOffset: next})
	}
	i := 0 // record index in the group
	for _, r := range batch {
		if r.err != nil {
			continue
		}
		for j, m := range r.msgs {
			phy, end := a.Offsets[i], a.End
			if i+1 < len(a.Offsets) {
				end = a.Offsets[i+1]
			}
			i++
			if !takesQueueOffset(m.SysFlag) {
				continue // never consumable
			}
			e := cq.Entry{QueueOffset: m.QueueOffset, PhyOffset: phy, Size: int32(end - phy),
				TagHash: int64(m.TagHash()), StoreTime: a.StoreTime}
			show(m.Topic, m.QueueID, e)
			if j >= len(r.res.lmqNames) {
				continue
			}
			for k, name := range r.res.lmqNames[j] {
				if off := r.res.LMQOffsets[j][k]; off >= 0 && message.IsLMQ(name) {
					e.QueueOffset = off
					show(name, message.LMQQueueID, e)
				}
			}
		}
	}
	s.tellArrivals(arrivals)
}

// errGroupFull stops a group at a put that does not fit in it.
var errGroupFull = errors.New("store: group full")

var errNothingToAppend = errors.New("store: every put of the group failed")

func (s *Store) checkMessage(m *message.Message) error {
	if err := message.ValidateTopic(m.Topic); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidMessage, err)
	}
	if m.QueueID < 0 {
		return fmt.Errorf("%w: queue id %d", ErrInvalidMessage, m.QueueID)
	}
	if len(m.Body) > s.cfg.MaxMessageSize {
		return fmt.Errorf("%w: body of %d bytes exceeds the %d-byte limit", ErrMessageTooLarge, len(m.Body), s.cfg.MaxMessageSize)
	}
	return nil
}

// lmqTargets returns the LMQ names a message is multi-dispatched to:
// INNER_MULTI_DISPATCH entries, for parent topics that take it (not retry,
// system or schedule topics, as upstream).
func (s *Store) lmqTargets(m *message.Message) []string {
	if !s.cfg.EnableLMQ {
		return nil
	}
	v := m.Properties.Get(message.PropertyInnerMultiDispatch)
	if v == "" || message.IsRetryTopic(m.Topic) || message.IsSystemTopic(m.Topic) ||
		strings.HasPrefix(m.Topic, "SCHEDULE_TOPIC") {
		return nil
	}
	return message.ParseMultiDispatch(v)
}

// takesQueueOffset reports whether a record occupies a slot in its queue:
// transaction half messages and rollbacks do not (they are not consumable).
func takesQueueOffset(sys message.SysFlag) bool {
	tt := sys.TransactionType()
	return tt != message.SysTransactionPrepared && tt != message.SysTransactionRollback
}

// buildLocked runs under the commit-log writer lock: it assigns queue and
// LMQ offsets in commit-log order and encodes the records of one put,
// after the puts before it in the group (whose assignments are in the
// group's pending map). On success its own assignments join the group's;
// on error nothing of it remains. They are published (the group's
// commit) only once the bytes are written.
//
// limit >= 0 bounds the bytes it may add: beyond them it fails with
// errGroupFull, assigning nothing.
func (s *Store) buildLocked(dst []byte, storeTime int64, msgs []*message.Message, res *PutResult, limit int) ([]byte, error) {
	g := &s.puts
	key := queueKey{msgs[0].Topic, msgs[0].QueueID}
	next, ok := g.pending[key]
	if !ok {
		var err error
		if next, err = s.nextOffsetLocked(key); err != nil {
			return dst, err
		}
	}
	var lmqPending map[queueKey]int64 // this put's LMQ assignments
	freshAt := len(g.fresh)
	fail := func(err error) ([]byte, error) {
		g.fresh = g.fresh[:freshAt]
		return dst, err
	}
	out := dst
	res.QueueOffsets = res.QueueOffsets[:0]
	res.LMQOffsets = res.LMQOffsets[:0]
	res.lmqNames = res.lmqNames[:0]
	for _, m := range msgs {
		m.StoreTimestamp = storeTime
		m.StoreHost = s.cfg.StoreHost
		m.QueueOffset = 0
		if takesQueueOffset(m.SysFlag) {
			m.QueueOffset = next
			next++
		}
		res.QueueOffsets = append(res.QueueOffsets, m.QueueOffset)
		var lmqOffs []int64
		var names []string
		if takesQueueOffset(m.SysFlag) { // half messages are dispatched nowhere
			names = s.lmqTargets(m)
		}
		if len(names) > 0 {
			if lmqPending == nil {
				lmqPending = make(map[queueKey]int64, len(names))
			}
			for _, name := range names {
				if !message.IsLMQ(name) {
					lmqOffs = append(lmqOffs, message.NoQueueOffset)
					continue
				}
				lk := queueKey{name, message.LMQQueueID}
				off, ok := lmqPending[lk]
				if !ok {
					off, ok = g.pending[lk]
				}
				if !ok {
					var isNew bool
					off, isNew = s.lmqNextOffsetLocked(name)
					if isNew {
						g.fresh = append(g.fresh, name)
						if s.cfg.MaxLMQs > 0 && s.LMQCount()+int64(len(g.fresh)) > int64(s.cfg.MaxLMQs) {
							return fail(fmt.Errorf("%w: %s would be LMQ number %d, limit %d (maxLmqConsumeQueueNum)",
								ErrLMQQuota, name, s.LMQCount()+int64(len(g.fresh)), s.cfg.MaxLMQs))
						}
					}
				}
				lmqOffs = append(lmqOffs, off)
				lmqPending[lk] = off + 1
			}
			v, err := message.FormatMultiQueueOffset(names, lmqOffs)
			if err != nil {
				return fail(fmt.Errorf("%w: %v", ErrInvalidMessage, err))
			}
			m.Properties.Set(message.PropertyInnerMultiQueueOffset, v)
		}
		res.LMQOffsets = append(res.LMQOffsets, lmqOffs)
		res.lmqNames = append(res.lmqNames, names)
		var err error
		if out, err = message.AppendRecord(out, m); err != nil {
			return fail(fmt.Errorf("%w: %v", ErrInvalidMessage, err))
		}
	}
	if limit >= 0 && len(out)-len(dst) > limit {
		return fail(errGroupFull)
	}
	g.pending[key] = next
	for lk, off := range lmqPending {
		g.pending[lk] = off
	}
	return out, nil
}

// nextOffsetLocked returns the next offset of a queue: from memory, or,
// the first time the queue is written since open, from its consume queue
// (complete then: recovery dispatches everything before puts start).
func (s *Store) nextOffsetLocked(k queueKey) (int64, error) {
	if off, ok := s.nextOffsets[k]; ok {
		return off, nil
	}
	off, err := s.cq.MaxOffset(k.topic, k.queue)
	if err != nil {
		return 0, fmt.Errorf("store: max offset of %s-%d: %w", k.topic, k.queue, err)
	}
	s.nextOffsets[k] = off
	return off, nil
}

// lmqNextOffsetLocked returns an LMQ's next offset and whether the LMQ is
// new (counts against the quota). Every LMQ with messages is in
// nextOffsets from open on (loaded from the next-offset rows), so this
// never reads the database: a name not there is a new LMQ, starting at 0.
func (s *Store) lmqNextOffsetLocked(name string) (int64, bool) {
	if off, ok := s.nextOffsets[queueKey{name, message.LMQQueueID}]; ok {
		return off, false
	}
	return 0, true
}
