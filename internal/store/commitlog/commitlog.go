// Package commitlog is the append-only log every message is stored in, in
// RocketMQ's record layout, so that pull, query and view responses are the
// stored bytes.
//
// The log is a sequence of fixed-size segment files named by the 20-digit,
// zero-padded physical offset of their first byte (as RocketMQ names them),
// so any offset maps to a segment by division. A record never spans two
// segments: when one does not fit, the rest of the segment gets an 8-byte
// blank marker and the record starts the next segment.
//
// One writer at a time appends, under a mutex: it assigns each record its
// physical offset and store time, and runs the caller's build function
// under the same lock, so whatever the caller assigns there (queue and LMQ
// offsets) follows commitlog order by construction. Flushing is separate:
// a flusher fsyncs what was written, periodically (ASYNC_FLUSH) or as soon
// as a writer waits (SYNC_FLUSH); one fsync releases every waiter it
// covers (group commit).
//
// All I/O goes through internal/vfs.
package commitlog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/vfs"
)

var (
	// ErrClosed is returned by operations on a closed log.
	ErrClosed = errors.New("commitlog: closed")
	// ErrTooLarge reports an append larger than a segment.
	ErrTooLarge = errors.New("commitlog: append larger than a segment")
	// ErrFlushTimeout is returned by a SYNC_FLUSH append whose bytes were
	// written but not confirmed on disk in time; like RocketMQ's
	// FLUSH_DISK_TIMEOUT, the message is stored and will become durable.
	ErrFlushTimeout = errors.New("commitlog: flush timed out")
	// ErrOutOfRange reports a read outside the log's readable range.
	ErrOutOfRange = errors.New("commitlog: offset out of range")
	// ErrCorrupt reports a segment set that cannot be opened.
	ErrCorrupt = errors.New("commitlog: corrupt")
	// ErrSyncFailed reports an fsync failure; the log refuses writes
	// until it is reopened.
	ErrSyncFailed = errors.New("commitlog: fsync failed")
)

// FlushMode is RocketMQ's flushDiskType.
type FlushMode int

const (
	// AsyncFlush fsyncs periodically; an append returns once written.
	AsyncFlush FlushMode = iota
	// SyncFlush makes an append return only once its bytes are synced.
	SyncFlush
)

// DefaultSegmentSize is RocketMQ's mappedFileSizeCommitLog: 1 GiB.
const DefaultSegmentSize = 1 << 30

// blankHeaderLen is the size of the end-of-segment marker.
const blankHeaderLen = 8

// Config configures a Log.
type Config struct {
	FS  vfs.FS
	Dir string
	// SegmentSize is the size of every segment (default 1 GiB).
	SegmentSize int64
	Flush       FlushMode
	// FlushInterval is the ASYNC_FLUSH period (default 500 ms).
	FlushInterval time.Duration
	// SyncFlushTimeout bounds how long a SYNC_FLUSH append waits (default 5 s).
	SyncFlushTimeout time.Duration
	// NoPreallocate disables creating and reserving the next segment ahead.
	NoPreallocate bool
	Now           func() time.Time
	Logger        *slog.Logger
}

func (c *Config) defaults() {
	if c.SegmentSize <= 0 {
		c.SegmentSize = DefaultSegmentSize
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 500 * time.Millisecond
	}
	if c.SyncFlushTimeout <= 0 {
		c.SyncFlushTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

type segment struct {
	base int64
	f    vfs.File
}

// Log is an open commit log.
type Log struct {
	cfg Config
	log *slog.Logger

	// mu is the writer lock. It guards the tail: writeOffset, lastStore
	// and appending to segs.
	mu        sync.Mutex
	lastStore int64
	buf       []byte
	sealed    bool

	// segMu guards the segment list for readers and retention.
	segMu sync.RWMutex
	segs  []*segment // ascending base; the last one is being written

	writeOffset atomic.Int64 // end of written data
	flushed     atomic.Int64 // end of synced data
	minOffset   atomic.Int64 // first readable offset

	flushRun    sync.Mutex    // one flush at a time
	flushMu     sync.Mutex    // guards flushNotify and flushErr
	flushNotify chan struct{} // closed and replaced after every flush
	flushErr    error

	// durable holds OnDurable callbacks until a flush covers them
	// (durable.go); durClosed refuses new ones once Close answered them.
	durMu     sync.Mutex
	durable   []durableWaiter
	durClosed bool

	flusher  *lifecycle.Loop
	prealloc *lifecycle.Loop
	expirer  *lifecycle.Loop // SYNC_FLUSH only: OnDurable timeouts
	closed   atomic.Bool
}

// SegmentName is the file name of the segment starting at base.
func SegmentName(base int64) string { return fmt.Sprintf("%020d", base) }

// Recovery says where valid data ends when a log is opened.
type Recovery struct {
	// Clean is set after a clean shutdown: CleanEnd, recorded then, is the
	// end of data and nothing is scanned.
	Clean    bool
	CleanEnd int64
	// CleanLastStore is the newest store time at a clean shutdown (0 if
	// unknown): store times stay monotonic without rescanning.
	CleanLastStore int64
	// ScanFrom is a record boundary known to be valid (the dispatch
	// checkpoint). After an unclean stop every record from there on is
	// verified and the log is cut at the first invalid one.
	ScanFrom int64
}

// Open opens (creating if needed) the log in cfg.Dir, recovering as rec
// says. Everything after the end of valid data is discarded.
func Open(cfg Config, rec Recovery) (*Log, error) {
	cfg.defaults()
	if err := cfg.FS.MkdirAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("commitlog: create %s: %w", cfg.Dir, err)
	}
	l := &Log{cfg: cfg, log: cfg.Logger.With("component", "commitlog"), flushNotify: make(chan struct{})}
	if err := l.loadSegments(); err != nil {
		_ = l.closeFiles()
		return nil, err
	}
	end := rec.CleanEnd
	if !rec.Clean {
		var err error
		if end, err = l.recoverEnd(rec.ScanFrom); err != nil {
			_ = l.closeFiles()
			return nil, err
		}
	}
	if err := l.truncateTo(end); err != nil {
		_ = l.closeFiles()
		return nil, err
	}
	if !rec.Clean {
		// A process crash leaves written but unsynced bytes in the files
		// (the OS kept them), and the log calls everything up to end
		// flushed: sync it first, or an OS crash after the restart could
		// lose records SYNC_FLUSH consumers were shown. Segments synced
		// already cost next to nothing.
		for _, s := range l.segs {
			if err := s.f.Sync(); err != nil {
				_ = l.closeFiles()
				return nil, fmt.Errorf("commitlog: sync %s after an unclean stop: %w", SegmentName(s.base), err)
			}
		}
	}
	l.writeOffset.Store(end)
	l.flushed.Store(end)
	if len(l.segs) > 0 {
		l.minOffset.Store(l.segs[0].base)
	} else {
		l.minOffset.Store(end)
	}
	switch {
	case rec.Clean && rec.CleanLastStore > 0:
		l.lastStore = rec.CleanLastStore
	case l.lastStore == 0 && end > 0 && len(l.segs) > 0:
		// No record was scanned (clean marker without a time, or a
		// checkpoint at the very end): read the last segment once.
		if ts, err := l.lastStoreTime(end); err == nil {
			l.lastStore = ts
		}
	}
	l.flusher = lifecycle.NewLoop("commitlog-flush", l.flushPeriod(), func(context.Context) { l.flushOnce() })
	l.flusher.Start()
	if cfg.Flush == SyncFlush {
		// Its own loop: an fsync that hangs must not hold back timeouts.
		l.expirer = lifecycle.NewLoop("commitlog-durable-timeouts", min(10*time.Millisecond, cfg.SyncFlushTimeout/2),
			func(context.Context) { l.expireDurable() })
		l.expirer.Start()
	}
	l.prealloc = lifecycle.NewLoop("commitlog-prealloc", 0, func(context.Context) { l.preallocateNext() })
	l.prealloc.Start()
	l.prealloc.Wakeup()
	return l, nil
}

func (l *Log) flushPeriod() time.Duration {
	if l.cfg.Flush == SyncFlush {
		// Woken by waiters; the tick only covers non-waiting (WAIT=false)
		// writes.
		return 10 * time.Millisecond
	}
	return l.cfg.FlushInterval
}

func (l *Log) loadSegments() error {
	names, err := l.cfg.FS.List(l.cfg.Dir)
	if err != nil {
		return fmt.Errorf("commitlog: list %s: %w", l.cfg.Dir, err)
	}
	for _, name := range names {
		if len(name) != 20 {
			continue
		}
		base, err := strconv.ParseInt(name, 10, 64)
		if err != nil {
			continue
		}
		if base%l.cfg.SegmentSize != 0 {
			return fmt.Errorf("%w: segment %s is not aligned to segment size %d", ErrCorrupt, name, l.cfg.SegmentSize)
		}
		if n := len(l.segs); n > 0 && l.segs[n-1].base+l.cfg.SegmentSize != base {
			return fmt.Errorf("%w: segment %s does not follow %s", ErrCorrupt, name, SegmentName(l.segs[n-1].base))
		}
		f, err := l.cfg.FS.OpenReadWrite(path.Join(l.cfg.Dir, name))
		if err != nil {
			return fmt.Errorf("commitlog: open segment %s: %w", name, err)
		}
		l.segs = append(l.segs, &segment{base: base, f: f})
	}
	return nil
}

// truncateTo discards every byte at or after end: segments that start
// after it are removed and the segment holding it is cut there, so that
// stale bytes can never be mistaken for records by a later recovery.
func (l *Log) truncateTo(end int64) error {
	for n := len(l.segs); n > 0 && l.segs[n-1].base > end; n = len(l.segs) {
		last := l.segs[n-1]
		name := SegmentName(last.base)
		_ = last.f.Close()
		if err := l.cfg.FS.Remove(path.Join(l.cfg.Dir, name)); err != nil {
			return fmt.Errorf("commitlog: remove segment %s past the end: %w", name, err)
		}
		l.segs = l.segs[:n-1]
	}
	if len(l.segs) == 0 {
		if end != 0 {
			return fmt.Errorf("%w: data ends at %d but no segment holds it", ErrCorrupt, end)
		}
		return nil
	}
	last := l.segs[len(l.segs)-1]
	if end > last.base+l.cfg.SegmentSize {
		return fmt.Errorf("%w: data end %d beyond the last segment %s", ErrCorrupt, end, SegmentName(last.base))
	}
	size, err := last.f.Size()
	if err != nil {
		return fmt.Errorf("commitlog: size of %s: %w", SegmentName(last.base), err)
	}
	if size > end-last.base {
		if err := last.f.Truncate(end - last.base); err != nil {
			return fmt.Errorf("commitlog: truncate %s: %w", SegmentName(last.base), err)
		}
		if err := last.f.Sync(); err != nil {
			return fmt.Errorf("commitlog: sync %s: %w", SegmentName(last.base), err)
		}
	}
	if err := l.cfg.FS.SyncDir(l.cfg.Dir); err != nil {
		return fmt.Errorf("commitlog: sync %s: %w", l.cfg.Dir, err)
	}
	return nil
}

// recoverEnd finds the end of valid data after an unclean stop, scanning
// from the checkpoint from. If not even the record at from is valid, the
// log lost data the checkpoint covered (async flush: dispatch ran ahead of
// the disk), so it walks back segment by segment to find the real end;
// the caller then drops derived state beyond it.
func (l *Log) recoverEnd(from int64) (int64, error) {
	end, err := l.scan(from, l.noteStoreTime, 0)
	if err != nil || len(l.segs) == 0 || end > from || from <= l.segs[0].base {
		return end, err
	}
	i := min((from-l.segs[0].base)/l.cfg.SegmentSize, int64(len(l.segs)-1))
	for ; i >= 0; i-- {
		base := l.segs[i].base
		e, err := l.scan(base, l.noteStoreTime, from)
		if err != nil {
			return 0, err
		}
		if e > base || i == 0 {
			if e < from {
				l.log.Warn("log ends before the dispatch checkpoint: data written but not synced was lost",
					"end", e, "checkpoint", from)
			}
			return e, nil
		}
	}
	return l.segs[0].base, nil
}

// noteStoreTime is a scan callback keeping the newest store time seen.
func (l *Log) noteStoreTime(_ int64, rec []byte) error {
	if ts, err := message.PeekStoreTimestamp(rec); err == nil && ts > l.lastStore {
		l.lastStore = ts
	}
	return nil
}

// LastStoreTime is the store time of the newest record.
func (l *Log) LastStoreTime() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastStore
}

func (l *Log) lastStoreTime(end int64) (int64, error) {
	// The clock floor only needs to keep store times monotonic; the newest
	// time in the last segment is it.
	var last int64
	seg := l.segs[len(l.segs)-1]
	_, err := l.scan(seg.base, func(_ int64, rec []byte) error {
		ts, err := message.PeekStoreTimestamp(rec)
		if err == nil {
			last = ts
		}
		return nil
	}, end)
	return last, err
}

// scan walks valid records from off (a record boundary) and returns where
// valid data ends: at the end of the segments, at zeros (preallocated,
// never written), or at the first record that fails its checks (bad magic
// or size, bad body CRC, a PHYSICALOFFSET that is not its position — stale
// bytes from an earlier life of the file). limit, when > 0, stops early.
func (l *Log) scan(off int64, fn func(off int64, rec []byte) error, limit int64) (int64, error) {
	if len(l.segs) == 0 {
		return off, nil
	}
	if first := l.segs[0].base; off < first {
		off = first
	}
	var hdr [blankHeaderLen]byte
	var rec []byte
	for limit <= 0 || off < limit {
		i := (off - l.segs[0].base) / l.cfg.SegmentSize
		if i >= int64(len(l.segs)) {
			return off, nil
		}
		seg := l.segs[i]
		pos := off - seg.base
		if pos+blankHeaderLen > l.cfg.SegmentSize {
			return off, nil
		}
		if n, _ := seg.f.ReadAt(hdr[:], pos); n < len(hdr) {
			return off, nil
		}
		size, err := message.RecordSize(hdr[:])
		if errors.Is(err, message.ErrBlankRecord) {
			off = seg.base + l.cfg.SegmentSize
			continue
		}
		if err != nil || pos+int64(size) > l.cfg.SegmentSize {
			return off, nil
		}
		if cap(rec) < size {
			rec = make([]byte, size)
		}
		rec = rec[:size]
		if n, _ := seg.f.ReadAt(rec, pos); n < size {
			return off, nil
		}
		r, err := message.ParseRecord(rec)
		if err != nil || r.VerifyBodyCRC() != nil || r.PhysicalOffset() != off {
			l.log.Warn("invalid record ends the log", "offset", off, "err", err)
			return off, nil
		}
		if fn != nil {
			if err := fn(off, rec); err != nil {
				return off, err
			}
		}
		off += int64(size)
	}
	return off, nil
}

// Appended describes a successful append.
type Appended struct {
	Offset    int64   // physical offset of the first record
	End       int64   // physical offset after the last record
	StoreTime int64   // store timestamp given to every record
	Offsets   []int64 // physical offset of each record, in order
}

// BuildFunc appends one or more encoded records to dst and returns it. It
// runs under the writer lock, after the store time is fixed and before the
// bytes are written; commit, if not nil, runs under the same lock once the
// bytes are written, so assignments made in build become visible only for
// records that were stored.
type BuildFunc func(dst []byte, storeTime int64) (records []byte, commit func(Appended), err error)

// Append writes the records build produces. Each record's PHYSICALOFFSET
// and STORETIMESTAMP are set by the log. Under SYNC_FLUSH with wait set,
// it returns only once the bytes are synced (or ErrFlushTimeout).
func (l *Log) Append(build BuildFunc, wait bool) (Appended, error) {
	if l.closed.Load() {
		return Appended{}, ErrClosed
	}
	a, err := l.appendLocked(build)
	if err != nil {
		return a, err
	}
	if l.cfg.Flush == SyncFlush {
		if wait {
			return a, l.WaitFlushed(a.End, l.cfg.SyncFlushTimeout)
		}
		l.flusher.Wakeup()
	}
	return a, nil
}

func (l *Log) appendLocked(build BuildFunc) (Appended, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() || l.sealed {
		return Appended{}, ErrClosed
	}
	if err := l.syncFailure(); err != nil {
		return Appended{}, err
	}
	now := l.cfg.Now().UnixMilli()
	if now < l.lastStore {
		now = l.lastStore // store time never goes backwards in commitlog order
	}
	recs, commit, err := build(l.buf[:0], now)
	if err != nil {
		return Appended{}, err
	}
	l.buf = recs[:0]
	if len(recs) == 0 {
		return Appended{}, fmt.Errorf("commitlog: nothing to append")
	}
	if int64(len(recs)) > l.cfg.SegmentSize-blankHeaderLen {
		return Appended{}, fmt.Errorf("%w: %d bytes, segment size %d", ErrTooLarge, len(recs), l.cfg.SegmentSize)
	}
	off := l.writeOffset.Load()
	seg, err := l.segmentForAppendLocked(&off, int64(len(recs)))
	if err != nil {
		return Appended{}, err
	}
	a := Appended{Offset: off, StoreTime: now}
	for pos := 0; pos < len(recs); {
		size, err := message.RecordSize(recs[pos:])
		if err != nil || pos+size > len(recs) {
			return Appended{}, fmt.Errorf("commitlog: build produced an invalid record at %d: %v", pos, err)
		}
		rec := recs[pos : pos+size]
		if err := message.SetPhysicalOffset(rec, off+int64(pos)); err != nil {
			return Appended{}, err
		}
		if err := message.SetStoreTimestamp(rec, now); err != nil {
			return Appended{}, err
		}
		a.Offsets = append(a.Offsets, off+int64(pos))
		pos += size
	}
	if _, err := seg.f.WriteAt(recs, off-seg.base); err != nil {
		// The tail may hold part of the records; nothing points at them
		// and the next append overwrites them.
		return Appended{}, fmt.Errorf("commitlog: write at %d: %w", off, err)
	}
	a.End = off + int64(len(recs))
	l.lastStore = now
	// Commit before publishing the new end: readers (dispatch) must never
	// see a record whose put has not finished its bookkeeping.
	if commit != nil {
		commit(a)
	}
	l.writeOffset.Store(a.End)
	return a, nil
}

// RoomLocked is how many bytes of records the next append can add to the
// active segment without rolling to a new one. A build function (which
// runs under the writer lock) uses it to size what it appends.
func (l *Log) RoomLocked() int64 {
	off := l.writeOffset.Load()
	l.segMu.RLock()
	var cur *segment
	if len(l.segs) > 0 {
		cur = l.segs[len(l.segs)-1]
	}
	l.segMu.RUnlock()
	if cur != nil && off < cur.base+l.cfg.SegmentSize {
		if room := cur.base + l.cfg.SegmentSize - off - blankHeaderLen; room > 0 {
			return room
		}
	}
	return l.cfg.SegmentSize - blankHeaderLen
}

// segmentForAppendLocked returns the segment that takes n bytes at *off,
// rolling to a new segment (after writing a blank marker) when they do
// not fit in the current one.
func (l *Log) segmentForAppendLocked(off *int64, n int64) (*segment, error) {
	l.segMu.RLock()
	var cur *segment
	if len(l.segs) > 0 {
		cur = l.segs[len(l.segs)-1]
	}
	l.segMu.RUnlock()
	if cur != nil && *off < cur.base+l.cfg.SegmentSize {
		room := cur.base + l.cfg.SegmentSize - *off
		if n+blankHeaderLen <= room {
			return cur, nil
		}
		// Mark the rest of the segment blank so readers skip to the next.
		var blank [blankHeaderLen]byte
		binary.BigEndian.PutUint32(blank[0:], uint32(room))
		binary.BigEndian.PutUint32(blank[4:], message.MagicBlank)
		if _, err := cur.f.WriteAt(blank[:], *off-cur.base); err != nil {
			return nil, fmt.Errorf("commitlog: write end-of-segment marker: %w", err)
		}
		*off = cur.base + l.cfg.SegmentSize
		l.writeOffset.Store(*off)
	}
	base := *off - *off%l.cfg.SegmentSize
	next, err := l.openSegment(base)
	if err != nil {
		return nil, err
	}
	l.segMu.Lock()
	l.segs = append(l.segs, next)
	l.segMu.Unlock()
	l.prealloc.Wakeup()
	return next, nil
}

// openSegment opens the segment at base, creating it if the preallocator
// has not already.
func (l *Log) openSegment(base int64) (*segment, error) {
	name := path.Join(l.cfg.Dir, SegmentName(base))
	f, err := l.cfg.FS.OpenReadWrite(name)
	if err != nil {
		return nil, fmt.Errorf("commitlog: create segment %s: %w", name, err)
	}
	if err := l.cfg.FS.SyncDir(l.cfg.Dir); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("commitlog: sync dir for %s: %w", name, err)
	}
	return &segment{base: base, f: f}, nil
}

// preallocateNext creates the segment after the active one and reserves
// its space, so that a roll does not stall the writer on file creation.
func (l *Log) preallocateNext() {
	if l.cfg.NoPreallocate || l.closed.Load() {
		return
	}
	l.segMu.RLock()
	var next int64
	if n := len(l.segs); n > 0 {
		next = l.segs[n-1].base + l.cfg.SegmentSize
	}
	l.segMu.RUnlock()
	name := path.Join(l.cfg.Dir, SegmentName(next))
	if _, err := l.cfg.FS.Stat(name); err == nil {
		return
	}
	f, err := l.cfg.FS.OpenReadWrite(name)
	if err != nil {
		l.log.Warn("cannot preallocate next segment", "segment", name, "err", err)
		return
	}
	if err := f.Preallocate(l.cfg.SegmentSize); err != nil {
		l.log.Warn("cannot reserve space for next segment", "segment", name, "err", err)
	}
	_ = f.Close()
	_ = l.cfg.FS.SyncDir(l.cfg.Dir)
}

// flushOnce syncs every segment holding written but unsynced bytes and
// wakes all waiters. The fsync runs without flushMu held, so writers
// arriving meanwhile queue up for the next round, which covers them all
// with one more fsync (group commit).
func (l *Log) flushOnce() {
	l.syncOnce()
	l.notifyDurable() // outside flushRun: callbacks may do anything but block
}

func (l *Log) syncOnce() {
	l.flushRun.Lock()
	defer l.flushRun.Unlock()
	target := l.writeOffset.Load()
	from := l.flushed.Load()
	if target <= from || l.syncFailure() != nil {
		return // nothing to do, or poisoned: see syncFailure
	}
	l.segMu.RLock()
	var todo []*segment
	for _, s := range l.segs {
		if s.base+l.cfg.SegmentSize > from && s.base < target {
			todo = append(todo, s)
		}
	}
	l.segMu.RUnlock()
	for _, s := range todo {
		if err := s.f.Sync(); err != nil {
			l.flushMu.Lock()
			l.flushErr = fmt.Errorf("%w: segment %s: %w", ErrSyncFailed, SegmentName(s.base), err)
			l.log.Error("fsync failed: the log refuses writes until reopened", "err", l.flushErr)
			close(l.flushNotify) // wake waiters so they see the failure
			l.flushNotify = make(chan struct{})
			l.flushMu.Unlock()
			return
		}
	}
	l.flushed.Store(target)
	l.flushMu.Lock()
	close(l.flushNotify)
	l.flushNotify = make(chan struct{})
	l.flushMu.Unlock()
}

// syncFailure returns the fsync error that poisoned the log, if any. After
// a failed fsync the kernel may have dropped the dirty pages, so a later
// "successful" fsync would not mean the bytes are on disk: the log stops
// taking writes and confirming flushes until it is reopened, which
// re-verifies everything after the checkpoint.
func (l *Log) syncFailure() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushErr
}

func (l *Log) notifyChan() chan struct{} {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushNotify
}

// WaitFlushed blocks until every byte before end is synced, or timeout.
func (l *Log) WaitFlushed(end int64, timeout time.Duration) error {
	if l.flushed.Load() >= end {
		return nil
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for l.flushed.Load() < end {
		ch := l.notifyChan()
		if l.flushed.Load() >= end {
			break
		}
		if err := l.syncFailure(); err != nil {
			return err
		}
		l.flusher.Wakeup()
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("%w: %d of %d bytes synced after %v", ErrFlushTimeout, l.flushed.Load(), end, timeout)
		}
		if l.closed.Load() && l.flushed.Load() < end {
			return ErrClosed
		}
	}
	return nil
}

// Flush syncs everything written so far.
func (l *Log) Flush() error {
	l.flushOnce()
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushErr
}

// WriteOffset is the end of written data.
func (l *Log) WriteOffset() int64 { return l.writeOffset.Load() }

// FlushedOffset is the end of synced data.
func (l *Log) FlushedOffset() int64 { return l.flushed.Load() }

// MinOffset is the first offset still held (retention moves it).
func (l *Log) MinOffset() int64 { return l.minOffset.Load() }

// SegmentSize is the configured segment size.
func (l *Log) SegmentSize() int64 { return l.cfg.SegmentSize }

// ReadAt reads len(p) bytes at off, which must lie in written data of one
// segment.
func (l *Log) ReadAt(p []byte, off int64) error {
	end := off + int64(len(p))
	if off < l.minOffset.Load() || end > l.writeOffset.Load() {
		return fmt.Errorf("%w: [%d, %d) outside [%d, %d)", ErrOutOfRange, off, end, l.minOffset.Load(), l.writeOffset.Load())
	}
	seg := l.segmentAt(off)
	if seg == nil || end > seg.base+l.cfg.SegmentSize {
		return fmt.Errorf("%w: [%d, %d) not within one segment", ErrOutOfRange, off, end)
	}
	if _, err := seg.f.ReadAt(p, off-seg.base); err != nil {
		return fmt.Errorf("commitlog: read %d bytes at %d: %w", len(p), off, err)
	}
	return nil
}

// ReadAtMost reads up to len(p) bytes at off within one segment and
// returns how many it read: a segment's file ends at its blank marker,
// before the segment's nominal end, so sequential readers (dispatch) read
// chunks that may come back short there.
func (l *Log) ReadAtMost(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if off < l.minOffset.Load() || end > l.writeOffset.Load() {
		return 0, fmt.Errorf("%w: [%d, %d) outside [%d, %d)", ErrOutOfRange, off, end, l.minOffset.Load(), l.writeOffset.Load())
	}
	seg := l.segmentAt(off)
	if seg == nil || end > seg.base+l.cfg.SegmentSize {
		return 0, fmt.Errorf("%w: [%d, %d) not within one segment", ErrOutOfRange, off, end)
	}
	n, err := seg.f.ReadAt(p, off-seg.base)
	if err != nil && !(errors.Is(err, io.EOF) && n > 0) {
		return n, fmt.Errorf("commitlog: read %d bytes at %d: %w", len(p), off, err)
	}
	return n, nil
}

func (l *Log) segmentAt(off int64) *segment {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	if len(l.segs) == 0 {
		return nil
	}
	i := (off - l.segs[0].base) / l.cfg.SegmentSize
	if i < 0 || i >= int64(len(l.segs)) {
		return nil
	}
	return l.segs[i]
}

// ReadRecord returns a copy of the record starting at off.
func (l *Log) ReadRecord(off int64) ([]byte, error) {
	var hdr [blankHeaderLen]byte
	if err := l.ReadAt(hdr[:], off); err != nil {
		return nil, err
	}
	size, err := message.RecordSize(hdr[:])
	if err != nil {
		return nil, fmt.Errorf("commitlog: no record at %d: %w", off, err)
	}
	// off may come from a client (an offset message id): check the claimed
	// size against what exists before allocating it.
	if end := off + int64(size); end > l.writeOffset.Load() || end > off-off%l.cfg.SegmentSize+l.cfg.SegmentSize {
		return nil, fmt.Errorf("%w: no record of %d bytes at %d", ErrOutOfRange, size, off)
	}
	rec := make([]byte, size)
	if err := l.ReadAt(rec, off); err != nil {
		return nil, err
	}
	if r, err := message.ParseRecord(rec); err != nil || r.PhysicalOffset() != off {
		return nil, fmt.Errorf("%w: no record starts at %d", ErrOutOfRange, off)
	}
	return rec, nil
}

// Locked runs fn under the writer lock, for state the caller keeps in step
// with appends (what build and commit functions touch).
func (l *Log) Locked(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fn()
}

// SegmentInfo describes one segment.
type SegmentInfo struct {
	Base int64 // offset of its first byte
	// FirstStoreTime is the store time of its first record; 0 when the
	// segment holds none yet.
	FirstStoreTime int64
}

// Segments lists the segments, oldest first; the last one is the active
// one (being written).
func (l *Log) Segments() []SegmentInfo {
	l.segMu.RLock()
	segs := append([]*segment(nil), l.segs...)
	l.segMu.RUnlock()
	out := make([]SegmentInfo, 0, len(segs))
	end := l.writeOffset.Load()
	for _, s := range segs {
		info := SegmentInfo{Base: s.base}
		var hdr [message.MinRecordSize]byte
		if s.base < end {
			if n, _ := s.f.ReadAt(hdr[:], 0); n == len(hdr) {
				if ts, err := message.PeekStoreTimestamp(hdr[:]); err == nil {
					info.FirstStoreTime = ts
				}
			}
		}
		out = append(out, info)
	}
	return out
}

// DeleteOldest removes the oldest segment unless it is the active one,
// and returns the new min offset. Reads below it fail from then on; the
// caller forgets derived state pointing there.
func (l *Log) DeleteOldest() (int64, error) {
	l.segMu.Lock()
	if len(l.segs) < 2 || l.segs[1].base > l.writeOffset.Load() {
		l.segMu.Unlock()
		return l.minOffset.Load(), fmt.Errorf("commitlog: only the active segment is left")
	}
	old := l.segs[0]
	l.segs = l.segs[1:]
	l.minOffset.Store(l.segs[0].base)
	l.segMu.Unlock()
	name := SegmentName(old.base)
	_ = old.f.Close()
	if err := l.cfg.FS.Remove(path.Join(l.cfg.Dir, name)); err != nil {
		return l.minOffset.Load(), fmt.Errorf("commitlog: remove segment %s: %w", name, err)
	}
	if err := l.cfg.FS.SyncDir(l.cfg.Dir); err != nil {
		return l.minOffset.Load(), fmt.Errorf("commitlog: sync %s: %w", l.cfg.Dir, err)
	}
	l.log.Info("segment deleted", "segment", name)
	return l.minOffset.Load(), nil
}

// Seal refuses every later append and waits for one in progress, so that
// WriteOffset is final (the store records it in its clean marker).
func (l *Log) Seal() {
	l.mu.Lock()
	l.sealed = true
	l.mu.Unlock()
}

// Close flushes, stops the background loops and closes every segment. It
// is idempotent.
func (l *Log) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	// Holding the writer lock waits for an append in progress and keeps
	// new ones out (they see closed once they get it).
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prealloc.Stop()
	l.flusher.Stop()
	if l.expirer != nil {
		l.expirer.Stop()
	}
	errs := []error{}
	l.flushOnce()
	l.flushMu.Lock()
	errs = append(errs, l.flushErr)
	close(l.flushNotify) // release waiters; they see closed
	l.flushNotify = make(chan struct{})
	l.flushMu.Unlock()
	l.closeDurable()
	errs = append(errs, l.closeFiles())
	return errors.Join(errs...)
}

func (l *Log) closeFiles() error {
	l.segMu.Lock()
	defer l.segMu.Unlock()
	var errs []error
	for _, s := range l.segs {
		if err := s.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("commitlog: close %s: %w", SegmentName(s.base), err))
		}
	}
	l.segs = nil
	return errors.Join(errs...)
}
