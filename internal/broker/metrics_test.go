package broker

import (
	"slices"
	"testing"
)

// Traffic counters: retry and DLQ topics are not counted, every LMQ counts
// as one aggregate topic, and sizes land in upstream's buckets (upper
// bounds inclusive).
func TestTrafficCounters(t *testing.T) {
	b := &Broker{}
	tr := &b.traffic
	tr.sent("T", 0, 1024, 1025, 5<<20)
	tr.sent("T", 4, 10)
	tr.sent("%RETRY%G", 0, 10)
	tr.sent("%DLQ%G", 0, 10)
	tr.pulled("%LMQ%a", "G", 2, 200)
	tr.pulled("%LMQ%b", "G", 3, 300)
	tr.pulled("%RETRY%G", "G", 1, 100)
	tr.pulled("T", "G", 0, 0) // nothing delivered: no series

	var s MetricsSnapshot
	b.trafficSnapshot(&s)

	if want := []TopicTraffic{{Topic: "T", Messages: 4, Bytes: 1024 + 1025 + 5<<20 + 10}}; !slices.Equal(s.In, want) {
		t.Errorf("in = %+v, want %+v", s.In, want)
	}
	if want := []GroupTraffic{{Topic: LMQAggregateTopic, Group: "G", Messages: 5, Bytes: 500}}; !slices.Equal(s.Out, want) {
		t.Errorf("out = %+v, want %+v", s.Out, want)
	}
	// Buckets 1 KiB, 4 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB, +Inf.
	if want := []int64{2, 1, 0, 0, 0, 0, 1}; !slices.Equal(s.MessageSizes, want) {
		t.Errorf("size buckets = %v, want %v", s.MessageSizes, want)
	}
	if s.LMQEntries != 4 {
		t.Errorf("LMQ entries = %d, want 4", s.LMQEntries)
	}
}
