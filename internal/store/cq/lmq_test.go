package cq

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func lmqNames(ls []LMQ) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func TestLMQRegistry(t *testing.T) {
	db, s := openTest(t)
	pdb := db.Pebble()

	b := pdb.NewBatch()
	for i, name := range []string{"%LMQ%b", "%LMQ%a", "%LMQ%a1", "%LMQ%c", "other"} {
		added, err := s.RegisterLMQ(b, name, int64(100+i))
		if err != nil || !added {
			t.Fatalf("RegisterLMQ(%q) = %v, %v", name, added, err)
		}
	}
	if got := s.LMQCount(); got != 5 {
		t.Fatalf("count after register = %d", got)
	}
	// Not committed yet: not visible to readers.
	if ok, err := s.IsLMQRegistered("%LMQ%a"); err != nil || ok {
		t.Fatalf("uncommitted name visible: %v, %v", ok, err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}

	// Re-registering (recovery replay) changes nothing, first-seen included.
	b = pdb.NewBatch()
	if added, err := s.RegisterLMQ(b, "%LMQ%a", 999); err != nil || added {
		t.Fatalf("re-register = %v, %v", added, err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if got := s.LMQCount(); got != 5 {
		t.Fatalf("count after re-register = %d", got)
	}
	ls, err := s.ListLMQs("%LMQ%a", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := []LMQ{{"%LMQ%a", 101}, {"%LMQ%a1", 102}}; !slices.Equal(ls, want) {
		t.Fatalf("ListLMQs(prefix a) = %v, want %v", ls, want)
	}

	for _, tc := range []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{"", "", 10, []string{"%LMQ%a", "%LMQ%a1", "%LMQ%b", "%LMQ%c", "other"}},
		{"%LMQ%", "", 10, []string{"%LMQ%a", "%LMQ%a1", "%LMQ%b", "%LMQ%c"}},
		{"%LMQ%", "", 2, []string{"%LMQ%a", "%LMQ%a1"}},
		{"%LMQ%", "%LMQ%a1", 2, []string{"%LMQ%b", "%LMQ%c"}},
		{"%LMQ%", "%LMQ%c", 2, nil},
		{"%LMQ%", "%LMQ%a0", 1, []string{"%LMQ%a1"}}, // after need not exist
		{"%LMQ%", "!", 1, []string{"%LMQ%a"}},        // after below the prefix
		{"%LMQ%", "zzz", 1, nil},                     // after above the prefix
		{"%LMQ%x", "", 10, nil},
		{"oth", "", 10, []string{"other"}},
	} {
		ls, err := s.ListLMQs(tc.prefix, tc.after, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := lmqNames(ls); !slices.Equal(got, tc.want) {
			t.Errorf("ListLMQs(%q, %q, %d) = %v, want %v", tc.prefix, tc.after, tc.limit, got, tc.want)
		}
	}

	b = pdb.NewBatch()
	if removed, err := s.UnregisterLMQ(b, "%LMQ%b"); err != nil || !removed {
		t.Fatalf("unregister = %v, %v", removed, err)
	}
	if removed, err := s.UnregisterLMQ(b, "%LMQ%nope"); err != nil || removed {
		t.Fatalf("unregister unknown = %v, %v", removed, err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if got := s.LMQCount(); got != 4 {
		t.Fatalf("count after unregister = %d", got)
	}
	for name, want := range map[string]bool{"%LMQ%a": true, "%LMQ%b": false, "%LMQ%": false} {
		if ok, err := s.IsLMQRegistered(name); err != nil || ok != want {
			t.Errorf("IsLMQRegistered(%q) = %v, %v; want %v", name, ok, err, want)
		}
	}

	// A new Store recounts from the rows.
	s2, err := Open(pdb)
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.LMQCount(); got != 4 {
		t.Fatalf("recount = %d", got)
	}
}

func TestLMQRegistryIndexedBatchDedup(t *testing.T) {
	db, s := openTest(t)
	b := db.Pebble().NewIndexedBatch()
	for i := range 3 {
		added, err := s.RegisterLMQ(b, "%LMQ%x", int64(i))
		if err != nil || added != (i == 0) {
			t.Fatalf("register #%d = %v, %v", i, added, err)
		}
	}
	if removed, err := s.UnregisterLMQ(b, "%LMQ%x"); err != nil || !removed {
		t.Fatalf("unregister in same batch = %v, %v", removed, err)
	}
	if removed, err := s.UnregisterLMQ(b, "%LMQ%x"); err != nil || removed {
		t.Fatalf("second unregister in same batch = %v, %v", removed, err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if got := s.LMQCount(); got != 0 {
		t.Fatalf("count = %d", got)
	}
	if n, err := s.ReloadLMQCount(); err != nil || n != 0 {
		t.Fatalf("reload = %d, %v", n, err)
	}
}

func TestLMQDiscardedBatchReload(t *testing.T) {
	db, s := openTest(t)
	b := db.Pebble().NewBatch()
	if _, err := s.RegisterLMQ(b, "%LMQ%x", 1); err != nil {
		t.Fatal(err)
	}
	b.Close() // discarded: the optimistic count is now wrong ...
	if s.LMQCount() != 1 {
		t.Fatal("count not optimistic")
	}
	if n, err := s.ReloadLMQCount(); err != nil || n != 0 || s.LMQCount() != 0 { // ... until reloaded
		t.Fatalf("reload = %d, %v", n, err)
	}
}

func TestLMQValidation(t *testing.T) {
	db, s := openTest(t)
	b := db.Pebble().NewBatch()
	defer b.Close()
	for _, name := range []string{"", "a\x00b"} {
		if _, err := s.RegisterLMQ(b, name, 0); !errors.Is(err, ErrInvalidLMQ) {
			t.Errorf("RegisterLMQ(%q) = %v", name, err)
		}
		if _, err := s.UnregisterLMQ(b, name); !errors.Is(err, ErrInvalidLMQ) {
			t.Errorf("UnregisterLMQ(%q) = %v", name, err)
		}
		if _, err := s.IsLMQRegistered(name); !errors.Is(err, ErrInvalidLMQ) {
			t.Errorf("IsLMQRegistered(%q) = %v", name, err)
		}
	}
	if _, err := s.ListLMQs("", "", 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("ListLMQs limit 0 = %v", err)
	}
}

func TestLMQPagingAll(t *testing.T) {
	db, s := openTest(t)
	b := db.Pebble().NewBatch()
	const n = 1000
	for i := range n {
		if _, err := s.RegisterLMQ(b, fmt.Sprintf("%%LMQ%%%05d", i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	var all []string
	after := ""
	for {
		page, err := s.ListLMQs("%LMQ%", after, 64)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, lmqNames(page)...)
		after = page[len(page)-1].Name
	}
	if len(all) != n || !slices.IsSorted(all) || s.LMQCount() != n {
		t.Fatalf("paged %d names (sorted %v), count %d", len(all), slices.IsSorted(all), s.LMQCount())
	}
}

// DeriveLMQNext finds each registered LMQ's last row with any number of
// workers, names that prefix one another included, counts the entries of a
// last row that is a group, and skips LMQs without rows.
func TestDeriveLMQNext(t *testing.T) {
	db, s := openTest(t)
	b := db.Pebble().NewBatch()
	want := map[string]int64{}
	for i := range 10000 {
		name := fmt.Sprintf("%%LMQ%%n%d", i) // n1 prefixes n10, n100, ...
		if err := s.RegisterNewLMQ(b, name, 1); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			continue // registered, no rows yet
		}
		rows := int64(i%5 + 1)
		for off := range rows {
			if _, err := Put(b, name, 0, Entry{QueueOffset: off, PhyOffset: int64(i), Size: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 0 { // the last row a group: next is past its last entry
			g := []Entry{{QueueOffset: rows, Size: 1}, {QueueOffset: rows + 1, Size: 1}}
			if _, err := PutGroup(b, name, 0, g); err != nil {
				t.Fatal(err)
			}
			rows += 2
		}
		want[name] = rows
	}
	if _, err := Put(b, "T", 0, Entry{QueueOffset: 0, Size: 1}); err != nil { // a topic's rows are not LMQs
		t.Fatal(err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		got := map[string]int64{}
		n, err := s.DeriveLMQNext(workers, func(name string, next int64) { got[name] = next })
		if err != nil || n != len(want) {
			t.Fatalf("%d workers: %d found, %v; want %d", workers, n, err, len(want))
		}
		for name, next := range want {
			if got[name] != next {
				t.Fatalf("%d workers: %s next %d, want %d", workers, name, got[name], next)
			}
		}
	}
}
