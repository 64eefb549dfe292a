package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
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

// PutBatch stores messages of one queue as consecutive records in one
// write: they get consecutive queue offsets, or none at all on error.
func (s *Store) PutBatch(msgs []*message.Message) (PutResult, error) {
	if len(msgs) == 0 {
		return PutResult{}, fmt.Errorf("%w: empty batch", ErrInvalidMessage)
	}
	if s.closed.Load() {
		return PutResult{}, ErrClosed
	}
	topic, queue := msgs[0].Topic, msgs[0].QueueID
	for _, m := range msgs {
		if m.Topic != topic || m.QueueID != queue {
			return PutResult{}, fmt.Errorf("%w: a batch must target one queue", ErrInvalidMessage)
		}
		if err := s.checkMessage(m); err != nil {
			return PutResult{}, err
		}
	}
	var res PutResult
	wait := true
	for _, m := range msgs {
		if v, ok := m.Properties.Lookup(message.PropertyWaitStoreMsgOK); ok && v == "false" {
			wait = false
		}
	}
	build := func(dst []byte, storeTime int64) ([]byte, func(commitlog.Appended), error) {
		return s.buildLocked(dst, storeTime, msgs, &res)
	}
	a, err := s.commit.Append(build, wait)
	if err != nil && !errors.Is(err, commitlog.ErrFlushTimeout) {
		return PutResult{}, err
	}
	// Only a SYNC_FLUSH put that waited and timed out reports false: async
	// puts and WAIT=false puts make no durability promise to break (as
	// upstream, which answers PUT_OK for them).
	res.Flushed = !errors.Is(err, commitlog.ErrFlushTimeout)
	res.PhyOffsets = a.Offsets
	res.StoreTime = a.StoreTime
	s.dispatcher.Wakeup()
	return res, nil
}

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
// LMQ offsets in commit-log order and encodes the records. The offsets are
// published (commit) only once the bytes are written.
func (s *Store) buildLocked(dst []byte, storeTime int64, msgs []*message.Message, res *PutResult) ([]byte, func(commitlog.Appended), error) {
	key := queueKey{msgs[0].Topic, msgs[0].QueueID}
	next, err := s.nextOffsetLocked(key)
	if err != nil {
		return nil, nil, err
	}
	pending := map[queueKey]int64{}
	newLMQs := 0
	var fresh []string
	res.QueueOffsets = res.QueueOffsets[:0]
	res.LMQOffsets = res.LMQOffsets[:0]
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
			for _, name := range names {
				if !message.IsLMQ(name) {
					lmqOffs = append(lmqOffs, message.NoQueueOffset)
					continue
				}
				lk := queueKey{name, message.LMQQueueID}
				off, ok := pending[lk]
				if !ok {
					var isNew bool
					off, isNew, err = s.lmqNextOffsetLocked(name)
					if err != nil {
						return nil, nil, err
					}
					if isNew {
						newLMQs++
						fresh = append(fresh, name)
						if s.cfg.MaxLMQs > 0 && s.LMQCount()+int64(newLMQs) > int64(s.cfg.MaxLMQs) {
							return nil, nil, fmt.Errorf("%w: %s would be LMQ number %d, limit %d (maxLmqConsumeQueueNum)",
								ErrLMQQuota, name, s.LMQCount()+int64(newLMQs), s.cfg.MaxLMQs)
						}
					}
				}
				lmqOffs = append(lmqOffs, off)
				pending[lk] = off + 1
			}
			v, err := message.FormatMultiQueueOffset(names, lmqOffs)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: %v", ErrInvalidMessage, err)
			}
			m.Properties.Set(message.PropertyInnerMultiQueueOffset, v)
		}
		res.LMQOffsets = append(res.LMQOffsets, lmqOffs)
		if dst, err = message.AppendRecord(dst, m); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalidMessage, err)
		}
	}
	commit := func(commitlog.Appended) {
		s.nextOffsets[key] = next
		for lk, off := range pending {
			s.nextOffsets[lk] = off
		}
		for _, n := range fresh {
			if _, loaded := s.freshLMQs.LoadOrStore(n, struct{}{}); !loaded {
				s.freshCount.Add(1)
			}
		}
	}
	return dst, commit, nil
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
func (s *Store) lmqNextOffsetLocked(name string) (int64, bool, error) {
	if off, ok := s.nextOffsets[queueKey{name, message.LMQQueueID}]; ok {
		return off, false, nil
	}
	return 0, true, nil
}
