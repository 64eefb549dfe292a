package store

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/dispatch"
)

func (s *Store) loadCheckpoint() (int64, error) {
	cp, err := dispatch.LoadCheckpoint(s.kv)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return cp, nil
}

// recoverDerived brings the derived state in line with the recovered
// commit log: state of records the log lost is dropped, and records the
// dispatcher had not reached are dispatched, all before Open returns, so
// that puts can seed queue offsets from the consume queues.
func (s *Store) recoverDerived(checkpoint int64) error {
	s.disp = dispatch.New(dispatch.Config{
		Log: s.commit, DB: s.kv, CQ: s.cq, EnableLMQ: s.cfg.EnableLMQ, Index: !s.cfg.DisableIndex,
		Logger: s.cfg.Logger, Registered: s.lmqRegistered, Fresh: s.lmqFresh, FreshLock: &s.lmqCountMu,
		Parked: s.cfg.OnParked, Entry: s.bounds.note,
	}, checkpoint)
	end := s.commit.WriteOffset()
	if checkpoint > end {
		s.log.Warn("derived state ahead of the commit log, dropping it", "checkpoint", checkpoint, "end", end)
		if err := s.disp.TruncateFrom(end); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if _, err := s.disp.DispatchTo(end); err != nil {
		return fmt.Errorf("store: replay: %w", err)
	}
	s.dispatched.Store(s.disp.Checkpoint())
	return nil
}

// confirmOffset is how far records may become visible: written bytes
// under ASYNC_FLUSH, synced bytes under SYNC_FLUSH.
func (s *Store) confirmOffset() int64 {
	if s.cfg.Flush == commitlog.SyncFlush {
		return s.commit.FlushedOffset()
	}
	return s.commit.WriteOffset()
}

// dispatchAvailable dispatches up to the confirm offset and reports
// arrivals.
func (s *Store) dispatchAvailable() error {
	s.dispatchMu.Lock()
	defer s.dispatchMu.Unlock()
	arrivals, err := s.disp.DispatchTo(s.confirmOffset())
	// Even after an error: the chunks committed before it are visible,
	// and the checkpoint is past them. The cached bounds move first: a
	// reader that sees the new Dispatched (the query cache's generation)
	// must also see the queue ends it covers.
	s.bounds.advance(arrivals)
	s.dispatched.Store(s.disp.Checkpoint())
	s.tellArrivals(arrivals)
	return err
}

// tellArrivals gives new queue ends to the arrival listener.
func (s *Store) tellArrivals(arrivals []dispatch.Arrival) {
	if len(arrivals) == 0 {
		return
	}
	s.arrivalMu.RLock()
	fn := s.arrival
	s.arrivalMu.RUnlock()
	if fn != nil {
		for _, a := range arrivals {
			fn(a.Topic, a.QueueID, a.NextOffset)
		}
	}
}

// lmqRegistered tells the dispatcher whether an LMQ created by a put still
// needs registering: fresh LMQs are remembered until dispatched.
func (s *Store) lmqRegistered(name string) bool {
	_, fresh := s.freshLMQs.Load(name)
	return !fresh
}

// lmqFresh drops the mark of a fresh LMQ the dispatcher has just counted
// in the registry (LMQCount counts fresh marks, so dropping it before would
// make the count dip by one meanwhile).
func (s *Store) lmqFresh(name string) {
	if _, fresh := s.freshLMQs.LoadAndDelete(name); fresh {
		s.freshCount.Add(-1)
	}
}
