package dispatch

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// keyList encodes keys as a record's logged key list.
func keyList(keys ...string) []byte {
	var v []byte
	for _, k := range keys {
		v = appendKey(v, []byte(k))
	}
	return v
}

// newLogTestDispatcher is a dispatcher over an in-memory database, for
// tests of the dispatch log alone (no commit log: forgetRange reads only
// the database).
func newLogTestDispatcher(t *testing.T) (*Dispatcher, *pebble.DB) {
	t.Helper()
	db, err := kvdb.Open("db", vfs.NewMem(), kvdb.Options{CacheSize: 1 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return New(Config{DB: db}, 0), db.Pebble()
}

// has reports whether key k is in the database.
func has(t *testing.T, pdb *pebble.DB, k []byte) bool {
	t.Helper()
	_, closer, err := pdb.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = closer.Close()
	return true
}

// TestChunkLogRoundTrip: a chunk row decodes into its records, with their
// offsets and key lists; a row without the marker is one record (the
// format written before chunk rows); malformed rows are errors.
func TestChunkLogRoundTrip(t *testing.T) {
	l := chunkLog{first: -1}
	l.add(1000, nil) // a record without keys is not logged
	l.add(1100, keyList("qA", "uA"))
	l.add(1250, keyList("qB"))
	l.add(900000, keyList("qC", "kC", "uC"))
	if l.first != 1100 {
		t.Fatalf("row at %d, want the first logged record, 1100", l.first)
	}
	groups, err := decodeLog(l.first, l.value, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []logGroup{{1100, keyList("qA", "uA")}, {1250, keyList("qB")}, {900000, keyList("qC", "kC", "uC")}}
	if !slices.EqualFunc(groups, want, func(a, b logGroup) bool { return a.phy == b.phy && string(a.keys) == string(b.keys) }) {
		t.Fatalf("decoded %v, want %v", groups, want)
	}

	old := keyList("qOld", "uOld")
	groups, err = decodeLog(77, old, nil)
	if err != nil || len(groups) != 1 || groups[0].phy != 77 || string(groups[0].keys) != string(old) {
		t.Fatalf("old one-record row: %v, %v", groups, err)
	}

	for _, bad := range [][]byte{
		nil,
		{chunkLogMarker, 0x80},         // truncated offset
		{chunkLogMarker, 5, 9, 1, 'x'}, // key list longer than the row
		{chunkLogMarker, 5, 0},         // empty key list
	} {
		if _, err := decodeLog(1, bad, nil); err == nil {
			t.Errorf("decodeLog(%x) accepted", bad)
		}
	}
}

// TestForgetRangeSplitsRows forgets offset ranges over rows of both
// formats: keys of records inside the range go, the others stay, and a row
// cut by a bound keeps its other records (re-keyed at the first of them).
func TestForgetRangeSplitsRows(t *testing.T) {
	d, pdb := newLogTestDispatcher(t)

	set := func(k, v []byte) {
		t.Helper()
		if err := pdb.Set(k, v, pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	derived := []string{"k100a", "k100b", "k200", "k300a", "k300b", "k400", "k500"}
	for _, k := range derived {
		set([]byte(k), []byte("v"))
	}
	set(logKey(100), keyList("k100a", "k100b")) // old format: one record
	chunk := chunkLog{first: -1}
	chunk.add(200, keyList("k200"))
	chunk.add(300, keyList("k300a", "k300b"))
	chunk.add(400, keyList("k400"))
	set(logKey(chunk.first), chunk.value)
	set(logKey(500), append([]byte(nil), keyList("k500")...))

	present := func() []string {
		var out []string
		for _, k := range derived {
			if has(t, pdb, []byte(k)) {
				out = append(out, k)
			}
		}
		return out
	}
	rows := func() map[int64][]int64 {
		out := map[int64][]int64{}
		it, err := pdb.NewIter(&pebble.IterOptions{LowerBound: []byte{kvdb.PrefixDispatch}, UpperBound: []byte{kvdb.PrefixDispatch + 1}})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			at := int64(binary.BigEndian.Uint64(it.Key()[1:]))
			gs, err := decodeLog(at, it.Value(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				out[at] = append(out[at], g.phy)
			}
		}
		return out
	}
	step := func(lo, hi int64, wantForgot int, wantKeys []string, wantRows map[int64][]int64) {
		t.Helper()
		n, err := d.forgetRange(lo, hi, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := present(); n != wantForgot || !slices.Equal(got, wantKeys) {
			t.Fatalf("forget [%d, %d): %d records forgotten, keys left %v; want %d, %v", lo, hi, n, got, wantForgot, wantKeys)
		}
		got := rows()
		if len(got) != len(wantRows) {
			t.Fatalf("forget [%d, %d): rows %v, want %v", lo, hi, got, wantRows)
		}
		for at, phys := range wantRows {
			if !slices.Equal(got[at], phys) {
				t.Fatalf("forget [%d, %d): rows %v, want %v", lo, hi, got, wantRows)
			}
		}
	}
	// Inside the chunk row: the record at 300 goes, 200 and 400 stay in it.
	step(250, 350, 1, []string{"k100a", "k100b", "k200", "k400", "k500"},
		map[int64][]int64{100: {100}, 200: {200, 400}, 500: {500}})
	// A range starting inside the chunk row and covering the next row too.
	step(300, 600, 2, []string{"k100a", "k100b", "k200"}, map[int64][]int64{100: {100}, 200: {200}})
	// Truncation from 150: everything after, the old-format row stays.
	step(150, 1<<62, 1, []string{"k100a", "k100b"}, map[int64][]int64{100: {100}})
	// A new chunk, then retention below 330: the row is re-keyed at 350.
	for _, k := range []string{"k200", "k300a", "k400"} {
		set([]byte(k), []byte("v"))
	}
	chunk = chunkLog{first: -1}
	chunk.add(310, keyList("k200"))
	chunk.add(350, keyList("k300a"))
	chunk.add(420, keyList("k400"))
	set(logKey(chunk.first), chunk.value)
	step(0, 330, 2, []string{"k300a", "k400"}, map[int64][]int64{350: {350, 420}})
	step(0, 1<<62, 2, nil, map[int64][]int64{})
}

// TestForgetRangeHoldsBackInCutRows: retention over a row it cuts still
// holds back the highest forgotten consume-queue entry of a topic queue
// (the queue's max offset must not go back) and deletes the lower ones,
// while the records past the bound keep their entries and their log.
func TestForgetRangeHoldsBackInCutRows(t *testing.T) {
	d, pdb := newLogTestDispatcher(t)
	keys := make([][]byte, 4)
	chunk := chunkLog{first: -1}
	for i := range keys {
		keys[i] = cq.Key("T", 0, int64(i))
		if err := pdb.Set(keys[i], []byte("v"), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		chunk.add(int64(100*(i+1)), appendKey(nil, keys[i]))
	}
	if err := pdb.Set(logKey(chunk.first), chunk.value, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	f := &forgetter{lmqs: map[string]struct{}{}, last: map[queueID]lastKey{}}
	n, err := d.forgetRange(0, 250, f) // records at 100 and 200: offsets 0 and 1
	if err != nil || n != 2 {
		t.Fatalf("forgot %d records, %v", n, err)
	}
	present := func(k []byte) bool { return has(t, pdb, k) }
	if present(keys[0]) || !present(keys[1]) || !present(keys[2]) || !present(keys[3]) {
		t.Fatalf("entries present: %v %v %v %v; want offset 0 deleted, 1 held back, 2 and 3 kept",
			present(keys[0]), present(keys[1]), present(keys[2]), present(keys[3]))
	}
	if lk := f.last[queueID{"T", 0}]; lk.offset != 1 || string(lk.key) != string(keys[1]) {
		t.Fatalf("held back %+v, want offset 1", lk)
	}
	v, closer, err := pdb.Get(logKey(300))
	if err != nil {
		t.Fatalf("the cut row is not re-keyed at its first kept record: %v", err)
	}
	groups, err := decodeLog(300, v, nil)
	_ = closer.Close()
	if err != nil || len(groups) != 2 || groups[0].phy != 300 || groups[1].phy != 400 {
		t.Fatalf("cut row %v, %v; want the records at 300 and 400", groups, err)
	}
}
