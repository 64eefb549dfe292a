package vfs

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// OpKind is the kind of an operation a Faulty FS intercepts.
type OpKind int

// The operations a Faulty FS intercepts; File.Name is never intercepted.
const (
	OpCreate        OpKind = iota + 1 // FS.Create
	OpOpen                            // FS.Open
	OpOpenReadWrite                   // FS.OpenReadWrite
	OpRemove                          // FS.Remove
	OpRename                          // FS.Rename
	OpMkdirAll                        // FS.MkdirAll
	OpList                            // FS.List
	OpStat                            // FS.Stat
	OpSyncDir                         // FS.SyncDir
	OpRead                            // File.ReadAt
	OpWrite                           // File.WriteAt
	OpSync                            // File.Sync
	OpTruncate                        // File.Truncate
	OpSize                            // File.Size
	OpPreallocate                     // File.Preallocate
	OpClose                           // File.Close
)

var opNames = [...]string{
	OpCreate: "create", OpOpen: "open", OpOpenReadWrite: "open-rw",
	OpRemove: "remove", OpRename: "rename", OpMkdirAll: "mkdir",
	OpList: "list", OpStat: "stat", OpSyncDir: "syncdir", OpRead: "read",
	OpWrite: "write", OpSync: "sync", OpTruncate: "truncate", OpSize: "size",
	OpPreallocate: "preallocate", OpClose: "close",
}

func (k OpKind) String() string {
	if k > 0 && int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Op describes an operation about to run on a Faulty FS.
type Op struct {
	Kind OpKind
	// Name is the file or directory operated on; for OpRename the old
	// name, and for File methods the name the file was opened with.
	Name    string
	NewName string // OpRename only
	Off     int64  // OpRead, OpWrite
	Len     int    // OpRead, OpWrite: len of the buffer
	Size    int64  // OpTruncate, OpPreallocate
}

func (op Op) String() string {
	switch op.Kind {
	case OpRename:
		return fmt.Sprintf("rename %s %s", op.Name, op.NewName)
	case OpRead, OpWrite:
		return fmt.Sprintf("%v %s off=%d len=%d", op.Kind, op.Name, op.Off, op.Len)
	case OpTruncate, OpPreallocate:
		return fmt.Sprintf("%v %s size=%d", op.Kind, op.Name, op.Size)
	}
	return fmt.Sprintf("%v %s", op.Kind, op.Name)
}

// Injector decides the fate of each operation of a Faulty FS: nil lets it
// run, an error makes it fail with an *InjectedError without running
// (except a ShortWrite, which runs part of a write). Injectors are called
// from many goroutines at once and must be safe for that.
type Injector func(op Op) error

// InjectedError is the error of an operation a Faulty FS failed. It
// matches ErrInjected and the injector's error with errors.Is.
type InjectedError struct {
	Op  Op
	Err error // what the injector returned
}

func (e *InjectedError) Error() string {
	if e.Err == nil || e.Err == ErrInjected {
		return fmt.Sprintf("%v: %v", ErrInjected, e.Op)
	}
	return fmt.Sprintf("%v: %v: %v", ErrInjected, e.Op, e.Err)
}

func (e *InjectedError) Unwrap() []error { return []error{ErrInjected, e.Err} }

// ShortWrite, returned by an Injector for an OpWrite, makes the write pass
// the first N bytes of the buffer (clamped to it) to the inner file and
// then fail: the torn write a full disk or a failing device leaves.
type ShortWrite struct{ N int }

func (s ShortWrite) Error() string { return fmt.Sprintf("short write of %d bytes", s.N) }

// Faulty is an FS that consults an Injector before each operation and
// passes it to an inner FS unless the injector fails it. A failed
// operation has no effect, except a ShortWrite and Close: a Close that
// fails still closes the inner file, as close(2) does, so no handle
// leaks.
type Faulty struct {
	inner  FS
	inject atomic.Pointer[Injector]
}

// NewFaulty wraps inner; a nil inject injects nothing.
func NewFaulty(inner FS, inject Injector) *Faulty {
	f := &Faulty{inner: inner}
	f.SetInjector(inject)
	return f
}

// SetInjector replaces the injector, for files already open too: a test
// can set up state without faults, then turn them on at the point it
// cares about. nil injects nothing.
func (f *Faulty) SetInjector(inject Injector) {
	if inject == nil {
		inject = func(Op) error { return nil }
	}
	f.inject.Store(&inject)
}

func (f *Faulty) fault(op Op) error {
	if err := (*f.inject.Load())(op); err != nil {
		return &InjectedError{Op: op, Err: err}
	}
	return nil
}

func (f *Faulty) open(op Op, open func(string) (File, error)) (File, error) {
	if err := f.fault(op); err != nil {
		return nil, err
	}
	file, err := open(op.Name)
	if err != nil {
		return nil, err
	}
	return &faultyFile{inner: file, fs: f}, nil
}

func (f *Faulty) Create(name string) (File, error) {
	return f.open(Op{Kind: OpCreate, Name: name}, f.inner.Create)
}

func (f *Faulty) Open(name string) (File, error) {
	return f.open(Op{Kind: OpOpen, Name: name}, f.inner.Open)
}

func (f *Faulty) OpenReadWrite(name string) (File, error) {
	return f.open(Op{Kind: OpOpenReadWrite, Name: name}, f.inner.OpenReadWrite)
}

func (f *Faulty) Remove(name string) error {
	if err := f.fault(Op{Kind: OpRemove, Name: name}); err != nil {
		return err
	}
	return f.inner.Remove(name)
}

func (f *Faulty) Rename(oldname, newname string) error {
	if err := f.fault(Op{Kind: OpRename, Name: oldname, NewName: newname}); err != nil {
		return err
	}
	return f.inner.Rename(oldname, newname)
}

func (f *Faulty) MkdirAll(dir string) error {
	if err := f.fault(Op{Kind: OpMkdirAll, Name: dir}); err != nil {
		return err
	}
	return f.inner.MkdirAll(dir)
}

func (f *Faulty) List(dir string) ([]string, error) {
	if err := f.fault(Op{Kind: OpList, Name: dir}); err != nil {
		return nil, err
	}
	return f.inner.List(dir)
}

func (f *Faulty) Stat(name string) (os.FileInfo, error) {
	if err := f.fault(Op{Kind: OpStat, Name: name}); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

func (f *Faulty) SyncDir(dir string) error {
	if err := f.fault(Op{Kind: OpSyncDir, Name: dir}); err != nil {
		return err
	}
	return f.inner.SyncDir(dir)
}

type faultyFile struct {
	inner File
	fs    *Faulty
}

func (f *faultyFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.fault(Op{Kind: OpRead, Name: f.inner.Name(), Off: off, Len: len(p)}); err != nil {
		return 0, err
	}
	return f.inner.ReadAt(p, off)
}

func (f *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	err := f.fs.fault(Op{Kind: OpWrite, Name: f.inner.Name(), Off: off, Len: len(p)})
	if err == nil {
		return f.inner.WriteAt(p, off)
	}
	var short ShortWrite
	if !errors.As(err, &short) {
		return 0, err
	}
	n, werr := f.inner.WriteAt(p[:min(max(short.N, 0), len(p))], off)
	if werr != nil {
		return n, errors.Join(err, werr)
	}
	return n, err
}

func (f *faultyFile) Sync() error {
	if err := f.fs.fault(Op{Kind: OpSync, Name: f.inner.Name()}); err != nil {
		return err
	}
	return f.inner.Sync()
}

func (f *faultyFile) Truncate(size int64) error {
	if err := f.fs.fault(Op{Kind: OpTruncate, Name: f.inner.Name(), Size: size}); err != nil {
		return err
	}
	return f.inner.Truncate(size)
}

func (f *faultyFile) Size() (int64, error) {
	if err := f.fs.fault(Op{Kind: OpSize, Name: f.inner.Name()}); err != nil {
		return 0, err
	}
	return f.inner.Size()
}

func (f *faultyFile) Preallocate(size int64) error {
	if err := f.fs.fault(Op{Kind: OpPreallocate, Name: f.inner.Name(), Size: size}); err != nil {
		return err
	}
	return f.inner.Preallocate(size)
}

func (f *faultyFile) Close() error {
	err := f.fs.fault(Op{Kind: OpClose, Name: f.inner.Name()})
	cerr := f.inner.Close()
	if err != nil {
		return err
	}
	return cerr
}

func (f *faultyFile) Name() string { return f.inner.Name() }

// FailNth fails the nth (counting from 1) operation of the kind, once.
func FailNth(kind OpKind, n int) Injector {
	var seen atomic.Int64
	return func(op Op) error {
		if op.Kind == kind && seen.Add(1) == int64(n) {
			return ErrInjected
		}
		return nil
	}
}

// FailAfter lets the first n operations of the kind succeed and fails
// every later one, as a device that dies does: FailAfter(OpSync, 0) fails
// every sync.
func FailAfter(kind OpKind, n int) Injector {
	var seen atomic.Int64
	return func(op Op) error {
		if op.Kind == kind && seen.Add(1) > int64(n) {
			return ErrInjected
		}
		return nil
	}
}

// ShortWriteNth makes the nth (counting from 1) write pass only its first
// keep bytes to the file and then fail.
func ShortWriteNth(n, keep int) Injector {
	var seen atomic.Int64
	return func(op Op) error {
		if op.Kind == OpWrite && seen.Add(1) == int64(n) {
			return ShortWrite{N: keep}
		}
		return nil
	}
}

// FailIf fails every operation for which match is true, e.g. the syncs of
// one file.
func FailIf(match func(Op) bool) Injector {
	return func(op Op) error {
		if match(op) {
			return ErrInjected
		}
		return nil
	}
}

// All consults every injector, in order, on every operation (so each
// counts all operations) and returns the first error.
func All(injectors ...Injector) Injector {
	return func(op Op) error {
		var first error
		for _, inject := range injectors {
			if err := inject(op); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
}
