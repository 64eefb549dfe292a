// Package store is Bolide's message store: a library with no network
// code that the broker puts messages into and reads them from.
//
// Layout under the store directory:
//
//	commitlog/   segment files in RocketMQ's record layout (package commitlog)
//	kv/          one pebble database with every derived structure: consume
//	             queues of topics and LMQs, the LMQ registry, the key index,
//	             the dispatch log and checkpoint (packages kvdb, cq, index)
//	clean        present only between a clean shutdown and the next open;
//	             holds the commit log's end
//
// Data flow: Put assigns queue and LMQ offsets under the commit-log writer
// lock and appends; the dispatcher tails the commit log from its
// checkpoint (up to what is synced under SYNC_FLUSH, so nothing is visible
// before it is durable) and writes consume-queue entries, index entries,
// the chunk's dispatch-log row and the new checkpoint in one pebble
// batch, then reports arrivals. Everything in kv/ can be rebuilt from the
// commit log; replay is idempotent because every derived key is a pure
// function of the record.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pebblevfs "github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/dispatch"
	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/bolidemq/bolide/internal/store/parked"
	"github.com/bolidemq/bolide/internal/vfs"
)

var (
	// ErrClosed is returned by a closed store.
	ErrClosed = errors.New("store: closed")
	// ErrInvalidMessage reports a message the store refuses as malformed.
	ErrInvalidMessage = errors.New("store: invalid message")
	// ErrMessageTooLarge reports a body above MaxMessageSize.
	ErrMessageTooLarge = errors.New("store: message too large")
	// ErrLMQQuota reports a put that would create more LMQs than allowed;
	// nothing of the message is stored.
	ErrLMQQuota = errors.New("store: LMQ quota exceeded")
)

// Config configures a store.
type Config struct {
	Dir string
	// FS holds the commit log and markers (default: the OS).
	FS vfs.FS
	// KVFS holds the pebble database (default: the OS). Pebble does its
	// own I/O through its own filesystem seam; tests use its crashable
	// in-memory filesystem.
	KVFS pebblevfs.FS
	// KVMemTableSize is the index database's memtable size in bytes
	// (default kvdb.DefaultMemTableSize).
	KVMemTableSize uint64

	SegmentSize      int64
	Flush            commitlog.FlushMode
	FlushInterval    time.Duration
	SyncFlushTimeout time.Duration
	// StoreHost is the broker's address, written into every record: tools
	// decode it from offset message ids and connect there.
	StoreHost netip.AddrPort
	// MaxMessageSize bounds a message body (default 4 MiB).
	MaxMessageSize int
	// EnableLMQ turns on multi-dispatch to %LMQ% queues.
	EnableLMQ bool
	// MaxLMQs caps the number of LMQs (maxLmqConsumeQueueNum); 0 = no cap.
	MaxLMQs int
	// DisableIndex turns off the key index (messageIndexEnable=false).
	DisableIndex bool
	// FileReservedTime is how long messages are kept at least (default
	// 72 h, RocketMQ's fileReservedTime).
	FileReservedTime time.Duration
	// DiskMaxUsedRatio (0..1) deletes the oldest segments, expired or not,
	// while the disk is fuller than this (default 0.85, upstream's
	// diskSpaceCleanForciblyRatio; negative disables).
	DiskMaxUsedRatio float64
	// DiskUsage measures the disk (default: statfs of Dir when FS is the
	// OS; none otherwise).
	DiskUsage DiskUsageFunc
	// RetentionInterval is the period of the background retention pass
	// (default 10 s; negative disables it, Retain still works).
	RetentionInterval time.Duration
	// DeleteSegmentsMax bounds segments deleted per pass (default 10).
	DeleteSegmentsMax int
	Now               func() time.Time
	Logger            *slog.Logger

	// OnLMQsRemoved, if set, is called when a retention pass (background,
	// Retain, or the one finishing an interrupted pass in Open) removes
	// LMQs left without messages, with their names, one batch of removals
	// at a time: under the commit-log writer lock, before the removal is
	// applied, so it must not put, read or retain through the store, and
	// what it changes must be durable when it returns. The broker drops
	// their consumer offsets. No put can re-create a name before the call
	// returns; a crash before the removal is durable leaves the names
	// listed, and the start-up pass removes them and calls again.
	OnLMQsRemoved func(names []string)

	// OnParked, if set, is called by dispatch for every parked row added
	// (delayed or half message; see package parked), before the rows are
	// committed: the broker's scheduler uses it to notice a delay due
	// earlier than anything it holds. It must not block.
	OnParked func(parked.Ref)
}

func (c *Config) defaults() {
	if c.FS == nil {
		c.FS = vfs.OS()
	}
	if c.KVFS == nil {
		c.KVFS = pebblevfs.Default
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 4 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.FileReservedTime <= 0 {
		c.FileReservedTime = 72 * time.Hour
	}
	if c.DiskMaxUsedRatio == 0 {
		c.DiskMaxUsedRatio = 0.85
	}
	if c.DiskUsage == nil {
		if c.FS == vfs.OS() {
			c.DiskUsage = statfsUsage(c.Dir)
		}
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = 10 * time.Second
	}
	if c.DeleteSegmentsMax <= 0 {
		c.DeleteSegmentsMax = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ArrivalFunc is told the new end offset of every queue that received
// messages (long polling waits on it): after each dispatch batch, and,
// under ASYNC_FLUSH, for a queue being pulled, right after the put that
// wrote them, before dispatch (so a queue's arrivals may come out of
// order: act on an end beyond the one waited for). It runs on the put's
// or the dispatcher's goroutine and must not block.
type ArrivalFunc func(topic string, queueID int32, nextOffset int64)

// Store is an open message store.
type Store struct {
	cfg Config
	log *slog.Logger

	commit *commitlog.Log
	kv     *kvdb.DB
	cq     *cq.Store

	// nextOffsets is the next offset of every queue written since open;
	// guarded by the commit-log writer lock (only build/commit touch it).
	nextOffsets map[queueKey]int64
	// puts queues concurrent puts so that one writer appends them all
	// with one commit-log write (put.go).
	puts putGroup
	// freshCount counts LMQs created by puts and not yet registered by
	// dispatch; with the registry's count it is the LMQ count the quota
	// is checked against.
	freshCount atomic.Int64
	// lmqCountMu makes registering a fresh LMQ (dispatch) and counting
	// LMQs (LMQCount) exclusive of each other.
	lmqCountMu sync.RWMutex

	disp       *dispatch.Dispatcher
	dispatcher *lifecycle.Loop
	dispatchMu sync.Mutex
	// forgetStepped, when set (tests), runs after each step of a
	// retention pass's forgetting, with no lock held; forgetStep, when
	// not 0 (tests), is a step's size in bytes of deletes.
	forgetStepped func()
	forgetStep    int
	// lazyTimer wakes the dispatcher dispatchDelay after a write under
	// ASYNC_FLUSH (put.go); lazyArmed says it is set.
	lazyTimer *time.Timer
	lazyArmed atomic.Bool
	// freshLMQs are LMQs created by puts and not yet registered by
	// dispatch (so that an LMQ re-created after cleanup is registered
	// again even though its offsets do not restart at 0).
	freshLMQs sync.Map

	// readMu lets Close wait for reads in progress before closing the
	// database under them.
	readMu sync.RWMutex

	retainMu   sync.Mutex
	lmqProbe   map[string]struct{} // LMQs to check for emptiness; retainMu
	retention  *lifecycle.Loop
	dispatched atomic.Int64 // checkpoint: commit-log offset dispatched up to
	bounds     boundsCache  // max and min offsets of pulled queues (bounds.go)
	arrivalMu  sync.RWMutex
	arrival    ArrivalFunc

	closed atomic.Bool
}

const cleanMarker = "clean"

// Open opens or creates a store, recovering from an unclean stop.
func Open(cfg Config) (*Store, error) {
	cfg.defaults()
	if err := cfg.FS.MkdirAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", cfg.Dir, err)
	}
	s := &Store{cfg: cfg, log: cfg.Logger.With("component", "store"), nextOffsets: make(map[queueKey]int64), lmqProbe: make(map[string]struct{})}
	kv, err := kvdb.Open(path.Join(cfg.Dir, "kv"), cfg.KVFS, kvdb.Options{Logger: cfg.Logger, MemTableSize: cfg.KVMemTableSize})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s.kv = kv
	if s.cq, err = cq.Open(kv.Pebble()); err != nil {
		_ = kv.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	checkpoint, err := s.loadCheckpoint()
	if err != nil {
		_ = kv.Close()
		return nil, err
	}
	rec, err := s.readCleanMarker()
	if err != nil {
		_ = kv.Close()
		return nil, err
	}
	rec.ScanFrom = checkpoint
	s.commit, err = commitlog.Open(commitlog.Config{
		FS: cfg.FS, Dir: path.Join(cfg.Dir, "commitlog"), SegmentSize: cfg.SegmentSize, Flush: cfg.Flush,
		FlushInterval: cfg.FlushInterval, SyncFlushTimeout: cfg.SyncFlushTimeout, Now: cfg.Now, Logger: cfg.Logger,
	}, rec)
	if err != nil {
		_ = kv.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	nextValid, err := s.cq.LMQNextValidAt(checkpoint)
	if err != nil {
		_ = s.commit.Close()
		_ = kv.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.recoverDerived(checkpoint); err != nil {
		_ = s.commit.Close()
		_ = kv.Close()
		return nil, err
	}
	// The snapshot of next offsets is good only if replay added nothing.
	if err := s.loadLMQOffsets(nextValid && s.disp.Checkpoint() == checkpoint); err != nil {
		_ = s.commit.Close()
		_ = kv.Close()
		return nil, err
	}
	// From here on a crash is unclean until Close writes the marker again.
	if err := s.removeCleanMarker(); err != nil {
		_ = s.commit.Close()
		_ = kv.Close()
		return nil, err
	}
	s.dispatcher = lifecycle.NewLoop("store-dispatch", 100*time.Millisecond, func(context.Context) {
		if err := s.dispatchAvailable(); err != nil {
			s.log.Error("dispatch failed", "err", err)
		}
	})
	s.dispatcher.Start()
	s.lazyTimer = time.AfterFunc(time.Hour, s.lazyDispatch)
	s.lazyTimer.Stop()
	// Finish what a pass interrupted by a crash left: derived state below
	// the commit log's min offset.
	// (LMQs it removes are reported to OnLMQsRemoved batch by batch.) The
	// LMQs a cut-short pass listed for the emptiness check are checked
	// with the rest.
	probes, err := s.cq.LMQProbes()
	if err != nil {
		s.log.Warn("cannot read the LMQs listed for an emptiness check", "err", err)
	}
	s.probeLMQs(probes)
	if _, err := s.forgetBelow(s.commit.MinOffset(), false); err != nil {
		s.log.Warn("cannot forget state below the commit log's start", "err", err)
	}
	s.retention = lifecycle.NewLoop("store-retention", max(s.cfg.RetentionInterval, 0), func(context.Context) {
		if _, err := s.Retain(); err != nil {
			s.log.Error("retention pass failed", "err", err)
		}
	})
	if s.cfg.RetentionInterval > 0 {
		s.retention.Start()
	}
	return s, nil
}

// loadLMQOffsets loads every LMQ's next offset into memory so that puts
// never read the database for them: from the snapshot rows a clean close
// wrote (valid), or else from each LMQ's consume queue. Either way it then
// deletes the snapshot marker, so that a crash from here on is detected.
func (s *Store) loadLMQOffsets(valid bool) error {
	if valid {
		if _, err := s.cq.LoadLMQNext(func(name string, next int64) {
			s.nextOffsets[queueKey{name, message.LMQQueueID}] = next
		}); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	} else if s.cq.LMQCount() > 0 {
		start := time.Now()
		if _, err := s.cq.DeriveLMQNext(runtime.GOMAXPROCS(0), func(name string, next int64) {
			s.nextOffsets[queueKey{name, message.LMQQueueID}] = next
		}); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		s.log.Info("LMQ next offsets derived from the consume queues (no clean-close snapshot)",
			"lmqs", s.cq.LMQCount(), "took", time.Since(start))
	}
	b := s.kv.Pebble().NewBatch()
	defer b.Close()
	if err := cq.InvalidateLMQNext(b); err != nil {
		return err
	}
	// Synced: pebble keeps unsynced WAL records in its own buffer, so even
	// a process crash would lose the deletion and trust a stale snapshot.
	if err := s.kv.Apply(b); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := s.kv.Sync(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// snapshotLMQOffsets writes every LMQ's next offset and the marker saying
// they match dispatch checkpoint cp. Called by Close once nothing can be
// put or dispatched any more.
func (s *Store) snapshotLMQOffsets(cp int64) error {
	b := s.kv.Pebble().NewBatch()
	defer func() { _ = b.Close() }()
	var err error
	s.commit.Locked(func() {
		for k, next := range s.nextOffsets {
			if k.queue != message.LMQQueueID || !message.IsLMQ(k.topic) {
				continue
			}
			if err = cq.SetLMQNext(b, k.topic, next); err != nil {
				return
			}
			if b.Len() > 16<<20 {
				if err = s.kv.Apply(b); err != nil {
					return
				}
				_ = b.Close()
				b = s.kv.Pebble().NewBatch()
			}
		}
	})
	if err == nil {
		err = cq.SetLMQNextValid(b, cp)
	}
	if err == nil {
		err = s.kv.Apply(b)
	}
	if err != nil {
		return fmt.Errorf("store: snapshot LMQ next offsets: %w", err)
	}
	return nil
}

// readCleanMarker tells whether the last stop was clean and, if so, where
// the commit log ended.
func (s *Store) readCleanMarker() (commitlog.Recovery, error) {
	name := path.Join(s.cfg.Dir, cleanMarker)
	f, err := s.cfg.FS.Open(name)
	if errors.Is(err, vfs.ErrNotExist) {
		return commitlog.Recovery{}, nil
	}
	if err != nil {
		return commitlog.Recovery{}, fmt.Errorf("store: open %s: %w", name, err)
	}
	defer f.Close()
	var buf [64]byte
	n, _ := f.ReadAt(buf[:], 0)
	// "<end> <last store time>"; older markers hold only the end.
	fields := strings.Fields(string(buf[:n]))
	var end, last int64 = -1, 0
	if len(fields) >= 1 {
		end, err = strconv.ParseInt(fields[0], 10, 64)
	}
	if len(fields) >= 2 && err == nil {
		last, err = strconv.ParseInt(fields[1], 10, 64)
	}
	if err != nil || end < 0 || len(fields) == 0 {
		s.log.Warn("unreadable clean-shutdown marker, recovering as after a crash", "content", string(buf[:n]))
		return commitlog.Recovery{}, nil
	}
	return commitlog.Recovery{Clean: true, CleanEnd: end, CleanLastStore: last}, nil
}

func (s *Store) removeCleanMarker() error {
	name := path.Join(s.cfg.Dir, cleanMarker)
	if err := s.cfg.FS.Remove(name); err != nil && !errors.Is(err, vfs.ErrNotExist) {
		return fmt.Errorf("store: remove %s: %w", name, err)
	}
	if err := s.cfg.FS.SyncDir(s.cfg.Dir); err != nil {
		return fmt.Errorf("store: sync %s: %w", s.cfg.Dir, err)
	}
	return nil
}

func (s *Store) writeCleanMarker(end, lastStore int64) error {
	name := path.Join(s.cfg.Dir, cleanMarker)
	tmp := name + ".tmp"
	f, err := s.cfg.FS.Create(tmp)
	if err != nil {
		return fmt.Errorf("store: create %s: %w", tmp, err)
	}
	_, werr := f.WriteAt([]byte(strconv.FormatInt(end, 10)+" "+strconv.FormatInt(lastStore, 10)+"\n"), 0)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("store: write %s: %w", tmp, err)
	}
	if err := s.cfg.FS.Rename(tmp, name); err != nil {
		return fmt.Errorf("store: rename %s: %w", tmp, err)
	}
	return s.cfg.FS.SyncDir(s.cfg.Dir)
}

// reading admits a read, or reports ErrClosed; call the returned func
// when done.
func (s *Store) reading() (func(), error) {
	s.readMu.RLock()
	if s.closed.Load() {
		s.readMu.RUnlock()
		return nil, ErrClosed
	}
	return s.readMu.RUnlock, nil
}

// SetArrivalListener registers the function told about new messages.
func (s *Store) SetArrivalListener(fn ArrivalFunc) {
	s.arrivalMu.Lock()
	s.arrival = fn
	s.arrivalMu.Unlock()
}

// Close dispatches what remains, flushes everything, writes the clean
// marker and closes. It is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.retention.Stop()
	s.retainMu.Lock() // a pass run by hand may be in progress
	defer s.retainMu.Unlock()
	// No put may land after the end recorded in the clean marker.
	s.commit.Seal()
	s.lazyTimer.Stop()
	s.dispatcher.Stop()
	var errs []error
	if err := s.commit.Flush(); err != nil {
		errs = append(errs, err)
	}
	if err := s.dispatchAvailable(); err != nil {
		errs = append(errs, err)
	}
	end := s.commit.WriteOffset()
	lastStore := s.commit.LastStoreTime()
	clean := s.dispatched.Load() == end && len(errs) == 0
	if clean {
		if err := s.snapshotLMQOffsets(s.dispatched.Load()); err != nil {
			errs = append(errs, err)
			clean = false
		}
	}
	if err := s.commit.Close(); err != nil {
		errs = append(errs, err)
		clean = false
	}
	if err := s.kv.Sync(); err != nil {
		errs = append(errs, err)
		clean = false
	}
	s.readMu.Lock() // wait for reads in progress; later ones see closed
	defer s.readMu.Unlock()
	if err := s.kv.Close(); err != nil {
		errs = append(errs, err)
		clean = false
	}
	if clean {
		if err := s.writeCleanMarker(end, lastStore); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Flush makes everything put so far durable and dispatched: the commit
// log is synced, dispatched up to its end, and the derived state synced.
func (s *Store) Flush() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.commit.Flush(); err != nil {
		return err
	}
	if err := s.dispatchAvailable(); err != nil {
		return err
	}
	return s.kv.Sync()
}

// Stats are a few figures about the store.
type Stats struct {
	CommitLogMinOffset   int64
	CommitLogWriteOffset int64
	CommitLogFlushed     int64
	Dispatched           int64
	LMQCount             int64
}

// Stats returns current figures.
func (s *Store) Stats() Stats {
	return Stats{
		CommitLogMinOffset:   s.commit.MinOffset(),
		CommitLogWriteOffset: s.commit.WriteOffset(),
		CommitLogFlushed:     s.commit.FlushedOffset(),
		Dispatched:           s.dispatched.Load(),
		LMQCount:             s.LMQCount(),
	}
}

// LMQCount is the number of LMQs the store holds: those registered plus
// those created by puts and not yet registered, read under lmqCountMu so
// that an LMQ moving from one to the other is counted once.
func (s *Store) LMQCount() int64 {
	s.lmqCountMu.RLock()
	defer s.lmqCountMu.RUnlock()
	return s.cq.LMQCount() + s.freshCount.Load()
}

// BlockCacheStats are the figures of the block cache that keeps hot
// consume-queue and index blocks in memory (pebble's).
type BlockCacheStats struct {
	Bytes, Blocks, Hits, Misses int64
}

// BlockCache returns the block cache's figures. It asks pebble for its
// metrics, which is not free: call it for stats, not per request.
func (s *Store) BlockCache() BlockCacheStats {
	m := s.kv.Pebble().Metrics().BlockCache
	return BlockCacheStats{Bytes: m.Size, Blocks: m.Count, Hits: m.Hits, Misses: m.Misses}
}

// FlushKV writes the derived state's memtables to table files, so that
// reads from then on go through the block cache (tests and tools).
func (s *Store) FlushKV() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.kv.Flush()
}
