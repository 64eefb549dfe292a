package broker

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store"
	"github.com/bolidemq/bolide/internal/store/parked"
)

// Transactions.
//
// A half message (sysFlag PREPARED or TRAN_MSG=true) is stored in
// RMQ_SYS_TRANS_HALF_TOPIC queue 0 with REAL_TOPIC and REAL_QID, as an
// ordinary record there, so it is in no consumer's queue. Dispatch keeps
// one parked row per half message (package store/parked). END_TRANSACTION
// commits (a copy in the real topic and queue, with the COMMIT sysFlag)
// or rolls back (a marker record in RMQ_SYS_TRANS_OP_HALF_TOPIC); either
// record carries BOLIDE_PARKED, and its dispatch removes the row. A
// checker pass every transactionCheckInterval asks a live producer of the
// half's group (CHECK_TRANSACTION_STATE) about halves older than
// transactionTimeOut (or their CHECK_IMMUNITY_TIME_IN_SECONDS); after
// transactionCheckMax checks a half is discarded into
// TRANS_CHECK_MAX_TIME_TOPIC, as upstream.
//
// Check counts live in memory: a restart starts them again (upstream
// rewrites the half message per check to count; Bolide does not write
// per check).

// txState holds what the transaction code keeps between requests.
type txState struct {
	mu sync.Mutex
	// resolved maps a half's offset to the offset of the record that
	// resolved it, until dispatch has passed that record (from then on
	// the missing row says it).
	resolved map[int64]int64
	checks   map[int64]int
	loop     *lifecycle.Loop // the check pass
}

func (b *Broker) registerTransactionProcessors() {
	b.handle(protocol.EndTransaction, b.endTransaction)
}

// toHalf turns m into a half message: stored in the half topic, its real
// topic and queue in properties, until END_TRANSACTION or a check decides.
func (s *sender) toHalf(t sendTarget, m *message.Message) {
	if m.Properties.Get(message.PropertyProducerGroup) == "" {
		m.Properties.Set(message.PropertyProducerGroup, t.h.ProducerGroup)
	}
	m.Properties.Set(message.PropertyTransactionPrepared, "true")
	m.Properties.Set(message.PropertyRealTopic, m.Topic)
	m.Properties.Set(message.PropertyRealQueueID, strconv.Itoa(int(m.QueueID)))
	m.SysFlag = m.SysFlag.WithTransactionType(message.SysTransactionNotType)
	m.Topic, m.QueueID = message.TopicTransHalf, 0
}

// endTransaction serves END_TRANSACTION (37), usually oneway: commit or
// roll back a half message, once, whichever of the producer's answer and a
// check's answer comes first.
func (b *Broker) endTransaction(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.EndTransactionRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	switch h.CommitOrRollback {
	case protocol.TransactionNotType:
		return success(req), nil // "unknown": nothing to do, a check will ask again
	case protocol.TransactionCommit, protocol.TransactionRollback:
	default:
		return nil, fail(protocol.InvalidParameter, "commitOrRollback %d is neither 0, 8 (commit) nor 12 (rollback)", h.CommitOrRollback)
	}
	raw, err := b.store.ReadRecord(h.CommitLogOffset)
	if err != nil {
		return nil, fail(protocol.SystemError, "Find prepared transaction message failed: offset %d: %v", h.CommitLogOffset, err)
	}
	rec, err := message.ParseRecord(raw)
	if err != nil || rec.Topic() != message.TopicTransHalf {
		return nil, fail(protocol.SystemError, "Find prepared transaction message failed: no half message at offset %d", h.CommitLogOffset)
	}
	half := rec.Message()
	if pg := half.Properties.Get(message.PropertyProducerGroup); pg != h.ProducerGroup {
		return nil, fail(protocol.SystemError, "The producer group wrong: half message of %q, request from %q", pg, h.ProducerGroup)
	}
	if half.QueueOffset != h.TranStateTableOffset {
		return nil, fail(protocol.SystemError, "The transaction state table offset wrong: %d, half message at %d",
			h.TranStateTableOffset, half.QueueOffset)
	}
	if h.CommitOrRollback == protocol.TransactionCommit {
		err = b.resolveHalf(half, b.commitRecord(half))
	} else {
		err = b.resolveHalf(half, rollbackRecord(half))
	}
	if err != nil {
		return nil, err
	}
	return success(req), nil
}

// resolveHalf stores the record that resolves half, unless half is
// resolved already (a retry, or a check's answer after the producer's).
func (b *Broker) resolveHalf(half *message.Message, rec *message.Message) error {
	tx := &b.tx
	phy := half.CommitLogOffset
	tx.mu.Lock()
	if _, done := tx.resolved[phy]; done {
		tx.mu.Unlock()
		return nil
	}
	tx.resolved[phy] = -1 // in progress: a concurrent answer finds it taken
	tx.mu.Unlock()
	undo := func() {
		tx.mu.Lock()
		delete(tx.resolved, phy)
		tx.mu.Unlock()
	}
	if phy < b.store.Dispatched() {
		pending, err := b.store.ParkedExists(parked.Ref{Kind: parked.KindHalf, Phy: phy})
		if err != nil {
			undo()
			return fail(protocol.SystemError, "look up half message %d: %v", phy, err)
		}
		if !pending {
			undo()
			return nil // resolved before (the release is dispatched)
		}
	}
	// The put runs outside the lock: under SYNC_FLUSH it waits for a
	// sync, and other transactions must not queue behind it.
	res, err := b.store.Put(rec)
	if err != nil {
		undo()
		return putError(rec.Topic, err)
	}
	tx.mu.Lock()
	tx.resolved[phy] = res.PhyOffsets[0]
	delete(tx.checks, phy)
	tx.mu.Unlock()
	if rec.Topic != message.TopicTransOpHalf && rec.Topic != message.TopicTransCheckMaxTime {
		b.traffic.sent(rec.Topic, lmqEntries(res), len(rec.Body))
	}
	return nil
}

// commitRecord is the committed copy of half: its real topic and queue,
// the COMMIT sysFlag, without TRAN_MSG (upstream's endMessageTransaction);
// delayed if the half asked for it.
func (b *Broker) commitRecord(half *message.Message) *message.Message {
	m := *half
	m.Properties = half.Properties.Clone()
	m.Topic = m.Properties.Get(message.PropertyRealTopic)
	q, _ := strconv.Atoi(m.Properties.Get(message.PropertyRealQueueID))
	m.QueueID = int32(max(q, 0))
	m.SysFlag = m.SysFlag.WithTransactionType(message.SysTransactionCommit)
	m.Properties.Delete(message.PropertyTransactionPrepared)
	m.Properties.Set(message.PropertyTransactionPreparedQueueOffset, strconv.FormatInt(half.QueueOffset, 10))
	m.Properties.Set(message.PropertyParked, parked.Ref{Kind: parked.KindHalf, Phy: half.CommitLogOffset}.String())
	m.PreparedTransactionOffset = half.CommitLogOffset
	if due, level, ok, err := b.delayOf(m.Properties, b.now().UnixMilli()); err == nil && ok {
		park(&m, due, level)
	}
	return &m
}

// rollbackRecord is the marker that releases a rolled-back half: no body
// of the message, no keys (it is found by nothing but its release).
func rollbackRecord(half *message.Message) *message.Message {
	m := &message.Message{
		Topic: message.TopicTransOpHalf, Body: []byte(strconv.FormatInt(half.QueueOffset, 10)),
		BornTimestamp: half.BornTimestamp, BornHost: half.BornHost,
	}
	m.Properties.Set(message.PropertyTags, "d") // upstream's REMOVE_TAG
	m.Properties.Set(message.PropertyParked, parked.Ref{Kind: parked.KindHalf, Phy: half.CommitLogOffset}.String())
	return m
}

// discardRecord keeps a half checked too often where operators can find
// it (upstream's TRANS_CHECK_MAX_TIME_TOPIC), releasing it.
func discardRecord(half *message.Message) *message.Message {
	m := *half
	m.Properties = half.Properties.Clone()
	m.Topic, m.QueueID = message.TopicTransCheckMaxTime, 0
	m.Properties.Set(message.PropertyParked, parked.Ref{Kind: parked.KindHalf, Phy: half.CommitLogOffset}.String())
	return &m
}

// startTransactionChecker runs the check pass every
// transactionCheckInterval.
func (b *Broker) startTransactionChecker() {
	interval := time.Duration(b.bc.Semantics.TransactionCheckIntervalMs) * time.Millisecond
	b.tx.loop = lifecycle.NewLoop("transaction-check", interval, func(context.Context) {
		if err := b.checkHalves(); err != nil && !errors.Is(err, store.ErrClosed) {
			b.log.Error("transaction check pass failed", "err", err)
		}
	})
	b.tx.loop.Start()
	b.stopFuncs = append(b.stopFuncs, func() error {
		b.tx.loop.Stop()
		return nil
	})
}

// checkHalves is one check pass over the pending half messages, oldest
// first.
func (b *Broker) checkHalves() error {
	tx := &b.tx
	sem := b.bc.Semantics
	now := b.now().UnixMilli()
	dispatched := b.store.Dispatched()
	tx.mu.Lock()
	for phy, by := range tx.resolved {
		if by >= 0 && by < dispatched {
			delete(tx.resolved, phy)
		}
	}
	tx.mu.Unlock()
	var pending []int64
	err := b.store.ScanParked(parked.KindHalf, parked.Ref{}, math.MaxInt64, func(r parked.Ref) bool {
		pending = append(pending, r.Phy)
		return len(pending) < 10_000 // a pass is bounded; the rest waits for the next
	})
	if err != nil {
		return err
	}
	for _, phy := range pending {
		tx.mu.Lock()
		_, done := tx.resolved[phy]
		tx.mu.Unlock()
		if done {
			continue
		}
		raw, err := b.store.ReadRecord(phy)
		if err != nil {
			b.log.Warn("half message unreadable, skipped", "offset", phy, "err", err)
			continue
		}
		rec, err := message.ParseRecord(raw)
		if err != nil {
			continue
		}
		half := rec.Message()
		timeout := sem.TransactionTimeOutMs
		if v, err := strconv.ParseInt(half.Properties.Get(message.PropertyCheckImmunityTimeInSeconds), 10, 64); err == nil && v > 0 {
			timeout = max(timeout, v*1000)
		}
		if now-half.StoreTimestamp < timeout {
			continue
		}
		tx.mu.Lock()
		n := tx.checks[phy]
		tx.mu.Unlock()
		if n >= sem.TransactionCheckMax {
			b.log.Warn("half message discarded after the maximum number of checks", "offset", phy,
				"topic", half.Properties.Get(message.PropertyRealTopic), "checks", n, "group", half.Properties.Get(message.PropertyProducerGroup))
			if err := b.resolveHalf(half, discardRecord(half)); err != nil {
				b.log.Error("discard half message", "offset", phy, "err", err)
			}
			continue
		}
		// A check counts even when no producer of the group is online to
		// answer it, as upstream: a half whose producer is gone for good
		// is discarded after transactionCheckMax passes.
		b.sendCheck(half, rec)
		tx.mu.Lock()
		tx.checks[phy]++
		tx.mu.Unlock()
	}
	return nil
}

// sendCheck asks one live producer of the half's group about it
// (oneway). It reports whether a producer was asked.
func (b *Broker) sendCheck(half *message.Message, rec message.Record) bool {
	group := half.Properties.Get(message.PropertyProducerGroup)
	producers := b.clients.Producers(group)
	if len(producers) == 0 {
		return false
	}
	p := producers[int(half.CommitLogOffset)%len(producers)]
	// The body is the half as its producer sent it: real topic and queue.
	m := *half
	m.Topic = half.Properties.Get(message.PropertyRealTopic)
	if q, err := strconv.Atoi(half.Properties.Get(message.PropertyRealQueueID)); err == nil {
		m.QueueID = int32(q)
	}
	body, err := message.Encode(&m)
	if err != nil {
		b.log.Warn("encode half message for a check", "offset", half.CommitLogOffset, "err", err)
		return false
	}
	uniq := half.UniqKey()
	req := remoting.NewRequest(int32(protocol.CheckTransactionState), protocol.EncodeHeader(&protocol.CheckTransactionStateRequestHeader{
		Topic: m.Topic, TranStateTableOffset: half.QueueOffset, CommitLogOffset: half.CommitLogOffset,
		MsgID: uniq, TransactionID: uniq, OffsetMsgID: rec.OffsetID(),
	}), body)
	if err := p.Conn.InvokeOneway(req); err != nil {
		b.log.Info("transaction check not sent", "producer", p.ClientID, "err", err)
		return false
	}
	return true
}
