package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/admin"
	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/lag"
)

const lagTopic = "LagTopic"

// newLagFixture is one broker whose lag evaluator samples every 50 ms,
// with two groups of LagTopic (2 queues; 3 messages in queue 0, 2 in
// queue 1) that never commit again once the test starts:
//
//	GroupStop  q0 at 1 (lag 2), q1 at 2  -> q0 STOP, group ERR
//	GroupOK    q0 at 3, q1 at 2          -> OK
//
// It returns once both groups' windows are full, so the statuses no
// longer change.
func newLagFixture(t *testing.T) *fixture {
	t.Helper()
	cl := clienttest.StartClusterWith(t, 1, func(c *broker.Config) { c.Lag.Interval = 50 * time.Millisecond })
	f := &fixture{t: t, cl: cl, addrs: map[string]string{"broker-a": cl.Brokers[0].BrokerAddr}, now: time.Now().UTC()}
	c := client.New(client.Config{NamesrvAddrs: []string{cl.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := cl.Brokers[0].BrokerAddr
	if err := c.CreateTopic(ctx, addr, lagTopic, 2); err != nil {
		t.Fatal(err)
	}
	for q, n := range []int{3, 2} {
		for i := range n {
			if _, err := c.SendTo(ctx, addr, lagTopic, int32(q), fmt.Appendf(nil, "q%d-%d", q, i), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	clienttest.Poll(t, 10*time.Second, func() bool {
		a, errA := c.MaxOffset(ctx, addr, lagTopic, 0)
		b, errB := c.MaxOffset(ctx, addr, lagTopic, 1)
		return errA == nil && errB == nil && a == 3 && b == 2
	})
	for _, o := range []struct {
		group string
		q     int32
		off   int64
	}{{"GroupStop", 0, 1}, {"GroupStop", 1, 2}, {"GroupOK", 0, 3}, {"GroupOK", 1, 2}} {
		if err := c.UpdateConsumerOffset(ctx, addr, o.group, lagTopic, o.q, o.off); err != nil {
			t.Fatal(err)
		}
	}
	clienttest.Poll(t, 20*time.Second, func() bool {
		adv, err := c.LagAdvice(ctx, addr, "", "")
		if err != nil || len(adv.Groups) != 2 {
			return false
		}
		for _, g := range adv.Groups {
			if g.Complete < 1 {
				return false
			}
		}
		// The oldest unconsumed message must print as a lag, not "0s".
		return adv.Groups[0].MaxLagSeconds >= 1
	})
	f.now = time.Now().UTC()
	return f
}

func TestLagAdviceGolden(t *testing.T) {
	f := newLagFixture(t)
	for _, c := range []goldenCase{
		{"lagAdvice", []string{"lagAdvice"}, 0},
		{"lagAdvice_all", []string{"lagAdvice", "-a"}, 0},
		{"lagAdvice_group", []string{"lagAdvice", "-g", "GroupOK", "-t", lagTopic}, 0},
		{"lagAdvice_missing", []string{"lagAdvice", "-g", "NoSuchGroup"}, 3},
		{"consumerProgress_advice", []string{"consumerProgress", "-g", "GroupStop", "-t", lagTopic, "--advice"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := f.run(c.args...)
			got := fmt.Sprintf("$ mqadmin %s\nexit %d\n--- stdout\n%s--- stderr\n%s",
				strings.Join(c.args, " "), code, f.normalize(stdout), f.normalize(stderr))
			checkGolden(t, c.name, got)
			if code != c.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, stdout, stderr)
			}
		})
	}
}

func TestLagAdviceJSON(t *testing.T) {
	f := newLagFixture(t)
	var r admin.LagAdviceResult
	f.runJSON(t, &r, 0, "lagAdvice")
	if len(r.Groups) != 1 || r.Healthy != 1 || len(r.Brokers) != 1 || !r.Brokers[0].Supported || r.Brokers[0].Tracked != 4 {
		t.Fatalf("%+v", r)
	}
	g := r.Groups[0]
	if g.Group != "GroupStop" || g.Status != lag.StatusErr || g.Severity != lag.SeverityErr || g.TotalLag != 2 ||
		g.Rule != "stop" || g.BrokerName != "broker-a" || !strings.Contains(g.Suggestion, "no consumer of GroupStop is online") ||
		len(g.Reports) != 1 || len(g.Reports[0].Queues) != 2 || g.Reports[0].Queues[0].Status != lag.StatusStop {
		t.Fatalf("%+v", g)
	}

	var p jsonProgressAdvice
	f.runJSON(t, &p, 0, "consumerProgress", "-g", "GroupStop", "-t", lagTopic, "--advice")
	if p.Status != "ERR" || len(p.Queues) != 2 || p.Queues[0].Status != "STOP" || p.Queues[1].Status != "OK" ||
		len(p.Advice) == 0 || p.Advice[0].Rule != "stop" || p.Advice[0].BrokerName != "broker-a" {
		t.Fatalf("%+v", p)
	}
}

// jsonProgressAdvice is the part of consumerProgress --json the lag
// evaluator adds.
type jsonProgressAdvice struct {
	Group   string `json:"group"`
	Topic   string `json:"topic"`
	Cluster string `json:"cluster"`
	Queues  []struct {
		Topic          string `json:"topic"`
		BrokerName     string `json:"brokerName"`
		QueueID        int32  `json:"queueId"`
		BrokerOffset   int64  `json:"brokerOffset"`
		ConsumerOffset int64  `json:"consumerOffset"`
		PullOffset     int64  `json:"pullOffset"`
		Diff           int64  `json:"diff"`
		Inflight       int64  `json:"inflight"`
		LastTimestamp  int64  `json:"lastTimestamp"`
		LagMillis      *int64 `json:"lagMillis"`
		Status         string `json:"status"`
	} `json:"queues"`
	ConsumeTps    float64             `json:"consumeTps"`
	DiffTotal     int64               `json:"diffTotal"`
	InflightTotal int64               `json:"inflightTotal"`
	Status        string              `json:"status"`
	Advice        []admin.AdviceEntry `json:"advice"`
}
