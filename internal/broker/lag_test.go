package broker

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/lag"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// lagClock is the lag evaluator's injected clock in scripted scenarios.
type lagClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lagClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lagClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lagEnv is a broker whose lag evaluator runs on a scripted clock: the
// sampling loop never ticks (hour interval), the test runs passes itself.
type lagEnv struct {
	t   *testing.T
	b   *Broker
	cli *remoting.Client
	clk *lagClock
}

func startLagBroker(t *testing.T, base time.Time, mut func(*config.Broker)) *lagEnv {
	t.Helper()
	clk := &lagClock{t: base}
	b, cli := startBrokerConfig(t, Config{Broker: testBrokerConfig(t, mut), Lag: LagConfig{Interval: time.Hour, Now: clk.now}})
	return &lagEnv{t: t, b: b, cli: cli, clk: clk}
}

// step lets 30 s pass on the evaluator's clock and runs a sampling pass.
func (e *lagEnv) step() {
	e.clk.advance(30 * time.Second)
	e.b.sampleLag(context.Background())
}

// put stores n messages in queue 0 of topic and waits until the consume
// queue shows them.
func (e *lagEnv) put(topic string, n int) {
	e.t.Helper()
	before, err := e.b.store.MaxOffset(topic, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range n {
		putMsgs(e.t, e.b, topic, 0, "", fmt.Sprintf("m%d", i))
	}
	waitFor(e.t, "dispatch", func() bool {
		m, err := e.b.store.MaxOffset(topic, 0)
		return err == nil && m >= before+int64(n)
	})
}

func (e *lagEnv) commit(group, topic string, off int64) {
	e.t.Helper()
	if code := updateOffset(e.t, e.b, e.cli, group, topic, 0, off); code != 0 {
		e.t.Fatalf("commit %s %s %d: code %d", group, topic, off, code)
	}
}

// report is the evaluation of group, which must be tracked.
func (e *lagEnv) report(group string) lag.Report {
	e.t.Helper()
	r := e.b.LagReport(group, "")
	if r.Status == lag.StatusNotFound {
		e.t.Fatalf("group %s not tracked", group)
	}
	return r
}

func finding(r lag.Report, rule string) (lag.Finding, bool) {
	for _, f := range r.Findings {
		if f.Rule == rule {
			return f, true
		}
	}
	return lag.Finding{}, false
}

func TestLagStalledConsumer(t *testing.T) {
	e := startLagBroker(t, time.Now(), nil)
	createTopic(t, e.b, "T", 1)
	e.put("T", 10)
	heartbeat(t, e.b, e.cli, "10.0.0.1@c", "g", body2Sub("T", "*"))
	e.commit("g", "T", 3)
	e.step()
	for range 4 { // commits keep coming, always offset 3
		e.commit("g", "T", 3)
		e.step()
	}
	r := e.report("g")
	if r.Status != lag.StatusErr || r.Queues[0].Status != lag.StatusStall || r.TotalLag != 7 {
		t.Fatalf("group %s queue %s lag %d, want ERR STALL 7", r.Status, r.Queues[0].Status, r.TotalLag)
	}
	f, ok := finding(r, "stall")
	if !ok || !strings.Contains(f.Suggestion, "online but not committing") || !strings.Contains(f.Suggestion, "stack dump") {
		t.Fatalf("stall finding %+v", f)
	}
}

func TestLagStoppedConsumer(t *testing.T) {
	e := startLagBroker(t, time.Now(), nil)
	createTopic(t, e.b, "T", 1)
	e.put("T", 10)
	e.commit("g", "T", 3)
	for range 4 {
		e.put("T", 1)
		e.step()
	}
	r := e.report("g")
	if r.Status != lag.StatusErr || r.Queues[0].Status != lag.StatusStop || r.Online {
		t.Fatalf("group %s queue %s online %v, want ERR STOP offline", r.Status, r.Queues[0].Status, r.Online)
	}
	if f, ok := finding(r, "stop"); !ok || !strings.Contains(f.Suggestion, "no consumer of g is online") {
		t.Fatalf("stop finding %+v", f)
	}
}

func TestLagGrowing(t *testing.T) {
	e := startLagBroker(t, time.Now(), nil)
	createTopic(t, e.b, "T", 1)
	e.put("T", 4)
	heartbeat(t, e.b, e.cli, "10.0.0.1@c", "g", body2Sub("T", "*"))
	off := int64(1)
	e.commit("g", "T", off)
	e.step()
	for range 4 { // produce 4, consume 2 per step
		e.put("T", 4)
		off += 2
		e.commit("g", "T", off)
		e.step()
	}
	r := e.report("g")
	if r.Status != lag.StatusWarn || r.Queues[0].Status != lag.StatusWarn || r.ETASeconds != nil {
		t.Fatalf("group %s queue %s ETA %v, want WARN WARN not draining", r.Status, r.Queues[0].Status, r.ETASeconds)
	}
	f, ok := finding(r, "slow")
	if !ok || !strings.Contains(f.Reason, "grew in every sample") || !strings.Contains(f.Suggestion, "1 queues, 1 consumers") {
		t.Fatalf("slow finding %+v", f)
	}
}

func TestLagResetByBrokerIsNotRewind(t *testing.T) {
	e := startLagBroker(t, time.Now(), nil)
	createTopic(t, e.b, "T", 1)
	e.put("T", 20)
	for _, off := range []int64{10, 12, 14} {
		e.commit("g", "T", off)
		e.step()
	}
	res, resp := bolideReset(t, e.b, e.cli, protocol.BolideResetOffsetRequestHeader{Topic: "T", Group: "g", Timestamp: 1, OpID: "op-lag"})
	if resp.Code != 0 || len(res.Queues) != 1 || res.Queues[0].Status != body.ResetApplied || res.Queues[0].New != 0 {
		t.Fatalf("reset: %d %s %+v", resp.Code, resp.Remark, res)
	}
	for _, off := range []int64{2, 4, 6, 8} {
		e.commit("g", "T", off)
		e.step()
	}
	r := e.report("g")
	if r.Status != lag.StatusOK || r.Queues[0].Status != lag.StatusOK {
		t.Fatalf("after a broker reset: group %s queue %s, findings %+v", r.Status, r.Queues[0].Status, r.Findings)
	}
	if _, ok := finding(r, "reset"); !ok {
		t.Fatalf("no reset finding: %+v", r.Findings)
	}

	// The client going back on its own is a REWIND.
	e.commit("g", "T", 1)
	e.step()
	r = e.report("g")
	if r.Status != lag.StatusErr || r.Queues[0].Status != lag.StatusRewind {
		t.Fatalf("after a client rewind: group %s queue %s", r.Status, r.Queues[0].Status)
	}
	if f, ok := finding(r, "rewind"); !ok || !strings.Contains(f.Reason, "went back from 8 to 1") {
		t.Fatalf("rewind finding %+v", f)
	}
}

func TestLagExpiringMessages(t *testing.T) {
	// The evaluator's clock runs two hours ahead of the store's: every
	// unconsumed message looks two hours old, past a one-hour retention.
	e := startLagBroker(t, time.Now().Add(2*time.Hour), func(bc *config.Broker) { bc.FileReservedTimeHours = 1 })
	createTopic(t, e.b, "T", 1)
	e.put("T", 100)
	heartbeat(t, e.b, e.cli, "10.0.0.1@c", "g", body2Sub("T", "*"))
	for _, off := range []int64{10, 20, 30, 40} { // draining, but too late
		e.commit("g", "T", off)
		e.step()
	}
	r := e.report("g")
	f, ok := finding(r, "expiry")
	if !ok || f.Severity != lag.SeverityWarn || r.Severity != lag.SeverityWarn ||
		!strings.Contains(f.Reason, "will expire before consumption") || !strings.Contains(f.Suggestion, "resetOffsetByTime -g g -t T -s now --dry-run") {
		t.Fatalf("expiry finding %+v, severity %s", f, r.Severity)
	}
	if r.Status != lag.StatusOK || r.ETASeconds == nil || r.MaxLagSeconds < 3600 {
		t.Fatalf("status %s ETA %v lag seconds %v", r.Status, r.ETASeconds, r.MaxLagSeconds)
	}
}

func TestLagAdviceRequest(t *testing.T) {
	e := startLagBroker(t, time.Now(), nil)
	createTopic(t, e.b, "T", 1)
	e.put("T", 10)
	e.commit("g1", "T", 10)
	e.commit("g2", "T", 2)
	for range 3 {
		e.step()
	}
	ask := func(h protocol.GetLagAdviceRequestHeader) lag.Advice {
		t.Helper()
		resp := call(t, e.b, e.cli, protocol.BolideGetLagAdvice, &h, nil)
		if resp.Code != 0 {
			t.Fatalf("advice: %d %s", resp.Code, resp.Remark)
		}
		var a lag.Advice
		if err := a.Decode(resp.Body); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := ask(protocol.GetLagAdviceRequestHeader{})
	if a.BrokerName != e.b.Name() || a.Tracked != 2 || a.Window != lag.DefaultWindow || a.IntervalMillis != time.Hour.Milliseconds() ||
		len(a.Groups) != 2 || a.Groups[0].Group != "g2" || a.Groups[0].Status != lag.StatusErr || a.Groups[1].Status != lag.StatusOK {
		t.Fatalf("advice %+v", a)
	}
	if a := ask(protocol.GetLagAdviceRequestHeader{ConsumerGroup: "g1", Topic: "T"}); len(a.Groups) != 1 || a.Groups[0].Group != "g1" {
		t.Fatalf("advice of g1: %+v", a.Groups)
	}
	if a := ask(protocol.GetLagAdviceRequestHeader{ConsumerGroup: "nobody"}); len(a.Groups) != 0 {
		t.Fatalf("advice of an unknown group: %+v", a.Groups)
	}
}

func TestLagLMQCap(t *testing.T) {
	e := startLagBroker(t, time.Now(), nil)
	e.b.lags.eval = lag.New(lag.Config{MaxLMQPairs: 1, Now: e.clk.now})
	for _, lmq := range []string{"%LMQ%a", "%LMQ%b"} {
		if _, err := e.b.commitOffset("g", lmq, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	e.step()
	if st := e.b.LagStats(); st.Tracked != 1 || st.TrackedLMQ != 1 || st.SkippedLMQ != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestLagLoop runs the real sampling loop on a fast interval and the real
// clock: a consumer that never commits is STOP, one whose commits repeat
// the same offset is STALL.
func TestLagLoop(t *testing.T) {
	bc := config.DefaultBroker()
	bc.StorePathRootDir = t.TempDir()
	bc.ListenPort = 0
	bc.MappedFileSizeCommitLog = 1 << 20
	b, cli := startBrokerConfig(t, Config{Broker: bc, Lag: LagConfig{Interval: 20 * time.Millisecond}})
	createTopic(t, b, "T", 1)
	putMsgs(t, b, "T", 0, "", "a", "b", "c", "d")
	waitFor(t, "dispatch", func() bool { m, _ := b.store.MaxOffset("T", 0); return m == 4 })
	updateOffset(t, b, cli, "stopped", "T", 0, 1)
	updateOffset(t, b, cli, "stalled", "T", 0, 2)
	waitFor(t, "STOP and STALL", func() bool {
		updateOffset(t, b, cli, "stalled", "T", 0, 2)
		stop, stall := b.LagReport("stopped", "T"), b.LagReport("stalled", "T")
		return len(stop.Queues) == 1 && stop.Queues[0].Status == lag.StatusStop &&
			len(stall.Queues) == 1 && stall.Queues[0].Status == lag.StatusStall
	})
	if st := b.LagStats(); st.Tracked != 2 || st.LastPass.IsZero() {
		t.Fatalf("stats %+v", st)
	}
}
