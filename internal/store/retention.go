package store

import (
	"fmt"
	"syscall"
	"time"

	"github.com/bolidemq/bolide/internal/store/cq"
)

// DiskUsageFunc reports the used fraction (0..1) of the disk holding the
// store.
type DiskUsageFunc func() (float64, error)

// statfsUsage measures the filesystem holding dir.
func statfsUsage(dir string) DiskUsageFunc {
	return func() (float64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, fmt.Errorf("store: statfs %s: %w", dir, err)
		}
		return usedFraction(st.Blocks, st.Bfree, st.Bavail), nil
	}
}

// usedFraction is df's Use%: used blocks over the blocks an unprivileged
// writer could ever fill (used + available), as RocketMQ's
// getDiskPartitionSpaceUsedPercent computes it. The blocks reserved for
// root count neither as used nor as available: taking 1 - avail/total
// instead counts them as used, and on a filesystem with a large reserve
// (64 % of the blocks on the machine this was found on) that reported a
// half-empty disk as 81 % full and set off forced deletion of unexpired
// messages.
func usedFraction(blocks, free, avail uint64) float64 {
	if blocks == 0 || free > blocks {
		return 0
	}
	used := blocks - free
	if used+avail == 0 {
		return 0
	}
	return float64(used) / float64(used+avail)
}

// RetentionResult says what one retention pass did.
type RetentionResult struct {
	SegmentsDeleted int
	LMQsRemoved     []string
	MinOffset       int64
}

// Retain runs one retention pass: it deletes whole commit-log segments,
// oldest first and never the active one, while the oldest is expired
// (every message in it is older than FileReservedTime) or the disk is
// fuller than DiskMaxUsedRatio. The derived state of deleted records is
// forgotten (queue min offsets follow, the index forgets them), and LMQs
// left without messages are removed; the OnLMQsRemoved hook is called
// with their names after each batch of removals (see Config).
func (s *Store) Retain() (RetentionResult, error) {
	return s.retain()
}

func (s *Store) retain() (RetentionResult, error) {
	if s.closed.Load() {
		return RetentionResult{}, ErrClosed
	}
	s.retainMu.Lock()
	defer s.retainMu.Unlock()
	var res RetentionResult
	kvSyncedTo := int64(-1) // derived state durable up to here
	now := s.cfg.Now().UnixMilli()
	for res.SegmentsDeleted < s.cfg.DeleteSegmentsMax {
		segs := s.commit.Segments()
		if len(segs) < 2 {
			break
		}
		// A segment's newest message is older than the next segment's
		// first one: that bounds its age without scanning it.
		expired := segs[1].FirstStoreTime != 0 && now-segs[1].FirstStoreTime > s.cfg.FileReservedTime.Milliseconds()
		full := false
		if !expired && s.cfg.DiskMaxUsedRatio > 0 && s.cfg.DiskUsage != nil {
			used, err := s.cfg.DiskUsage()
			if err != nil {
				s.log.Warn("cannot measure disk usage", "err", err)
			}
			full = used > s.cfg.DiskMaxUsedRatio
		}
		if !expired && !full {
			break
		}
		// Never delete what dispatch has not consumed: its derived state
		// would point at nothing, and replay could not rebuild it.
		if segs[1].Base > s.dispatched.Load() {
			break
		}
		// Nor before that derived state, and the checkpoint past it, are
		// durable: pebble is written without syncs, and a crash that lost
		// them after the segment went would leave queues whose entries
		// replay cannot rebuild (a queue's max offset then went back).
		if segs[1].Base > kvSyncedTo {
			to := s.dispatched.Load() // committed before the sync below
			if err := s.kv.Sync(); err != nil {
				return res, err
			}
			kvSyncedTo = to
		}
		min, err := s.commit.DeleteOldest()
		if err != nil {
			return res, err
		}
		res.SegmentsDeleted++
		res.MinOffset = min
		if full && !expired {
			s.log.Warn("disk above the forced-clean ratio: deleted a segment before it expired",
				"ratio", s.cfg.DiskMaxUsedRatio, "minOffset", min)
		} else {
			s.log.Info("retention deleted an expired segment", "minOffset", min)
		}
	}
	if res.SegmentsDeleted == 0 {
		res.MinOffset = s.commit.MinOffset()
		if len(s.lmqProbe) > 0 {
			removed, err := s.removeEmptyLMQs()
			res.LMQsRemoved = removed
			return res, err
		}
		return res, nil
	}
	removed, err := s.forgetBelow(res.MinOffset, true)
	res.LMQsRemoved = removed
	return res, err
}

// forgetBelow drops derived state below min and removes LMQs left empty.
//
// It forgets in steps and lets dispatch passes run between them (see
// dispatch.Forgetting): a segment's rows take seconds to delete, and
// dispatch held back that long stalls every consumer. Paced, it also
// sleeps between steps as long as each took, until the store closes.
// Readers meanwhile see some expired rows gone and others not, as they did
// while a single pass ran; none of those rows is readable anyway (they
// point below the commit log's min offset).
func (s *Store) forgetBelow(min int64, paced bool) ([]string, error) {
	g := s.disp.Forget(min)
	began, steps := time.Now(), 0
	for {
		start := time.Now()
		steps++
		s.dispatchMu.Lock()
		done, err := g.Step(s.forgetStep)
		s.dispatchMu.Unlock()
		if err != nil {
			s.probeLMQs(g.LMQs()) // the LMQs emptied so far are still to be checked
			return nil, fmt.Errorf("store: forget below %d: %w", min, err)
		}
		if s.forgetStepped != nil {
			s.forgetStepped()
		}
		if done {
			break
		}
		// Half the time at most: the deletes are not urgent, and a burst
		// of them on a busy machine delays every message.
		if paced && !s.closed.Load() {
			time.Sleep(time.Since(start))
		}
	}
	// Finish lets a queue's last forgotten entry go only for a later one
	// whose record is synced: sync now, before holding dispatch (an fsync
	// can take a while), so that every record dispatched so far counts.
	// A failed sync is the log's to report (it refuses writes from then
	// on); the entries it would have let go then stay.
	_ = s.commit.Flush()
	// Under dispatchMu: a dispatch pass that committed rows this deletes
	// must not move the cache after the clear (an LMQ loses all its rows).
	// Passes between the steps only wrote rows of later records.
	s.dispatchMu.Lock()
	touched, err := g.Finish()
	s.bounds.clear() // rows are gone: cached maxima may name none
	s.dispatchMu.Unlock()
	if err != nil {
		s.probeLMQs(g.LMQs())
		return nil, fmt.Errorf("store: forget below %d: %w", min, err)
	}
	if g.Records() > 0 {
		s.log.Info("retention forgot the deleted records' queue entries and keys",
			"records", g.Records(), "steps", steps, "took", time.Since(began).Round(time.Millisecond))
	}
	s.probeLMQs(touched)
	return s.removeEmptyLMQs()
}

// probeLMQs adds names to the LMQs to check for emptiness.
func (s *Store) probeLMQs(names []string) {
	for _, n := range names {
		s.lmqProbe[n] = struct{}{}
	}
}

// skipNonEmptyProbes drops from the probe set, and their probe rows, without
// any lock, the LMQs that still have rows. A segment's records can touch
// hundreds of thousands of LMQs, and probing each under the commit-log
// writer lock held every put back for seconds; the few left empty are
// probed again under it. An LMQ seen with rows keeps them: only retention
// deletes rows, and it is the caller.
func (s *Store) skipNonEmptyProbes() error {
	b := s.kv.Pebble().NewBatch()
	defer func() { _ = b.Close() }()
	var skipped []string
	// apply commits the row deletions so far, then forgets the names:
	// rows and names go together. Batches stay small, so that hundreds of
	// thousands of deletions do not make one large batch (pebble turns
	// those into a memtable of their own).
	apply := func() error {
		if err := s.kv.Apply(b); err != nil {
			return fmt.Errorf("store: unlist LMQs with rows: %w", err)
		}
		for _, name := range skipped {
			delete(s.lmqProbe, name)
		}
		skipped = skipped[:0]
		_ = b.Close()
		b = s.kv.Pebble().NewBatch()
		return nil
	}
	for name := range s.lmqProbe {
		entries, err := s.cq.Range(name, 0, 0, 1)
		if err != nil {
			return fmt.Errorf("store: probe LMQ %s: %w", name, err)
		}
		if len(entries) == 0 {
			continue
		}
		if err := cq.DeleteLMQProbe(b, name); err != nil {
			return err
		}
		skipped = append(skipped, name)
		if b.Len() > 1<<20 {
			if err := apply(); err != nil {
				return err
			}
		}
	}
	return apply()
}

// removeEmptyLMQs unregisters the LMQs that lost rows to retention and
// have none left. Called with retainMu held (or before the store runs).
//
// It decides under the writer lock, and only when every put is dispatched:
// a put in flight to an LMQ whose rows just expired holds its next offset
// in memory only, and unregistering the LMQ then would let a later put
// reuse that offset. The lock holds every put back, so it is taken for
// removeLMQBatch LMQs at a time (one segment can empty hundreds of
// thousands: 2.7 s of stalled puts in one go), after a dispatch pass each
// time. Dispatch runs lazily (put.go): without that catch-up the check
// would almost never find everything dispatched under a steady load. What
// is not decided (dispatch stays behind, or a failed pass left it behind)
// stays in the probe set for the next retention pass.
func (s *Store) removeEmptyLMQs() ([]string, error) {
	if err := s.skipNonEmptyProbes(); err != nil {
		return nil, err
	}
	if len(s.lmqProbe) == 0 {
		return nil, nil
	}
	// The forget pass's deletes (old entries and the dispatch-log rows
	// naming them) must be durable before a removal lets a put re-create
	// a name at offset 0. Unsynced, a crash could lose them but keep the
	// new LMQ's records: recovery then found the old rows, continued the
	// old offsets, and the start-up forget pass deleted the new entry at
	// 0 with the old one of the same key. The removals themselves may be
	// lost: their probe rows then survive, and the start-up pass decides
	// again.
	if err := s.kv.Sync(); err != nil {
		return nil, fmt.Errorf("store: before removing LMQs: %w", err)
	}
	names := make([]string, 0, len(s.lmqProbe))
	for name := range s.lmqProbe {
		names = append(names, name)
	}
	var removed []string
	began, batches, longest := time.Now(), 0, time.Duration(0)
	for len(names) > 0 {
		batch := names[:min(len(names), removeLMQBatch)]
		decided := false
		for try := 0; try < 10 && !decided; try++ {
			if try > 0 {
				// A put landed between the dispatch pass and the lock:
				// give the next one a moment (under SYNC_FLUSH dispatch
				// also waits for the sync).
				time.Sleep(time.Duration(try) * time.Millisecond)
			}
			_ = s.dispatchAvailable()
			start := time.Now()
			got, ok, err := s.removeEmptyLocked(batch)
			longest = max(longest, time.Since(start))
			removed = append(removed, got...)
			if err != nil {
				return removed, err
			}
			decided = ok
		}
		if !decided {
			break
		}
		batches++
		names = names[len(batch):]
	}
	if len(removed) > 0 {
		s.log.Info("retention removed empty LMQs", "lmqs", len(removed), "batches", batches,
			"longestLockWaitAndHold", longest.Round(time.Microsecond), "took", time.Since(began).Round(time.Millisecond))
	}
	return removed, nil
}

// removeLMQBatch is how many LMQs one hold of the writer lock decides:
// a few milliseconds of probes and batch writes (batches of 1,024 took up
// to 72 ms, the wait for the lock included, on a loaded 2-core machine).
var removeLMQBatch = 256

// removeEmptyLocked unregisters, under the writer lock, the LMQs of names
// that have no rows and takes every one of names out of the probe set and
// deletes their probe rows, in one batch. It reports false, deciding
// nothing, when some put is not dispatched yet.
func (s *Store) removeEmptyLocked(names []string) (removed []string, decided bool, err error) {
	s.commit.Locked(func() {
		if s.dispatched.Load() < s.commit.WriteOffset() {
			return
		}
		decided = true
		b := s.kv.Pebble().NewBatch()
		defer b.Close()
		// UnregisterLMQ counts down at once; a batch that fails after it
		// is not applied, so the count is read again from the registry.
		counted := false
		defer func() {
			if err != nil && counted {
				if _, rerr := s.cq.ReloadLMQCount(); rerr != nil {
					s.log.Error("cannot recount LMQs", "err", rerr)
				}
			}
		}()
		var gone []string
		for _, name := range names {
			if err = cq.DeleteLMQProbe(b, name); err != nil {
				return
			}
			entries, perr := s.cq.Range(name, 0, 0, 1)
			if perr != nil {
				err = fmt.Errorf("store: probe LMQ %s: %w", name, perr)
				return
			}
			if len(entries) > 0 {
				continue
			}
			ok, uerr := s.cq.UnregisterLMQ(b, name)
			counted = counted || ok
			if uerr == nil {
				uerr = cq.DeleteLMQNext(b, name)
			}
			if uerr != nil {
				err = uerr
				return
			}
			if ok {
				gone = append(gone, name)
			}
		}
		// The hook runs before the removal is applied: a crash after it
		// leaves the LMQ registered, listed and empty (until the removal
		// is synced), and the start-up pass removes it again and calls the
		// hook again. Called after, a crash in between lost the call for
		// good (the probe rows go with the removal), and the old consumer
		// offsets then outlived the LMQ and skipped a re-created one's
		// messages.
		if len(gone) > 0 && s.cfg.OnLMQsRemoved != nil {
			s.cfg.OnLMQsRemoved(gone)
		}
		if aerr := s.kv.Apply(b); aerr != nil {
			err = fmt.Errorf("store: unregister LMQs: %w", aerr)
			return
		}
		// A later message to the same name starts a new LMQ at 0.
		for _, n := range gone {
			delete(s.nextOffsets, queueKey{n, 0})
		}
		for _, n := range names {
			delete(s.lmqProbe, n)
		}
		removed = gone
	})
	return removed, decided, err
}
