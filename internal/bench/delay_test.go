package bench

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/message"
)

// delayed builds the message a delay run sends as send seq at sent, as the
// broker hands it back (born timestamp set from sent).
func delayed(seq int64, sent time.Time, d time.Duration, level int) *message.Message {
	body := make([]byte, DelayStampSize+8)
	PutStamp(body, sent)
	props := delayMessage(d, level)(seq, sent, body)
	return &message.Message{Topic: "T", Body: body, Properties: props, BornTimestamp: sent.UnixMilli()}
}

func TestDueTime(t *testing.T) {
	sent := time.UnixMilli(1_700_000_000_123)
	m := delayed(7, sent, 3*time.Second, 0)
	if due, ok := DueTime(m, 0); !ok || !due.Equal(sent.Add(3*time.Second)) {
		t.Fatalf("TIMER_DELIVER_MS due %v, %v", due, ok)
	}
	// The property wins over the body; without it the body answers.
	m.Properties[message.PropertyTimerDeliverMS] = strconv.FormatInt(sent.UnixMilli()+500, 10)
	if due, _ := DueTime(m, 0); !due.Equal(sent.Add(500 * time.Millisecond)) {
		t.Fatalf("property not preferred: %v", due)
	}
	m.Properties.Delete(message.PropertyTimerDeliverMS)
	if due, ok := DueTime(m, 0); !ok || !due.Equal(sent.Add(3*time.Second)) {
		t.Fatalf("body fallback %v, %v", due, ok)
	}
	// Levels: born timestamp plus the level's delay (level 3 = 10 s).
	lm := delayed(1, sent, 10*time.Second, 3)
	if lm.Properties.Get(message.PropertyDelayTimeLevel) != "3" || lm.Properties.Get(message.PropertyTimerDeliverMS) != "" {
		t.Fatalf("level properties %v", lm.Properties)
	}
	if due, ok := DueTime(lm, 3); !ok || !due.Equal(sent.Add(10*time.Second)) {
		t.Fatalf("level due %v, %v", due, ok)
	}
	if _, ok := DueTime(&message.Message{Body: []byte("short")}, 0); ok {
		t.Fatal("a foreign message has a due time")
	}
	if _, ok := DueTime(&message.Message{}, 2); ok {
		t.Fatal("a level message without born timestamp has a due time")
	}
}

func TestDelayTrackerFromFakeStream(t *testing.T) {
	sent := time.UnixMilli(1_700_000_000_000)
	const d = 3 * time.Second
	tr := newDelayTracker(0)
	due := sent.Add(d)
	// 100 messages: 0..97 arrive 10 ms + i µs late, 98 arrives 5 ms early,
	// 99 never arrives; 5 arrives twice; one foreign message.
	var batch []*message.Message
	for i := range int64(98) {
		batch = append(batch, delayed(i, sent, d, 0))
	}
	tr.observe(due.Add(10*time.Millisecond), batch[:50])
	tr.observe(due.Add(20*time.Millisecond), batch[50:])
	tr.observe(due.Add(-5*time.Millisecond), []*message.Message{delayed(98, sent, d, 0)})
	tr.observe(due.Add(time.Second), []*message.Message{delayed(5, sent, d, 0), {Body: []byte("x")}})

	r := tr.result(&Result{Messages: 100}, &Result{})
	if r.Sent != 100 || r.Received != 99 || r.Missing != 1 || r.Early != 1 || r.Duplicates != 1 || r.Foreign != 1 {
		t.Fatalf("counts %+v", r)
	}
	if r.Earliest != -5*time.Millisecond {
		t.Fatalf("earliest %v", r.Earliest)
	}
	s := r.Lateness
	if s.Count != 98 || s.Min != 10*time.Millisecond || s.Max != 20*time.Millisecond {
		t.Fatalf("lateness count %d min %v max %v", s.Count, s.Min, s.Max)
	}
	if p50 := s.Quantile(0.5); p50 < 10*time.Millisecond || p50 > 10*time.Millisecond*101/100 {
		t.Fatalf("p50 %v, want 10 ms", p50)
	}
	if p99 := s.Quantile(0.99); p99 < 19*time.Millisecond {
		t.Fatalf("p99 %v, want ~20 ms", p99)
	}
	if err := r.Check(); !errors.Is(err, ErrDelayContract) {
		t.Fatalf("check %v", err)
	}
	var out bytes.Buffer
	if err := r.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"delivered: 99 of 100 sent, 1 early (earliest -5.000ms), 1 missing, 1 duplicates, 1 foreign", "lateness: p50 10."} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("summary lacks %q:\n%s", want, out.String())
		}
	}
	ok := newDelayTracker(0)
	ok.observe(due, []*message.Message{delayed(0, sent, d, 0)})
	if err := ok.result(&Result{Messages: 1}, &Result{}).Check(); err != nil {
		t.Fatalf("an on-time run fails its check: %v", err)
	}
}

func TestDelayOf(t *testing.T) {
	if d, err := DelayOf(3*time.Second, 0); err != nil || d != 3*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if d, err := DelayOf(0, 5); err != nil || d != time.Minute {
		t.Fatalf("level 5: %v %v", d, err)
	}
	if d, err := DelayOf(0, 18); err != nil || d != 2*time.Hour {
		t.Fatalf("level 18: %v %v", d, err)
	}
	for _, c := range []struct {
		d     time.Duration
		level int
	}{{0, 19}, {0, -1}, {-time.Second, 0}} {
		if _, err := DelayOf(c.d, c.level); err == nil {
			t.Errorf("DelayOf(%v, %d) accepted", c.d, c.level)
		}
	}
	if _, err := Delay(context.Background(), nil, nil, DelayConfig{Produce: ProduceConfig{Size: 8}}); err == nil {
		t.Fatal("a body too small for the delay stamp was accepted")
	}
}

// startTopic starts a broker with topic (queues queues) and returns a
// client, the route and the queues' end offsets.
func startTopic(t *testing.T, topic string, queues int) (*client.Client, *client.Route, []int64) {
	t.Helper()
	env := clienttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.CreateTopic(ctx, env.BrokerAddr, topic, queues); err != nil {
		t.Fatal(err)
	}
	route := clienttest.WaitRoute(t, c, topic)
	offsets := make([]int64, len(route.ReadQueues))
	for i, q := range route.ReadQueues {
		var err error
		if offsets[i], err = c.MaxOffset(ctx, q.BrokerAddr, topic, q.QueueID); err != nil {
			t.Fatal(err)
		}
	}
	return c, route, offsets
}

// TestDelayAgainstBroker checks the plumbing only: every message sent is
// received and accounted for (early or not: that is the broker's part).
func TestDelayAgainstBroker(t *testing.T) {
	const topic = "BenchDelay"
	c, route, offsets := startTopic(t, topic, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 100
	res, err := Delay(ctx, []Sender{c}, c, DelayConfig{
		Produce: ProduceConfig{Topic: topic, Size: 64, Window: 4, Count: n, Rate: 1000},
		Consume: ConsumeConfig{Group: "BenchDelayGroup", Queues: route.ReadQueues, Offsets: offsets, Suspend: time.Second},
		Delay:   200 * time.Millisecond,
		Grace:   20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != n || res.Produce.Errors != 0 {
		t.Fatalf("sent %d (errors %v), want %d", res.Sent, res.Produce.FirstErrors, n)
	}
	if res.Received != n || res.Missing != 0 || res.Duplicates != 0 || res.Foreign != 0 {
		t.Fatalf("received %+v", res)
	}
	if res.Early+int64(res.Lateness.Count) != n {
		t.Fatalf("%d early + %d on time or late != %d", res.Early, res.Lateness.Count, n)
	}
	var out bytes.Buffer
	if err := res.WriteSummary(&out); err != nil || !strings.Contains(out.String(), "delivered: 100 of 100 sent") {
		t.Fatalf("summary %q, %v", out.String(), err)
	}
}
