package vfs

import (
	"errors"
	"io"
	"math"
	"os"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Errors Mem reports where the OS would report an errno. They are wrapped
// in *os.PathError or *os.LinkError like the OS's.
var (
	errIsDir     = errors.New("is a directory")
	errNotDir    = errors.New("not a directory")
	errNotEmpty  = &memErr{"directory not empty", ErrExist} // as ENOTEMPTY
	errReadOnly  = errors.New("file opened read-only")
	errNegOffset = errors.New("negative offset")
	errNegSize   = errors.New("negative size")
	errTooLarge  = errors.New("file too large for vfs.Mem")
	errDirRename = &memErr{"vfs.Mem does not rename directories", errors.ErrUnsupported}
	errRoot      = errors.New("cannot remove the root directory")
)

// memErr is an error that matches the generic error the OS's errno would
// match (syscall.Errno.Is), so callers test Mem and OS errors alike.
type memErr struct {
	msg string
	is  error
}

func (e *memErr) Error() string        { return e.msg }
func (e *memErr) Is(target error) bool { return target == e.is }

// maxMemFileSize bounds a Mem file: a write at a wild offset is a bug in
// the caller, better reported as an error than as the test running out of
// memory.
const maxMemFileSize = min(1<<36, math.MaxInt)

// Mem is an in-memory FS that simulates crashes. It is safe for concurrent
// use.
//
// What survives Crash follows POSIX durability rules:
//   - a file's bytes survive only as of its last File.Sync: each file keeps
//     its current content and its synced content;
//   - a directory entry (a file created, renamed or removed) survives only
//     once SyncDir of its parent directory has run after the change. A
//     file created in a never-synced directory disappears, an unsynced
//     rename reverts, and an unsynced remove reverts, the file coming back
//     with its synced content. Entries are per name: Create on an existing
//     name truncates the same file, as O_TRUNC does.
//
// Simplifications: directories themselves (MkdirAll, removing an empty
// directory) are durable at once; Rename does not move directories; Open
// does not open directories; Preallocate does nothing beyond checks.
//
// As on POSIX, an open File keeps working after its name is removed or
// replaced.
type Mem struct {
	mu      sync.RWMutex
	dirs    map[string]bool   // every directory, cleaned; "." and "/" always
	files   map[string]*inode // the current namespace
	durable map[string]*inode // the namespace a crash would leave
}

// NewMem returns an empty Mem holding only the directories "." and "/".
func NewMem() *Mem {
	return &Mem{
		dirs:    map[string]bool{".": true, "/": true},
		files:   map[string]*inode{},
		durable: map[string]*inode{},
	}
}

// clean normalises a name so that "a/./b" and "a/b" are one file.
func clean(name string) string { return path.Clean(name) }

func isRoot(n string) bool { return n == "." || n == "/" }

// parentErr says why n cannot be an entry, if it cannot: its parent must
// be an existing directory.
func (m *Mem) parentErr(n string) error {
	dir := path.Dir(n)
	if m.dirs[dir] {
		return nil
	}
	if m.files[dir] != nil {
		return errNotDir
	}
	return ErrNotExist
}

func (m *Mem) Create(name string) (File, error) {
	n := clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[n] {
		return nil, &os.PathError{Op: "open", Path: name, Err: errIsDir}
	}
	node := m.files[n]
	if node == nil {
		if err := m.parentErr(n); err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		node = newInode()
		m.files[n] = node
	} else {
		node.mu.Lock()
		node.truncate(0)
		node.mu.Unlock()
	}
	return &memFile{node: node, name: name, writable: true}, nil
}

func (m *Mem) Open(name string) (File, error) {
	node, err := m.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{node: node, name: name}, nil
}

func (m *Mem) OpenReadWrite(name string) (File, error) {
	n := clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[n] {
		return nil, &os.PathError{Op: "open", Path: name, Err: errIsDir}
	}
	node := m.files[n]
	if node == nil {
		if err := m.parentErr(n); err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		node = newInode()
		m.files[n] = node
	}
	return &memFile{node: node, name: name, writable: true}, nil
}

// lookup finds the current file named name; directories are errors.
func (m *Mem) lookup(op, name string) (*inode, error) {
	n := clean(name)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if node := m.files[n]; node != nil {
		return node, nil
	}
	if m.dirs[n] {
		return nil, &os.PathError{Op: op, Path: name, Err: errIsDir}
	}
	if err := m.parentErr(n); err != nil {
		return nil, &os.PathError{Op: op, Path: name, Err: err}
	}
	return nil, &os.PathError{Op: op, Path: name, Err: ErrNotExist}
}

func (m *Mem) Remove(name string) error {
	n := clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files[n] != nil {
		delete(m.files, n)
		return nil
	}
	if !m.dirs[n] {
		return &os.PathError{Op: "remove", Path: name, Err: ErrNotExist}
	}
	if isRoot(n) {
		return &os.PathError{Op: "remove", Path: name, Err: errRoot}
	}
	if len(m.children(n)) > 0 {
		return &os.PathError{Op: "remove", Path: name, Err: errNotEmpty}
	}
	delete(m.dirs, n)
	return nil
}

func (m *Mem) Rename(oldname, newname string) error {
	o, n := clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	linkErr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	node := m.files[o]
	if node == nil {
		if m.dirs[o] {
			return linkErr(errDirRename)
		}
		return linkErr(ErrNotExist)
	}
	if m.dirs[n] {
		return linkErr(errIsDir)
	}
	if err := m.parentErr(n); err != nil {
		return linkErr(err)
	}
	if o == n {
		return nil
	}
	m.files[n] = node
	delete(m.files, o)
	return nil
}

func (m *Mem) MkdirAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mkdirAll(dir)
}

func (m *Mem) mkdirAll(dir string) error {
	n := clean(dir)
	var missing []string
	for d := n; !m.dirs[d]; d = path.Dir(d) {
		if m.files[d] != nil {
			return &os.PathError{Op: "mkdir", Path: d, Err: errNotDir}
		}
		missing = append(missing, d)
	}
	for _, d := range missing {
		m.dirs[d] = true
	}
	return nil
}

// children returns the names (not paths) of the current entries of the
// directory n.
func (m *Mem) children(n string) []string {
	var names []string
	for f := range m.files {
		if path.Dir(f) == n {
			names = append(names, path.Base(f))
		}
	}
	for d := range m.dirs {
		if !isRoot(d) && path.Dir(d) == n {
			names = append(names, path.Base(d))
		}
	}
	return names
}

func (m *Mem) List(dir string) ([]string, error) {
	n := clean(dir)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.dirs[n] {
		if m.files[n] != nil {
			return nil, &os.PathError{Op: "open", Path: dir, Err: errNotDir}
		}
		return nil, &os.PathError{Op: "open", Path: dir, Err: ErrNotExist}
	}
	names := m.children(n)
	sort.Strings(names)
	return names, nil
}

func (m *Mem) Stat(name string) (os.FileInfo, error) {
	n := clean(name)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.dirs[n] {
		return &memInfo{name: path.Base(n), mode: os.ModeDir | dirPerm}, nil
	}
	node := m.files[n]
	if node == nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: ErrNotExist}
	}
	node.mu.RLock()
	defer node.mu.RUnlock()
	return &memInfo{name: path.Base(n), size: int64(len(node.data)), mode: filePerm, modTime: node.modTime}, nil
}

// SyncDir makes the current entries of dir the durable ones: names created
// or renamed into dir since the last SyncDir now survive a crash, names
// removed or renamed away no longer do.
func (m *Mem) SyncDir(dir string) error {
	n := clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[n] {
		if m.files[n] != nil {
			return &os.PathError{Op: "sync", Path: dir, Err: errNotDir}
		}
		return &os.PathError{Op: "open", Path: dir, Err: ErrNotExist}
	}
	for f, node := range m.files {
		if path.Dir(f) == n {
			m.durable[f] = node
		}
	}
	for f := range m.durable {
		if path.Dir(f) == n && m.files[f] == nil {
			delete(m.durable, f)
		}
	}
	return nil
}

// Crash returns a new Mem holding what would survive a crash now: the
// synced content of every file under its durable name. The receiver is
// left untouched and usable, and files open on it stay bound to it, so a
// goroutine still writing after the "crash" cannot affect the new Mem.
func (m *Mem) Crash() *Mem {
	return m.CrashWith(func(_ string, synced, _ []byte) []byte { return synced })
}

// CrashWith is Crash where survive decides, for each durable file name,
// what content the file has after the crash, given its synced and current
// content (both copies the hook may keep or modify). It lets a test model
// what real disks do beyond the guarantee, e.g. TornTail. Files that are
// not durable do not survive whatever survive would say.
//
// The snapshot is atomic: every file is read at one instant, so the
// order in which a concurrent writer synced files is respected.
func (m *Mem) CrashWith(survive func(name string, synced, current []byte) []byte) *Mem {
	// The write lock also serialises crashes: two of them read-locking
	// many files at once could deadlock with writers waiting on those.
	m.mu.Lock()
	type snap struct {
		name            string
		synced, current []byte
	}
	snaps := make([]snap, 0, len(m.durable))
	// Lock every file before copying any, so no Sync lands in between.
	locked := map[*inode]bool{}
	for _, node := range m.durable {
		if !locked[node] {
			locked[node] = true
			node.mu.RLock()
		}
	}
	for name, node := range m.durable {
		snaps = append(snaps, snap{name, clone(node.synced), clone(node.data)})
	}
	for node := range locked {
		node.mu.RUnlock()
	}
	dirs := make(map[string]bool, len(m.dirs))
	for d := range m.dirs {
		dirs[d] = true
	}
	m.mu.Unlock()

	nm := &Mem{dirs: dirs, files: map[string]*inode{}, durable: map[string]*inode{}}
	for _, s := range snaps {
		content := clone(survive(s.name, s.synced, s.current))
		node := &inode{data: content, synced: clone(content), dirtyLo: cleanMark, modTime: time.Now()}
		nm.files[s.name] = node
		nm.durable[s.name] = node
		// Directories are durable at once, but one removed while it still
		// had a durable entry must come back with it.
		for d := path.Dir(s.name); !nm.dirs[d]; d = path.Dir(d) {
			nm.dirs[d] = true
		}
	}
	return nm
}

// TornTail is a CrashWith hook modelling a torn write: the synced content
// survives plus the first n bytes the file had beyond it (appended but
// unsynced). Unsynced overwrites inside the synced length are lost.
func TornTail(n int) func(name string, synced, current []byte) []byte {
	return func(_ string, synced, current []byte) []byte {
		if len(current) <= len(synced) || n <= 0 {
			return synced
		}
		tail := current[len(synced):]
		return append(synced, tail[:min(n, len(tail))]...)
	}
}

// ReadFile returns a copy of the current content of the named file.
func (m *Mem) ReadFile(name string) ([]byte, error) {
	node, err := m.lookup("read", name)
	if err != nil {
		return nil, err
	}
	node.mu.RLock()
	defer node.mu.RUnlock()
	return clone(node.data), nil
}

// WriteFile sets the named file's content to data, creating it and its
// parent directories as needed, and makes all of it durable at once: a
// test convenience for building fixtures. Files open on the name see the
// new content.
func (m *Mem) WriteFile(name string, data []byte) error {
	n := clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[n] {
		return &os.PathError{Op: "write", Path: name, Err: errIsDir}
	}
	if err := m.mkdirAll(path.Dir(n)); err != nil {
		return err
	}
	node := m.files[n]
	if node == nil {
		node = newInode()
		m.files[n] = node
	}
	node.mu.Lock()
	node.data = clone(data)
	node.synced = clone(data)
	node.dirtyLo = cleanMark
	node.modTime = time.Now()
	node.mu.Unlock()
	m.durable[n] = node
	return nil
}

// Corrupt overwrites the bytes of the named file at off with b, in both
// its current and its synced content, as media corruption would. The
// range must lie within the current size.
func (m *Mem) Corrupt(name string, off int64, b []byte) error {
	node, err := m.lookup("corrupt", name)
	if err != nil {
		return err
	}
	node.mu.Lock()
	defer node.mu.Unlock()
	if off < 0 || off+int64(len(b)) > int64(len(node.data)) {
		return &os.PathError{Op: "corrupt", Path: name, Err: io.ErrUnexpectedEOF}
	}
	copy(node.data[off:], b)
	if off < int64(len(node.synced)) {
		copy(node.synced[off:], b)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append([]byte(nil), b...)
}

// cleanMark marks an inode whose current content equals its synced content.
const cleanMark = math.MaxInt

// inode is a file's content, shared by every name and handle bound to it.
type inode struct {
	mu     sync.RWMutex
	data   []byte // current content
	synced []byte // content as of the last Sync
	// dirtyLo is the lowest offset where data may differ from synced, or
	// cleanMark. Sync copies only from there, so syncing an appended-to file
	// costs the appended bytes, not the file. Invariant: data[:dirtyLo]
	// equals synced[:dirtyLo].
	dirtyLo int
	modTime time.Time
}

func newInode() *inode {
	return &inode{data: []byte{}, synced: []byte{}, dirtyLo: cleanMark, modTime: time.Now()}
}

// grow extends data to size bytes of zeros beyond the old end.
func (n *inode) grow(size int) {
	old := len(n.data)
	if size <= cap(n.data) {
		n.data = n.data[:size]
		clear(n.data[old:]) // bytes left behind by an earlier shrink
	} else {
		d := make([]byte, size, max(size, 2*cap(n.data)))
		copy(d, n.data)
		n.data = d
	}
	n.dirty(old)
	n.modTime = time.Now()
}

func (n *inode) truncate(size int) {
	if size > len(n.data) {
		n.grow(size)
		return
	}
	n.data = n.data[:size]
	n.dirty(size)
	n.modTime = time.Now()
}

func (n *inode) dirty(off int) { n.dirtyLo = min(n.dirtyLo, off) }

func (n *inode) sync() {
	if n.dirtyLo == cleanMark {
		return
	}
	n.synced = append(n.synced[:n.dirtyLo], n.data[n.dirtyLo:]...)
	n.dirtyLo = cleanMark
}

type memFile struct {
	node     *inode
	name     string
	writable bool
	closed   atomic.Bool
}

func (f *memFile) check(op string) error {
	if f.closed.Load() {
		return &os.PathError{Op: op, Path: f.name, Err: os.ErrClosed}
	}
	return nil
}

func (f *memFile) checkWrite(op string) error {
	if err := f.check(op); err != nil {
		return err
	}
	if !f.writable {
		return &os.PathError{Op: op, Path: f.name, Err: errReadOnly}
	}
	return nil
}

// ReadAt behaves as os.File.ReadAt: io.EOF whenever fewer than len(p)
// bytes are read, and 0, nil for an empty p whatever the offset.
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "readat", Path: f.name, Err: errNegOffset}
	}
	if len(p) == 0 {
		return 0, nil
	}
	f.node.mu.RLock()
	defer f.node.mu.RUnlock()
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt behaves as os.File.WriteAt; writing past the end zero-fills the
// gap.
func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.checkWrite("write"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "writeat", Path: f.name, Err: errNegOffset}
	}
	if len(p) == 0 {
		return 0, nil
	}
	end := off + int64(len(p))
	if end > maxMemFileSize {
		return 0, &os.PathError{Op: "write", Path: f.name, Err: errTooLarge}
	}
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	if int(end) > len(n.data) {
		n.grow(int(end))
	}
	copy(n.data[off:], p)
	n.dirty(int(off))
	n.modTime = time.Now()
	return len(p), nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.checkWrite("truncate"); err != nil {
		return err
	}
	if size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: errNegSize}
	}
	if size > maxMemFileSize {
		return &os.PathError{Op: "truncate", Path: f.name, Err: errTooLarge}
	}
	f.node.mu.Lock()
	f.node.truncate(int(size))
	f.node.mu.Unlock()
	return nil
}

// Sync is allowed on read-only handles, as fsync is.
func (f *memFile) Sync() error {
	if err := f.check("sync"); err != nil {
		return err
	}
	f.node.mu.Lock()
	f.node.sync()
	f.node.mu.Unlock()
	return nil
}

func (f *memFile) Size() (int64, error) {
	if err := f.check("stat"); err != nil {
		return 0, err
	}
	f.node.mu.RLock()
	defer f.node.mu.RUnlock()
	return int64(len(f.node.data)), nil
}

// Preallocate reserves nothing: memory is allocated as written. It checks
// what fallocate would, so misuse shows up in Mem-based tests too.
func (f *memFile) Preallocate(size int64) error {
	if err := f.check("fallocate"); err != nil {
		return err
	}
	if size > 0 && !f.writable {
		return &os.PathError{Op: "fallocate", Path: f.name, Err: errReadOnly}
	}
	return nil
}

func (f *memFile) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return &os.PathError{Op: "close", Path: f.name, Err: os.ErrClosed}
	}
	return nil
}

func (f *memFile) Name() string { return f.name }

type memInfo struct {
	name    string
	size    int64
	mode    os.FileMode
	modTime time.Time
}

func (i *memInfo) Name() string       { return i.name }
func (i *memInfo) Size() int64        { return i.size }
func (i *memInfo) Mode() os.FileMode  { return i.mode }
func (i *memInfo) ModTime() time.Time { return i.modTime }
func (i *memInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *memInfo) Sys() any           { return nil }
