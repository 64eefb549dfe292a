// Package parked indexes the records the broker holds back: delayed
// messages until they are due, and transaction half messages until their
// producer commits or rolls them back.
//
// A parked record is an ordinary commit-log record in a parking topic
// (SCHEDULE_TOPIC_XXXX or rmq_sys_wheel_timer for delays, with its due time
// in TIMER_DELIVER_MS; RMQ_SYS_TRANS_HALF_TOPIC for halves). Dispatch adds
// one row per parked record. The broker releases a parked record by
// storing another record — the delivered message, the committed message,
// or a rollback marker — that carries the BOLIDE_PARKED property naming
// the row; dispatching that record deletes the row in the same batch.
//
// So the set of rows is a pure function of the commit log, like the rest
// of the derived state: a crash cannot leave a delivered message parked or
// an undelivered one released, and replay rebuilds the rows exactly.
//
// Keys (prefix kvdb.PrefixParked):
//
//	'p' 't' due(8) phy(8)   delayed record, in due-time order
//	'p' 'h' phy(8)          half message, in commit-log (= arrival) order
package parked

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// Kinds of parked rows.
const (
	KindTimer byte = 't'
	KindHalf  byte = 'h'
)

// Ref names one parked row: what BOLIDE_PARKED carries.
type Ref struct {
	Kind byte
	Due  int64 // delivery time in epoch ms (timers only)
	Phy  int64 // commit-log offset of the parked record
}

// String renders r as the BOLIDE_PARKED value: "t:<due>:<phy>" or
// "h:<phy>".
func (r Ref) String() string {
	if r.Kind == KindTimer {
		return "t:" + strconv.FormatInt(r.Due, 10) + ":" + strconv.FormatInt(r.Phy, 10)
	}
	return "h:" + strconv.FormatInt(r.Phy, 10)
}

// ParseRef parses a BOLIDE_PARKED value.
func ParseRef(v string) (Ref, error) {
	parts := strings.Split(v, ":")
	bad := fmt.Errorf("parked: bad reference %q", v)
	switch {
	case len(parts) == 3 && parts[0] == "t":
		due, err1 := strconv.ParseInt(parts[1], 10, 64)
		phy, err2 := strconv.ParseInt(parts[2], 10, 64)
		if err1 != nil || err2 != nil || phy < 0 {
			return Ref{}, bad
		}
		return Ref{Kind: KindTimer, Due: due, Phy: phy}, nil
	case len(parts) == 2 && parts[0] == "h":
		phy, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || phy < 0 {
			return Ref{}, bad
		}
		return Ref{Kind: KindHalf, Phy: phy}, nil
	}
	return Ref{}, bad
}

// Key is r's row key.
func (r Ref) Key() []byte {
	if r.Kind == KindTimer {
		k := make([]byte, 18)
		k[0], k[1] = kvdb.PrefixParked, KindTimer
		binary.BigEndian.PutUint64(k[2:], uint64(r.Due))
		binary.BigEndian.PutUint64(k[10:], uint64(r.Phy))
		return k
	}
	k := make([]byte, 10)
	k[0], k[1] = kvdb.PrefixParked, KindHalf
	binary.BigEndian.PutUint64(k[2:], uint64(r.Phy))
	return k
}

func decodeKey(k []byte) (Ref, bool) {
	switch {
	case len(k) == 18 && k[0] == kvdb.PrefixParked && k[1] == KindTimer:
		return Ref{Kind: KindTimer, Due: int64(binary.BigEndian.Uint64(k[2:])), Phy: int64(binary.BigEndian.Uint64(k[10:]))}, true
	case len(k) == 10 && k[0] == kvdb.PrefixParked && k[1] == KindHalf:
		return Ref{Kind: KindHalf, Phy: int64(binary.BigEndian.Uint64(k[2:]))}, true
	}
	return Ref{}, false
}

// IsTimerTopic reports whether records of topic are parked delays.
func IsTimerTopic(topic string) bool {
	return topic == message.TopicSchedule || topic == message.TopicTimer
}

// Of returns the row a record parks, if it is a parked record: phy is its
// commit-log offset, due its TIMER_DELIVER_MS for delays. A delay record
// without a usable due time is an error (it cannot be scheduled).
func Of(topic string, prop func(string) (string, bool), phy int64) (Ref, bool, error) {
	switch {
	case topic == message.TopicTransHalf:
		return Ref{Kind: KindHalf, Phy: phy}, true, nil
	case IsTimerTopic(topic):
		v, _ := prop(message.PropertyTimerDeliverMS)
		due, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Ref{}, false, fmt.Errorf("parked: delayed record %d has %s=%q", phy, message.PropertyTimerDeliverMS, v)
		}
		return Ref{Kind: KindTimer, Due: due, Phy: phy}, true, nil
	}
	return Ref{}, false, nil
}

// Scan calls fn for the rows of one kind from the key of from (inclusive;
// zero Ref: the start) in key order, while fn returns true. For timers,
// rows with due > maxDue are not visited.
func Scan(db *pebble.DB, kind byte, from Ref, maxDue int64, fn func(Ref) bool) error {
	lo := []byte{kvdb.PrefixParked, kind}
	if from.Kind == kind {
		lo = from.Key()
	}
	hi := []byte{kvdb.PrefixParked, kind + 1}
	if kind == KindTimer && maxDue < 1<<62 {
		hi = Ref{Kind: KindTimer, Due: maxDue + 1}.Key()
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return fmt.Errorf("parked: iterate: %w", err)
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		r, ok := decodeKey(it.Key())
		if !ok {
			continue
		}
		if !fn(r) {
			break
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("parked: iterate: %w", err)
	}
	return nil
}

// Exists reports whether r's row is present.
func Exists(db *pebble.DB, r Ref) (bool, error) {
	_, closer, err := db.Get(r.Key())
	if err == pebble.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("parked: get: %w", err)
	}
	_ = closer.Close()
	return true, nil
}
