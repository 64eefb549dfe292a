package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
)

func TestSlotTime(t *testing.T) {
	start := time.Unix(1000, 0)
	for _, c := range []struct {
		seq  int64
		rate float64
		want time.Duration
	}{
		{0, 100, 0},
		{1, 100, 10 * time.Millisecond},
		{20000, 20000, time.Second},
		{3, 3, time.Second},
		{1_000_000_007, 1e6, 1000*time.Second + 7*time.Microsecond},
	} {
		if got := slotTime(start, c.seq, c.rate).Sub(start); got != c.want {
			t.Errorf("slot %d at %v/s: %v, want %v", c.seq, c.rate, got, c.want)
		}
	}
}

func TestWaitSlot(t *testing.T) {
	start := time.Now()
	stop := make(chan struct{})
	if !waitSlot(time.Now, start.Add(-time.Hour), 5, 1, stop) {
		t.Fatal("a past slot must go ahead")
	}
	close(stop)
	if waitSlot(time.Now, start, 1, 0.001, stop) { // due in 1000 s
		t.Fatal("a stopped wait must not go ahead")
	}
	if waitSlot(time.Now, start.Add(-time.Hour), 5, 1, stop) {
		t.Fatal("a stopped run must not send even a past slot")
	}
}

// hookSender remembers the properties of every send.
type hookSender struct {
	mu    sync.Mutex
	props []message.Properties
	seqs  map[int64]bool
}

func (r *hookSender) Send(_ context.Context, _ string, _ int32, body []byte, p message.Properties) (client.SendResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.props = append(r.props, p)
	if seq, ok := delaySeq(body); ok {
		r.seqs[seq] = true
	}
	return client.SendResult{}, nil
}

func (r *hookSender) SendOneway(ctx context.Context, topic string, q int32, body []byte, p message.Properties) error {
	_, err := r.Send(ctx, topic, q, body, p)
	return err
}

func TestProduceAtRateWithMessageHook(t *testing.T) {
	s := &hookSender{seqs: map[int64]bool{}}
	const n, rate = 200, 2000.0
	res, err := Produce(context.Background(), []Sender{s, s}, ProduceConfig{
		Topic: "T", Size: DelayStampSize, Window: 4, Count: n, Rate: rate,
		Message: delayMessage(time.Second, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != n || res.Errors != 0 {
		t.Fatalf("result %+v", res)
	}
	// Send n-1 is due (n-1)/rate after the start: pacing can only make
	// the run slower than that, never faster.
	if min := slotTime(time.Time{}, n-1, rate).Sub(time.Time{}); res.Elapsed < min {
		t.Fatalf("%d sends at %v/s took %v, less than the %v pacing allows", n, rate, res.Elapsed, min)
	}
	if len(s.seqs) != n {
		t.Fatalf("%d distinct sequence numbers, want %d", len(s.seqs), n)
	}
	for i := range int64(n) {
		if !s.seqs[i] {
			t.Fatalf("sequence number %d never sent", i)
		}
	}
	for _, p := range s.props {
		if p.Get(message.PropertyTimerDeliverMS) == "" {
			t.Fatalf("send without TIMER_DELIVER_MS: %v", p)
		}
	}
	if _, err := Produce(context.Background(), []Sender{s}, ProduceConfig{Topic: "T", Size: 8, Count: 1, Rate: -1}); err == nil {
		t.Fatal("negative rate accepted")
	}
}
