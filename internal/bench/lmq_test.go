package bench

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/remoting"
)

// startLMQBroker is clienttest.Start with LMQs enabled.
func startLMQBroker(t *testing.T) (nsAddr, brokerAddr string) {
	t.Helper()
	env := clienttest.Start(t, func(bc *config.Broker) {
		bc.EnableLmq = true
		bc.EnableMultiDispatch = true
	})
	return env.NamesrvAddr, env.BrokerAddr
}

func TestLMQAgainstBroker(t *testing.T) {
	nsAddr, brokerAddr := startLMQBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var senders []Sender
	var clients []*client.Client
	for range 2 {
		c := client.New(client.Config{NamesrvAddrs: []string{nsAddr}})
		t.Cleanup(func() { _ = c.Close() })
		clients = append(clients, c)
		senders = append(senders, c)
	}
	const topic = "LMQParent"
	if err := clients[0].CreateTopic(ctx, brokerAddr, topic, 2); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		clienttest.WaitRoute(t, c, topic)
	}
	puller := client.New(client.Config{NamesrvAddrs: []string{nsAddr}})
	t.Cleanup(func() { _ = puller.Close() })
	rc := remoting.NewClient(remoting.ClientConfig{})
	t.Cleanup(func() { _ = rc.Close() })

	const n, k, m, size = 300, 3, 50, 128
	var progress syncBuffer
	res, err := LMQ(ctx, senders, puller, LMQConfig{
		Topic: topic, BrokerAddr: brokerAddr, K: k, M: m, Size: size, Window: 4, Count: n,
		ComparePlain: true, SampleLMQs: 8, SamplePullers: 3, Suspend: time.Second, DrainTimeout: 20 * time.Second,
		RuntimeInfo: func(ctx context.Context) (map[string]string, error) { return BrokerRuntimeInfo(ctx, rc, brokerAddr) },
		Progress:    Progress{W: &progress, Interval: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plain == nil || res.Plain.Messages != n || res.Plain.Errors != 0 {
		t.Fatalf("plain: %+v", res.Plain)
	}
	if res.Produce.Messages != n || res.Produce.Errors != 0 || res.Ratio <= 0 {
		t.Fatalf("lmq produce: %+v %v ratio %v", res.Produce, res.Produce.FirstErrors, res.Ratio)
	}
	if res.Distinct < 40 || res.Distinct > m {
		t.Fatalf("distinct LMQs %d", res.Distinct)
	}
	if res.PullExpected == 0 || !res.PullDrained || res.Pull.Messages != res.PullExpected || res.Pull.Errors != 0 {
		t.Fatalf("pull: expected %d, drained %v, %+v %v", res.PullExpected, res.PullDrained, res.Pull, res.Pull.FirstErrors)
	}
	if int64(res.Pull.Latency.Count) != res.PullExpected || res.Pull.Latency.Min <= 0 || res.Pull.Latency.Max > 20*time.Second {
		t.Fatalf("pull latency %+v", res.Pull.Latency)
	}
	// Every message landed in K LMQs.
	var total int64
	for i := range m {
		o, err := puller.MaxOffset(ctx, brokerAddr, LMQName(i), message.LMQQueueID)
		if err != nil {
			t.Fatal(err)
		}
		total += o
	}
	if total != n*k {
		t.Fatalf("LMQs hold %d entries, want %d", total, n*k)
	}
	// With GET_BROKER_RUNTIME_INFO (a broker without it leaves Lag off).
	if res.Lag.Available {
		if got := res.Runtime[RuntimeLMQCount]; got != "50" {
			t.Errorf("lmqCount %q, want 50", got)
		}
		if !res.Lag.Drained || res.Lag.Samples == 0 {
			t.Errorf("lag %+v", res.Lag)
		}
	}
	var out bytes.Buffer
	if err := res.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"plain produce", "LMQ produce (3 of 50", "rate ratio", "sample pull (8 LMQs)", "dispatch lag"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	t.Log(out.String())

	// The readiness probe answers at once on a running broker.
	off, _, err := WaitLMQReady(ctx, puller, brokerAddr, LMQName(0), 10*time.Millisecond, time.Now())
	if err != nil || off < 0 {
		t.Fatalf("probe: %d, %v", off, err)
	}
}

// recordingSender remembers the INNER_MULTI_DISPATCH values it saw.
type recordingSender struct {
	mu   sync.Mutex
	seen []string
}

func (r *recordingSender) Send(_ context.Context, _ string, _ int32, _ []byte, p message.Properties) (client.SendResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, p.Get(message.PropertyInnerMultiDispatch))
	return client.SendResult{}, nil
}

func (r *recordingSender) SendOneway(ctx context.Context, topic string, q int32, b []byte, p message.Properties) error {
	_, err := r.Send(ctx, topic, q, b, p)
	return err
}

func TestLMQPicksDistinctNames(t *testing.T) {
	rs := &recordingSender{}
	res, err := LMQ(context.Background(), []Sender{rs}, nil, LMQConfig{
		Topic: "T", K: 5, M: 20, Size: 16, Count: 200, SampleLMQs: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.seen) != 200 || res.Produce.Messages != 200 || res.Plain != nil || res.Distinct != 20 {
		t.Fatalf("seen %d, %+v distinct %d", len(rs.seen), res.Produce, res.Distinct)
	}
	for _, v := range rs.seen {
		names := message.ParseMultiDispatch(v)
		set := map[string]bool{}
		for _, nm := range names {
			if !strings.HasPrefix(nm, "%LMQ%bench-") {
				t.Fatalf("name %q", nm)
			}
			set[nm] = true
		}
		if len(names) != 5 || len(set) != 5 {
			t.Fatalf("dispatch %q", v)
		}
	}
}

func TestLMQConfigErrors(t *testing.T) {
	rs := &recordingSender{}
	for _, cfg := range []LMQConfig{
		{Topic: "T", K: 0, M: 10, Size: 16, Count: 1},
		{Topic: "T", K: 5, M: 10, Size: 16, Count: 1},
		{Topic: "T", K: 1, M: 10, Size: 16, Count: 1}, // sample without a puller
	} {
		if _, err := LMQ(context.Background(), []Sender{rs}, nil, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}
