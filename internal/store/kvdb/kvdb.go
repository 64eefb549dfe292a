// Package kvdb opens and tunes the single pebble database that holds all of
// the store's derived state: consume queues (normal topics and LMQs), the LMQ
// registry, the message-key and unique-key index, the dispatch log and
// checkpoints.
//
// Why one database: an LMQ message writes one consume-queue row per LMQ it is
// dispatched to plus its index rows; keeping them in one LSM lets the
// dispatcher commit a whole commitlog chunk as one atomic batch, and costs one
// WAL, one block cache and one set of compactions instead of one per queue —
// what makes millions of queues per broker feasible.
//
// # Key space
//
// Every key starts with a one-byte prefix naming its owner. The registry below
// is the only place prefixes are allocated; a package never writes outside its
// own prefix.
//
//	'q' PrefixCQ        consume-queue entries           (package cq)
//	'l' PrefixLMQ       LMQ registry                     (package cq)
//	'k' PrefixKey       message-key index                (package index)
//	'u' PrefixUniqKey   unique-key (UNIQ_KEY) index      (package index)
//	'd' PrefixDispatch  dispatch log                     (package dispatch)
//	'm' PrefixMeta      meta data and checkpoints        (reserved)
//	'n' PrefixLMQNext   next offset of each LMQ          (package cq)
//	'p' PrefixParked    delayed and half messages held   (package parked)
//	'e' PrefixLMQProbe  LMQs retention may have emptied  (package cq)
//
// # Durability
//
// Everything here can be rebuilt from the commitlog, and a checkpoint says how
// far it got; so writes are not synced (pebble.NoSync): a crash loses at most
// the tail, which recovery re-dispatches, as long as its records are still
// in the commitlog (retention syncs before it deletes a segment, whose
// records could not be re-dispatched). (The 'e' rows are bookkeeping of
// retention; each is written in the batch whose deletions it stands for, so
// a lost row comes with lost deletions, which the next pass redoes.) The
// WAL is still written so that a process crash without an OS crash loses
// nothing. On a clean shutdown (or before a checkpoint is trusted) call
// Sync or Flush.
package kvdb

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Key prefixes, one byte each. See the package comment.
const (
	PrefixCQ       byte = 'q'
	PrefixLMQ      byte = 'l'
	PrefixKey      byte = 'k'
	PrefixUniqKey  byte = 'u'
	PrefixDispatch byte = 'd'
	PrefixMeta     byte = 'm'
	PrefixLMQNext  byte = 'n'
	PrefixParked   byte = 'p'
	PrefixLMQProbe byte = 'e'
)

// startProcs is GOMAXPROCS as the process started: the CPUs it may use
// (Go derives it from the CPU count and a cgroup's CPU limit), read before
// a broker command raises its Ps above the cores (cmd/bolide), which must
// not buy it more compactions.
var startProcs = runtime.GOMAXPROCS(0)

// Defaults for Options fields left zero.
const (
	DefaultCacheSize    = 64 << 20
	DefaultMemTableSize = 32 << 20
)

// Options tune the database. The zero value is usable.
type Options struct {
	// CacheSize is the block cache size in bytes (default 64 MiB). The cache
	// is allocated outside the Go heap. Pebble charges memtables against its
	// cache, so Open sizes pebble's cache at CacheSize + 2 × MemTableSize
	// (one memtable filling, one flushing); otherwise a cache no larger than
	// the memtables would cache nothing.
	CacheSize int64
	// MemTableSize is the size of one memtable (default 32 MiB). Up to
	// MemTableStopWrites of them may be queued before writes stall.
	MemTableSize uint64
	// MemTableStopWrites is the number of queued memtables that stalls
	// writes (default 4). Dispatch is bursty; a deeper queue absorbs bursts.
	MemTableStopWrites int
	// MaxCompactions caps concurrent compactions
	// (default min(4, max(1, startProcs/2))): the broker's send path must
	// keep most CPUs.
	MaxCompactions int
	// Logger receives pebble's messages. Nil discards them.
	Logger *slog.Logger
}

// DB is the store's pebble database. It is safe for concurrent use.
type DB struct {
	pdb *pebble.DB
	dir string

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database in dir on fs. A nil fs means
// the OS filesystem.
func Open(dir string, fs vfs.FS, opts Options) (*DB, error) {
	if fs == nil {
		fs = vfs.Default
	}
	po := pebbleOptions(fs, opts)
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("kvdb: open %s: %w", dir, err)
	}
	return &DB{pdb: pdb, dir: dir}, nil
}

func pebbleOptions(fs vfs.FS, opts Options) *pebble.Options {
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.MemTableSize == 0 {
		opts.MemTableSize = DefaultMemTableSize
	}
	if opts.MemTableStopWrites <= 0 {
		opts.MemTableStopWrites = 4
	}
	if opts.MaxCompactions <= 0 {
		opts.MaxCompactions = min(4, max(1, startProcs/2))
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	pl := slogLogger{l: logger}

	po := &pebble.Options{
		FS:                          fs,
		CacheSize:                   opts.CacheSize + 2*int64(opts.MemTableSize),
		MemTableSize:                opts.MemTableSize,
		MemTableStopWritesThreshold: opts.MemTableStopWrites,
		// Compact L0 early (reads seek across every L0 sublevel) but let
		// it grow well before stalling: a stall stops dispatch, and
		// dispatch lag is what consumers see.
		L0CompactionThreshold: 2,
		L0StopWritesThreshold: 64,
		Logger:                pl,
		FormatMajorVersion:    pebble.FormatNewest,
		EventListener: &pebble.EventListener{
			// Derived state: corruption means "rebuild", not "exit the
			// broker" (pebble's default calls Fatalf).
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				logger.Error("kvdb: data corruption", "info", info.String())
			},
			WriteStallBegin: func(info pebble.WriteStallBeginInfo) {
				logger.Warn("kvdb: write stall", "reason", info.Reason)
			},
			WriteStallEnd: func() { logger.Info("kvdb: write stall ended") },
		},
	}
	// Pebble syncs a WAL when it closes it, at each memtable rotation, in
	// the commit path: with writes unsynced, that fsync flushed a whole
	// memtable's worth of WAL (up to 128 MiB) and stalled every commit,
	// so dispatch, for 60-100 ms. Writing the WAL back as it grows leaves
	// that sync little to do.
	po.WALBytesPerSync = walBytesPerSync
	maxC := opts.MaxCompactions
	po.CompactionConcurrencyRange = func() (int, int) { return 1, maxC }
	// Bloom filters make point lookups (cq.Get of a row's first entry, LMQ
	// registry checks) cheap on misses; seeks do not use them. Values are
	// tiny, so blocks stay at the default size.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	po.EnsureDefaults()
	return po
}

// walBytesPerSync is how much WAL pebble writes before it has it written
// back, from the WAL writer's own goroutine, not the commit path: with
// sync_file_range on ext4 (waiting for the previous range only), with
// fdatasync on other filesystems.
const walBytesPerSync = 1 << 20

// Pebble returns the underlying database, for building batches and
// iterators in the other store packages. Do not close it; close the DB.
func (db *DB) Pebble() *pebble.DB { return db.pdb }

// Dir returns the directory the database was opened in.
func (db *DB) Dir() string { return db.dir }

// Apply commits b without waiting for the disk (see Durability in the
// package comment).
func (db *DB) Apply(b *pebble.Batch) error {
	if err := db.pdb.Apply(b, pebble.NoSync); err != nil {
		return fmt.Errorf("kvdb: apply batch: %w", err)
	}
	return nil
}

// Sync makes every write committed so far durable by syncing the WAL. Use it
// before recording a checkpoint that claims those writes.
func (db *DB) Sync() error {
	// An empty LogData record with Sync is pebble's way to sync the WAL.
	if err := db.pdb.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("kvdb: sync: %w", err)
	}
	return nil
}

// Flush writes the memtables to sstables and waits. Besides durability this
// makes the next Open fast (no WAL to replay); use it on clean shutdown.
func (db *DB) Flush() error {
	if err := db.pdb.Flush(); err != nil {
		return fmt.Errorf("kvdb: flush: %w", err)
	}
	return nil
}

// Close closes the database. It is idempotent; every call returns the result
// of the first. All iterators must be closed first.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if err := db.pdb.Close(); err != nil {
			db.closeErr = fmt.Errorf("kvdb: close: %w", err)
		}
	})
	return db.closeErr
}

// PrefixEnd returns the smallest key greater than every key starting with
// prefix, for use as an exclusive iterator UpperBound. It returns nil (no
// bound) if prefix is empty or all 0xff.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// slogLogger routes pebble's logging to slog. Pebble's informational
// messages (flushes, compactions, WAL recovery) go to Debug.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Infof(format string, args ...any) {
	s.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (s slogLogger) Errorf(format string, args ...any) {
	s.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

// Fatalf must not return (pebble's contract): it logs and panics, so a
// deferred handler can still report the state of the process.
func (s slogLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.l.Error(msg, "component", "pebble", "fatal", true)
	panic("kvdb: pebble fatal: " + msg)
}
