package store

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/dispatch"
	"github.com/bolidemq/bolide/internal/store/index"
)

// GetStatus says how a read relates to the queue's bounds, like RocketMQ's
// GetMessageStatus; the broker turns it into a pull response code.
type GetStatus int

const (
	// Found means messages were returned (possibly all filtered out).
	Found GetStatus = iota
	// NoMessageInQueue means the queue is empty.
	NoMessageInQueue
	// OffsetTooSmall means offset is below the queue's min offset.
	OffsetTooSmall
	// OffsetOverflowOne means offset is exactly the max offset: nothing
	// new yet (the normal long-poll case).
	OffsetOverflowOne
	// OffsetOverflowBadly means offset is beyond the max offset.
	OffsetOverflowBadly
	// NoMatchedMessage means entries were read but the filter rejected all.
	NoMatchedMessage
)

func (s GetStatus) String() string {
	return [...]string{"FOUND", "NO_MESSAGE_IN_QUEUE", "OFFSET_TOO_SMALL", "OFFSET_OVERFLOW_ONE",
		"OFFSET_OVERFLOW_BADLY", "NO_MATCHED_MESSAGE"}[s]
}

// GetResult is the outcome of GetMessages.
type GetResult struct {
	Status GetStatus
	// Records are the stored records, unchanged, in queue order.
	Records [][]byte
	// Body is the records back to back (Records are slices of it): a
	// pull response's body, without another copy.
	Body []byte
	// QueueOffsets are the records' offsets in the queue read (for an LMQ,
	// the LMQ offset, which differs from the record's QUEUEOFFSET).
	QueueOffsets []int64
	// NextOffset is where the next read should start.
	NextOffset int64
	MinOffset  int64
	MaxOffset  int64
}

// Filter decides from a consume-queue entry whether its message is wanted
// (tag filtering on the tag hash); nil accepts everything.
type Filter func(e cq.Entry) bool

// GetMessages reads up to maxCount messages (and about maxBytes) of a queue
// from offset.
func (s *Store) GetMessages(topic string, queueID int32, offset int64, maxCount, maxBytes int, filter Filter) (GetResult, error) {
	done, err := s.reading()
	if err != nil {
		return GetResult{}, err
	}
	defer done()
	minPhy := s.commit.MinOffset()
	bounds, err := s.bounds.get(s.cq, topic, queueID)
	if err != nil {
		return GetResult{}, fmt.Errorf("store: max offset %s-%d: %w", topic, queueID, err)
	}
	maxOff := bounds.max.Load()
	minOff, err := s.minOffset(bounds, topic, queueID, minPhy, maxOff)
	if err != nil {
		return GetResult{}, fmt.Errorf("store: min offset %s-%d: %w", topic, queueID, err)
	}
	res := GetResult{MinOffset: minOff, MaxOffset: maxOff, NextOffset: offset}
	switch {
	case maxOff == 0:
		res.Status, res.NextOffset = NoMessageInQueue, 0
		return res, nil
	case offset < minOff:
		res.Status, res.NextOffset = OffsetTooSmall, minOff
		return res, nil
	case offset == maxOff:
		res.Status = OffsetOverflowOne
		return res, nil
	case offset > maxOff:
		res.Status, res.NextOffset = OffsetOverflowBadly, maxOff
		return res, nil
	}
	if maxCount <= 0 {
		maxCount = 1
	}
	// Filtered-out entries are skipped without counting against maxCount,
	// within a bound so that one pull never scans a whole queue.
	scanBudget := max(maxCount*8, 64)
	res.Status = NoMatchedMessage
	next := offset
	bytes := 0
	var picked []cq.Entry
	for scanBudget > 0 && len(picked) < maxCount && next < maxOff {
		// Never more rows than the queue holds below maxOff: a consumer
		// that keeps up reads one or two.
		want := min(scanBudget, maxCount-len(picked)+32, int(min(maxOff-next, 1<<20)))
		entries, ok := bounds.tail(nil, next, next+int64(want))
		if !ok {
			if entries, err = s.cq.Range(topic, queueID, next, want); err != nil {
				return GetResult{}, fmt.Errorf("store: read queue %s-%d at %d: %w", topic, queueID, next, err)
			}
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			scanBudget--
			next = e.QueueOffset + 1
			if e.PhyOffset < minPhy {
				continue // expired with its segment; min offset catches up
			}
			if filter != nil && !filter(e) {
				continue
			}
			if len(picked) > 0 && maxBytes > 0 && bytes+int(e.Size) > maxBytes {
				next = e.QueueOffset
				scanBudget = 0
				break
			}
			if e.Size <= 0 || int64(e.Size) > s.commit.SegmentSize() {
				return GetResult{}, fmt.Errorf("store: corrupt consume-queue entry %s-%d@%d: size %d", topic, queueID, e.QueueOffset, e.Size)
			}
			picked = append(picked, e)
			bytes += int(e.Size)
			if len(picked) >= maxCount || scanBudget <= 0 {
				break
			}
		}
	}
	res.NextOffset = next
	if err := s.readRecords(&res, picked, bytes); err != nil {
		return GetResult{}, err
	}
	return res, nil
}

// readRecords reads the picked entries' records into one buffer
// (res.Body, which a pull response sends as is), records adjacent in the
// commit log with one read. A record whose segment retention deleted
// meanwhile is left out.
func (s *Store) readRecords(res *GetResult, picked []cq.Entry, total int) error {
	if len(picked) == 0 {
		return nil
	}
	seg := s.commit.SegmentSize()
	body := make([]byte, total)
	res.Records = make([][]byte, 0, len(picked))
	res.QueueOffsets = make([]int64, 0, len(picked))
	at := 0 // end of the records kept so far in body
	for i := 0; i < len(picked); {
		start := picked[i].PhyOffset
		end := start + int64(picked[i].Size)
		j := i + 1
		for j < len(picked) && picked[j].PhyOffset == end && (end+int64(picked[j].Size)-1)/seg == start/seg {
			end += int64(picked[j].Size)
			j++
		}
		n := int(end - start)
		if err := s.commit.ReadAt(body[at:at+n], start); err != nil {
			if start >= s.commit.MinOffset() {
				return fmt.Errorf("store: read messages at %d: %w", start, err)
			}
			i = j // deleted while we read: the next run takes its place in body
			continue
		}
		for _, e := range picked[i:j] {
			size := int(e.Size)
			res.Records = append(res.Records, body[at:at+size:at+size])
			res.QueueOffsets = append(res.QueueOffsets, e.QueueOffset)
			at += size
		}
		i = j
	}
	res.Body = body[:at]
	if len(res.Records) > 0 {
		res.Status = Found
	}
	return nil
}

// ReadRecord returns the record stored at a commit-log offset (lookup by
// offset message id).
func (s *Store) ReadRecord(phy int64) ([]byte, error) {
	done, err := s.reading()
	if err != nil {
		return nil, err
	}
	defer done()
	return s.commit.ReadRecord(phy)
}

// MaxOffset is one past the last message of a queue. For a queue being
// pulled it is the cached max GetMessages uses (which moves after a whole
// dispatch pass, pebble's after each chunk of it, and under ASYNC_FLUSH
// with puts shown early, before dispatch): a held pull re-checking the end
// must see the same value its read saw, or it would be woken again and
// again while a pass runs.
func (s *Store) MaxOffset(topic string, queueID int32) (int64, error) {
	done, err := s.reading()
	if err != nil {
		return 0, err
	}
	defer done()
	if b := s.bounds.cached(topic, queueID); b != nil {
		return b.max.Load(), nil
	}
	return s.cq.MaxOffset(topic, queueID)
}

// MinOffset is the first message still held in a queue.
func (s *Store) MinOffset(topic string, queueID int32) (int64, error) {
	done, err := s.reading()
	if err != nil {
		return 0, err
	}
	defer done()
	return s.cq.MinOffset(topic, queueID, s.commit.MinOffset())
}

// OffsetByTime maps a store time to a queue offset: with cq.Lower the first
// message stored at or after ts, with cq.Upper the last at or before it
// (RocketMQ's BoundaryType), in O(log n) lookups that never touch the
// commit log.
func (s *Store) OffsetByTime(topic string, queueID int32, ts int64, boundary cq.Boundary) (int64, error) {
	done, err := s.reading()
	if err != nil {
		return 0, err
	}
	defer done()
	return s.cq.OffsetByTime(topic, queueID, ts, boundary, s.commit.MinOffset())
}

// EarliestStoreTime is the store time of a queue's first held message.
func (s *Store) EarliestStoreTime(topic string, queueID int32) (int64, error) {
	done, err := s.reading()
	if err != nil {
		return 0, err
	}
	defer done()
	return s.cq.EarliestStoreTime(topic, queueID, s.commit.MinOffset())
}

// QueryKind selects the index a query uses.
type QueryKind = index.Kind

// Query returns the records whose key (or unique key) is exactly key,
// stored within [begin, end] (ms, inclusive), newest first, at most
// maxNum. topic is the parent topic or an LMQ name; an LMQ query returns
// only messages dispatched to that LMQ.
func (s *Store) Query(kind QueryKind, topic, key string, begin, end int64, maxNum int) ([][]byte, error) {
	done, err := s.reading()
	if err != nil {
		return nil, err
	}
	defer done()
	scope, fetch := topic, maxNum
	if kind == index.KindUniqKey {
		// Unique keys are indexed once for all topics (dispatch.UniqKeyScope);
		// hits are matched to the topic or LMQ below. A unique key names
		// few messages, so a small margin over maxNum is enough.
		scope, fetch = dispatch.UniqKeyScope, maxNum*4+16
	}
	hits, err := index.Query(s.kv.Pebble(), kind, scope, key, begin, end, fetch)
	if err != nil {
		return nil, fmt.Errorf("store: query %s %q: %w", topic, key, err)
	}
	minPhy := s.commit.MinOffset()
	out := make([][]byte, 0, len(hits))
	for _, h := range hits {
		if h.PhyOffset < minPhy {
			continue
		}
		rec, err := s.commit.ReadRecord(h.PhyOffset)
		if err != nil {
			if h.PhyOffset < s.commit.MinOffset() {
				continue // deleted by retention while we read
			}
			return nil, fmt.Errorf("store: read query hit at %d: %w", h.PhyOffset, err)
		}
		if kind == index.KindUniqKey && !recordIn(rec, topic) {
			continue
		}
		out = append(out, rec)
		if len(out) >= maxNum {
			break
		}
	}
	return out, nil
}

// recordIn reports whether a record belongs to topic: its own topic, or an
// LMQ it was dispatched to.
func recordIn(rec []byte, topic string) bool {
	r, err := message.ParseRecord(rec)
	if err != nil {
		return false
	}
	if r.Topic() == topic {
		return true
	}
	if !message.IsLMQ(topic) {
		return false
	}
	names, _ := r.Property(message.PropertyInnerMultiDispatch)
	for _, n := range message.ParseMultiDispatch(names) {
		if n == topic {
			return true
		}
	}
	return false
}
