package vfs

import (
	"errors"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
)

// newFaultyMem returns a Faulty over a Mem holding the durable, empty
// directory /d.
func newFaultyMem(t *testing.T, inject Injector) (*Faulty, *Mem) {
	t.Helper()
	m := NewMem()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	return NewFaulty(m, inject), m
}

func TestFaultyInjectors(t *testing.T) {
	write := func(f File, s string, off int64) error { _, err := f.WriteAt([]byte(s), off); return err }
	cases := []struct {
		name   string
		inject Injector
		// run writes "a", "b", "c" at offsets 0, 1, 2, syncing after each,
		// and returns which calls failed (w1 w2 w3 s1 s2 s3).
		wantFailed []string
		wantNow    string // current content
		wantCrash  string // content after a crash
	}{
		{"none", nil, nil, "abc", "abc"},
		{"FailNth write 2", FailNth(OpWrite, 2), []string{"w2"}, "a\x00c", "a\x00c"},
		{"FailNth sync 1", FailNth(OpSync, 1), []string{"s1"}, "abc", "abc"},
		{"FailAfter sync 1", FailAfter(OpSync, 1), []string{"s2", "s3"}, "abc", "a"},
		{"FailAfter sync 0", FailAfter(OpSync, 0), []string{"s1", "s2", "s3"}, "abc", ""},
		{"FailIf write at 1", FailIf(func(op Op) bool { return op.Kind == OpWrite && op.Off == 1 }), []string{"w2"}, "a\x00c", "a\x00c"},
		{"All", All(FailNth(OpWrite, 1), FailNth(OpSync, 3)), []string{"w1", "s3"}, "\x00bc", "\x00b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, m := newFaultyMem(t, c.inject)
			f, err := fs.Create("/d/f")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := fs.SyncDir("/d"); err != nil {
				t.Fatal(err)
			}
			var failed []string
			for i, s := range []string{"a", "b", "c"} {
				for _, step := range []struct {
					id  string
					err error
				}{{"w", write(f, s, int64(i))}, {"s", f.Sync()}} {
					if step.err != nil {
						if !errors.Is(step.err, ErrInjected) {
							t.Errorf("%s%d: %v does not match ErrInjected", step.id, i+1, step.err)
						}
						failed = append(failed, step.id+string(rune('1'+i)))
					}
				}
			}
			slices.Sort(failed)
			want := slices.Sorted(slices.Values(c.wantFailed))
			if !slices.Equal(failed, want) {
				t.Errorf("failed %q, want %q", failed, want)
			}
			if b, _ := m.ReadFile("/d/f"); string(b) != c.wantNow {
				t.Errorf("content %q, want %q", b, c.wantNow)
			}
			if b, _ := m.Crash().ReadFile("/d/f"); string(b) != c.wantCrash {
				t.Errorf("after crash %q, want %q", b, c.wantCrash)
			}
		})
	}
}

func TestFaultyShortWrite(t *testing.T) {
	for _, c := range []struct {
		keep  int
		wantN int
	}{{3, 3}, {0, 0}, {-1, 0}, {100, 6}} {
		fs, m := newFaultyMem(t, ShortWriteNth(2, c.keep))
		f, err := fs.Create("/d/f")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("first "), 0); err != nil {
			t.Fatal(err)
		}
		n, err := f.WriteAt([]byte("second"), 6)
		var short ShortWrite
		if n != c.wantN || !errors.Is(err, ErrInjected) || !errors.As(err, &short) || short.N != c.keep {
			t.Errorf("keep %d: WriteAt = %d, %v", c.keep, n, err)
		}
		if b, _ := m.ReadFile("/d/f"); string(b) != "first "+"second"[:c.wantN] {
			t.Errorf("keep %d: content %q", c.keep, b)
		}
		f.Close()
	}
}

// TestFaultyOps checks that every operation reaches the injector described
// correctly, and that a failed one has no effect.
func TestFaultyOps(t *testing.T) {
	var mu sync.Mutex
	var seen []Op
	fail := false
	fs, m := newFaultyMem(t, func(op Op) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, op)
		if fail {
			return syscall.ENOSPC
		}
		return nil
	})
	f, _ := fs.Create("/d/a")
	f.WriteAt([]byte("hello"), 0)
	f.ReadAt(make([]byte, 2), 3)
	f.Sync()
	f.Truncate(4)
	f.Size()
	f.Preallocate(100)
	f.Close()
	fs.OpenReadWrite("/d/b")
	r, _ := fs.Open("/d/a")
	r.Close()
	fs.Rename("/d/a", "/d/c")
	fs.Remove("/d/b")
	fs.MkdirAll("/d/e")
	fs.List("/d")
	fs.Stat("/d/c")
	fs.SyncDir("/d")
	want := []Op{
		{Kind: OpCreate, Name: "/d/a"},
		{Kind: OpWrite, Name: "/d/a", Off: 0, Len: 5},
		{Kind: OpRead, Name: "/d/a", Off: 3, Len: 2},
		{Kind: OpSync, Name: "/d/a"},
		{Kind: OpTruncate, Name: "/d/a", Size: 4},
		{Kind: OpSize, Name: "/d/a"},
		{Kind: OpPreallocate, Name: "/d/a", Size: 100},
		{Kind: OpClose, Name: "/d/a"},
		{Kind: OpOpenReadWrite, Name: "/d/b"},
		{Kind: OpOpen, Name: "/d/a"},
		{Kind: OpClose, Name: "/d/a"},
		{Kind: OpRename, Name: "/d/a", NewName: "/d/c"},
		{Kind: OpRemove, Name: "/d/b"},
		{Kind: OpMkdirAll, Name: "/d/e"},
		{Kind: OpList, Name: "/d"},
		{Kind: OpStat, Name: "/d/c"},
		{Kind: OpSyncDir, Name: "/d"},
	}
	if !slices.Equal(seen, want) {
		t.Errorf("ops:\n got %v\nwant %v", seen, want)
	}

	// Now fail everything: nothing may change.
	g, err := fs.OpenReadWrite("/d/c") // opened before failing starts
	if err != nil {
		t.Fatal(err)
	}
	fail = true
	failures := map[string]error{
		"Create":  func() error { _, err := fs.Create("/d/c"); return err }(),
		"Open":    func() error { _, err := fs.Open("/d/c"); return err }(),
		"Remove":  fs.Remove("/d/c"),
		"Rename":  fs.Rename("/d/c", "/d/z"),
		"Mkdir":   fs.MkdirAll("/d/y"),
		"WriteAt": func() error { _, err := g.WriteAt([]byte("x"), 0); return err }(),
		"Trunc":   g.Truncate(0),
		"Close":   g.Close(),
	}
	for name, err := range failures {
		var ie *InjectedError
		if !errors.Is(err, ErrInjected) || !errors.Is(err, syscall.ENOSPC) || !errors.As(err, &ie) {
			t.Errorf("%s: %v, want an *InjectedError matching ErrInjected and ENOSPC", name, err)
		}
	}
	if b, _ := m.ReadFile("/d/c"); string(b) != "hell" {
		t.Errorf("content changed by failed ops: %q", b)
	}
	if names, _ := m.List("/d"); !slices.Equal(names, []string{"c", "e"}) {
		t.Errorf("names changed by failed ops: %q", names)
	}
	// A failed Close still closed the inner file.
	fail = false
	if err := g.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Close after a failed Close: %v, want os.ErrClosed", err)
	}
}

func TestFaultySetInjector(t *testing.T) {
	fs, _ := newFaultyMem(t, nil)
	f, err := fs.Create("/d/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	fs.SetInjector(FailAfter(OpSync, 0)) // reaches files already open
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Errorf("Sync after SetInjector: %v", err)
	}
	fs.SetInjector(nil)
	if err := f.Sync(); err != nil {
		t.Errorf("Sync after SetInjector(nil): %v", err)
	}
}

func TestOpString(t *testing.T) {
	for _, c := range []struct {
		op   Op
		want string
	}{
		{Op{Kind: OpWrite, Name: "f", Off: 4, Len: 2}, "write f off=4 len=2"},
		{Op{Kind: OpRename, Name: "a", NewName: "b"}, "rename a b"},
		{Op{Kind: OpTruncate, Name: "f", Size: 9}, "truncate f size=9"},
		{Op{Kind: OpSyncDir, Name: "d"}, "syncdir d"},
		{Op{Kind: 99, Name: "x"}, "OpKind(99) x"},
	} {
		if got := c.op.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
	err := error(&InjectedError{Op: Op{Kind: OpSync, Name: "f"}, Err: syscall.EIO})
	if got := err.Error(); got != "vfs: injected fault: sync f: input/output error" {
		t.Errorf("Error() = %q", got)
	}
}
