// Package vfs is the filesystem seam of Bolide's store. Every byte the
// store reads or writes goes through an FS, so that the same code runs on
// the operating system (OS), in memory with crash simulation (Mem: after a
// simulated crash only synced bytes and synced directory entries survive),
// and under injected faults (Faulty).
package vfs

import (
	"errors"
	"io"
	"os"
)

// ErrNotExist and ErrExist are matched by the errors of every FS, like the
// io/fs errors they alias.
var (
	ErrNotExist = os.ErrNotExist
	ErrExist    = os.ErrExist
)

// ErrInjected is the cause of every error a Faulty FS injects.
var ErrInjected = errors.New("vfs: injected fault")

// FS is a filesystem. Names are slash-separated paths as the OS takes them.
// Its methods are safe for concurrent use. Errors carry the path
// (*os.PathError, *os.LinkError or, from Faulty, *InjectedError) and match
// ErrNotExist and ErrExist the way the OS's errors do.
type FS interface {
	// Create creates or truncates the named file, opened read-write.
	Create(name string) (File, error)
	// Open opens the named file read-only.
	Open(name string) (File, error)
	// OpenReadWrite opens the named file read-write, creating it empty if
	// it does not exist; existing content is kept.
	OpenReadWrite(name string) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// Rename renames oldname to newname, replacing newname if it exists.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and any missing parents.
	MkdirAll(dir string) error
	// List returns the names (not paths) of a directory's entries, sorted.
	List(dir string) ([]string, error)
	// Stat describes the named file.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the directory's entries (files created, renamed or
	// removed in it) durable.
	SyncDir(dir string) error
}

// File is an open file, read and written at explicit offsets only: the
// store always knows where its bytes go, and positional I/O lets readers
// and the writer share one handle. Its methods are safe for concurrent
// use.
//
// Every implementation behaves as *os.File does: ReadAt returns io.EOF
// (unwrapped) whenever it reads fewer than len(p) bytes, and 0, nil for an
// empty p; WriteAt past the end zero-fills the gap; a file from Open
// rejects WriteAt and Truncate; every method of a closed file returns an
// error matching os.ErrClosed.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync makes the file's content durable.
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Size is the file's current size.
	Size() (int64, error)
	// Preallocate reserves space for size bytes without changing the
	// apparent size where the platform allows (best effort).
	Preallocate(size int64) error
	// Name is the name the file was opened with.
	Name() string
}
