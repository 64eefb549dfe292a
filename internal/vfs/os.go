package vfs

import (
	"errors"
	"os"
	"sync/atomic"
)

// Permissions of what the OS FS creates. Data files need not be executable
// nor writable by others; the umask still applies.
const (
	filePerm = 0o644
	dirPerm  = 0o755
)

// OS returns the operating system's filesystem. Its errors are the os
// package's (*os.PathError or *os.LinkError, carrying the path), so they
// match ErrNotExist, ErrExist and os.ErrClosed with errors.Is.
func OS() FS { return osFS{} }

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (osFS) OpenReadWrite(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (osFS) Remove(name string) error              { return os.Remove(name) }
func (osFS) Rename(oldname, newname string) error  { return os.Rename(oldname, newname) }
func (osFS) MkdirAll(dir string) error             { return os.MkdirAll(dir, dirPerm) }
func (osFS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

func (osFS) List(dir string) ([]string, error) {
	// os.ReadDir already sorts by name.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// SyncDir fsyncs the directory itself: on POSIX systems that is what makes
// the creation, renaming or removal of its entries survive a crash.
func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

type osFile struct {
	f *os.File
	// closed lets Preallocate report os.ErrClosed: the raw-conn path it
	// uses reports a closed file with an internal error that matches
	// nothing exported.
	closed atomic.Bool
}

func (o *osFile) ReadAt(p []byte, off int64) (int, error)  { return o.f.ReadAt(p, off) }
func (o *osFile) WriteAt(p []byte, off int64) (int, error) { return o.f.WriteAt(p, off) }
func (o *osFile) Sync() error                              { return o.f.Sync() }
func (o *osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o *osFile) Name() string                             { return o.f.Name() }

func (o *osFile) Close() error {
	o.closed.Store(true)
	return o.f.Close()
}

func (o *osFile) Size() (int64, error) {
	fi, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (o *osFile) Preallocate(size int64) error {
	if o.closed.Load() {
		return &os.PathError{Op: "fallocate", Path: o.f.Name(), Err: os.ErrClosed}
	}
	if size <= 0 {
		return nil
	}
	err := preallocate(o.f, size)
	if err != nil && o.closed.Load() {
		// Closed concurrently; report it the way the os package would.
		return &os.PathError{Op: "fallocate", Path: o.f.Name(), Err: errors.Join(os.ErrClosed, err)}
	}
	return err
}
