package broker

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/store"
	"github.com/bolidemq/bolide/internal/store/parked"
)

// Delayed delivery.
//
// A delayed message (DELAY level, TIMER_DELIVER_MS, TIMER_DELAY_SEC or
// TIMER_DELAY_MS) is stored parked: in SCHEDULE_TOPIC_XXXX (queue level-1)
// or rmq_sys_wheel_timer, with REAL_TOPIC, REAL_QID and its due time in
// TIMER_DELIVER_MS. Dispatch indexes it by due time (package
// store/parked). One scheduler goroutine delivers what is due: it stores a
// copy in the real topic and queue carrying BOLIDE_PARKED, whose dispatch
// removes the parked row. The index is derived from the commit log, so
// delays survive restarts and crashes; the price of doing it with a copy
// is at-least-once: nothing is delivered twice unless a crash falls
// between the copy and its dispatch (which then replays the copy, not a
// second one) — the row and its release are one pebble batch.
//
// Until the release is dispatched, a delivered row is still in the index:
// the scheduler remembers it (inflight) so it is not delivered again.

const (
	// schedMinInterval spaces scans while messages keep falling due, so a
	// steady stream is delivered in batches rather than one scan each.
	schedMinInterval = 10 * time.Millisecond
	// schedMaxSleep bounds a sleep even with nothing due (the wake-ups
	// are hints; this makes a missed one cost at most this much).
	schedMaxSleep = time.Second
	// schedBatch bounds the rows delivered per scan.
	schedBatch = 1024
	// schedRetryAfter is how long a delivery that failed waits.
	schedRetryAfter = 5 * time.Second
)

// scheduler delivers delayed messages when they are due.
type scheduler struct {
	b    *Broker
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	// nextWake is when the loop plans to scan next (epoch ms); a row due
	// earlier wakes it.
	nextWake atomic.Int64

	mu sync.Mutex
	// cursor is the last row handed to delivery: scans resume after it.
	cursor parked.Ref
	// rescanDue, if not math.MaxInt64, is the earliest due of rows added
	// behind the cursor; rescanPhy the highest commit-log offset among
	// them. The request is dropped only once dispatch has passed
	// rescanPhy (the rows are committed, so the scan saw them).
	rescanDue int64
	rescanPhy int64
	// inflight maps a delivered row's parked offset to the offset of its
	// copy; dropped once dispatch passed the copy (the row is gone).
	inflight map[int64]int64
	// failed maps a row whose delivery failed to when to try again.
	failed map[parked.Ref]time.Time

	delivered atomic.Int64
}

func newScheduler(b *Broker) *scheduler {
	return &scheduler{
		b: b, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		rescanDue: math.MaxInt64, inflight: make(map[int64]int64), failed: make(map[parked.Ref]time.Time),
	}
}

// parked is the store's OnParked hook (called by dispatch before the row
// commits): a row behind the cursor needs a rescan, a row due before the
// planned wake-up needs an earlier one.
func (s *scheduler) parked(r parked.Ref) {
	if r.Kind != parked.KindTimer {
		return
	}
	s.mu.Lock()
	behind := s.cursor.Kind == parked.KindTimer && (r.Due < s.cursor.Due || r.Due == s.cursor.Due && r.Phy < s.cursor.Phy)
	early := r.Due < s.nextWake.Load()
	if behind || early {
		// The row is not committed yet: a scan now may miss it, so the
		// request stays until dispatch has passed it (and the arrival
		// that follows the commit wakes the loop again).
		s.rescanDue = min(s.rescanDue, r.Due)
		s.rescanPhy = max(s.rescanPhy, r.Phy)
	}
	s.mu.Unlock()
	if behind || early {
		s.poke()
	}
}

// arrived is told of arrivals in the parking topics: after dispatch they
// mean the rows are committed, so a pending rescan can run (an early one,
// for a parking queue someone pulls, only makes the rescan look again).
func (s *scheduler) arrived(topic string) {
	if !parked.IsTimerTopic(topic) {
		return
	}
	s.mu.Lock()
	pending := s.rescanDue != math.MaxInt64
	s.mu.Unlock()
	if pending {
		s.poke()
	}
}

func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// start runs the loop. It is not a lifecycle.Loop: those run at a fixed
// interval, and the scheduler sleeps until the next row falls due.
func (s *scheduler) start() {
	go s.loop()
}

// Close stops the loop (before the store closes).
func (s *scheduler) Close() error {
	close(s.stop)
	<-s.done
	return nil
}

func (s *scheduler) loop() {
	defer close(s.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-timer.C:
		case <-s.wake:
		}
		start := s.b.now()
		next, more, err := s.runOnce()
		if err != nil && !errors.Is(err, store.ErrClosed) {
			s.b.log.Error("delayed delivery pass failed", "err", err)
		}
		now := s.b.now()
		sleep := schedMaxSleep
		switch {
		case more:
			sleep = 0
		case next > 0:
			sleep = min(time.Duration(next-now.UnixMilli())*time.Millisecond, schedMaxSleep)
		}
		// Keep scans apart while busy; a due row waits at most this long.
		sleep = max(sleep, schedMinInterval-now.Sub(start))
		s.nextWake.Store(now.Add(sleep).UnixMilli())
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(sleep)
	}
}

// runOnce delivers the rows due now. It returns the due time of the next
// row (0 if none) and whether it stopped at the batch bound.
func (s *scheduler) runOnce() (next int64, more bool, err error) {
	st := s.b.store
	nowT := s.b.now()
	now := nowT.UnixMilli()
	dispatched := st.Dispatched()

	s.mu.Lock()
	for phy, cp := range s.inflight {
		if cp < dispatched {
			delete(s.inflight, phy)
		}
	}
	from := s.cursor
	if s.rescanDue != math.MaxInt64 {
		if from.Kind == parked.KindTimer && s.rescanDue < from.Due {
			from = parked.Ref{Kind: parked.KindTimer, Due: s.rescanDue}
		}
		if s.rescanPhy < dispatched {
			s.rescanDue, s.rescanPhy = math.MaxInt64, 0
		}
	}
	for r, at := range s.failed {
		if !nowT.Before(at) {
			delete(s.failed, r)
			if from.Kind != parked.KindTimer || r.Due < from.Due || r.Due == from.Due && r.Phy < from.Phy {
				from = r
			}
		}
	}
	s.mu.Unlock()

	var due []parked.Ref
	err = st.ScanParked(parked.KindTimer, from, math.MaxInt64, func(r parked.Ref) bool {
		if r.Due > now {
			next = r.Due
			return false
		}
		s.mu.Lock()
		_, busy := s.inflight[r.Phy]
		_, failed := s.failed[r]
		s.mu.Unlock()
		if busy || failed {
			return true
		}
		due = append(due, r)
		if len(due) >= schedBatch {
			more = true
			return false
		}
		return true
	})
	if err != nil {
		return 0, false, err
	}
	if len(due) > 0 {
		s.deliver(due)
	}
	return next, more, nil
}

// deliver stores the real-topic copies of due rows, in batches per queue.
func (s *scheduler) deliver(due []parked.Ref) {
	type dest struct {
		topic string
		queue int32
	}
	groups := make(map[dest][]int) // indexes into due/msgs
	var order []dest
	msgs := make([]*message.Message, len(due))
	for i, r := range due {
		m, err := s.release(r)
		if err != nil {
			s.fail(r, err)
			continue
		}
		msgs[i] = m
		d := dest{m.Topic, m.QueueID}
		if _, ok := groups[d]; !ok {
			order = append(order, d)
		}
		groups[d] = append(groups[d], i)
	}
	for _, d := range order {
		idx := groups[d]
		batch := make([]*message.Message, len(idx))
		for j, i := range idx {
			batch[j] = msgs[i]
		}
		res, err := s.b.store.PutBatch(batch)
		if err == nil {
			for j, i := range idx {
				s.done1(due[i], res.PhyOffsets[j])
			}
			continue
		}
		// One bad message (an LMQ over quota, say) must not hold back the
		// rest: store them one by one.
		for _, i := range idx {
			res, err := s.b.store.Put(msgs[i])
			if err != nil {
				s.fail(due[i], err)
				continue
			}
			s.done1(due[i], res.PhyOffsets[0])
		}
	}
	s.mu.Lock()
	s.cursor = due[len(due)-1]
	s.mu.Unlock()
}

func (s *scheduler) done1(r parked.Ref, copyPhy int64) {
	s.mu.Lock()
	s.inflight[r.Phy] = copyPhy
	s.mu.Unlock()
	s.delivered.Add(1)
}

func (s *scheduler) fail(r parked.Ref, err error) {
	s.b.log.Warn("delayed message not delivered, will retry", "offset", r.Phy, "due", r.Due, "retryIn", schedRetryAfter, "err", err)
	s.mu.Lock()
	s.failed[r] = s.b.now().Add(schedRetryAfter)
	s.mu.Unlock()
}

// release reads a parked record and builds its delivery: the message in
// its real topic and queue, without the delay properties, releasing r.
func (s *scheduler) release(r parked.Ref) (*message.Message, error) {
	raw, err := s.b.store.ReadRecord(r.Phy)
	if err != nil {
		return nil, fmt.Errorf("read parked record %d: %w", r.Phy, err)
	}
	rec, err := message.ParseRecord(raw)
	if err != nil {
		return nil, fmt.Errorf("parse parked record %d: %w", r.Phy, err)
	}
	m := rec.Message()
	topic := m.Properties.Get(message.PropertyRealTopic)
	q, err := strconv.ParseInt(m.Properties.Get(message.PropertyRealQueueID), 10, 32)
	if topic == "" || err != nil || q < 0 {
		return nil, fmt.Errorf("parked record %d has no usable %s/%s", r.Phy, message.PropertyRealTopic, message.PropertyRealQueueID)
	}
	m.Topic, m.QueueID = topic, int32(q)
	for _, p := range []string{message.PropertyDelayTimeLevel, message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec,
		message.PropertyTimerDelayMS, message.PropertyInnerMultiQueueOffset} {
		m.Properties.Delete(p)
	}
	m.Properties.Set(message.PropertyTimerOutMS, strconv.FormatInt(r.Due, 10))
	m.Properties.Set(message.PropertyParked, r.String())
	return m, nil
}

// delayOf reads a message's delay request: a due time (epoch ms) and the
// level it came from (0 for the TIMER_* properties). ok is false for a
// message to deliver now. A malformed or too long delay is an error for
// the sender.
func (b *Broker) delayOf(props message.Properties, now int64) (due int64, level int, ok bool, err error) {
	sem := b.bc.Semantics
	if v := props.Get(message.PropertyDelayTimeLevel); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil {
			return 0, 0, false, fail(protocol.MessageIllegal, "bad %s=%q", message.PropertyDelayTimeLevel, v)
		}
		if n <= 0 {
			return 0, 0, false, nil
		}
		n = min(n, len(sem.DelayLevels)) // upstream clamps to the highest level
		return now + sem.DelayLevels[n-1].Milliseconds(), n, true, nil
	}
	var name string
	for _, p := range []string{message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec, message.PropertyTimerDelayMS} {
		if props.Get(p) != "" {
			name = p
			break
		}
	}
	if name == "" {
		return 0, 0, false, nil
	}
	v, perr := strconv.ParseInt(props.Get(name), 10, 64)
	if perr != nil || v < 0 {
		return 0, 0, false, fail(protocol.MessageIllegal, "timer message illegal: bad %s=%q", name, props.Get(name))
	}
	switch name {
	case message.PropertyTimerDeliverMS:
		due = v
	case message.PropertyTimerDelaySec:
		if v > math.MaxInt64/2000 {
			v = math.MaxInt64 / 2000
		}
		due = now + v*1000
	default:
		due = now + min(v, math.MaxInt64/2)
	}
	if due <= now {
		return 0, 0, false, nil // already due: deliver now, as upstream
	}
	if maxDelay := sem.TimerMaxDelaySec * 1000; due-now > maxDelay {
		return 0, 0, false, fail(protocol.MessageIllegal, "timer message illegal: delay of %d ms exceeds timerMaxDelaySec (%d s)",
			due-now, sem.TimerMaxDelaySec)
	}
	return due, 0, true, nil
}

// park turns m into its parked form: the same message in the parking
// topic, remembering its real topic and queue and its due time.
func park(m *message.Message, due int64, level int) {
	m.Properties.Set(message.PropertyRealTopic, m.Topic)
	m.Properties.Set(message.PropertyRealQueueID, strconv.Itoa(int(m.QueueID)))
	m.Properties.Set(message.PropertyTimerDeliverMS, strconv.FormatInt(due, 10))
	if level > 0 {
		m.Topic, m.QueueID = message.TopicSchedule, int32(level-1)
	} else {
		m.Topic, m.QueueID = message.TopicTimer, 0
	}
}

// DelayStats are the scheduler's counters.
type DelayStats struct {
	Delivered int64 // delayed messages delivered since start
}

// DelayStats reports the delayed-delivery counters.
func (b *Broker) DelayStats() DelayStats {
	return DelayStats{Delivered: b.sched.delivered.Load()}
}
