package store

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/parked"
)

func scanAll(t *testing.T, s *Store, kind byte) []parked.Ref {
	t.Helper()
	var out []parked.Ref
	if err := s.ScanParked(kind, parked.Ref{}, 1<<62, func(r parked.Ref) bool { out = append(out, r); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Parked rows follow the commit log: a record in a parking topic adds one,
// a record carrying BOLIDE_PARKED removes it, and replay or a rebuild from
// the commit log alone gives the same rows.
func TestParkedRowsFollowTheCommitLog(t *testing.T) {
	e := newEnv()
	var mu sync.Mutex
	var told []parked.Ref
	s := e.open(t, func(c *Config) {
		c.OnParked = func(r parked.Ref) { mu.Lock(); told = append(told, r); mu.Unlock() }
	})
	due := []int64{5000, 1000, 3000}
	var timers []parked.Ref
	for i, d := range due {
		r := mustPut(t, s, msg(message.TopicSchedule, int32(i), "delayed"+strconv.Itoa(i),
			message.PropertyTimerDeliverMS, strconv.FormatInt(d, 10), message.PropertyRealTopic, "T"))
		timers = append(timers, parked.Ref{Kind: parked.KindTimer, Due: d, Phy: r.PhyOffsets[0]})
	}
	h := mustPut(t, s, msg(message.TopicTransHalf, 0, "half", message.PropertyRealTopic, "T"))
	half := parked.Ref{Kind: parked.KindHalf, Phy: h.PhyOffsets[0]}
	// A delay record without a due time is not parked (and logged).
	mustPut(t, s, msg(message.TopicTimer, 0, "broken", message.PropertyTimerDeliverMS, "soon"))
	waitDispatched(t, s)

	got := scanAll(t, s, parked.KindTimer)
	want := []parked.Ref{timers[1], timers[2], timers[0]} // due order
	if !slices.Equal(got, want) {
		t.Fatalf("timers %v, want %v", got, want)
	}
	if got := scanAll(t, s, parked.KindHalf); !slices.Equal(got, []parked.Ref{half}) {
		t.Fatalf("halves %v", got)
	}
	mu.Lock()
	if len(told) != 4 {
		t.Fatalf("OnParked told %d rows, want 4", len(told))
	}
	mu.Unlock()
	// maxDue bounds a timer scan; from resumes one.
	var upTo3000 []parked.Ref
	_ = s.ScanParked(parked.KindTimer, parked.Ref{}, 3000, func(r parked.Ref) bool { upTo3000 = append(upTo3000, r); return true })
	if len(upTo3000) != 2 {
		t.Fatalf("due <= 3000: %v", upTo3000)
	}
	var fromSecond []parked.Ref
	_ = s.ScanParked(parked.KindTimer, timers[2], 1<<62, func(r parked.Ref) bool { fromSecond = append(fromSecond, r); return true })
	if !slices.Equal(fromSecond, []parked.Ref{timers[2], timers[0]}) {
		t.Fatalf("from %v: %v", timers[2], fromSecond)
	}

	// Release the earliest timer (delivery) and the half (commit).
	mustPut(t, s, msg("T", 0, "delivered", message.PropertyParked, timers[1].String()))
	mustPut(t, s, msg("T", 1, "committed", message.PropertyParked, half.String()))
	waitDispatched(t, s)
	if got := scanAll(t, s, parked.KindTimer); !slices.Equal(got, []parked.Ref{timers[2], timers[0]}) {
		t.Fatalf("after delivery: %v", got)
	}
	if ok, err := s.ParkedExists(half); err != nil || ok {
		t.Fatalf("half still parked: %v %v", ok, err)
	}
	if ok, _ := s.ParkedExists(timers[0]); !ok {
		t.Fatal("undelivered timer missing")
	}
	if s.Dispatched() == 0 {
		t.Fatal("Dispatched is 0")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Rebuild every derived row from the commit log alone.
	if err := e.kvfs.RemoveAll("data/kv"); err != nil {
		t.Fatal(err)
	}
	s = e.open(t, nil)
	defer s.Close()
	if got := scanAll(t, s, parked.KindTimer); !slices.Equal(got, []parked.Ref{timers[2], timers[0]}) {
		t.Fatalf("rebuilt timers: %v", got)
	}
	if got := scanAll(t, s, parked.KindHalf); len(got) != 0 {
		t.Fatalf("rebuilt halves: %v", got)
	}
}

func TestParkedRefRoundTrip(t *testing.T) {
	for _, r := range []parked.Ref{{Kind: parked.KindTimer, Due: 1732600000123, Phy: 42}, {Kind: parked.KindHalf, Phy: 7}} {
		got, err := parked.ParseRef(r.String())
		if err != nil || got != r {
			t.Fatalf("round trip %v: %v %v", r, got, err)
		}
	}
	for _, bad := range []string{"", "t:1", "h:x", "x:1", "t:1:-2", "h:1:2"} {
		if _, err := parked.ParseRef(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// An LMQ moving from "created by a put" to "registered by dispatch" is
// counted once: LMQCount never exceeds the LMQs puts have created.
func TestLMQCountNeverDoubleCounts(t *testing.T) {
	s := newEnv().open(t, nil)
	defer s.Close()
	var started atomic.Int64
	stop := make(chan struct{})
	errs := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			n := s.LMQCount()
			if max := started.Load(); n > max {
				select {
				case errs <- fmt.Sprintf("LMQCount %d with %d LMQs created", n, max):
				default:
				}
				return
			}
		}
	})
	for i := range 2000 {
		started.Add(1)
		mustPut(t, s, lmqMsg("m", fmt.Sprintf("%%LMQ%%c%d", i)))
	}
	waitDispatched(t, s)
	close(stop)
	wg.Wait()
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
	if n := s.LMQCount(); n != 2000 {
		t.Fatalf("LMQCount %d, want 2000", n)
	}
}
