package compat

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
)

// shortLevels makes delay level n last n seconds.
const shortLevels = "1s 2s 3s 4s 5s 6s 7s 8s 9s 10s 11s 12s 13s 14s 15s 16s 17s 18s"

// lateBound is how late past its due time a delayed message may arrive on
// a loaded CI machine.
const lateBound = 5 * time.Second

// delayed is a delayed message sent by a test, and the window in which it
// is due: the broker fixes the due time from its receipt of the send,
// which lies between sentFrom and sentTo.
type delayed struct {
	body     string
	delay    time.Duration // for a relative delay; 0 when dueAbs is set
	dueAbs   time.Time     // for TIMER_DELIVER_MS
	sentFrom time.Time
	sentTo   time.Time
}

func (d delayed) earliest() time.Time {
	if !d.dueAbs.IsZero() {
		return d.dueAbs
	}
	return d.sentFrom.Add(d.delay)
}

func (d delayed) latest() time.Time {
	if !d.dueAbs.IsZero() {
		return d.dueAbs.Add(lateBound)
	}
	return d.sentTo.Add(d.delay + lateBound)
}

// sendDelayed sends body to topic with the delay properties set by with,
// recording the send window.
func sendDelayed(ctx context.Context, t *testing.T, p interface {
	SendSync(context.Context, ...*primitive.Message) (*primitive.SendResult, error)
}, topic string, d delayed, with func(*primitive.Message)) delayed {
	t.Helper()
	m := primitive.NewMessage(topic, []byte(d.body))
	with(m)
	d.sentFrom = time.Now()
	if _, err := p.SendSync(ctx, m); err != nil {
		t.Fatalf("send %s: %v", d.body, err)
	}
	d.sentTo = time.Now()
	return d
}

// checkArrival checks that the single delivery of d came inside its due
// window.
func checkArrival(t *testing.T, rec *recorder, d delayed) {
	t.Helper()
	ds := rec.of(d.body)
	if len(ds) != 1 {
		t.Errorf("%s delivered %d times, want once", d.body, len(ds))
		return
	}
	at := ds[0].at
	if at.Before(d.earliest().Add(-timeSlack)) {
		t.Errorf("%s arrived %v before it was due", d.body, d.earliest().Sub(at))
	}
	if at.After(d.latest()) {
		t.Errorf("%s arrived %v after it was due, more than %v late", d.body, at.Sub(d.earliest()), lateBound)
	}
	t.Logf("%s arrived %v after its earliest due time", d.body, at.Sub(d.earliest()).Round(time.Millisecond))
}

// TestOfficialClientDelayedDelivery: messages sent with a delay level,
// TIMER_DELIVER_MS and TIMER_DELAY_SEC reach a running consumer no
// earlier than due and not much later, and until then they do not count
// in the topic's max offsets.
func TestOfficialClientDelayedDelivery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startBrokerSpec(t, startNamesrv(t), brokerSpec{mut: brokerConf(t, "messageDelayLevel", shortLevels)})
	c.waitRoute(t, "TBW102")
	probe := c.probe(t)
	const queues = 2
	topic := uniqueName(t, "Delay")
	c.createTopic(t, topic, queues)
	p := newProducer(t, c)
	group := uniqueName(t, "cg")
	rec := startRecordingConsumer(t, c, group, topic)

	// A plain message first: it is visible and consumed at once, so the
	// consumer is known to be live before anything becomes due.
	now := sendDelayed(ctx, t, p, topic, delayed{body: "now"}, func(*primitive.Message) {})
	rec.waitN(ctx, t, now.body, 1)

	level := sendDelayed(ctx, t, p, topic, delayed{body: "level-2", delay: 2 * time.Second},
		func(m *primitive.Message) { m.WithDelayTimeLevel(2) })
	deliverAt := time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	abs := sendDelayed(ctx, t, p, topic, delayed{body: "deliver-ms", dueAbs: deliverAt},
		func(m *primitive.Message) {
			m.WithProperty("TIMER_DELIVER_MS", strconv.FormatInt(deliverAt.UnixMilli(), 10))
		})
	sec := sendDelayed(ctx, t, p, topic, delayed{body: "delay-sec", delay: 2 * time.Second},
		func(m *primitive.Message) { m.WithProperty("TIMER_DELAY_SEC", "2") })
	all := []delayed{level, abs, sec}

	// Not due yet: only the plain message counts.
	if time.Now().Before(abs.earliest().Add(-200 * time.Millisecond)) {
		n, err := c.maxOffsets(ctx, probe, topic, queues)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("before any delay was due the topic's max offsets add up to %d, want 1 (only the plain message)", n)
		}
	} else {
		t.Logf("sending took until %v past the first due time; visibility before due not checked", time.Since(abs.earliest()))
	}

	for _, d := range all {
		rec.waitN(ctx, t, d.body, 1)
	}
	// Everything is due; one more second for a duplicate to show up.
	last := time.Now()
	poll(t, 5*time.Second, "a second past the last arrival", func() (bool, string) { return time.Since(last) > time.Second, "" })
	for _, d := range all {
		checkArrival(t, rec, d)
	}
	n, err := c.maxOffsets(ctx, probe, topic, queues)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("the topic's max offsets add up to %d once everything was due, want 4", n)
	}
	for _, d := range all {
		m := rec.of(d.body)[0].msg
		if m.Topic != topic {
			t.Errorf("%s delivered with topic %q, want %q", d.body, m.Topic, topic)
		}
	}
}

// TestOfficialClientDelayedDeliverySurvivesRestart: delayed messages
// stored before a clean broker shutdown are delivered once, after their
// due time, by the broker restarted on the same data directory; one of
// them fell due while the broker was down.
func TestOfficialClientDelayedDeliverySurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := startNamesrv(t)
	dir := t.TempDir()
	conf := brokerConf(t, "messageDelayLevel", shortLevels)
	c := startBrokerSpec(t, ns, brokerSpec{dir: dir, mut: conf})
	c.waitRoute(t, "TBW102")
	const queues = 2
	topic := uniqueName(t, "DelayRestart")
	c.createTopic(t, topic, queues)
	p := newProducer(t, c)

	level := sendDelayed(ctx, t, p, topic, delayed{body: "level-3", delay: 3 * time.Second},
		func(m *primitive.Message) { m.WithDelayTimeLevel(3) })
	deliverAt := time.Now().Add(1500 * time.Millisecond).Truncate(time.Millisecond)
	abs := sendDelayed(ctx, t, p, topic, delayed{body: "deliver-ms", dueAbs: deliverAt},
		func(m *primitive.Message) {
			m.WithProperty("TIMER_DELIVER_MS", strconv.FormatInt(deliverAt.UnixMilli(), 10))
		})
	if err := p.Shutdown(); err != nil {
		t.Fatalf("producer shutdown: %v", err)
	}

	_, port, err := net.SplitHostPort(c.broker.Addr())
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	err = c.broker.Shutdown(sctx)
	scancel()
	if err != nil {
		t.Fatalf("broker shutdown: %v", err)
	}
	// Stay down until the TIMER_DELIVER_MS message is overdue.
	poll(t, 10*time.Second, "the first due time passing", func() (bool, string) {
		return time.Now().After(abs.earliest().Add(200 * time.Millisecond)), ""
	})
	portNum, _ := strconv.Atoi(port)
	c = startBrokerSpec(t, ns, brokerSpec{dir: dir, port: portNum, mut: conf})
	probe := c.probe(t)
	poll(t, 15*time.Second, "route of "+topic+" from the restarted broker", func() (bool, string) {
		r, err := probe.RefreshRoute(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		return r.Masters["broker-a"] == c.broker.Addr(), fmt.Sprintf("masters %v", r.Masters)
	})

	group := uniqueName(t, "cg")
	rec := startRecordingConsumer(t, c, group, topic)
	for _, d := range []delayed{abs, level} {
		rec.waitN(ctx, t, d.body, 1)
	}
	last := time.Now()
	poll(t, 5*time.Second, "a second past the last arrival", func() (bool, string) { return time.Since(last) > time.Second, "" })
	// The consumer started after the restart, so only the lower bound of
	// the overdue message is meaningful; the other was due after it.
	checkArrival(t, rec, level)
	if ds := rec.of(abs.body); len(ds) != 1 || ds[0].at.Before(abs.earliest()) {
		t.Errorf("%s: %d deliveries (first at %v), want one after %v", abs.body, len(ds), ds, abs.earliest())
	}
	n, err := c.maxOffsets(ctx, probe, topic, queues)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("the topic's max offsets add up to %d, want 2 (each delayed message delivered once)", n)
	}
}
