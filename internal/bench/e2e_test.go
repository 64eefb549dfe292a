package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestEndToEndAgainstBroker(t *testing.T) {
	const topic = "BenchE2E"
	c, route, offsets := startTopic(t, topic, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n, rate = 400, 2000.0
	res, err := EndToEnd(ctx, []Sender{c}, c, E2EConfig{
		Produce: ProduceConfig{Topic: topic, Size: 128, Window: 4, Count: n, Rate: rate},
		Consume: ConsumeConfig{Group: "BenchE2EGroup", Queues: route.ReadQueues, Offsets: offsets, Suspend: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Produce.Messages != n || res.Produce.Errors != 0 {
		t.Fatalf("produce %+v", res.Produce)
	}
	if res.Consume.Messages != n || res.Consume.Latency.Count != n || res.Consume.Errors != 0 {
		t.Fatalf("consume %+v %v", res.Consume, res.Consume.FirstErrors)
	}
	if min := slotTime(time.Time{}, n-1, rate).Sub(time.Time{}); res.Produce.Elapsed < min {
		t.Fatalf("paced produce took %v, under %v", res.Produce.Elapsed, min)
	}
	if l := res.Consume.Latency; l.Min <= 0 || l.Max > 10*time.Second {
		t.Fatalf("end-to-end latency min %v max %v", l.Min, l.Max)
	}
	var out bytes.Buffer
	if err := res.WriteSummary(&out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "end-to-end latency: p50") || strings.Contains(s, "not received") {
		t.Fatalf("summary %q", s)
	}
}
