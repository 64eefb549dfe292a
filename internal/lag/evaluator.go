package lag

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultWindow      = 10
	DefaultMinSamples  = 3
	DefaultMaxLMQPairs = 100_000
	DefaultHotFactor   = 3
	DefaultHotMinLag   = 1000
	DefaultHotShare    = 0.5
)

// lmqPrefix marks Light Message Queue names (message.LMQPrefix; repeated
// here to keep this package free of broker dependencies).
const lmqPrefix = "%LMQ%"

// Config tunes an Evaluator. Zero fields take the defaults above.
type Config struct {
	// Window is how many samples each queue keeps (Burrow's intervals).
	Window int
	// MinSamples is how many samples a queue needs before it is judged
	// anything but OK: fewer say too little.
	MinSamples int
	// MaxLMQPairs caps the (group, LMQ) pairs tracked; LMQ rows beyond it
	// are skipped and counted. Ordinary topics are always tracked.
	MaxLMQPairs int
	// FileReserved is the broker's fileReservedTime; 0 disables the
	// expiry rule.
	FileReserved time.Duration
	// HotFactor and HotMinLag: a queue is hot when its lag exceeds
	// HotFactor times the group's median queue lag and HotMinLag messages.
	HotFactor float64
	HotMinLag int64
	// HotShare: a queue is hot when it holds more than this share of the
	// group's lag (and more than HotMinLag messages), with three or more
	// queues.
	HotShare float64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) fill() {
	if c.Window <= 1 {
		c.Window = DefaultWindow
	}
	if c.MinSamples <= 1 {
		c.MinSamples = DefaultMinSamples
	}
	c.MinSamples = min(c.MinSamples, c.Window)
	if c.MaxLMQPairs <= 0 {
		c.MaxLMQPairs = DefaultMaxLMQPairs
	}
	if c.HotFactor <= 0 {
		c.HotFactor = DefaultHotFactor
	}
	if c.HotMinLag <= 0 {
		c.HotMinLag = DefaultHotMinLag
	}
	if c.HotShare <= 0 {
		c.HotShare = DefaultHotShare
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Key names one queue of one group.
type Key struct {
	Group string
	Topic string
	Queue int32
}

// Sample is one reading of a queue.
type Sample struct {
	// Time is when the offsets were read (taken before reading them, so a
	// reset noted after a sample's reads always has a later time).
	Time         time.Time
	BrokerOffset int64 // max offset: the next message's offset
	MinOffset    int64 // the oldest offset still stored
	Committed    int64 // the group's committed offset
	// FirstUnconsumed is the store time of the oldest unconsumed message
	// still stored; zero when caught up or unknown.
	FirstUnconsumed time.Time
	// LastCommit is the time of the latest commit the evaluator was told
	// of (NoteCommit) when the sample was taken; the Evaluator sets it.
	LastCommit time.Time
}

// Lag is the number of messages not consumed.
func (s Sample) Lag() int64 { return max(s.BrokerOffset-s.Committed, 0) }

// point is a Sample as a window stores it: times as unix nanoseconds (0:
// none), half a Sample's size, for a window per tracked queue.
type point struct {
	t, first, commit       int64
	broker, min, committed int64
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func toPoint(s Sample) point {
	return point{t: nanos(s.Time), first: nanos(s.FirstUnconsumed), commit: nanos(s.LastCommit),
		broker: s.BrokerOffset, min: s.MinOffset, committed: s.Committed}
}

func (p point) sample() Sample {
	return Sample{Time: fromNanos(p.t), FirstUnconsumed: fromNanos(p.first), LastCommit: fromNanos(p.commit),
		BrokerOffset: p.broker, MinOffset: p.min, Committed: p.committed}
}

// window is one queue's history, oldest sample first. Fields but
// lastCommit are guarded by Evaluator.mu.
type window struct {
	samples    []point
	lastCommit atomic.Int64 // unix nanoseconds of the latest commit, 0: none
	resetAt    time.Time    // the latest reset the broker performed
	gen        uint64       // the sampling pass that last saw the queue
}

// commitTime is the time of the latest commit, zero when none was seen.
func (w *window) commitTime() time.Time {
	return fromNanos(w.lastCommit.Load())
}

// Evaluator keeps the sample windows and judges them. It is safe for
// concurrent use: the sampling loop feeds it while requests read it.
type Evaluator struct {
	cfg Config

	mu     sync.Mutex
	queues map[Key]*window
	groups map[string]map[Key]*window // the same windows by group
	lmqs   int                        // windows of LMQ keys
	// lookup holds the same windows for NoteCommit, which must not take
	// mu: commits arrive on the pull path and must not wait for a
	// sampling pass or a report.
	lookup  sync.Map // Key -> *window
	gen     uint64
	skipped int // LMQ rows skipped by the last pass
	passAt  time.Time
	passDur time.Duration
}

// New returns an empty evaluator.
func New(cfg Config) *Evaluator {
	cfg.fill()
	return &Evaluator{cfg: cfg, queues: map[Key]*window{}, groups: map[string]map[Key]*window{}}
}

// Config returns the evaluator's configuration, defaults filled in.
func (e *Evaluator) Config() Config { return e.cfg }

// BeginPass starts a sampling pass: queues not observed before EndPass
// are forgotten (their offsets were deleted).
func (e *Evaluator) BeginPass() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gen++
	e.skipped = 0
}

// EndPass ends a sampling pass that began at start: it forgets queues the
// pass did not observe and records the pass's duration. skipped counts
// LMQ rows the caller left out itself because of the cap.
func (e *Evaluator) EndPass(start time.Time, skipped int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.skipped += skipped
	for k, w := range e.queues {
		if w.gen != e.gen {
			e.deleteLocked(k)
		}
	}
	e.passAt = start
	e.passDur = e.cfg.Now().Sub(start)
}

func (e *Evaluator) deleteLocked(k Key) {
	delete(e.queues, k)
	e.lookup.Delete(k)
	if g := e.groups[k.Group]; g != nil {
		delete(g, k)
		if len(g) == 0 {
			delete(e.groups, k.Group)
		}
	}
	if isLMQ(k.Topic) {
		e.lmqs--
	}
}

func isLMQ(topic string) bool { return strings.HasPrefix(topic, lmqPrefix) }

// windowLocked returns k's window, creating it unless that would exceed
// the LMQ cap (then nil).
func (e *Evaluator) windowLocked(k Key) *window {
	if w, ok := e.queues[k]; ok {
		return w
	}
	lmq := isLMQ(k.Topic)
	if lmq && e.lmqs >= e.cfg.MaxLMQPairs {
		return nil
	}
	w := &window{gen: e.gen}
	e.queues[k] = w
	e.lookup.Store(k, w)
	g := e.groups[k.Group]
	if g == nil {
		g = map[Key]*window{}
		e.groups[k.Group] = g
	}
	g[k] = w
	if lmq {
		e.lmqs++
	}
	return w
}

// Observe adds a sample of k's queue. It reports false when the queue is
// not tracked because of the LMQ cap (the row is counted as skipped). A
// sample read before the queue's latest reset is dropped: it predates the
// reset and would look like a rewind.
func (e *Evaluator) Observe(k Key, s Sample) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.windowLocked(k)
	if w == nil {
		e.skipped++
		return false
	}
	w.gen = e.gen
	if s.Time.Before(w.resetAt) {
		return true
	}
	s.LastCommit = w.commitTime()
	p := toPoint(s)
	if n := len(w.samples); n > 0 && p.t <= w.samples[n-1].t {
		return true // out of order: keep the window's times increasing
	}
	if w.samples == nil {
		w.samples = make([]point, 0, e.cfg.Window) // exactly: a window per queue adds up
	}
	if len(w.samples) == e.cfg.Window {
		copy(w.samples, w.samples[1:])
		w.samples = w.samples[:len(w.samples)-1]
	}
	w.samples = append(w.samples, p)
	return true
}

// NoteCommit records that the group committed an offset of a tracked
// queue now (whatever the value: a commit of the same offset is what
// tells STALL from STOP). Untracked queues are ignored, so commits cannot
// grow the evaluator.
func (e *Evaluator) NoteCommit(group, topic string, queue int32) {
	if v, ok := e.lookup.Load(Key{group, topic, queue}); ok {
		v.(*window).lastCommit.Store(e.cfg.Now().UnixNano())
	}
}

// NoteReset records that the broker itself reset the group's offsets of
// the queues at time at: their windows restart, so the offset going back
// is not judged a REWIND, and samples read before at are dropped.
func (e *Evaluator) NoteReset(group, topic string, queues []int32, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range queues {
		w := e.windowLocked(Key{group, topic, q})
		if w == nil {
			continue
		}
		w.samples = nil
		w.resetAt = at
	}
}

// Stats describes the evaluator's own state, for reports and metrics.
type Stats struct {
	Tracked    int           // queues tracked
	TrackedLMQ int           // of which LMQs
	SkippedLMQ int           // LMQ rows the last pass skipped (cap)
	LastPass   time.Time     // when the last pass began
	PassTime   time.Duration // how long it took
}

// Stats returns the evaluator's own figures.
func (e *Evaluator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return Stats{Tracked: len(e.queues), TrackedLMQ: e.lmqs, SkippedLMQ: e.skipped, LastPass: e.passAt, PassTime: e.passDur}
}
