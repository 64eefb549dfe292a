package index

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/cockroachdb/pebble/v2/vfs"
)

func openTest(t testing.TB) *kvdb.DB {
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
	return db
}

type rowT struct {
	kind       Kind
	topic, key string
	ts, phy    int64
}

func addAll(t testing.TB, db *kvdb.DB, rows ...rowT) {
	t.Helper()
	b := db.Pebble().NewBatch()
	for _, r := range rows {
		k, err := Add(b, r.kind, r.topic, r.key, r.ts, r.phy)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k, Key(r.kind, r.topic, r.key, r.ts, r.phy)) {
			t.Fatalf("Add returned %x", k)
		}
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
}

func phys(hs []Hit) []int64 {
	var out []int64
	for _, h := range hs {
		out = append(out, h.PhyOffset)
	}
	return out
}

func TestExactMatch(t *testing.T) {
	db := openTest(t)
	// Each row's phy names it; no two (kind, topic, key) pairs may see each other's rows.
	rows := []rowT{
		{KindKey, "T", "a", 10, 1},
		{KindKey, "T", "ab", 10, 2},
		{KindKey, "T", "b", 10, 3},
		{KindKey, "TT", "a", 10, 4},
		{KindKey, "T", "Ta", 10, 5}, // topic "T" + key "Ta" vs topic "TT" + key "a"
		{KindKey, "Ta", "a", 10, 6},
		{KindUniqKey, "T", "a", 10, 7}, // same topic and key, other kind
		{KindKey, "T", "a\x00", 10, 8},
	}
	addAll(t, db, rows...)
	for _, r := range rows {
		hs, err := Query(db.Pebble(), r.kind, r.topic, r.key, 0, math.MaxInt64, 100)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{r.phy}; !slices.Equal(phys(hs), want) {
			t.Errorf("Query(%v, %q, %q) = %v, want %v", r.kind, r.topic, r.key, phys(hs), want)
		}
	}
	for _, q := range [][2]string{{"T", "A"}, {"T", "aa"}, {"X", "a"}, {"TTa", "a"}, {"T", "T"}} {
		hs, err := Query(db.Pebble(), KindKey, q[0], q[1], 0, math.MaxInt64, 100)
		if err != nil || len(hs) != 0 {
			t.Errorf("Query(%q, %q) = %v, %v; want none", q[0], q[1], hs, err)
		}
	}
}

func TestTimeWindowAndOrder(t *testing.T) {
	db := openTest(t)
	addAll(t, db,
		rowT{KindKey, "T", "k", 100, 1000},
		rowT{KindKey, "T", "k", 200, 2000},
		rowT{KindKey, "T", "k", 200, 2100}, // same ms: higher offset is newer
		rowT{KindKey, "T", "k", 300, 3000},
		rowT{KindKey, "T", "k", 400, 4000},
		rowT{KindKey, "T", "k", 400, 4000}, // duplicate (replay): one row
		rowT{KindKey, "T", "k0", 250, 9999},
	)
	for _, tc := range []struct {
		name       string
		begin, end int64
		max        int
		want       []int64
	}{
		{"all newest first", 0, math.MaxInt64, 64, []int64{4000, 3000, 2100, 2000, 1000}},
		{"inclusive bounds", 200, 300, 64, []int64{3000, 2100, 2000}},
		{"single ms", 200, 200, 64, []int64{2100, 2000}},
		{"begin on last", 400, 400, 64, []int64{4000}},
		{"end on first", 0, 100, 64, []int64{1000}},
		{"gap", 101, 199, 64, nil},
		{"before", 0, 99, 64, nil},
		{"after", 401, math.MaxInt64, 64, nil},
		{"maxNum keeps newest", 0, math.MaxInt64, 2, []int64{4000, 3000}},
		{"maxNum in window", 100, 200, 1, []int64{2100}},
		{"maxNum 0", 0, math.MaxInt64, 0, nil},
		{"negative begin", -5, 100, 64, []int64{1000}},
		{"end before begin", 300, 200, 64, nil},
	} {
		hs, err := Query(db.Pebble(), KindKey, "T", "k", tc.begin, tc.end, tc.max)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(phys(hs), tc.want) {
			t.Errorf("%s: Query(%d, %d, %d) = %v, want %v", tc.name, tc.begin, tc.end, tc.max, phys(hs), tc.want)
		}
		for i, h := range hs {
			if want := h.PhyOffset / 1000 * 100; h.PhyOffset != 2100 && h.StoreTime != want {
				t.Errorf("%s: hit %d store time %d, want %d", tc.name, i, h.StoreTime, want)
			}
		}
	}
}

func TestAddKeyAndUniqKey(t *testing.T) {
	db := openTest(t)
	b := db.Pebble().NewBatch()
	if _, err := AddKey(b, "T", "id", 5, 50); err != nil {
		t.Fatal(err)
	}
	if _, err := AddUniqKey(b, "T", "id", 6, 60); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[Kind]Hit{KindKey: {50, 5}, KindUniqKey: {60, 6}} {
		hs, err := Query(db.Pebble(), kind, "T", "id", 0, 10, 10)
		if err != nil || !slices.Equal(hs, []Hit{want}) {
			t.Errorf("Query(%v) = %v, %v; want %v", kind, hs, err, want)
		}
	}
	// A snapshot is a Reader too.
	snap := db.Pebble().NewSnapshot()
	defer snap.Close()
	if hs, err := Query(snap, KindKey, "T", "id", 0, 10, 10); err != nil || len(hs) != 1 {
		t.Fatalf("snapshot query = %v, %v", hs, err)
	}
}

func TestValidation(t *testing.T) {
	db := openTest(t)
	b := db.Pebble().NewBatch()
	defer b.Close()
	for _, tc := range []struct {
		kind       Kind
		topic, key string
		ts, phy    int64
	}{
		{Kind('x'), "T", "k", 0, 0},
		{KindKey, "", "k", 0, 0},
		{KindKey, "T", "", 0, 0},
		{KindKey, "T", "k", -1, 0},
		{KindKey, "T", "k", 0, -1},
	} {
		if _, err := Add(b, tc.kind, tc.topic, tc.key, tc.ts, tc.phy); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Add(%+v) = %v", tc, err)
		}
	}
	if b.Count() != 0 {
		t.Fatalf("rejected adds wrote %d rows", b.Count())
	}
	if _, err := Query(db.Pebble(), Kind('x'), "T", "k", 0, 1, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Query bad kind = %v", err)
	}
	if _, err := Query(db.Pebble(), KindKey, "T", "", 0, 1, 1); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Query empty key = %v", err)
	}
}

func TestCorruptRow(t *testing.T) {
	db := openTest(t)
	k := Key(KindKey, "T", "k", 1, 1)
	b := db.Pebble().NewBatch()
	_ = b.Set(k[:len(k)-1], nil, nil) // a short row inside the key's range
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if _, err := Query(db.Pebble(), KindKey, "T", "k", 0, math.MaxInt64, 10); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Query over corrupt row = %v", err)
	}
}
