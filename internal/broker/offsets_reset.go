package broker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bolidemq/bolide/internal/protocol/body"
)

// The reset log: one record per applied reset operation, in the offset
// database beside the offsets it changed (see reset.go).

func resetLogKey(opID string) []byte {
	return append(append([]byte{}, resetLogPrefix...), opID...)
}

// resetTimePrefix starts the reset log's time index: "\x00s" time (8 BE,
// ms) opId, no value. Pruning walks it in time order and never decodes a
// record (a reset of 1,000 queues is a ~100 KB record).
var resetTimePrefix = []byte{0, 's'}

func resetTimeKey(ms int64, opID string) []byte {
	k := binary.BigEndian.AppendUint64(append([]byte{}, resetTimePrefix...), uint64(ms))
	return append(k, opID...)
}

// resetRecord reads the record of operation opID.
func (m *OffsetManager) resetRecord(opID string) (resetRecord, bool, error) {
	var rec resetRecord
	v, closer, err := m.db.Pebble().Get(resetLogKey(opID))
	if errors.Is(err, pebble.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("broker: read reset record %s: %w", opID, err)
	}
	defer closer.Close()
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, false, fmt.Errorf("broker: reset record %s: %w", opID, err)
	}
	return rec, true, nil
}

// applyReset writes the record of res and every applied queue's new
// offset in one batch, synced before it returns: after a crash either all
// of it is there or none. A queue whose new offset is negative (an undo
// back to "never committed") loses its offset row.
func (m *OffsetManager) applyReset(res *body.ResetOffsetResult, now time.Time) error {
	if m.closed.Load() {
		return errors.New("broker: consumer offsets closed")
	}
	rec, err := json.Marshal(resetRecord{Time: now.UnixMilli(), Result: *res})
	if err != nil {
		return fmt.Errorf("broker: encode reset record: %w", err)
	}
	b := m.db.Pebble().NewBatch()
	defer func() { _ = b.Close() }()
	errs := []error{b.Set(resetLogKey(res.OpID), rec, nil), b.Set(resetTimeKey(now.UnixMilli(), res.OpID), nil, nil)}
	var v [8]byte
	for _, q := range res.Queues {
		if q.Status != body.ResetApplied {
			continue
		}
		k := offsetKey(res.Group, q.Topic, q.QueueID)
		if q.New < 0 {
			errs = append(errs, b.Delete(k, nil))
			continue
		}
		binary.BigEndian.PutUint64(v[:], uint64(q.New))
		errs = append(errs, b.Set(k, v[:], nil), b.Set(topicIndexKey(q.Topic, res.Group), nil, nil))
	}
	errs = append(errs, m.pruneResetLog(b, now))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("broker: reset %s: %w", res.OpID, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("broker: reset %s: %w", res.OpID, err)
	}
	return nil
}

// pruneResetLog adds to b the deletion of records older than
// resetLogRetention, found through the time index.
func (m *OffsetManager) pruneResetLog(b *pebble.Batch, now time.Time) error {
	upper := binary.BigEndian.AppendUint64(append([]byte{}, resetTimePrefix...), uint64(now.Add(-resetLogRetention).UnixMilli()))
	it, err := m.db.Pebble().NewIter(&pebble.IterOptions{LowerBound: resetTimePrefix, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("scan reset log: %w", err)
	}
	var errs []error
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) < len(resetTimePrefix)+8 {
			continue
		}
		errs = append(errs, b.Delete(resetLogKey(string(k[len(resetTimePrefix)+8:])), nil), b.Delete(k, nil))
	}
	errs = append(errs, it.Error(), it.Close())
	return errors.Join(errs...)
}

// hasGroup reports whether group holds any committed offset.
func (m *OffsetManager) hasGroup(group string) (bool, error) {
	if checkOffsetName("group", group) != nil {
		return false, nil
	}
	found := false
	err := m.scan(append([]byte(group), 0), func(string, string, int32, int64) bool {
		found = true
		return false
	})
	return found, err
}
