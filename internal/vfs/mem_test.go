package vfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// memHelper wraps the steps of a crash scenario so that each reads as one
// line; every step fails the test on error.
type memHelper struct {
	t *testing.T
	m *Mem
}

func (h memHelper) create(name, data string) File {
	h.t.Helper()
	f, err := h.m.Create(name)
	if err != nil {
		h.t.Fatal(err)
	}
	h.write(f, data)
	return f
}

func (h memHelper) write(f File, data string) {
	h.t.Helper()
	size, err := f.Size()
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(data), size); err != nil {
		h.t.Fatal(err)
	}
}

func (h memHelper) sync(f File) {
	h.t.Helper()
	if err := f.Sync(); err != nil {
		h.t.Fatal(err)
	}
}

func (h memHelper) syncDir(dir string) {
	h.t.Helper()
	if err := h.m.SyncDir(dir); err != nil {
		h.t.Fatal(err)
	}
}

func (h memHelper) do(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// durableFile creates /d/name with data, synced and with a synced entry.
func (h memHelper) durableFile(name, data string) File {
	h.t.Helper()
	f := h.create("/d/"+name, data)
	h.sync(f)
	h.syncDir("/d")
	return f
}

// files returns the content of every file under /d.
func files(t *testing.T, m *Mem) map[string]string {
	t.Helper()
	names, err := m.List("/d")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		b, err := m.ReadFile("/d/" + n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(b)
	}
	return out
}

func TestMemCrash(t *testing.T) {
	cases := []struct {
		name  string
		steps func(h memHelper)
		want  map[string]string // files under /d after the crash; nil: see below
	}{
		{"unsynced bytes are lost", func(h memHelper) {
			h.create("/d/a", "abc")
			h.syncDir("/d")
		}, map[string]string{"a": ""}},
		{"synced bytes are kept, later ones lost", func(h memHelper) {
			f := h.durableFile("a", "abc")
			h.write(f, "def")
		}, map[string]string{"a": "abc"}},
		{"unsynced overwrite is lost", func(h memHelper) {
			f := h.durableFile("a", "abc")
			_, err := f.WriteAt([]byte("X"), 1)
			h.do(err)
		}, map[string]string{"a": "abc"}},
		{"incremental syncs compose", func(h memHelper) {
			f := h.durableFile("a", "abcdef")
			_, err := f.WriteAt([]byte("X"), 2)
			h.do(err)
			h.sync(f)
			h.write(f, "ghi")
			h.sync(f)
			h.do(f.Truncate(4))
			h.write(f, "zz")
			h.sync(f)
			h.write(f, "lost")
		}, map[string]string{"a": "abXdzz"}},
		{"unsynced truncate is lost", func(h memHelper) {
			f := h.durableFile("a", "abcdef")
			h.do(f.Truncate(2))
		}, map[string]string{"a": "abcdef"}},
		{"synced truncate is kept", func(h memHelper) {
			f := h.durableFile("a", "abcdef")
			h.do(f.Truncate(2))
			h.sync(f)
		}, map[string]string{"a": "ab"}},
		{"create without SyncDir disappears", func(h memHelper) {
			h.durableFile("a", "abc")
			f := h.create("/d/b", "synced but unnamed")
			h.sync(f)
		}, map[string]string{"a": "abc"}},
		{"Create over a durable file truncates it only once synced", func(h memHelper) {
			h.durableFile("a", "abc")
			h.create("/d/a", "new")
		}, map[string]string{"a": "abc"}},
		{"rename without SyncDir reverts", func(h memHelper) {
			h.durableFile("a", "abc")
			h.do(h.m.Rename("/d/a", "/d/b"))
		}, map[string]string{"a": "abc"}},
		{"rename with SyncDir is kept", func(h memHelper) {
			h.durableFile("a", "abc")
			h.do(h.m.Rename("/d/a", "/d/b"))
			h.syncDir("/d")
		}, map[string]string{"b": "abc"}},
		{"rename over a file without SyncDir reverts both", func(h memHelper) {
			h.durableFile("a", "new")
			h.durableFile("b", "old")
			h.do(h.m.Rename("/d/a", "/d/b"))
		}, map[string]string{"a": "new", "b": "old"}},
		{"atomic publish: write tmp, sync, rename, SyncDir", func(h memHelper) {
			h.durableFile("meta", "v1")
			f := h.create("/d/meta.tmp", "v2")
			h.sync(f)
			h.do(h.m.Rename("/d/meta.tmp", "/d/meta"))
			h.syncDir("/d")
		}, map[string]string{"meta": "v2"}},
		{"remove without SyncDir reverts with the synced content", func(h memHelper) {
			f := h.durableFile("a", "abc")
			h.write(f, "unsynced")
			h.do(h.m.Remove("/d/a"))
		}, map[string]string{"a": "abc"}},
		{"remove with SyncDir is kept", func(h memHelper) {
			h.durableFile("a", "abc")
			h.do(h.m.Remove("/d/a"))
			h.syncDir("/d")
		}, map[string]string{}},
		{"SyncDir of another directory does not help", func(h memHelper) {
			h.do(h.m.MkdirAll("/e"))
			h.create("/d/a", "abc")
			h.syncDir("/e")
		}, map[string]string{}},
		{"removed directory comes back with its unsynced-removed files", func(h memHelper) {
			h.do(h.m.MkdirAll("/d/sub"))
			f := h.create("/d/sub/x", "x")
			h.sync(f)
			h.syncDir("/d/sub")
			h.do(h.m.Remove("/d/sub/x"))
			h.do(h.m.Remove("/d/sub"))
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewMem()
			h := memHelper{t, m}
			h.do(m.MkdirAll("/d"))
			c.steps(h)
			after := m.Crash()
			if c.want == nil { // the one case with a subdirectory
				if b, err := after.ReadFile("/d/sub/x"); err != nil || string(b) != "x" {
					t.Fatalf("/d/sub/x = %q, %v", b, err)
				}
				return
			}
			if got := files(t, after); !mapsEqual(got, c.want) {
				t.Errorf("after crash %q, want %q", got, c.want)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

func TestMemCrashWith(t *testing.T) {
	m := NewMem()
	h := memHelper{t, m}
	h.do(m.MkdirAll("/d"))
	a := h.durableFile("a", "abc")
	h.write(a, "defgh")
	b := h.durableFile("b", "0123")
	_, err := b.WriteAt([]byte("X"), 1) // inside the synced part
	h.do(err)
	h.write(b, "45")

	cases := []struct {
		name string
		hook func(name string, synced, current []byte) []byte
		want map[string]string
	}{
		{"TornTail(3)", TornTail(3), map[string]string{"a": "abcdef", "b": "012345"}},
		{"TornTail(0)", TornTail(0), map[string]string{"a": "abc", "b": "0123"}},
		{"TornTail beyond the tail", TornTail(100), map[string]string{"a": "abcdefgh", "b": "012345"}},
		{"everything", func(_ string, _, current []byte) []byte { return current }, map[string]string{"a": "abcdefgh", "b": "0X2345"}},
		{"per name", func(name string, synced, current []byte) []byte {
			if name == "/d/b" {
				return nil
			}
			return append(synced, '!')
		}, map[string]string{"a": "abc!", "b": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := files(t, m.CrashWith(c.hook)); !mapsEqual(got, c.want) {
				t.Errorf("after crash %q, want %q", got, c.want)
			}
		})
	}
	// The hooks above modified what they were given; m must not notice.
	if got := files(t, m); !mapsEqual(got, map[string]string{"a": "abcdefgh", "b": "0X2345"}) {
		t.Errorf("crashed Mem changed: %q", got)
	}
}

// TestMemCrashLeavesOldUsable checks the documented contract: the old Mem
// and its handles keep working, and nothing done to them reaches the new.
func TestMemCrashLeavesOldUsable(t *testing.T) {
	m := NewMem()
	h := memHelper{t, m}
	h.do(m.MkdirAll("/d"))
	f := h.durableFile("a", "abc")
	after := m.Crash()
	h.write(f, "def")
	h.sync(f)
	if got := files(t, after); got["a"] != "abc" {
		t.Errorf("write to the old Mem reached the new one: %q", got)
	}
	// The new Mem is a full FS, crashable again.
	g, err := after.OpenReadWrite("/d/a")
	h.do(err)
	defer g.Close()
	_, err = g.WriteAt([]byte("Z"), 3)
	h.do(err)
	if got := files(t, after.Crash()); got["a"] != "abc" {
		t.Errorf("second crash: %q", got)
	}
	h.sync(g)
	if got := files(t, after.Crash()); got["a"] != "abcZ" {
		t.Errorf("second crash after sync: %q", got)
	}
}

func TestMemHelpers(t *testing.T) {
	m := NewMem()
	h := memHelper{t, m}

	// WriteFile makes parents and is durable at once.
	h.do(m.WriteFile("/d/sub/f", []byte("0123456789")))
	after := m.Crash()
	if b, err := after.ReadFile("/d/sub/f"); err != nil || string(b) != "0123456789" {
		t.Fatalf("after crash: %q, %v", b, err)
	}

	// ReadFile shows current, unsynced content; its result is a copy.
	f, err := m.OpenReadWrite("/d/sub/f")
	h.do(err)
	defer f.Close()
	h.write(f, "AB")
	b, err := m.ReadFile("/d/sub/f")
	if err != nil || string(b) != "0123456789AB" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	b[0] = 'x'
	if b, _ := m.ReadFile("/d/sub/f"); b[0] != '0' {
		t.Error("ReadFile returned a view, not a copy")
	}

	// Corrupt hits both the current and the synced content.
	h.do(m.Corrupt("/d/sub/f", 8, []byte("??!")))
	if b, _ := m.ReadFile("/d/sub/f"); string(b) != "01234567??!B" {
		t.Errorf("current after Corrupt = %q", b)
	}
	if b, _ := m.Crash().ReadFile("/d/sub/f"); string(b) != "01234567??" {
		t.Errorf("synced after Corrupt = %q", b)
	}
	for _, off := range []int64{-1, 11} {
		if err := m.Corrupt("/d/sub/f", off, []byte("xx")); err == nil {
			t.Errorf("Corrupt at %d beyond the file succeeded", off)
		}
	}
	if _, err := m.ReadFile("/d/none"); !errors.Is(err, ErrNotExist) {
		t.Errorf("ReadFile missing: %v", err)
	}

	// Wild offsets are errors, not out-of-memory crashes.
	if _, err := f.WriteAt([]byte("x"), 1<<40); err == nil {
		t.Error("WriteAt at 1 TiB succeeded")
	}
}

// TestMemConcurrentCrash runs a writer that follows the store's discipline
// (sync the data before the index that points into it) against readers
// and crashes. Every crash image must respect that order: Crash is an
// atomic snapshot. Run with -race.
func TestMemConcurrentCrash(t *testing.T) {
	m := NewMem()
	h := memHelper{t, m}
	h.do(m.MkdirAll("/d"))
	data := h.durableFile("data", "")
	index := h.durableFile("index", "")
	const records = 1000
	const recSize = 16

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // writer
		defer wg.Done()
		defer close(stop)
		rec := bytes.Repeat([]byte{'r'}, recSize)
		for i := range records {
			off := int64(i * recSize)
			if _, err := data.WriteAt(rec, off); err != nil {
				t.Error(err)
				return
			}
			if err := data.Sync(); err != nil {
				t.Error(err)
				return
			}
			if _, err := index.WriteAt(binary.BigEndian.AppendUint64(nil, uint64(off+recSize)), int64(i*8)); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 { // sometimes the index lags: still consistent
				if err := index.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for range 2 { // readers, bounded so as not to starve the writer
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, recSize)
			for i := range records {
				if n, err := data.ReadAt(buf, int64(i*recSize)); err == nil && !bytes.Equal(buf[:n], bytes.Repeat([]byte{'r'}, recSize)) {
					t.Errorf("read %q", buf[:n])
					return
				}
			}
		}()
	}
	crashes := 0
	for done := false; !done; crashes++ {
		select {
		case <-stop:
			done = true
		default:
		}
		img := m.Crash()
		d, err := img.ReadFile("/d/data")
		h.do(err)
		idx, err := img.ReadFile("/d/index")
		h.do(err)
		if len(idx) >= 8 {
			if end := binary.BigEndian.Uint64(idx[len(idx)-8:]); end > uint64(len(d)) {
				t.Fatalf("crash image: index points to %d, data has %d bytes", end, len(d))
			}
		}
	}
	wg.Wait()
	if got, _ := m.ReadFile("/d/data"); len(got) != records*recSize {
		t.Errorf("data has %d bytes", len(got))
	}
	t.Logf("%d crash images checked", crashes)
}

func TestMemErrors(t *testing.T) {
	m := NewMem()
	h := memHelper{t, m}
	h.do(m.WriteFile("/f", []byte("x")))
	h.do(m.MkdirAll("/dir"))
	cases := []struct {
		name string
		err  error
		is   error // nil: any error
	}{
		{"Create a directory", func() error { _, err := m.Create("/dir"); return err }(), nil},
		{"Open a directory", func() error { _, err := m.Open("/dir"); return err }(), nil},
		{"Create under a file", func() error { _, err := m.Create("/f/x"); return err }(), nil},
		{"MkdirAll under a file", m.MkdirAll("/f/x"), nil},
		{"List a file", func() error { _, err := m.List("/f"); return err }(), nil},
		{"Rename onto a directory", m.Rename("/f", "/dir"), nil},
		{"Rename a directory", m.Rename("/dir", "/dir2"), errors.ErrUnsupported},
		{"Remove the root", m.Remove("/"), nil},
	}
	for _, c := range cases {
		if c.err == nil || (c.is != nil && !errors.Is(c.err, c.is)) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
	// Names are cleaned: one file, however spelled.
	h.do(m.WriteFile("/dir/./a", []byte("1")))
	if b, err := m.ReadFile("/dir/x/../a"); err != nil || string(b) != "1" {
		t.Errorf("cleaned name: %q, %v", b, err)
	}
	names, _ := m.List("/")
	if !slices.Equal(names, []string{"dir", "f"}) {
		t.Errorf("List(/) = %q", names)
	}
	if got := fmt.Sprint(m.Remove("/dir/none")); !bytes.Contains([]byte(got), []byte("/dir/none")) {
		t.Errorf("error %q does not name the path", got)
	}
}
