package store

import (
	"fmt"
	"syscall"
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
		if st.Blocks == 0 {
			return 0, nil
		}
		return 1 - float64(st.Bavail)/float64(st.Blocks), nil
	}
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
// left without messages are removed.
func (s *Store) Retain() (RetentionResult, error) {
	if s.closed.Load() {
		return RetentionResult{}, ErrClosed
	}
	s.retainMu.Lock()
	defer s.retainMu.Unlock()
	var res RetentionResult
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
		min, err := s.commit.DeleteOldest()
		if err != nil {
			return res, err
		}
		res.SegmentsDeleted++
		res.MinOffset = min
		s.log.Info("retention deleted a segment", "expired", expired, "diskFull", full, "minOffset", min)
	}
	if res.SegmentsDeleted == 0 {
		res.MinOffset = s.commit.MinOffset()
		return res, nil
	}
	removed, err := s.forgetBelow(res.MinOffset)
	res.LMQsRemoved = removed
	return res, err
}

// forgetBelow drops derived state below min and removes LMQs left empty.
func (s *Store) forgetBelow(min int64) ([]string, error) {
	touched, err := s.disp.ForgetBelow(min)
	if err != nil {
		return nil, fmt.Errorf("store: forget below %d: %w", min, err)
	}
	var removed []string
	b := s.kv.Pebble().NewBatch()
	defer b.Close()
	for _, name := range touched {
		entries, err := s.cq.Range(name, 0, 0, 1)
		if err != nil {
			return removed, fmt.Errorf("store: probe LMQ %s: %w", name, err)
		}
		if len(entries) > 0 {
			continue
		}
		ok, err := s.cq.UnregisterLMQ(b, name)
		if err != nil {
			return removed, err
		}
		if ok {
			removed = append(removed, name)
		}
	}
	if err := s.kv.Apply(b); err != nil {
		return removed, fmt.Errorf("store: unregister LMQs: %w", err)
	}
	// Forget the in-memory next offset of removed LMQs under the writer
	// lock: a later message to the same name starts a new LMQ at 0.
	if len(removed) > 0 {
		s.commit.Locked(func() {
			for _, n := range removed {
				delete(s.nextOffsets, queueKey{n, 0})
			}
		})
	}
	return removed, nil
}
