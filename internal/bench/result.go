// Package bench holds the load generators behind `bolide bench`: a
// producer (P producers, W sends in flight each, fixed message size, a
// count or a duration, sync or oneway) and a consumer (C pullers
// long-polling every queue of a topic). Both record latencies in a
// log-bucketed Histogram, print a progress line per tick to an io.Writer
// and return a Result whose WriteSummary prints throughput and latency
// quantiles.
//
// The producer can also pace its sends to a fixed offered load (Rate); an
// end-to-end run (EndToEnd) consumes while producing at that load, and a
// delay run (Delay) measures how late delayed messages (TIMER_DELIVER_MS or
// DELAY levels) arrive.
//
// The producer writes its send time (Unix ns, big-endian) into the first 8
// bytes of every body; the consumer subtracts it from its own clock to get
// the end-to-end latency, so the two must share a clock (same host).
//
// The generators talk to small interfaces (Sender, Puller) that
// *client.Client implements, and take their clock, progress writer and
// ticks from the config, so tests can drive them.
package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// StampSize is the length of the send timestamp at the start of a body.
const StampSize = 8

// PutStamp writes t into the first StampSize bytes of b.
func PutStamp(b []byte, t time.Time) { binary.BigEndian.PutUint64(b, uint64(t.UnixNano())) }

// Stamp reads the send time of a body written by the producer; ok is false
// when the body is too short or holds no plausible time.
func Stamp(b []byte) (t time.Time, ok bool) {
	if len(b) < StampSize {
		return time.Time{}, false
	}
	ns := int64(binary.BigEndian.Uint64(b))
	if ns <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}

// Result is the outcome of a run.
type Result struct {
	Kind     string // "produce" or "consume"
	Messages int64  // sent (acknowledged, or queued for oneway) or received
	Bytes    int64  // body bytes of Messages
	Errors   int64
	// FirstErrors holds up to maxErrorSamples distinct error texts.
	FirstErrors []string
	// Elapsed is the measured span: produce from start to the last
	// completion, consume from start to the last message received.
	Elapsed time.Duration
	// Latency is per-send latency (produce; for oneway the time to queue
	// the request) or end-to-end latency (consume).
	Latency *Snapshot
}

// MsgPerSec returns Messages per second of Elapsed.
func (r *Result) MsgPerSec() float64 { return rate(float64(r.Messages), r.Elapsed) }

// MBPerSec returns body megabytes (10^6 bytes) per second of Elapsed.
func (r *Result) MBPerSec() float64 { return rate(float64(r.Bytes)/1e6, r.Elapsed) }

func rate(v float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return v / d.Seconds()
}

// WriteSummary prints the result in a few lines.
func (r *Result) WriteSummary(w io.Writer) error {
	lat := "end-to-end latency"
	if r.Kind == "produce" {
		lat = "send latency"
	}
	s := r.Latency
	if s == nil {
		s = NewHistogram().Snapshot()
	}
	_, err := fmt.Fprintf(w, "%s: %d messages, %.1f MB in %s, %d errors\n"+
		"throughput: %.0f msg/s, %.1f MB/s\n"+
		"%s: p50 %s  p99 %s  p999 %s  max %s  mean %s\n",
		r.Kind, r.Messages, float64(r.Bytes)/1e6, r.Elapsed.Round(time.Millisecond), r.Errors,
		r.MsgPerSec(), r.MBPerSec(),
		lat, fmtDur(s.Quantile(0.5)), fmtDur(s.Quantile(0.99)), fmtDur(s.Quantile(0.999)), fmtDur(s.Max), fmtDur(s.Mean()))
	if err != nil {
		return err
	}
	for _, e := range r.FirstErrors {
		if _, err := fmt.Fprintf(w, "error: %s\n", e); err != nil {
			return err
		}
	}
	return nil
}

// fmtDur prints a latency in milliseconds with microsecond precision.
func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

const maxErrorSamples = 5

// stats are the counters a run shares between its goroutines.
type stats struct {
	messages atomic.Int64
	bytes    atomic.Int64
	errors   atomic.Int64
	hist     *Histogram

	mu      sync.Mutex
	samples []string
}

func newStats() *stats { return &stats{hist: NewHistogram()} }

func (s *stats) fail(err error) {
	s.errors.Add(1)
	msg := err.Error()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) >= maxErrorSamples {
		return
	}
	for _, m := range s.samples {
		if m == msg {
			return
		}
	}
	s.samples = append(s.samples, msg)
}

func (s *stats) result(kind string, elapsed time.Duration) *Result {
	s.mu.Lock()
	samples := append([]string(nil), s.samples...)
	s.mu.Unlock()
	return &Result{
		Kind: kind, Messages: s.messages.Load(), Bytes: s.bytes.Load(), Errors: s.errors.Load(),
		FirstErrors: samples, Elapsed: elapsed, Latency: s.hist.Snapshot(),
	}
}

// Progress configures the live progress line.
type Progress struct {
	// W receives one line per tick; nil prints nothing.
	W io.Writer
	// Ticks drives the lines; nil means a ticker every Interval.
	Ticks <-chan time.Time
	// Interval is the real ticker's period (default 1 s).
	Interval time.Duration
}

// reporter prints progress lines until stop is closed.
type reporter struct {
	verb  string // "sent" or "received"
	st    *stats
	now   func() time.Time
	start time.Time

	prevT    time.Time
	prevMsgs int64
	prevB    int64
	prevH    *Snapshot
}

func newReporter(verb string, st *stats, now func() time.Time, start time.Time) *reporter {
	return &reporter{verb: verb, st: st, now: now, start: start, prevT: start, prevH: st.hist.Snapshot()}
}

// line formats the progress since the previous line: elapsed, total count,
// interval rate, interval MB/s and interval p99.
func (r *reporter) line() string {
	t := r.now()
	msgs, b := r.st.messages.Load(), r.st.bytes.Load()
	h := r.st.hist.Snapshot()
	iv := h.Sub(r.prevH)
	dt := t.Sub(r.prevT)
	s := fmt.Sprintf("%6.1fs  %s %d  %.0f msg/s  %.1f MB/s  p99 %s  errors %d\n",
		t.Sub(r.start).Seconds(), r.verb, msgs, rate(float64(msgs-r.prevMsgs), dt), rate(float64(b-r.prevB)/1e6, dt),
		fmtDur(iv.Quantile(0.99)), r.st.errors.Load())
	r.prevT, r.prevMsgs, r.prevB, r.prevH = t, msgs, b, h
	return s
}

// run prints a line per tick until stop is closed; it returns when done.
func (r *reporter) run(p Progress, stop <-chan struct{}) {
	if p.W == nil {
		return
	}
	ticks := p.Ticks
	if ticks == nil {
		iv := p.Interval
		if iv <= 0 {
			iv = time.Second
		}
		t := time.NewTicker(iv)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-stop:
			return
		case <-ticks:
			_, _ = io.WriteString(p.W, r.line())
		}
	}
}
