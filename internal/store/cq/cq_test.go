package cq

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func openTest(t testing.TB) (*kvdb.DB, *Store) {
	t.Helper()
	db, err := kvdb.Open("db", vfs.NewMem(), kvdb.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	s, err := Open(db.Pebble())
	if err != nil {
		t.Fatal(err)
	}
	return db, s
}

type row struct {
	topic string
	queue int32
	e     Entry
}

func putAll(t testing.TB, db *kvdb.DB, rows ...row) {
	t.Helper()
	b := db.Pebble().NewBatch()
	for _, r := range rows {
		if _, err := Put(b, r.topic, r.queue, r.e); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
}

func TestKeyOrder(t *testing.T) {
	// Keys listed in the order they must sort.
	keys := []struct {
		topic string
		queue int32
		off   int64
	}{
		{"T", 0, 0},
		{"T", 0, 1},
		{"T", 0, 9},
		{"T", 0, 10},
		{"T", 0, 255},
		{"T", 0, 256},
		{"T", 0, math.MaxInt64},
		{"T", 1, 0},
		{"T", 2, 0},
		{"T", 10, 0},
		{"T", 256, 0},
		{"T", math.MaxInt32, 0},
		{"T\x01", 0, 0}, // smallest byte a longer topic can continue with
		{"T1", 0, 0},
		{"T10", 0, 0},
		{"T2", 0, 0},
		{"TT", 0, 0},
	}
	for i := 1; i < len(keys); i++ {
		a, b := keys[i-1], keys[i]
		ka, kb := Key(a.topic, a.queue, a.off), Key(b.topic, b.queue, b.off)
		if bytes.Compare(ka, kb) >= 0 {
			t.Errorf("Key%v = %x does not sort before Key%v = %x", a, ka, b, kb)
		}
	}
	for _, k := range keys {
		topic, q, off, err := DecodeKey(Key(k.topic, k.queue, k.off))
		if err != nil || topic != k.topic || q != k.queue || off != k.off {
			t.Errorf("DecodeKey(Key%v) = %q %d %d %v", k, topic, q, off, err)
		}
		if got := AppendKey([]byte("x"), k.topic, k.queue, k.off); !bytes.Equal(got[1:], Key(k.topic, k.queue, k.off)) {
			t.Errorf("AppendKey differs from Key for %v", k)
		}
	}
}

func TestDecodeKeyRejects(t *testing.T) {
	for _, k := range [][]byte{
		nil,
		[]byte("q"),
		Key("T", 0, 0)[1:], // no prefix
		append([]byte("l"), Key("T", 0, 0)[1:]...), // wrong prefix
		append(Key("T", 0, 0), 0),                  // too long for its terminator
		Key("T", -1, 0),
		Key("T", 0, -1),
	} {
		if _, _, _, err := DecodeKey(k); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeKey(%x) = %v, want ErrCorrupt", k, err)
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	for _, e := range []Entry{
		{},
		{PhyOffset: 1, Size: 2, TagHash: 3, StoreTime: 4},
		{PhyOffset: math.MaxInt64, Size: math.MaxInt32, TagHash: math.MinInt64, StoreTime: math.MaxInt64},
		{PhyOffset: 1 << 40, Size: -1, TagHash: -42, StoreTime: 1_700_000_000_000},
	} {
		v := EncodeValue(e)
		if len(v) != ValueLen {
			t.Fatalf("len = %d", len(v))
		}
		got, err := DecodeValue(v)
		if err != nil || got != e {
			t.Errorf("round trip %+v = %+v, %v", e, got, err)
		}
	}
	for _, n := range []int{0, 27, 29} {
		if _, err := DecodeValue(make([]byte, n)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("DecodeValue(%d bytes) = %v, want ErrCorrupt", n, err)
		}
	}
}

func TestPutValidation(t *testing.T) {
	db, _ := openTest(t)
	b := db.Pebble().NewBatch()
	defer b.Close()
	for _, tc := range []struct {
		topic string
		queue int32
		off   int64
		want  error
	}{
		{"", 0, 0, ErrInvalidTopic},
		{"a\x00b", 0, 0, ErrInvalidTopic},
		{"T", -1, 0, ErrInvalidQueue},
		{"T", 0, -1, ErrInvalidOffset},
	} {
		if _, err := Put(b, tc.topic, tc.queue, Entry{QueueOffset: tc.off}); !errors.Is(err, tc.want) {
			t.Errorf("Put(%q, %d, %d) = %v, want %v", tc.topic, tc.queue, tc.off, err, tc.want)
		}
	}
	if b.Count() != 0 {
		t.Fatalf("rejected puts wrote %d rows", b.Count())
	}
}

func TestPutIdempotent(t *testing.T) {
	db, s := openTest(t)
	e := Entry{QueueOffset: 3, PhyOffset: 100, Size: 10, TagHash: 7, StoreTime: 1000}
	putAll(t, db, row{"T", 0, e})
	b := db.Pebble().NewBatch()
	k1, err := Put(b, "T", 0, e)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := Put(b, "T", 0, e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) || !bytes.Equal(k1, Key("T", 0, 3)) {
		t.Fatalf("keys %x %x", k1, k2)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	got, err := s.Range("T", 0, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != e {
		t.Fatalf("Range = %+v, want [%+v]", got, e)
	}
	if g, err := s.Get("T", 0, 3); err != nil || g != e {
		t.Fatalf("Get = %+v, %v", g, err)
	}
}

// TestTopicsAndQueuesDoNotMix writes neighbouring topics and queues and checks
// that every read stays inside its own queue.
func TestTopicsAndQueuesDoNotMix(t *testing.T) {
	db, s := openTest(t)
	var rows []row
	add := func(topic string, q int32, n int, base int64) {
		for i := range n {
			rows = append(rows, row{topic, q, Entry{QueueOffset: int64(i), PhyOffset: base + int64(i), StoreTime: base + int64(i)}})
		}
	}
	add("T", 1, 3, 1000)
	add("T", 10, 5, 2000)
	add("T", 2, 4, 3000)
	add("T1", 0, 7, 4000)
	add("T\x01", 1, 2, 5000)
	add("S", 1, 9, 6000)
	putAll(t, db, rows...)

	for _, tc := range []struct {
		topic string
		q     int32
		max   int64
		base  int64
	}{
		{"T", 1, 3, 1000}, {"T", 10, 5, 2000}, {"T", 2, 4, 3000}, {"T", 0, 0, 0}, {"T", 3, 0, 0},
		{"T1", 0, 7, 4000}, {"T\x01", 1, 2, 5000}, {"S", 1, 9, 6000}, {"T1", 1, 0, 0}, {"U", 1, 0, 0},
	} {
		name := fmt.Sprintf("%q/%d", tc.topic, tc.q)
		if got, err := s.MaxOffset(tc.topic, tc.q); err != nil || got != tc.max {
			t.Errorf("%s: MaxOffset = %d, %v; want %d", name, got, err, tc.max)
		}
		if got, err := s.MinOffset(tc.topic, tc.q, 0); err != nil || got != 0 {
			t.Errorf("%s: MinOffset = %d, %v; want 0", name, got, err)
		}
		es, err := s.Range(tc.topic, tc.q, 0, 100)
		if err != nil || int64(len(es)) != tc.max {
			t.Fatalf("%s: Range = %d entries, %v; want %d", name, len(es), err, tc.max)
		}
		for i, e := range es {
			if e.QueueOffset != int64(i) || e.PhyOffset != tc.base+int64(i) {
				t.Errorf("%s: entry %d = %+v", name, i, e)
			}
		}
	}
	for _, tc := range []struct {
		topic string
		want  []int32
	}{
		{"T", []int32{1, 2, 10}},
		{"T1", []int32{0}},
		{"T\x01", []int32{1}},
		{"S", []int32{1}},
		{"U", nil},
	} {
		got, err := s.Queues(tc.topic)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Queues(%q) = %v, %v; want %v", tc.topic, got, err, tc.want)
		}
	}
}

func TestQueuesMaxID(t *testing.T) {
	db, s := openTest(t)
	putAll(t, db, row{"T", 0, Entry{}}, row{"T", math.MaxInt32, Entry{}}, row{"T", math.MaxInt32, Entry{QueueOffset: 5}})
	got, err := s.Queues("T")
	if err != nil || !slices.Equal(got, []int32{0, math.MaxInt32}) {
		t.Fatalf("Queues = %v, %v", got, err)
	}
	if m, err := s.MaxOffset("T", math.MaxInt32); err != nil || m != 6 {
		t.Fatalf("MaxOffset = %d, %v", m, err)
	}
}

func TestReadValidation(t *testing.T) {
	_, s := openTest(t)
	if _, err := s.MaxOffset("", 0); !errors.Is(err, ErrInvalidTopic) {
		t.Errorf("MaxOffset: %v", err)
	}
	if _, err := s.MinOffset("T", -1, 0); !errors.Is(err, ErrInvalidQueue) {
		t.Errorf("MinOffset: %v", err)
	}
	if _, err := s.Get("T", 0, -1); !errors.Is(err, ErrInvalidOffset) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Get("T", 0, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	if _, err := s.Queues("a\x00"); !errors.Is(err, ErrInvalidTopic) {
		t.Errorf("Queues: %v", err)
	}
	if _, err := s.OffsetByTime("T", 0, 0, Boundary(7), 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("OffsetByTime: %v", err)
	}
	if _, err := s.EarliestStoreTime("T", 0, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("EarliestStoreTime empty: %v", err)
	}
	if es, err := s.Range("T", 0, 0, 0); err != nil || es != nil {
		t.Errorf("Range maxCount 0 = %v, %v", es, err)
	}
}

// TestMinMaxRange uses a queue starting at offset 100 with a gap at 103..104.
func TestMinMaxRange(t *testing.T) {
	db, s := openTest(t)
	offs := []int64{100, 101, 102, 105, 106, 107}
	var rows []row
	for i, o := range offs {
		rows = append(rows, row{"L", 0, Entry{QueueOffset: o, PhyOffset: int64(1000 * (i + 1)), Size: 10, StoreTime: int64(10 * (i + 1))}})
	}
	putAll(t, db, rows...)

	for _, tc := range []struct {
		minPhy   int64
		min      int64
		earliest int64 // -1: ErrNotFound
	}{
		{0, 100, 10},
		{1000, 100, 10},
		{1001, 101, 20},
		{3000, 102, 30},
		{3500, 105, 40},
		{6000, 107, 60},
		{6001, 108, -1}, // every entry too old: min = max
		{math.MaxInt64, 108, -1},
	} {
		got, err := s.MinOffset("L", 0, tc.minPhy)
		if err != nil || got != tc.min {
			t.Errorf("MinOffset(minPhy %d) = %d, %v; want %d", tc.minPhy, got, err, tc.min)
		}
		et, err := s.EarliestStoreTime("L", 0, tc.minPhy)
		if tc.earliest < 0 {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("EarliestStoreTime(%d) = %d, %v; want ErrNotFound", tc.minPhy, et, err)
			}
		} else if err != nil || et != tc.earliest {
			t.Errorf("EarliestStoreTime(%d) = %d, %v; want %d", tc.minPhy, et, err, tc.earliest)
		}
	}
	if m, err := s.MaxOffset("L", 0); err != nil || m != 108 {
		t.Fatalf("MaxOffset = %d, %v", m, err)
	}
	for _, tc := range []struct {
		from int64
		n    int
		want []int64
	}{
		{0, 100, offs},
		{-5, 2, []int64{100, 101}},
		{102, 2, []int64{102, 105}},
		{103, 100, []int64{105, 106, 107}},
		{107, 1, []int64{107}},
		{108, 10, nil},
	} {
		es, err := s.Range("L", 0, tc.from, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range es {
			got = append(got, e.QueueOffset)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Range(%d, %d) = %v, want %v", tc.from, tc.n, got, tc.want)
		}
	}
}

func TestOffsetByTime(t *testing.T) {
	db, s := openTest(t)
	// offset:     0    1    2    3    4    5    6    7    8    9
	times := []int64{100, 100, 200, 200, 200, 300, 400, 400, 500, 500}
	var rows []row
	for i, ts := range times {
		rows = append(rows, row{"T", 0, Entry{QueueOffset: int64(i), PhyOffset: 1000 + 100*int64(i), Size: 100, StoreTime: ts}})
	}
	putAll(t, db, rows...)

	const (
		L = Lower
		U = Upper
	)
	for _, tc := range []struct {
		name   string
		ts     int64
		b      Boundary
		minPhy int64
		want   int64
	}{
		{"before first lower", 50, L, 0, 0},
		{"before first upper", 50, U, 0, 0},
		{"first time lower walks to first", 100, L, 0, 0},
		{"first time upper walks to last", 100, U, 0, 1},
		{"between lower takes next", 150, L, 0, 2},
		{"between upper takes previous", 150, U, 0, 1},
		{"triple lower", 200, L, 0, 2},
		{"triple upper", 200, U, 0, 4},
		{"single lower", 300, L, 0, 5},
		{"single upper", 300, U, 0, 5},
		{"gap lower", 350, L, 0, 6},
		{"gap upper", 350, U, 0, 5},
		{"last time lower", 500, L, 0, 8},
		{"last time upper", 500, U, 0, 9},
		{"after last lower is max", 501, L, 0, 10},
		{"after last upper is last", 501, U, 0, 9},
		{"far future lower", math.MaxInt64, L, 0, 10},
		{"far past upper", math.MinInt64, U, 0, 0},

		// minPhy 1300: offsets 0..2 are deleted from the commitlog, min = 3.
		{"cut: before first lower is min", 50, L, 1300, 3},
		{"cut: before first upper clamps 0 to min", 50, U, 1300, 3},
		{"cut: old time lower", 100, L, 1300, 3},
		{"cut: old time upper", 100, U, 1300, 3},
		{"cut: time of min lower", 200, L, 1300, 3},
		{"cut: time of min upper", 200, U, 1300, 4},
		{"cut: between lower", 250, L, 1300, 5},
		{"cut: between upper", 250, U, 1300, 4},
		{"cut: after last lower", 600, L, 1300, 10},
		{"cut: after last upper", 600, U, 1300, 9},

		// minPhy beyond every entry: the queue is logically empty, [min, max] = [10, 10].
		{"all old lower", 50, L, 1901, 10},
		{"all old upper", 600, U, 1901, 10},
		// minPhy exactly at the last entry.
		{"last only lower", 50, L, 1900, 9},
		{"last only upper", 50, U, 1900, 9},
	} {
		got, err := s.OffsetByTime("T", 0, tc.ts, tc.b, tc.minPhy)
		if err != nil || got != tc.want {
			t.Errorf("%s: OffsetByTime(%d, %v, minPhy %d) = %d, %v; want %d", tc.name, tc.ts, tc.b, tc.minPhy, got, err, tc.want)
		}
	}
	for _, b := range []Boundary{Lower, Upper} {
		if got, err := s.OffsetByTime("T", 1, 100, b, 0); err != nil || got != 0 {
			t.Errorf("empty queue %v = %d, %v; want 0", b, got, err)
		}
	}
}

// TestOffsetByTimeRandom checks the binary searches against a linear scan on
// random queues with gaps, runs of equal store times and retention cuts.
func TestOffsetByTimeRandom(t *testing.T) {
	db, s := openTest(t)
	rng := rand.New(rand.NewPCG(1, 2))
	queues := make([][]Entry, 40)
	var rows []row
	for q := range queues {
		n := rng.IntN(300)
		off := rng.Int64N(1000)
		phy, ts := rng.Int64N(1000), rng.Int64N(1000)
		for range n {
			e := Entry{QueueOffset: off, PhyOffset: phy, Size: 1, StoreTime: ts}
			queues[q] = append(queues[q], e)
			rows = append(rows, row{"R", int32(q), e})
			off += 1 + max(0, rng.Int64N(8)-5) // mostly contiguous
			phy += 1 + rng.Int64N(50)
			ts += max(0, rng.Int64N(6)-3) // many equal times
		}
	}
	putAll(t, db, rows...)
	for q, es := range queues {
		var lo, hi int64 = 0, 100
		if len(es) > 0 {
			lo, hi = es[0].StoreTime, es[len(es)-1].StoreTime
		}
		var phyHi int64 = 10
		if len(es) > 0 {
			phyHi = es[len(es)-1].PhyOffset + 10
		}
		for range 60 {
			ts := lo - 3 + rng.Int64N(hi-lo+7)
			minPhy := rng.Int64N(phyHi)
			if rng.IntN(3) == 0 {
				minPhy = 0
			}
			for _, b := range []Boundary{Lower, Upper} {
				want := refOffsetByTime(es, ts, b, minPhy)
				got, err := s.OffsetByTime("R", int32(q), ts, b, minPhy)
				if err != nil || got != want {
					t.Fatalf("queue %d (%d entries) ts %d %v minPhy %d: got %d, %v; want %d", q, len(es), ts, b, minPhy, got, err, want)
				}
			}
			wantMin, _ := refMinMax(es, minPhy)
			if got, err := s.MinOffset("R", int32(q), minPhy); err != nil || got != wantMin {
				t.Fatalf("queue %d MinOffset(%d) = %d, %v; want %d", q, minPhy, got, err, wantMin)
			}
		}
	}
}

func refMinMax(es []Entry, minPhy int64) (lo, hi int64) {
	if len(es) == 0 {
		return 0, 0
	}
	hi = es[len(es)-1].QueueOffset + 1
	for _, e := range es {
		if e.PhyOffset >= minPhy {
			return e.QueueOffset, hi
		}
	}
	return hi, hi
}

// refOffsetByTime is reference 1.8 read literally, by linear scan.
func refOffsetByTime(es []Entry, ts int64, b Boundary, minPhy int64) int64 {
	lo, hi := refMinMax(es, minPhy)
	var valid []Entry
	for _, e := range es {
		if e.PhyOffset >= minPhy {
			valid = append(valid, e)
		}
	}
	var r int64
	if len(valid) == 0 {
		r = hi
	} else if b == Lower {
		r = hi // after the last: max offset
		for _, e := range valid {
			if e.StoreTime >= ts {
				r = e.QueueOffset
				break
			}
		}
	} else {
		r = 0 // before the first: 0
		for _, e := range valid {
			if e.StoreTime <= ts {
				r = e.QueueOffset
			}
		}
	}
	return min(max(r, lo), hi)
}

func TestReopenSeesRows(t *testing.T) {
	fs := vfs.NewMem()
	db, err := kvdb.Open("db", fs, kvdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	putAll(t, db, row{"T", 0, Entry{QueueOffset: 0, PhyOffset: 5, StoreTime: 9}})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = kvdb.Open("db", fs, kvdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := Open(db.Pebble())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.OffsetByTime("T", 0, 9, Upper, 0); err != nil || got != 0 {
		t.Fatalf("after reopen: %d, %v", got, err)
	}
}

// putGrouped writes es (offsets ascending) as rows of random lengths, each
// a run of consecutive offsets, as dispatch writes a queue's entries of one
// pass; a gap always starts a new row.
func putGrouped(t testing.TB, db *kvdb.DB, rng *rand.Rand, topic string, queue int32, es []Entry) {
	t.Helper()
	b := db.Pebble().NewBatch()
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].QueueOffset == es[j-1].QueueOffset+1 && rng.IntN(6) != 0 {
			j++
		}
		if _, err := PutGroup(b, topic, queue, es[i:j]); err != nil {
			t.Fatal(err)
		}
		i = j
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
}

// TestGroupsReadLikeSingleRows writes the same random queues once as one
// row per entry (topic S) and once in groups (topic G) and checks that
// every read answers the same for both.
func TestGroupsReadLikeSingleRows(t *testing.T) {
	db, s := openTest(t)
	rng := rand.New(rand.NewPCG(3, 4))
	queues := make([][]Entry, 30)
	for q := range queues {
		n := rng.IntN(200)
		off := rng.Int64N(50)
		phy, ts := rng.Int64N(1000), rng.Int64N(1000)
		var rows []row
		for range n {
			e := Entry{QueueOffset: off, PhyOffset: phy, Size: int32(rng.IntN(100)), TagHash: rng.Int64(), StoreTime: ts}
			queues[q] = append(queues[q], e)
			rows = append(rows, row{"S", int32(q), e})
			off += 1 + max(0, rng.Int64N(10)-7)
			phy += 1 + rng.Int64N(50)
			ts += max(0, rng.Int64N(6)-3)
		}
		putAll(t, db, rows...)
		putGrouped(t, db, rng, "G", int32(q), queues[q])
	}
	same := func(what string, a, b any, errA, errB error) {
		t.Helper()
		if (errA == nil) != (errB == nil) || fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("%s: single rows %v, %v; groups %v, %v", what, a, errA, b, errB)
		}
	}
	for q, es := range queues {
		qid := int32(q)
		var maxOff int64 = 60
		if len(es) > 0 {
			maxOff = es[len(es)-1].QueueOffset + 3
		}
		a, errA := s.MaxOffset("S", qid)
		b, errB := s.MaxOffset("G", qid)
		same(fmt.Sprintf("queue %d MaxOffset", q), a, b, errA, errB)
		for o := int64(-1); o <= maxOff; o++ {
			ea, getA := s.Get("S", qid, o)
			eb, getB := s.Get("G", qid, o)
			same(fmt.Sprintf("queue %d Get(%d)", q, o), ea, eb, getA, getB)
			if getA != nil && getB != nil && errors.Is(getA, ErrNotFound) != errors.Is(getB, ErrNotFound) {
				t.Fatalf("queue %d Get(%d): %v vs %v", q, o, getA, getB)
			}
			n := 1 + rng.IntN(40)
			ra, errA := s.Range("S", qid, o, n)
			rb, errB := s.Range("G", qid, o, n)
			same(fmt.Sprintf("queue %d Range(%d, %d)", q, o, n), ra, rb, errA, errB)
			// And both as the model says.
			i, _ := slices.BinarySearchFunc(es, o, func(e Entry, o int64) int { return cmp.Compare(e.QueueOffset, o) })
			want := es[i:min(i+n, len(es))]
			if len(want) == 0 {
				want = nil
			}
			same(fmt.Sprintf("queue %d Range(%d, %d) vs model", q, o, n), want, rb, nil, errB)
			if i < len(es) && es[i].QueueOffset == o {
				same(fmt.Sprintf("queue %d Get(%d) vs model", q, o), es[i], eb, nil, getB)
			} else if !errors.Is(getB, ErrNotFound) && o >= 0 {
				t.Fatalf("queue %d Get(%d) = %v, %v; want ErrNotFound", q, o, eb, getB)
			}
		}
		for range 40 {
			minPhy := rng.Int64N(3000)
			if rng.IntN(3) == 0 {
				minPhy = 0
			}
			a, errA := s.MinOffset("S", qid, minPhy)
			b, errB := s.MinOffset("G", qid, minPhy)
			same(fmt.Sprintf("queue %d MinOffset(%d)", q, minPhy), a, b, errA, errB)
			a, errA = s.EarliestStoreTime("S", qid, minPhy)
			b, errB = s.EarliestStoreTime("G", qid, minPhy)
			same(fmt.Sprintf("queue %d EarliestStoreTime(%d)", q, minPhy), a, b, errA, errB)
			ts := rng.Int64N(2000)
			for _, bd := range []Boundary{Lower, Upper} {
				a, errA = s.OffsetByTime("S", qid, ts, bd, minPhy)
				b, errB = s.OffsetByTime("G", qid, ts, bd, minPhy)
				same(fmt.Sprintf("queue %d OffsetByTime(%d, %v, %d)", q, ts, bd, minPhy), a, b, errA, errB)
				if want := refOffsetByTime(es, ts, bd, minPhy); b != want {
					t.Fatalf("queue %d OffsetByTime(%d, %v, %d) = %d, want %d", q, ts, bd, minPhy, b, want)
				}
			}
		}
	}
	ls, errA := s.Queues("S")
	lg, errB := s.Queues("G")
	same("Queues", ls, lg, errA, errB)
}

func TestPutGroupValidation(t *testing.T) {
	db, s := openTest(t)
	b := db.Pebble().NewBatch()
	defer b.Close()
	for name, es := range map[string][]Entry{
		"empty":           nil,
		"negative":        {{QueueOffset: -1}},
		"gap":             {{QueueOffset: 5}, {QueueOffset: 7}},
		"out of order":    {{QueueOffset: 5}, {QueueOffset: 4}},
		"repeated offset": {{QueueOffset: 5}, {QueueOffset: 5}},
	} {
		if _, err := PutGroup(b, "T", 0, es); err == nil {
			t.Errorf("%s: PutGroup accepted %v", name, es)
		}
	}
	if _, err := PutGroup(b, "", 0, []Entry{{}}); !errors.Is(err, ErrInvalidTopic) {
		t.Errorf("empty topic: %v", err)
	}
	if !b.Empty() {
		t.Fatal("a rejected group wrote to the batch")
	}
	// A value that is not a whole number of entries is corrupt, not read
	// short.
	if err := b.Set(Key("T", 0, 3), make([]byte, ValueLen+1), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MaxOffset("T", 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("MaxOffset over a torn group = %v, want ErrCorrupt", err)
	}
	if _, err := s.Get("T", 0, 3); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get in a torn group = %v, want ErrCorrupt", err)
	}
}

// TestTornRowAfterAGroup: a torn value stops the reads that need it, not
// the reads inside the group before it.
func TestTornRowAfterAGroup(t *testing.T) {
	db, s := openTest(t)
	b := db.Pebble().NewBatch()
	var g []Entry
	for i := range 10 {
		g = append(g, Entry{QueueOffset: int64(i), PhyOffset: int64(100 * i)})
	}
	if _, err := PutGroup(b, "T", 0, g); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(Key("T", 0, 10), make([]byte, ValueLen+1), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if es, err := s.Range("T", 0, 5, 3); err != nil || len(es) != 3 || es[0].PhyOffset != 500 {
		t.Fatalf("Range(5, 3) inside the group: %v, %v", es, err)
	}
	if e, err := s.Get("T", 0, 5); err != nil || e.PhyOffset != 500 {
		t.Fatalf("Get(5) inside the group: %+v, %v", e, err)
	}
	if _, err := s.Range("T", 0, 5, 10); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Range(5, 10) into the torn row: %v, want ErrCorrupt", err)
	}
}
