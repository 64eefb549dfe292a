package kvdb

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// walCountingFS counts the write-backs (SyncTo) pebble asks for on WAL
// files.
type walCountingFS struct {
	vfs.FS
	syncTos *atomic.Int64
}

type walCountingFile struct {
	vfs.File
	syncTos *atomic.Int64
}

// Fd is not InvalidFd, so that pebble writes back with SyncTo.
func (f walCountingFile) Fd() uintptr { return 1 << 30 }

func (f walCountingFile) SyncTo(int64) (bool, error) {
	f.syncTos.Add(1)
	return false, nil
}

func (fs walCountingFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return walCountingFile{f, fs.syncTos}, nil
}

func (fs walCountingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs walCountingFS) ReuseForWrite(old, name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(old, name, c)
	return fs.wrap(name, f, err)
}

// TestWALWrittenBackAsItGrows: writing 32 MiB makes pebble write the WAL
// back as it grows, so that the sync when a memtable rotates has little
// left to write.
func TestWALWrittenBackAsItGrows(t *testing.T) {
	var n atomic.Int64
	db, err := Open("db", walCountingFS{vfs.NewMem(), &n}, Options{MemTableSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v := make([]byte, 1<<10)
	for i := range 32 << 10 {
		b := db.Pebble().NewBatch()
		if err := b.Set([]byte{'q', byte(i >> 16), byte(i >> 8), byte(i)}, v, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	if n.Load() == 0 {
		t.Fatal("32 MiB of WAL written without a write-back")
	}
}
