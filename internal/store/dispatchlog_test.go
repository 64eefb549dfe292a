package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/index"
	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// TestDispatchLogChunks: a batch dispatched as one chunk is logged in one
// dispatch-log row, with its queue entries in one consume-queue row, and
// truncation, replay and retention cut inside those rows forget exactly
// the records they name (queue entry, LMQ entry, key and unique-key index)
// and keep the others findable.
func TestDispatchLogChunks(t *testing.T) {
	e := newEnv()
	s := e.open(t, nil)
	defer s.Close()
	const n = 40
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = msg("DL", 0, fmt.Sprintf("dl%03d", i), message.PropertyKeys, fmt.Sprintf("key%03d", i),
			message.PropertyUniqKey, fmt.Sprintf("UNIQ%03d", i), message.PropertyInnerMultiDispatch, "%LMQ%dl")
	}
	res, err := s.PutBatch(msgs)
	if err != nil {
		t.Fatal(err)
	}
	phys := res.PhyOffsets
	waitDispatched(t, s)
	s.dispatcher.Stop() // from here on the test dispatches by hand

	logRows := func() int {
		it, err := s.kv.Pebble().NewIter(&pebble.IterOptions{
			LowerBound: []byte{kvdb.PrefixDispatch}, UpperBound: []byte{kvdb.PrefixDispatch + 1}})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		rows := 0
		for ok := it.First(); ok; ok = it.Next() {
			rows++
		}
		return rows
	}
	// check says that records [lo, hi) can be found every way, the others
	// no way, and that the dispatch log has rows rows.
	check := func(stage string, lo, hi, rows int) {
		t.Helper()
		for i := range n {
			want := i >= lo && i < hi
			_, qerr := s.cq.Get("DL", 0, int64(i))
			_, lerr := s.cq.Get("%LMQ%dl", 0, int64(i))
			keys, err := s.Query(index.KindKey, "DL", fmt.Sprintf("key%03d", i), 0, 1<<62, 4)
			if err != nil {
				t.Fatal(err)
			}
			uniq, err := s.Query(index.KindUniqKey, "DL", fmt.Sprintf("UNIQ%03d", i), 0, 1<<62, 4)
			if err != nil {
				t.Fatal(err)
			}
			for what, found := range map[string]bool{"queue entry": qerr == nil, "LMQ entry": lerr == nil,
				"key": len(keys) == 1, "unique key": len(uniq) == 1} {
				if found != want {
					t.Fatalf("%s: record %d: %s found %v, want %v", stage, i, what, found, want)
				}
			}
			for _, err := range []error{qerr, lerr} {
				if err != nil && !errors.Is(err, cq.ErrNotFound) {
					t.Fatalf("%s: record %d: %v", stage, i, err)
				}
			}
		}
		if got := logRows(); got != rows {
			t.Fatalf("%s: %d dispatch-log rows, want %d", stage, got, rows)
		}
	}
	check("dispatched", 0, n, 1)
	// One pass, one queue: its entries are one row (a group), which the
	// cuts below split.
	if row, ok, err := s.cq.RowAt("DL", 0, 0); err != nil || !ok || len(row) != n {
		t.Fatalf("row at DL/0@0: %d entries, %v, %v; want all %d", len(row), ok, err, n)
	}

	if err := s.disp.TruncateFrom(phys[25]); err != nil {
		t.Fatal(err)
	}
	check("truncated at 25", 0, 25, 1)

	if _, err := s.disp.DispatchTo(s.commit.WriteOffset()); err != nil {
		t.Fatal(err)
	}
	check("replayed", 0, n, 2)

	// A cut inside the first row, with the second row after it.
	if err := s.disp.TruncateFrom(phys[20]); err != nil {
		t.Fatal(err)
	}
	check("truncated at 20", 0, 20, 1)
	if _, err := s.disp.DispatchTo(s.commit.WriteOffset()); err != nil {
		t.Fatal(err)
	}
	check("replayed again", 0, n, 2)

	if _, err := s.disp.ForgetBelow(phys[10]); err != nil {
		t.Fatal(err)
	}
	check("forgot below 10", 10, n, 2)

	if err := s.disp.TruncateFrom(phys[30]); err != nil {
		t.Fatal(err)
	}
	check("truncated at 30", 10, 30, 2)

	if _, err := s.disp.ForgetBelow(phys[27]); err != nil {
		t.Fatal(err)
	}
	check("forgot below 27", 27, 30, 1)
}

// TestDispatchLogRowCap: a chunk whose records log more than a row may
// hold (long keys) is logged in several rows, and a truncation inside it
// forgets exactly the records from the cut on.
func TestDispatchLogRowCap(t *testing.T) {
	e := newEnv()
	s := e.open(t, func(c *Config) { c.SegmentSize = 1 << 20 })
	defer s.Close()
	const n = 60
	long := strings.Repeat("k", 3000) // 60 records x a 3 KB key: about 180 KB of logged keys
	key := func(i int) string { return fmt.Sprintf("%s%03d", long, i) }
	msgs := make([]*message.Message, n)
	for i := range msgs {
		msgs[i] = msg("CAP", 0, fmt.Sprintf("c%03d", i), message.PropertyKeys, key(i))
	}
	res, err := s.PutBatch(msgs)
	if err != nil {
		t.Fatal(err)
	}
	waitDispatched(t, s)
	s.dispatcher.Stop()
	rows := 0
	it, err := s.kv.Pebble().NewIter(&pebble.IterOptions{LowerBound: []byte{kvdb.PrefixDispatch}, UpperBound: []byte{kvdb.PrefixDispatch + 1}})
	if err != nil {
		t.Fatal(err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		rows++
		if len(it.Value()) > 80<<10 {
			t.Errorf("a dispatch-log row of %d bytes", len(it.Value()))
		}
	}
	_ = it.Close()
	if rows < 3 || rows > 4 {
		t.Fatalf("%d dispatch-log rows for one chunk of %d records with ~180 KB of keys, want 3 or 4 (64 KiB each)", rows, n)
	}
	if err := s.disp.TruncateFrom(res.PhyOffsets[37]); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		hits, err := s.Query(index.KindKey, "CAP", key(i), 0, 1<<62, 4)
		if err != nil {
			t.Fatal(err)
		}
		if (len(hits) == 1) != (i < 37) {
			t.Fatalf("record %d: %d hits after truncating at 37", i, len(hits))
		}
	}
}
