package store

// StoreTimeAt returns the store time (ms) of the message at offset of a
// queue (topic or LMQ) from its consume-queue row (or a pulled queue's
// in-memory tail), so that stats never read the commit log. A missing row
// answers an error wrapping cq.ErrNotFound.
func (s *Store) StoreTimeAt(topic string, queueID int32, offset int64) (int64, error) {
	done, err := s.reading()
	if err != nil {
		return 0, err
	}
	defer done()
	// A pulled queue's newest entries may be readable before their rows
	// are written (bounds.go): take them from its ring.
	if b := s.bounds.cached(topic, queueID); b != nil && offset < b.max.Load() {
		if es, ok := b.tail(nil, offset, offset+1); ok {
			return es[0].StoreTime, nil
		}
	}
	e, err := s.cq.Get(topic, queueID, offset)
	if err != nil {
		return 0, err
	}
	return e.StoreTime, nil
}
