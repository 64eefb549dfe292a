package vfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"slices"
	"testing"
)

// impls are the FS implementations every conformance test runs against,
// each with a fresh root directory: the store must not be able to tell
// them apart.
var impls = []struct {
	name string
	new  func(t *testing.T) (FS, string)
}{
	{"OS", func(t *testing.T) (FS, string) { return OS(), t.TempDir() }},
	{"Mem", func(t *testing.T) (FS, string) { return newMemRoot(t, NewMem()) }},
	{"Faulty(Mem)", func(t *testing.T) (FS, string) { return newMemRoot(t, NewFaulty(NewMem(), nil)) }},
}

func newMemRoot(t *testing.T, fs FS) (FS, string) {
	t.Helper()
	const root = "/data/store"
	if err := fs.MkdirAll(root); err != nil {
		t.Fatal(err)
	}
	return fs, root
}

func forEachFS(t *testing.T, test func(t *testing.T, fs FS, root string)) {
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			fs, root := impl.new(t)
			test(t, fs, root)
		})
	}
}

func mustCreate(t *testing.T, fs FS, name string, data string) File {
	t.Helper()
	f, err := fs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(data), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readAll(t *testing.T, f File) string {
	t.Helper()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); n != len(buf) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt = %d, %v; want %d", n, err, len(buf))
	}
	return string(buf)
}

// TestReadAtEOF pins os.File.ReadAt's contract, which Mem must share.
func TestReadAtEOF(t *testing.T) {
	const content = "hello world" // 11 bytes
	cases := []struct {
		name    string
		off     int64
		len     int
		want    string
		wantErr error // io.EOF, nil, or errAny
	}{
		{"inside", 0, 5, "hello", nil},
		{"up to end", 6, 5, "world", nil},
		{"across end", 6, 10, "world", io.EOF},
		{"at end", 11, 1, "", io.EOF},
		{"past end", 100, 4, "", io.EOF},
		{"empty at end", 11, 0, "", nil},
		{"empty past end", 100, 0, "", nil},
		{"negative offset", -1, 1, "", errAny},
	}
	forEachFS(t, func(t *testing.T, fs FS, root string) {
		f := mustCreate(t, fs, path.Join(root, "f"), content)
		for _, c := range cases {
			buf := make([]byte, c.len)
			n, err := f.ReadAt(buf, c.off)
			switch {
			case c.wantErr == errAny && (err == nil || err == io.EOF):
				t.Errorf("%s: err = %v, want a non-EOF error", c.name, err)
			case c.wantErr != errAny && err != c.wantErr: // io.EOF unwrapped, as io.ReaderAt says
				t.Errorf("%s: err = %v, want %v", c.name, err, c.wantErr)
			}
			if got := string(buf[:n]); got != c.want {
				t.Errorf("%s: read %q, want %q", c.name, got, c.want)
			}
		}
	})
}

var errAny = errors.New("any error but io.EOF")

func TestWriteAtAndTruncate(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, root string) {
		f := mustCreate(t, fs, path.Join(root, "f"), "abc")
		steps := []struct {
			name string
			do   func() error
			want string
		}{
			{"overwrite", func() error { _, err := f.WriteAt([]byte("X"), 1); return err }, "aXc"},
			{"gap is zero-filled", func() error { _, err := f.WriteAt([]byte("Z"), 5); return err }, "aXc\x00\x00Z"},
			{"empty write does not extend", func() error { _, err := f.WriteAt(nil, 100); return err }, "aXc\x00\x00Z"},
			{"shrink", func() error { return f.Truncate(2) }, "aX"},
			// Mem reuses its buffer: the bytes cut off must not reappear.
			{"grow is zero-filled", func() error { return f.Truncate(4) }, "aX\x00\x00"},
			{"write after shrink", func() error {
				if err := f.Truncate(1); err != nil {
					return err
				}
				_, err := f.WriteAt([]byte("q"), 3)
				return err
			}, "a\x00\x00q"},
		}
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got := readAll(t, f); got != s.want {
				t.Fatalf("%s: content %q, want %q", s.name, got, s.want)
			}
		}
		if _, err := f.WriteAt([]byte("x"), -1); err == nil {
			t.Error("WriteAt at a negative offset succeeded")
		}
		if err := f.Truncate(-1); err == nil {
			t.Error("Truncate to a negative size succeeded")
		}
		if err := f.Sync(); err != nil {
			t.Error(err)
		}
	})
}

func TestNamespace(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, root string) {
		p := func(name string) string { return path.Join(root, name) }
		missing := p("missing")

		// Missing names.
		if _, err := fs.Open(missing); !errors.Is(err, ErrNotExist) {
			t.Errorf("Open missing: %v", err)
		}
		if _, err := fs.Stat(missing); !errors.Is(err, ErrNotExist) {
			t.Errorf("Stat missing: %v", err)
		}
		if err := fs.Remove(missing); !errors.Is(err, ErrNotExist) {
			t.Errorf("Remove missing: %v", err)
		}
		if err := fs.Rename(missing, p("x")); !errors.Is(err, ErrNotExist) {
			t.Errorf("Rename missing: %v", err)
		}
		if _, err := fs.List(missing); !errors.Is(err, ErrNotExist) {
			t.Errorf("List missing: %v", err)
		}
		if _, err := fs.Create(path.Join(missing, "f")); !errors.Is(err, ErrNotExist) {
			t.Errorf("Create in missing dir: %v", err)
		}
		if err := fs.SyncDir(missing); !errors.Is(err, ErrNotExist) {
			t.Errorf("SyncDir missing: %v", err)
		}
		if _, err := fs.Open(missing); err == nil || !bytes.Contains([]byte(err.Error()), []byte(missing)) {
			t.Errorf("error %q does not name the path", err)
		}

		// Create truncates, OpenReadWrite keeps or creates.
		mustCreate(t, fs, p("b"), "old content")
		if got := readAll(t, mustCreate(t, fs, p("b"), "new")); got != "new" {
			t.Errorf("Create over existing: %q", got)
		}
		rw, err := fs.OpenReadWrite(p("b"))
		if err != nil {
			t.Fatal(err)
		}
		defer rw.Close()
		if got := readAll(t, rw); got != "new" {
			t.Errorf("OpenReadWrite existing: %q", got)
		}
		rw2, err := fs.OpenReadWrite(p("a"))
		if err != nil {
			t.Fatal(err)
		}
		defer rw2.Close()
		if size, err := rw2.Size(); err != nil || size != 0 {
			t.Errorf("OpenReadWrite new: size %d, %v", size, err)
		}
		if rw2.Name() != p("a") {
			t.Errorf("Name = %q", rw2.Name())
		}

		// Directories, List, Stat.
		if err := fs.MkdirAll(p("sub/deeper")); err != nil {
			t.Fatal(err)
		}
		if err := fs.MkdirAll(p("sub")); err != nil {
			t.Errorf("MkdirAll existing: %v", err)
		}
		names, err := fs.List(root)
		if err != nil || !slices.Equal(names, []string{"a", "b", "sub"}) {
			t.Errorf("List = %q, %v", names, err)
		}
		if fi, err := fs.Stat(p("b")); err != nil || fi.Size() != 3 || fi.IsDir() || fi.Name() != "b" {
			t.Errorf("Stat file = %v, %v", fi, err)
		}
		if fi, err := fs.Stat(p("sub")); err != nil || !fi.IsDir() {
			t.Errorf("Stat dir = %v, %v", fi, err)
		}
		if err := fs.Remove(p("sub")); !errors.Is(err, ErrExist) {
			t.Errorf("Remove non-empty dir: %v, want ErrExist (ENOTEMPTY)", err)
		}
		if err := fs.Remove(p("sub/deeper")); err != nil {
			t.Errorf("Remove empty dir: %v", err)
		}

		// Rename replaces; an open handle follows the file, not the name.
		held := mustCreate(t, fs, p("c"), "ccc")
		if err := fs.Rename(p("c"), p("b")); err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Stat(p("c")); !errors.Is(err, ErrNotExist) {
			t.Errorf("old name after Rename: %v", err)
		}
		if fi, err := fs.Stat(p("b")); err != nil || fi.Size() != 3 {
			t.Errorf("new name after Rename: %v, %v", fi, err)
		}
		if err := fs.Remove(p("b")); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, held); got != "ccc" {
			t.Errorf("open file after Remove: %q", got)
		}
		if err := fs.SyncDir(root); err != nil {
			t.Error(err)
		}
		names, _ = fs.List(root)
		if !slices.Equal(names, []string{"a", "sub"}) {
			t.Errorf("List = %q", names)
		}
	})
}

func TestReadOnlyHandle(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, root string) {
		name := path.Join(root, "f")
		mustCreate(t, fs, name, "data")
		f, err := fs.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt([]byte("x"), 0); err == nil {
			t.Error("WriteAt on a read-only handle succeeded")
		}
		if err := f.Truncate(0); err == nil {
			t.Error("Truncate on a read-only handle succeeded")
		}
		if got := readAll(t, f); got != "data" {
			t.Errorf("content %q", got)
		}
		if err := f.Sync(); err != nil {
			t.Errorf("Sync on a read-only handle: %v", err)
		}
	})
}

func TestClosedFile(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, root string) {
		f, err := fs.Create(path.Join(root, "f"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		ops := map[string]func() error{
			"ReadAt":      func() error { _, err := f.ReadAt(make([]byte, 1), 0); return err },
			"WriteAt":     func() error { _, err := f.WriteAt([]byte("x"), 0); return err },
			"Sync":        f.Sync,
			"Truncate":    func() error { return f.Truncate(0) },
			"Size":        func() error { _, err := f.Size(); return err },
			"Preallocate": func() error { return f.Preallocate(4096) },
			"Close":       f.Close,
		}
		for name, op := range ops {
			if err := op(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("%s on a closed file: %v, want os.ErrClosed", name, err)
			}
		}
	})
}

func TestPreallocateKeepsSize(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, root string) {
		f := mustCreate(t, fs, path.Join(root, "f"), "abc")
		if err := f.Preallocate(1 << 20); err != nil {
			t.Fatal(err)
		}
		if err := f.Preallocate(0); err != nil {
			t.Fatal(err)
		}
		if size, err := f.Size(); err != nil || size != 3 {
			t.Errorf("size after Preallocate = %d, %v; want 3", size, err)
		}
		if _, err := f.WriteAt([]byte("d"), 3); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, f); got != "abcd" {
			t.Errorf("content %q", got)
		}
	})
}
