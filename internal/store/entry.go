package store

// StoreTimeAt returns the store time (ms) of the message at offset of a
// queue (topic or LMQ) from its consume-queue row, so that stats never read
// the commit log. A missing row answers an error wrapping cq.ErrNotFound.
func (s *Store) StoreTimeAt(topic string, queueID int32, offset int64) (int64, error) {
	done, err := s.reading()
	if err != nil {
		return 0, err
	}
	defer done()
	e, err := s.cq.Get(topic, queueID, offset)
	if err != nil {
		return 0, err
	}
	return e.StoreTime, nil
}
