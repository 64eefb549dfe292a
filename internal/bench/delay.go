package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/message"
)

// DelayLevels is RocketMQ's default messageDelayLevel table: the delay of
// DELAY level L is DelayLevels[L-1].
var DelayLevels = []time.Duration{
	time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 6 * time.Minute,
	7 * time.Minute, 8 * time.Minute, 9 * time.Minute, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour,
}

// DelayStampSize is the body prefix a delay run writes: the send time
// (StampSize bytes), then the message's sequence number plus one and its
// due time in Unix ms, both big-endian uint64. The due time is a fallback
// for a broker that does not hand TIMER_DELIVER_MS back.
const DelayStampSize = StampSize + 16

// defaultDelayGrace is how long after its due time a message may still
// arrive before it counts as missing.
const defaultDelayGrace = 30 * time.Second

// DelayConfig describes a delayed-delivery precision run: Produce sends
// (normally at a fixed Rate) messages due Delay after their send time
// (property TIMER_DELIVER_MS, absolute Unix ms) or, with Level > 0, with
// the DELAY level property; Consume reads the topic's queues from their
// ends meanwhile.
type DelayConfig struct {
	Produce ProduceConfig // Message is set by Delay
	Consume ConsumeConfig // OnMessages is set by Delay
	Delay   time.Duration
	Level   int
	// Grace is how long after the last message is due the run waits for
	// the rest (default 30 s); what has not arrived then is missing.
	Grace time.Duration
}

// DelayResult is the outcome of a delay run.
type DelayResult struct {
	Produce, Consume *Result
	// Lateness holds receive time minus due time of every message that
	// arrived on time or late; Early counts those that arrived before
	// their due time (must be 0) and Earliest is the most negative
	// lateness among them.
	Lateness *Snapshot
	Early    int64
	Earliest time.Duration
	// Sent is the acknowledged sends; Received the distinct messages of
	// this run that arrived; Missing = Sent - Received (not arrived within
	// the grace); Duplicates arrived more than once; Foreign were not
	// written by this run.
	Sent, Received, Missing, Duplicates, Foreign int64
}

// WriteSummary prints the result.
func (r *DelayResult) WriteSummary(w io.Writer) error {
	if err := r.Produce.WriteSummary(w); err != nil {
		return err
	}
	s := r.Lateness
	_, err := fmt.Fprintf(w, "delivered: %d of %d sent, %d early (earliest %s), %d missing, %d duplicates, %d foreign\n"+
		"lateness: p50 %s  p99 %s  p999 %s  max %s  (%d on time or late)\n",
		r.Received, r.Sent, r.Early, fmtDur(r.Earliest), r.Missing, r.Duplicates, r.Foreign,
		fmtDur(s.Quantile(0.5)), fmtDur(s.Quantile(0.99)), fmtDur(s.Quantile(0.999)), fmtDur(s.Max), s.Count)
	return err
}

// DelayOf returns the delay a run asks for: the level's when level > 0,
// else delay. It fails for a level outside the table or a negative delay.
func DelayOf(delay time.Duration, level int) (time.Duration, error) {
	if level < 0 || level > len(DelayLevels) {
		return 0, fmt.Errorf("bench: delay level %d outside 1..%d", level, len(DelayLevels))
	}
	if level > 0 {
		return DelayLevels[level-1], nil
	}
	if delay < 0 {
		return 0, fmt.Errorf("bench: negative delay %v", delay)
	}
	return delay, nil
}

// Delay runs cfg and measures how late each message arrived.
func Delay(ctx context.Context, producers []Sender, p Puller, cfg DelayConfig) (*DelayResult, error) {
	d, err := DelayOf(cfg.Delay, cfg.Level)
	if err != nil {
		return nil, err
	}
	if cfg.Produce.Size < DelayStampSize {
		return nil, fmt.Errorf("bench: message size %d below the %d-byte delay stamp", cfg.Produce.Size, DelayStampSize)
	}
	grace := cfg.Grace
	if grace <= 0 {
		grace = defaultDelayGrace
	}
	tr := newDelayTracker(cfg.Level)
	pcfg := cfg.Produce
	pcfg.Message = delayMessage(d, cfg.Level)
	ccfg := cfg.Consume
	ccfg.OnMessages = tr.observe
	pres, cres, err := produceWhileConsuming(ctx, producers, p, pcfg, ccfg, d+grace)
	if err != nil {
		return nil, err
	}
	return tr.result(pres, cres), nil
}

// delayMessage returns the ProduceConfig.Message hook of a delay run.
func delayMessage(d time.Duration, level int) func(int64, time.Time, []byte) message.Properties {
	return func(seq int64, sent time.Time, body []byte) message.Properties {
		due := sent.Add(d).UnixMilli()
		binary.BigEndian.PutUint64(body[StampSize:], uint64(seq+1))
		binary.BigEndian.PutUint64(body[StampSize+8:], uint64(due))
		if level > 0 {
			return message.Properties{message.PropertyDelayTimeLevel: strconv.Itoa(level)}
		}
		return message.Properties{message.PropertyTimerDeliverMS: strconv.FormatInt(due, 10)}
	}
}

// DueTime returns when m was due: for a level run (level > 0) its born
// timestamp plus the level's delay, else its TIMER_DELIVER_MS property or,
// without one, the due time in its body. ok is false when m carries
// neither.
func DueTime(m *message.Message, level int) (due time.Time, ok bool) {
	if level > 0 {
		if level > len(DelayLevels) || m.BornTimestamp <= 0 {
			return time.Time{}, false
		}
		return time.UnixMilli(m.BornTimestamp).Add(DelayLevels[level-1]), true
	}
	if v, found := m.Properties.Lookup(message.PropertyTimerDeliverMS); found {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
			return time.UnixMilli(ms), true
		}
	}
	if len(m.Body) >= DelayStampSize {
		if ms := int64(binary.BigEndian.Uint64(m.Body[StampSize+8:])); ms > 0 {
			return time.UnixMilli(ms), true
		}
	}
	return time.Time{}, false
}

// delaySeq returns the sequence number a delay run wrote into body.
func delaySeq(body []byte) (int64, bool) {
	if len(body) < DelayStampSize {
		return 0, false
	}
	v := int64(binary.BigEndian.Uint64(body[StampSize:]))
	if v <= 0 {
		return 0, false
	}
	return v - 1, true
}

// delayTracker accounts for the messages of a delay run as they arrive.
type delayTracker struct {
	level int
	hist  *Histogram

	mu       sync.Mutex
	seen     []uint64 // bit per sequence number
	received int64
	early    int64
	earliest time.Duration
	dups     int64
	foreign  int64
}

func newDelayTracker(level int) *delayTracker {
	return &delayTracker{level: level, hist: NewHistogram()}
}

// observe accounts for a batch received at recv.
func (tr *delayTracker) observe(recv time.Time, msgs []*message.Message) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, m := range msgs {
		seq, ok := delaySeq(m.Body)
		due, dok := DueTime(m, tr.level)
		if !ok || !dok {
			tr.foreign++
			continue
		}
		w, bit := int(seq/64), uint64(1)<<(seq%64)
		for len(tr.seen) <= w {
			tr.seen = append(tr.seen, 0)
		}
		if tr.seen[w]&bit != 0 {
			tr.dups++
			continue
		}
		tr.seen[w] |= bit
		tr.received++
		late := recv.Sub(due)
		if late < 0 {
			tr.early++
			tr.earliest = min(tr.earliest, late)
			continue
		}
		tr.hist.Record(late)
	}
}

// result freezes the tracker into a DelayResult.
func (tr *delayTracker) result(pres, cres *Result) *DelayResult {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r := &DelayResult{
		Produce: pres, Consume: cres, Lateness: tr.hist.Snapshot(),
		Early: tr.early, Earliest: tr.earliest, Received: tr.received, Duplicates: tr.dups, Foreign: tr.foreign,
	}
	if pres != nil {
		r.Sent = pres.Messages
		r.Missing = max(r.Sent-r.Received, 0)
	}
	return r
}

// ErrDelayContract reports a delay run that saw early or missing messages.
var ErrDelayContract = errors.New("bench: delayed delivery broke its contract")

// Check returns ErrDelayContract (wrapped with the counts) when messages
// arrived early or not at all.
func (r *DelayResult) Check() error {
	if r.Early > 0 || r.Missing > 0 {
		return fmt.Errorf("%w: %d early, %d missing of %d", ErrDelayContract, r.Early, r.Missing, r.Sent)
	}
	return nil
}
