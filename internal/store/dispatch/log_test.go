package dispatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/message"
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

// newLogTestDispatcherCQ is newLogTestDispatcher with a consume-queue
// store, which forgetting asks for queues' max offsets.
func newLogTestDispatcherCQ(t *testing.T) (*Dispatcher, *pebble.DB, *cq.Store) {
	t.Helper()
	d, pdb := newLogTestDispatcher(t)
	c, err := cq.Open(pdb)
	if err != nil {
		t.Fatal(err)
	}
	d.cfg.CQ = c
	return d, pdb, c
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
		_, n, err := d.forgetRange(lo, hi, nil, nil, 0)
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

// TestForgetRangeHoldsBackInCutRows: retention over a row it cuts deletes
// a topic queue's forgotten consume-queue entries by range up to the last
// one, which stays while no later entry exists (the queue's max offset
// must not go back) and goes once one does; the records past the bound
// keep their entries and their log.
func TestForgetRangeHoldsBackInCutRows(t *testing.T) {
	d, pdb, _ := newLogTestDispatcherCQ(t)
	keys := make([][]byte, 4)
	chunk := chunkLog{first: -1}
	for i := range keys {
		keys[i] = cq.Key("T", 0, int64(i))
		if err := pdb.Set(keys[i], cq.EncodeValue(cq.Entry{PhyOffset: int64(100 * (i + 1)), Size: 10}), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		chunk.add(int64(100*(i+1)), appendKey(nil, keys[i]))
	}
	if err := pdb.Set(logKey(chunk.first), chunk.value, pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	present := func() []bool {
		out := make([]bool, len(keys))
		for i, k := range keys {
			out[i] = has(t, pdb, k)
		}
		return out
	}
	f := newForgetter()
	_, n, err := d.forgetRange(0, 250, f, nil, 0) // records at 100 and 200: offsets 0 and 1
	if err != nil || n != 2 {
		t.Fatalf("forgot %d records, %v", n, err)
	}
	if got := present(); !slices.Equal(got, []bool{false, true, true, true}) {
		t.Fatalf("entries present after the range: %v, want offset 0 deleted, 1 (the last forgotten) kept", got)
	}
	if last := f.last[queueID{"T", 0}]; last != 1 {
		t.Fatalf("last forgotten offset %d, want 1", last)
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
	if err := d.dropLastEntries(f); err != nil {
		t.Fatal(err)
	}
	if got := present(); !slices.Equal(got, []bool{false, false, true, true}) {
		t.Fatalf("entries present with later entries in the queue: %v, want offsets 2 and 3 only", got)
	}
	// Everything forgotten: the last entry stays.
	f = newForgetter()
	if _, _, err := d.forgetRange(0, 1000, f, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.dropLastEntries(f); err != nil {
		t.Fatal(err)
	}
	if got := present(); !slices.Equal(got, []bool{false, false, false, true}) {
		t.Fatalf("entries present after forgetting every record: %v, want the last one only", got)
	}
}

// TestForgetInStepsMatchesOneGo: forgetting in steps of one row each,
// with a dispatch of later records between two steps, leaves exactly the
// rows that forgetting in one go leaves, and reports the same LMQs.
func TestForgetInStepsMatchesOneGo(t *testing.T) {
	const rows, perRow = 40, 5
	lmq := message.LMQPrefix + "steps"
	type world struct {
		d   *Dispatcher
		pdb *pebble.DB
	}
	open := func() world {
		d, pdb, _ := newLogTestDispatcherCQ(t)
		return world{d, pdb}
	}
	// writeChunks logs rows of perRow records from phy on, each record with
	// a topic-queue entry (queues 0 and 1 alternate), every third one also
	// in an LMQ, and a unique-key row.
	next := map[int32]int64{}
	lmqNext := int64(0)
	var script [][2][]byte // the writes, replayed on each world
	writeChunks := func(phy int64, n int) {
		for r := range n {
			chunk := chunkLog{first: -1}
			for i := range perRow {
				p := phy + int64((r*perRow+i)*100)
				q := int32(i % 2)
				keys := [][]byte{cq.Key("T", q, next[q]), []byte(fmt.Sprintf("u%020d", p))}
				next[q]++
				if i%3 == 0 {
					keys = append(keys, cq.Key(lmq, message.LMQQueueID, lmqNext))
					lmqNext++
				}
				var list []byte
				for _, k := range keys {
					v := []byte("v")
					if k[0] == kvdb.PrefixCQ {
						v = cq.EncodeValue(cq.Entry{PhyOffset: p, Size: 100})
					}
					script = append(script, [2][]byte{k, v})
					list = appendKey(list, k)
				}
				chunk.add(p, list)
			}
			script = append(script, [2][]byte{logKey(chunk.first), chunk.value})
		}
	}
	apply := func(w world, script [][2][]byte) {
		for _, kv := range script {
			if err := w.pdb.Set(kv[0], kv[1], pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
	}
	keysOf := func(w world) []string {
		it, err := w.pdb.NewIter(nil)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []string
		for ok := it.First(); ok; ok = it.Next() {
			out = append(out, string(it.Key()))
		}
		return out
	}

	writeChunks(0, rows)
	before := len(script)
	off := int64(rows * perRow * 100) // every record written so far
	writeChunks(off, 3)               // later records, dispatched meanwhile

	whole := open()
	apply(whole, script)
	wantLMQs, err := whole.d.ForgetBelow(off)
	if err != nil {
		t.Fatal(err)
	}

	stepped := open()
	apply(stepped, script[:before])
	g := stepped.d.Forget(off)
	steps := 0
	for {
		fin, err := g.Step(1)
		if err != nil {
			t.Fatal(err)
		}
		steps++
		if steps == rows/2 {
			apply(stepped, script[before:])
		}
		if fin {
			break
		}
	}
	gotLMQs, err := g.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if g.Records() != rows*perRow {
		t.Fatalf("forgot %d records, want %d", g.Records(), rows*perRow)
	}
	if steps < rows {
		t.Fatalf("%d steps for %d rows forgotten a row at a time", steps, rows)
	}
	if steps > rows+1 {
		t.Fatalf("%d steps for %d rows: steps do not resume where the last one stopped", steps, rows)
	}
	if want, got := keysOf(whole), keysOf(stepped); !slices.Equal(want, got) {
		t.Fatalf("after forgetting in steps, %d keys:\n%q\nin one go, %d keys:\n%q", len(got), got, len(want), want)
	}
	if !slices.Equal(wantLMQs, gotLMQs) || len(gotLMQs) != 1 {
		t.Fatalf("LMQs touched: %v in steps, %v in one go; want [%s]", gotLMQs, wantLMQs, lmq)
	}
	if _, err := stepped.d.Forget(off).Finish(); err == nil {
		t.Fatal("Finish before the steps are done: want an error")
	}
}

// logQueueRows writes, for each record i in [0, n), a consume-queue entry
// of topic T (queue i/per, offset i%per) and one dispatch-log row listing
// it, at commit-log offset 100*(i+1).
func logQueueRows(t *testing.T, pdb *pebble.DB, n, per int) {
	t.Helper()
	for i := range n {
		k := cq.Key("T", int32(i/per), int64(i%per))
		phy := int64(100 * (i + 1))
		if err := pdb.Set(k, cq.EncodeValue(cq.Entry{PhyOffset: phy, Size: 10}), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		chunk := chunkLog{first: -1}
		chunk.add(phy, appendKey(nil, k))
		if err := pdb.Set(logKey(chunk.first), chunk.value, pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
}

// queueOffsets lists the offsets of T's queue q that have entries.
func queueOffsets(t *testing.T, c *cq.Store, q int32) []int64 {
	t.Helper()
	es, err := c.Range("T", q, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range es {
		out = append(out, e.QueueOffset)
	}
	return out
}

// TestForgetCutShortLeavesOneEntryPerQueue: a pass abandoned between
// steps (a crash) has deleted, with the log rows it consumed, every
// entry of theirs but each queue's last; a later pass forgets the rest.
func TestForgetCutShortLeavesOneEntryPerQueue(t *testing.T) {
	d, pdb, c := newLogTestDispatcherCQ(t)
	logQueueRows(t, pdb, 20, 10) // queue 0: records 0-9, queue 1: records 10-19
	g := d.Forget(100 * 21)
	for range 10 {
		if done, err := g.Step(1); err != nil || done {
			t.Fatalf("step: done %v, %v", done, err)
		}
	}
	// Abandoned here, after queue 0's ten records.
	if got := queueOffsets(t, c, 0); !slices.Equal(got, []int64{9}) {
		t.Fatalf("queue 0 after a pass cut short: entries %v, want [9] only", got)
	}
	if got := queueOffsets(t, c, 1); len(got) != 10 {
		t.Fatalf("queue 1 after a pass cut short: entries %v, want all ten", got)
	}
	if _, err := d.ForgetBelow(100 * 21); err != nil {
		t.Fatal(err)
	}
	for q := range int32(2) {
		if got := queueOffsets(t, c, q); !slices.Equal(got, []int64{9}) {
			t.Fatalf("queue %d after the next pass: entries %v, want [9] (the max offset) only", q, got)
		}
	}
}

// TestForgetStepBoundsRecords: a step stops after about maxBatch/64
// records even when they are topic-queue entries only, which go by range
// and add next to nothing to the batch.
func TestForgetStepBoundsRecords(t *testing.T) {
	d, pdb, c := newLogTestDispatcherCQ(t)
	const n = 3000
	logQueueRows(t, pdb, n, n)
	g := d.Forget(100 * (n + 1))
	done, err := g.Step(64 << 10) // 1,024 records
	if err != nil {
		t.Fatal(err)
	}
	if done || g.Records() != 1024 {
		t.Fatalf("first step: done %v after %d records, want not done after 1024", done, g.Records())
	}
	for !done {
		if done, err = g.Step(64 << 10); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Finish(); err != nil {
		t.Fatal(err)
	}
	if g.Records() != n {
		t.Fatalf("forgot %d records, want %d", g.Records(), n)
	}
	if got := queueOffsets(t, c, 0); !slices.Equal(got, []int64{n - 1}) {
		t.Fatalf("entries left %v, want [%d]", got, n-1)
	}
}

// TestRunsBecomeGroups: a chunk's entries of a topic queue are written as
// one row per run of consecutive offsets, a gap or maxRun entries starting
// the next run, and the runs of different queues stay apart.
func TestRunsBecomeGroups(t *testing.T) {
	d, pdb, c := newLogTestDispatcherCQ(t)
	b := pdb.NewBatch()
	for _, e := range []struct {
		queue int32
		off   int64
	}{{0, 5}, {0, 6}, {1, 0}, {0, 7}, {0, 9}, {1, 1}, {0, 10}} {
		if err := d.addEntry(b, "T", e.queue, cq.Entry{QueueOffset: e.off, PhyOffset: 100*int64(e.queue) + e.off}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 { // more than a row takes
		if err := d.addEntry(b, "T", 2, cq.Entry{QueueOffset: int64(i), PhyOffset: 200 + int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.addEntry(b, "T", 0, cq.Entry{QueueOffset: -1}); err == nil {
		t.Fatal("an entry at offset -1 was accepted")
	}
	if err := d.flushRuns(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		queue int32
		first int64
		n     int
	}{{0, 5, 3}, {0, 9, 2}, {1, 0, 2}, {2, 0, maxRun}, {2, maxRun, maxRun}, {2, 2 * maxRun, 300 - 2*maxRun}} {
		row, ok, err := c.RowAt("T", want.queue, want.first)
		if err != nil || !ok || row[0].QueueOffset != want.first || len(row) != want.n {
			t.Fatalf("row at T/%d@%d: %v, %v, %v; want %d entries from there", want.queue, want.first, row, ok, err, want.n)
		}
		for i, e := range row {
			if e.PhyOffset != 100*int64(want.queue)+want.first+int64(i) {
				t.Fatalf("row at T/%d@%d entry %d: %+v", want.queue, want.first, i, e)
			}
		}
	}
	if _, ok, _ := c.RowAt("T", 0, 8); ok {
		t.Fatal("a row holds the gap at offset 8")
	}
	// The runs were written: a second flush writes nothing.
	b2 := pdb.NewBatch()
	if err := d.flushRuns(b2); err != nil || !b2.Empty() {
		t.Fatalf("second flush: %v, empty %v", err, b2.Empty())
	}
	_ = b2.Close()
}

// TestForgetGroupsKeepsTheLastEntryAlone: forgetting every record of a
// queue written in groups deletes the groups below the row of its last
// forgotten entry and, once Finish runs, keeps that entry alone (the max
// offset); forgetting records of a later group cuts that group and re-keys
// its live tail; with a later entry, the kept entry goes.
func TestForgetGroupsKeepsTheLastEntryAlone(t *testing.T) {
	d, pdb, c := newLogTestDispatcherCQ(t)
	chunk := chunkLog{first: -1}
	b := pdb.NewBatch()
	var all []cq.Entry
	for i := range 25 { // rows [0,10) [10,20) [20,25)
		e := cq.Entry{QueueOffset: int64(i), PhyOffset: int64(100 * (i + 1)), Size: 10}
		all = append(all, e)
		chunk.add(e.PhyOffset, appendKey(nil, cq.Key("T", 0, e.QueueOffset)))
	}
	for _, r := range [][2]int{{0, 10}, {10, 20}, {20, 25}} {
		if _, err := cq.PutGroup(b, "T", 0, all[r[0]:r[1]]); err != nil {
			t.Fatal(err)
		}
	}
	if err := chunk.flush(b); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		t.Fatal(err)
	}
	offsets := func() (out []int64) {
		es, err := c.Range("T", 0, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			out = append(out, e.QueueOffset)
		}
		return out
	}
	rows := func() (starts []int64) {
		for _, o := range offsets() {
			if row, ok, _ := c.RowAt("T", 0, o); ok && row[0].QueueOffset == o {
				starts = append(starts, o)
			}
		}
		return starts
	}
	// Forget the records of offsets 0..14: rows [0,10) go, [10,20) keeps
	// 15..19, re-keyed at 15.
	g := d.Forget(100 * 16)
	if _, err := g.Step(0); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Finish(); err != nil {
		t.Fatal(err)
	}
	if got, want := offsets(), []int64{15, 16, 17, 18, 19, 20, 21, 22, 23, 24}; !slices.Equal(got, want) {
		t.Fatalf("entries after forgetting 0..14: %v, want %v", got, want)
	}
	if got := rows(); !slices.Equal(got, []int64{15, 20}) {
		t.Fatalf("row starts %v, want [15 20]", got)
	}
	// Forget everything: the last entry stays, alone.
	if _, err := d.ForgetBelow(100 * 26); err != nil {
		t.Fatal(err)
	}
	if got := offsets(); !slices.Equal(got, []int64{24}) {
		t.Fatalf("entries after forgetting every record: %v, want [24] alone", got)
	}
	if max, err := c.MaxOffset("T", 0); err != nil || max != 25 {
		t.Fatalf("max offset %d, %v; want 25", max, err)
	}
}
