package lag

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injected clock of every scenario.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

const step = 30 * time.Second

func newTestEvaluator(cfg Config) (*Evaluator, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg.Now = c.now
	return New(cfg), c
}

// queueState is what a scripted scenario says about one queue at a step.
type queueState struct {
	broker, committed, min int64
	commit                 bool          // the group committed during the step
	age                    time.Duration // age of the oldest unconsumed message
}

// run plays steps of a scenario: each step advances the clock by step,
// notes the commits that happened during it, then samples every queue.
func run(e *Evaluator, c *fakeClock, group, topic string, steps int, at func(i int, q int32) queueState, queues int32) {
	for i := range steps {
		c.t = c.t.Add(step / 2)
		for q := range queues {
			if at(i, q).commit {
				e.NoteCommit(group, topic, q)
			}
		}
		c.t = c.t.Add(step / 2)
		e.BeginPass()
		start := c.t
		for q := range queues {
			s := at(i, q)
			var first time.Time
			if s.broker > s.committed && s.age > 0 {
				first = c.t.Add(-s.age)
			}
			e.Observe(Key{group, topic, q}, Sample{Time: start, BrokerOffset: s.broker, Committed: s.committed,
				MinOffset: s.min, FirstUnconsumed: first})
		}
		e.EndPass(start, 0)
	}
}

func findRule(r Report, rule string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return f, true
		}
	}
	return Finding{}, false
}

func mustReport(t *testing.T, e *Evaluator, group string, info GroupInfo) Report {
	t.Helper()
	r, ok := e.Report(group, "", info)
	if !ok {
		t.Fatalf("group %s not tracked", group)
	}
	return r
}

func TestKeepingUpIsOK(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	// Lag comes and goes: it is zero in some samples.
	run(e, c, "G", "T", 10, func(i int, _ int32) queueState {
		return queueState{broker: int64(100 * i), committed: int64(100*i - 50*(i%2)), commit: true, age: time.Second}
	}, 2)
	r := mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 2})
	if r.Status != StatusOK || r.Severity != SeverityOK || r.Complete != 1 {
		t.Fatalf("status %s severity %s complete %v, want OK OK 1; findings %+v", r.Status, r.Severity, r.Complete, r.Findings)
	}
	for _, q := range r.Queues {
		if q.Status != StatusOK {
			t.Fatalf("queue %d %s, want OK", q.QueueID, q.Status)
		}
	}
	if h := r.Headline(); h.Severity != SeverityOK {
		t.Fatalf("headline %+v", h)
	}
}

func TestSlowConsumerIsWARN(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	// Produce 10/s, consume 5/s on each of 4 queues: lag grows every sample.
	run(e, c, "G", "T", 10, func(i int, _ int32) queueState {
		return queueState{broker: 1000 + int64(300*i), committed: 500 + int64(150*i), commit: true, age: time.Minute}
	}, 4)
	r := mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 1})
	if r.Status != StatusWarn || r.Severity != SeverityWarn {
		t.Fatalf("status %s severity %s, want WARN", r.Status, r.Severity)
	}
	f, ok := findRule(r, "slow")
	if !ok || f.Status != StatusWarn || !strings.Contains(f.Suggestion, "add consumers (4 queues, 1 consumers)") {
		t.Fatalf("slow finding %+v", f)
	}
	if r.ETASeconds != nil {
		t.Fatalf("ETA %v for a growing backlog", *r.ETASeconds)
	}
	if r.ProduceRate < 39 || r.ProduceRate > 41 || r.ConsumeRate < 19 || r.ConsumeRate > 21 {
		t.Fatalf("rates P=%v C=%v, want 40 and 20", r.ProduceRate, r.ConsumeRate)
	}
	if h := r.Headline(); !strings.Contains(h.Reason, "grew in every sample") {
		t.Fatalf("headline %+v", h)
	}
	// With a consumer per queue, the advice is more queues.
	r = mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 4})
	if f, _ := findRule(r, "slow"); !strings.Contains(f.Suggestion, "add queues") {
		t.Fatalf("slow suggestion with 4 consumers: %q", f.Suggestion)
	}
}

func TestStalledConsumerIsSTALL(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	// Queue 0 progresses and catches up; queue 1's commits repeat offset 40.
	run(e, c, "G", "T", 10, func(i int, q int32) queueState {
		if q == 1 {
			return queueState{broker: 100 + int64(10*i), committed: 40, commit: true, age: time.Hour}
		}
		return queueState{broker: int64(10 * i), committed: int64(10 * i), commit: true}
	}, 2)
	r := mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 1})
	if r.Status != StatusErr {
		t.Fatalf("group status %s, want ERR (STALL folded)", r.Status)
	}
	if r.Queues[0].QueueID != 1 || r.Queues[0].Status != StatusStall {
		t.Fatalf("worst queue %+v, want queue 1 STALL", r.Queues[0])
	}
	f, ok := findRule(r, "stall")
	if !ok || f.Severity != SeverityErr || !strings.Contains(f.Suggestion, "online but not committing") ||
		!strings.Contains(f.Reason, "offset stays at 40") || !strings.Contains(f.Reason, "other queues progress") {
		t.Fatalf("stall finding %+v", f)
	}
}

func TestStoppedConsumerIsSTOP(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	// Commits for three steps, then none: messages keep arriving.
	run(e, c, "G", "T", 10, func(i int, _ int32) queueState {
		committed := int64(10 * min(i, 3))
		return queueState{broker: 5 + int64(10*i), committed: committed, commit: i <= 3, age: time.Minute}
	}, 1)
	r := mustReport(t, e, "G", GroupInfo{})
	if r.Status != StatusErr || r.Queues[0].Status != StatusStop {
		t.Fatalf("group %s queue %s, want ERR STOP", r.Status, r.Queues[0].Status)
	}
	f, ok := findRule(r, "stop")
	if !ok || !strings.Contains(f.Suggestion, "no consumer of G is online") || !strings.Contains(f.Reason, "last commit") {
		t.Fatalf("stop finding %+v", f)
	}
	// Online but not committing: a stack dump.
	r = mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 1})
	if f, _ := findRule(r, "stop"); !strings.Contains(f.Suggestion, "stack dump") {
		t.Fatalf("stop suggestion when online: %q", f.Suggestion)
	}
}

func TestNeverCommittedIsSTOP(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	run(e, c, "G", "T", 4, func(i int, _ int32) queueState {
		return queueState{broker: 100, committed: 10, age: time.Minute}
	}, 1)
	r := mustReport(t, e, "G", GroupInfo{})
	if f, ok := findRule(r, "stop"); !ok || !strings.Contains(f.Reason, "no commit seen") {
		t.Fatalf("findings %+v", r.Findings)
	}
}

func TestOffsetGoingBackIsREWIND(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	run(e, c, "G", "T", 6, func(i int, _ int32) queueState {
		committed := int64(100 + 10*i)
		if i >= 4 {
			committed = 20 // a client committed an old offset on its own
		}
		return queueState{broker: 200 + int64(10*i), committed: committed, commit: true, age: time.Minute}
	}, 1)
	r := mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 1})
	if r.Status != StatusErr || r.Queues[0].Status != StatusRewind {
		t.Fatalf("group %s queue %s, want ERR REWIND", r.Status, r.Queues[0].Status)
	}
	f, ok := findRule(r, "rewind")
	if !ok || f.Evidence["from"] != 130 || f.Evidence["to"] != 20 || !strings.Contains(f.Reason, "went back from 130 to 20") {
		t.Fatalf("rewind finding %+v", f)
	}
}

func TestBrokerResetSuppressesREWIND(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	state := func(i int, _ int32) queueState {
		return queueState{broker: 200 + int64(10*i), committed: 100 + int64(10*i), commit: true, age: time.Minute}
	}
	run(e, c, "G", "T", 5, state, 1)
	// A pass reads the offsets, then the broker resets before the pass
	// hands the (stale) sample over: it must be dropped.
	staleAt := c.t.Add(time.Second)
	c.t = c.t.Add(2 * time.Second)
	e.NoteReset("G", "T", []int32{0}, c.t)
	e.Observe(Key{"G", "T", 0}, Sample{Time: staleAt, BrokerOffset: 250, Committed: 150})
	run(e, c, "G", "T", 5, func(i int, q int32) queueState {
		s := state(i+5, q)
		s.committed = 30 + int64(20*i) // rewound by the reset, then draining
		return s
	}, 1)
	r := mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 1})
	if r.Queues[0].Status == StatusRewind || r.Status != StatusOK {
		t.Fatalf("after a broker reset: group %s queue %s, findings %+v", r.Status, r.Queues[0].Status, r.Findings)
	}
	if r.Queues[0].Samples != 5 || r.Queues[0].ResetAt == 0 {
		t.Fatalf("window after reset: %+v", r.Queues[0])
	}
	if f, ok := findRule(r, "reset"); !ok || f.Severity != SeverityOK {
		t.Fatalf("reset finding missing: %+v", r.Findings)
	}
}

func TestExpiringMessages(t *testing.T) {
	e, c := newTestEvaluator(Config{FileReserved: time.Hour})
	// Draining at 1/s net with 1200 left: ETA 20 min; the oldest message is
	// 50 min old: 70 min > 1 h.
	run(e, c, "G", "T", 10, func(i int, _ int32) queueState {
		return queueState{broker: 10_000 + int64(30*i), committed: 10_000 - 1470 + int64(60*i), commit: true, age: 50 * time.Minute}
	}, 1)
	r := mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 1})
	f, ok := findRule(r, "expiry")
	if !ok || f.Severity != SeverityWarn || r.Severity != SeverityWarn || !strings.Contains(f.Reason, "will expire before consumption") ||
		!strings.Contains(f.Reason, "draining takes 20m00s") || !strings.Contains(f.Suggestion, "resetOffsetByTime -g G -t T -s now --dry-run") {
		t.Fatalf("expiry finding %+v (severity %s)", f, r.Severity)
	}
	if r.Status != StatusOK {
		t.Fatalf("Burrow status %s, want OK (the lag decreases)", r.Status)
	}

	// The same backlog 30 min old drains in time: no warning.
	e2, c2 := newTestEvaluator(Config{FileReserved: time.Hour})
	run(e2, c2, "G", "T", 10, func(i int, _ int32) queueState {
		return queueState{broker: 10_000 + int64(30*i), committed: 10_000 - 1470 + int64(60*i), commit: true, age: 30 * time.Minute}
	}, 1)
	if f, ok := findRule(mustReport(t, e2, "G", GroupInfo{Online: true}), "expiry"); ok {
		t.Fatalf("unexpected %+v", f)
	}

	// Not draining: the age alone decides.
	e3, c3 := newTestEvaluator(Config{FileReserved: time.Hour})
	run(e3, c3, "G", "T", 10, func(i int, _ int32) queueState {
		return queueState{broker: 100 + int64(10*i), committed: 50 + int64(5*i), commit: true, age: 61 * time.Minute}
	}, 1)
	f, ok = findRule(mustReport(t, e3, "G", GroupInfo{Online: true}), "expiry")
	if !ok || !strings.Contains(f.Reason, "not draining") {
		t.Fatalf("expiry when not draining: %+v", f)
	}
}

func TestHotQueue(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	run(e, c, "G", "T", 10, func(i int, q int32) queueState {
		lag := int64(10)
		if q == 2 {
			lag = 5000
		}
		// Lag decreases now and then: OK by Burrow, skewed nonetheless.
		return queueState{broker: 10_000 + int64(100*i), committed: 10_000 + int64(100*i) - lag - int64(i%2), commit: true, age: time.Minute}
	}, 4)
	r := mustReport(t, e, "G", GroupInfo{Online: true, Consumers: 4})
	f, ok := findRule(r, "hot-queue")
	if !ok || !slices.Equal(f.QueueIDs, []int32{2}) || f.Severity != SeverityWarn || !strings.Contains(f.Reason, "median queue lag") {
		t.Fatalf("hot-queue finding %+v; all %+v", f, r.Findings)
	}
	if r.MaxLagQueue != 2 || r.MaxLag < 5000 {
		t.Fatalf("max lag %d on queue %d", r.MaxLag, r.MaxLagQueue)
	}
	// Evenly spread lag is not hot.
	e2, c2 := newTestEvaluator(Config{})
	run(e2, c2, "G", "T", 3, func(i int, q int32) queueState {
		return queueState{broker: 10_000, committed: 5000 + int64(i), commit: true}
	}, 4)
	if f, ok := findRule(mustReport(t, e2, "G", GroupInfo{}), "hot-queue"); ok {
		t.Fatalf("unexpected %+v", f)
	}
}

func TestIncompleteWindowIsNotJudged(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	// Two samples of a stalled queue: too few to call it STALL.
	run(e, c, "G", "T", 2, func(i int, _ int32) queueState {
		return queueState{broker: 100, committed: 10, commit: true}
	}, 1)
	r := mustReport(t, e, "G", GroupInfo{Online: true})
	if r.Status != StatusOK || r.Complete != 0.2 {
		t.Fatalf("status %s complete %v, want OK 0.2", r.Status, r.Complete)
	}
	if f, ok := findRule(r, "incomplete"); !ok || !strings.Contains(f.Reason, "2 of 10 samples") {
		t.Fatalf("incomplete finding %+v", r.Findings)
	}
	// One more sample and it is.
	run(e, c, "G", "T", 1, func(i int, _ int32) queueState {
		return queueState{broker: 100, committed: 10, commit: true}
	}, 1)
	if r := mustReport(t, e, "G", GroupInfo{Online: true}); r.Queues[0].Status != StatusStall {
		t.Fatalf("third sample: %s", r.Queues[0].Status)
	}
}

func TestFellBehindRetention(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	run(e, c, "G", "T", 3, func(i int, _ int32) queueState {
		return queueState{broker: 1000 + int64(i), committed: 100, min: 400, commit: true}
	}, 1)
	r := mustReport(t, e, "G", GroupInfo{Online: true})
	f, ok := findRule(r, "retention")
	if !ok || f.Severity != SeverityErr || f.Evidence["lost"] != 300 || r.Severity != SeverityErr {
		t.Fatalf("retention finding %+v", f)
	}
}

func TestGroupFoldingAndOrder(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	// G1: one queue slow, one stopped -> ERR. G2: slow -> WARN. G3: OK.
	groups := map[Key]func(i int) queueState{
		{"G1", "T", 0}: func(i int) queueState {
			return queueState{broker: 100 + int64(20*i), committed: 50 + int64(10*i), commit: true}
		},
		{"G1", "T", 1}: func(i int) queueState { return queueState{broker: 100 + int64(i), committed: 5} },
		{"G2", "T", 0}: func(i int) queueState {
			return queueState{broker: 100 + int64(20*i), committed: 50 + int64(10*i), commit: true}
		},
		{"G3", "T", 0}: func(i int) queueState {
			return queueState{broker: int64(20 * i), committed: int64(20 * i), commit: true}
		},
	}
	for i := range 10 {
		c.t = c.t.Add(step / 2)
		for k, at := range groups {
			if at(i).commit {
				e.NoteCommit(k.Group, k.Topic, k.Queue)
			}
		}
		c.t = c.t.Add(step / 2)
		e.BeginPass()
		for k, at := range groups {
			s := at(i)
			e.Observe(k, Sample{Time: c.t, BrokerOffset: s.broker, Committed: s.committed})
		}
		e.EndPass(c.t, 0)
	}
	rs := e.Reports("", "", func(string) GroupInfo { return GroupInfo{Online: true, Consumers: 1} })
	var got []string
	for _, r := range rs {
		got = append(got, r.Group+":"+string(r.Status))
	}
	if want := []string{"G1:ERR", "G2:WARN", "G3:OK"}; !slices.Equal(got, want) {
		t.Fatalf("reports %v, want %v", got, want)
	}
	if rs[0].Queues[0].Status != StatusStop || rs[0].Queues[1].Status != StatusWarn {
		t.Fatalf("G1 queues %s %s", rs[0].Queues[0].Status, rs[0].Queues[1].Status)
	}
	// A topic filter that matches nothing.
	if r, ok := e.Report("G1", "other", GroupInfo{}); ok || r.Status != StatusNotFound {
		t.Fatalf("report of an untracked topic: %v %s", ok, r.Status)
	}
}

func TestLMQCapAndForgetting(t *testing.T) {
	e, c := newTestEvaluator(Config{MaxLMQPairs: 2})
	e.BeginPass()
	for i, topic := range []string{"%LMQ%a", "%LMQ%b", "%LMQ%c", "T"} {
		ok := e.Observe(Key{"G", topic, 0}, Sample{Time: c.t, BrokerOffset: 1})
		if want := i != 2; ok != want {
			t.Fatalf("observe %s: %v, want %v", topic, ok, want)
		}
	}
	e.EndPass(c.t, 0)
	if s := e.Stats(); s.Tracked != 3 || s.TrackedLMQ != 2 || s.SkippedLMQ != 1 {
		t.Fatalf("stats %+v", s)
	}
	// The next pass sees only T: the LMQs are forgotten, room is freed.
	c.t = c.t.Add(step)
	e.BeginPass()
	e.Observe(Key{"G", "T", 0}, Sample{Time: c.t, BrokerOffset: 1})
	e.EndPass(c.t, 0)
	if s := e.Stats(); s.Tracked != 1 || s.TrackedLMQ != 0 || s.SkippedLMQ != 0 {
		t.Fatalf("stats after forgetting %+v", s)
	}
}

func TestBroadcastGroupIsNotJudged(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	run(e, c, "G", "T", 5, func(i int, _ int32) queueState { return queueState{broker: 100, committed: 1} }, 1)
	r := mustReport(t, e, "G", GroupInfo{Broadcast: true, Online: true})
	if r.Status != StatusOK || r.Severity != SeverityOK {
		t.Fatalf("broadcast group %s %s", r.Status, r.Severity)
	}
	if _, ok := findRule(r, "broadcast"); !ok {
		t.Fatalf("findings %+v", r.Findings)
	}
}

func TestAdviceRoundTrip(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	run(e, c, "G", "T", 4, func(i int, _ int32) queueState { return queueState{broker: 100, committed: 1} }, 1)
	a := Advice{BrokerName: "broker-a", Window: 10, Groups: e.Reports("", "", func(string) GroupInfo { return GroupInfo{} })}
	var back Advice
	if err := back.Decode(a.Encode()); err != nil {
		t.Fatal(err)
	}
	if back.BrokerName != "broker-a" || len(back.Groups) != 1 || back.Groups[0].Queues[0].Status != StatusStop ||
		back.Groups[0].ETASeconds != nil {
		t.Fatalf("round trip %+v", back)
	}
	if err := back.Decode([]byte("{")); err == nil {
		t.Fatal("decoding garbage succeeded")
	}
}

func TestDuration(t *testing.T) {
	for sec, want := range map[float64]string{0: "0s", 59.4: "59s", 60: "1m00s", 3599: "59m59s", 3600: "1h00m", 49 * 3600: "2d01h"} {
		if got := Duration(sec); got != want {
			t.Errorf("Duration(%v) = %q, want %q", sec, got, want)
		}
	}
}

func TestCommitsOfUntrackedQueuesAreIgnored(t *testing.T) {
	e, c := newTestEvaluator(Config{})
	e.NoteCommit("G", "T", 0) // not tracked yet: must not create a window
	if st := e.Stats(); st.Tracked != 0 {
		t.Fatalf("stats %+v", st)
	}
	run(e, c, "G", "T", 1, func(int, int32) queueState { return queueState{broker: 10, committed: 1} }, 1)
	if r := mustReport(t, e, "G", GroupInfo{}); r.Queues[0].LastCommit != 0 {
		t.Fatalf("last commit %d before any tracked commit", r.Queues[0].LastCommit)
	}
}

// TestConcurrentUse runs commits, passes, resets and reports at once (for
// the race detector) and checks the evaluator still answers.
func TestConcurrentUse(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	e := New(Config{Now: clock})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := range 200 {
			e.NoteCommit("G", "T", int32(i%4))
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 20 {
			start := clock()
			e.BeginPass()
			for q := range int32(4) {
				e.Observe(Key{"G", "T", q}, Sample{Time: start, BrokerOffset: int64(100 + i), Committed: int64(i)})
			}
			e.EndPass(start, 0)
			if i == 10 {
				e.NoteReset("G", "T", []int32{1}, clock())
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range 20 {
			e.Reports("", "", func(string) GroupInfo { return GroupInfo{} })
		}
	}()
	wg.Wait()
	r, ok := e.Report("G", "T", GroupInfo{})
	if !ok || len(r.Queues) != 4 {
		t.Fatalf("report %v %+v", ok, r)
	}
}
