package store

import "github.com/bolidemq/bolide/internal/store/parked"

// ScanParked calls fn for the parked rows of one kind (parked.KindTimer in
// due order, parked.KindHalf in commit-log order) from the row of from on,
// timers due no later than maxDue, while fn returns true.
func (s *Store) ScanParked(kind byte, from parked.Ref, maxDue int64, fn func(parked.Ref) bool) error {
	done, err := s.reading()
	if err != nil {
		return err
	}
	defer done()
	return parked.Scan(s.kv.Pebble(), kind, from, maxDue, fn)
}

// ParkedExists reports whether a parked row is still present (not yet
// released by a dispatched record).
func (s *Store) ParkedExists(r parked.Ref) (bool, error) {
	done, err := s.reading()
	if err != nil {
		return false, err
	}
	defer done()
	return parked.Exists(s.kv.Pebble(), r)
}

// Dispatched is the commit-log offset the derived state covers: a record
// below it is in the consume queues, and its parked row added or released.
func (s *Store) Dispatched() int64 { return s.dispatched.Load() }
