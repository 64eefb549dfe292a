package cq

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/cockroachdb/pebble/v2"
)

// The probe rows ('e' + LMQ name, no value) list the LMQs that retention
// deleted entries of and has not yet checked for emptiness. They are
// written in the batch that deletes the entries and deleted once the LMQ
// is checked, so a pass cut short by a crash leaves the list for the next
// start: the dispatch-log rows that named those LMQs are gone by then.

func lmqProbeKey(name string) []byte {
	k := make([]byte, 0, 1+len(name))
	return append(append(k, kvdb.PrefixLMQProbe), name...)
}

// SetLMQProbe lists name for an emptiness check, in b.
func SetLMQProbe(b *pebble.Batch, name string) error {
	if err := b.Set(lmqProbeKey(name), nil, nil); err != nil {
		return fmt.Errorf("cq: list %q for an emptiness check: %w", name, err)
	}
	return nil
}

// DeleteLMQProbe takes name off the list, in b.
func DeleteLMQProbe(b *pebble.Batch, name string) error {
	if err := b.Delete(lmqProbeKey(name), nil); err != nil {
		return fmt.Errorf("cq: unlist %q from the emptiness checks: %w", name, err)
	}
	return nil
}

// LMQProbes returns the LMQs listed for an emptiness check.
func (s *Store) LMQProbes() ([]string, error) {
	prefix := []byte{kvdb.PrefixLMQProbe}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kvdb.PrefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("cq: list LMQs to check: %w", err)
	}
	var out []string
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, string(it.Key()[1:]))
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return nil, fmt.Errorf("cq: list LMQs to check: %w", err)
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("cq: list LMQs to check: %w", err)
	}
	return out, nil
}
