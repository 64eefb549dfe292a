package vfs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestOSRoundTrip walks the life of a segment on the real filesystem:
// create and preallocate, write, sync, publish by rename, reopen, delete.
func TestOSRoundTrip(t *testing.T) {
	fs, dir := OS(), t.TempDir()
	tmp, final := filepath.Join(dir, "seg.tmp"), filepath.Join(dir, "00000000000000000000")

	f, err := fs.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Preallocate(64 << 10); err != nil {
		t.Fatal(err)
	}
	payload := []byte("message body")
	if n, err := f.WriteAt(payload, 0); err != nil || n != len(payload) {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fs.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	if err := fs.SyncDir(dir); err != nil {
		t.Fatal(err)
	}

	// The bytes are really on disk, not just in our handle.
	if got, err := os.ReadFile(final); err != nil || string(got) != string(payload) {
		t.Fatalf("os.ReadFile = %q, %v", got, err)
	}
	r, err := fs.Open(final)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, r); got != string(payload) {
		t.Errorf("reopened content %q", got)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if names, err := fs.List(dir); err != nil || !slices.Equal(names, []string{"00000000000000000000"}) {
		t.Errorf("List = %q, %v", names, err)
	}
	if err := fs.Remove(final); err != nil {
		t.Fatal(err)
	}
	if names, err := fs.List(dir); err != nil || len(names) != 0 {
		t.Errorf("List after Remove = %q, %v", names, err)
	}
	if err := fs.SyncDir(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Errorf("SyncDir missing: %v", err)
	}
}
