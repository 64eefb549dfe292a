package store

import "github.com/bolidemq/bolide/internal/store/cq"

// ListLMQs returns up to limit LMQs whose names start with prefix ("" for
// all), in byte order of their names, starting after the name after ("" to
// start at the beginning); page by passing the last name returned as after.
// limit must be positive; callers cap it (it sizes the result).
//
// It reads the LMQ registry, which the dispatcher fills: an LMQ created by
// a put is listed once that put is dispatched (LMQCount counts it at once).
func (s *Store) ListLMQs(prefix, after string, limit int) ([]cq.LMQ, error) {
	done, err := s.reading()
	if err != nil {
		return nil, err
	}
	defer done()
	return s.cq.ListLMQs(prefix, after, limit)
}
