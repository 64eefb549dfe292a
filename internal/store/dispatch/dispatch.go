// Package dispatch turns commit-log records into the store's derived
// state: consume-queue entries for the record's queue and for every LMQ it
// is multi-dispatched to, key index entries (for the parent topic and for
// each LMQ, so an LMQ query sees only its own messages), one unique-key
// entry for all topics (queries match hits to the topic or LMQ), and
// the dispatch log.
//
// The dispatch log ('d' + physical offset of a chunk's first record -> the
// keys written for each of the chunk's records, see chunkLog) is what
// makes the rest cheap: recovery drops the derived state of records lost
// from the commit log's tail, and retention forgets expired records across
// a million LMQs, each by one range scan over the log instead of a walk
// over every queue.
//
// A chunk of records, its dispatch-log row and the new checkpoint go into
// one pebble batch, so derived state and checkpoint never disagree: no row
// of a record at or after the checkpoint exists, and the checkpoint moves
// back only through TruncateFrom, which deletes such rows first. A replayed
// chunk may so be cut differently from the lost one, and its consume-queue
// groups (one row per queue and run of a chunk) differently too, without
// overlapping anything. Moving the checkpoint back without TruncateFrom
// would let a replay write groups overlapping older ones: readers would
// then return entries twice.
package dispatch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/cq"
	"github.com/bolidemq/bolide/internal/store/index"
	"github.com/bolidemq/bolide/internal/store/kvdb"
	"github.com/bolidemq/bolide/internal/store/parked"
)

// UniqKeyScope is the index scope all unique keys are filed under; "*"
// is not a topic character, so no topic shares it.
const UniqKeyScope = "*"

// checkpointKey holds the commit-log offset dispatched up to.
var checkpointKey = []byte{kvdb.PrefixMeta, 'd', 'i', 's', 'p', 'a', 't', 'c', 'h'}

// chunkBytes is how much commit log one read and one batch cover at most.
const chunkBytes = 4 << 20

// Arrival is a queue's new end offset after a dispatch batch.
type Arrival struct {
	Topic      string
	QueueID    int32
	NextOffset int64
}

// Config configures a Dispatcher.
type Config struct {
	Log       *commitlog.Log
	DB        *kvdb.DB
	CQ        *cq.Store // owns the LMQ registry rows and their count
	EnableLMQ bool
	Index     bool
	Logger    *slog.Logger
	// Registered, when set, is asked whether an LMQ entry at an offset
	// other than 0 must (re)register its LMQ (the store knows which LMQs
	// its puts created since they were last registered). It does not
	// change anything: Fresh says when a fresh LMQ has been registered.
	Registered func(name string) bool
	// Fresh, when set, is told that a fresh LMQ (Registered said false)
	// is now in the registry batch, so the store drops its mark. Called
	// after the registry counted it, so the LMQ count never dips.
	Fresh func(name string)
	// FreshLock, when set, is held across registering a fresh LMQ and
	// telling Fresh, so that a reader counting registry + fresh marks
	// under it sees neither a dip nor a double count.
	FreshLock sync.Locker
	// Entry, when set, is told of every consume-queue entry added (for
	// the queue and every LMQ), before its batch commits; the store keeps
	// the last ones of the queues being pulled.
	Entry func(topic string, queueID int32, e cq.Entry)
	// Parked, when set, is told of every parked row added (before the
	// batch commits), so the broker's scheduler can move its scan floor
	// back for a delay due earlier than it expected.
	Parked func(parked.Ref)
}

// Dispatcher dispatches records. One goroutine at a time may call its
// methods that write (DispatchTo, TruncateFrom, ForgetBelow).
type Dispatcher struct {
	cfg Config
	db  *pebble.DB
	log *slog.Logger

	mu         sync.Mutex
	checkpoint int64
	buf        []byte
	// runs holds the chunk being dispatched's topic-queue entries, a run
	// of consecutive offsets per queue, each written as one row
	// (flushRuns).
	runs map[queueID][]cq.Entry
}

// LoadCheckpoint returns the stored checkpoint (0 if none).
func LoadCheckpoint(db *kvdb.DB) (int64, error) {
	v, closer, err := db.Pebble().Get(checkpointKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dispatch: read checkpoint: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("dispatch: checkpoint of %d bytes", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// New returns a dispatcher resuming at checkpoint.
func New(cfg Config, checkpoint int64) *Dispatcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{cfg: cfg, db: cfg.DB.Pebble(), log: cfg.Logger.With("component", "dispatch"), checkpoint: checkpoint}
}

// Checkpoint is the commit-log offset dispatched up to.
func (d *Dispatcher) Checkpoint() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.checkpoint
}

// DispatchTo dispatches every record in [checkpoint, end) and returns the
// arrivals, one per queue touched, with its highest new end offset. On an
// error it still returns the arrivals of the batches committed before it:
// they are visible, and the checkpoint is past them.
func (d *Dispatcher) DispatchTo(end int64) ([]Arrival, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	arrivals := make(map[arrivalKey]int64) // of committed batches
	err := d.dispatchTo(end, arrivals)
	out := make([]Arrival, 0, len(arrivals))
	for k, v := range arrivals {
		out = append(out, Arrival{Topic: k.topic, QueueID: k.queue, NextOffset: v})
	}
	return out, err
}

// dispatchTo is DispatchTo with d.mu held.
func (d *Dispatcher) dispatchTo(end int64, arrivals map[arrivalKey]int64) error {
	seg := d.cfg.Log.SegmentSize()
	chunk := make(map[arrivalKey]int64) // of the batch being built
	limit := int64(chunkBytes)
	for d.checkpoint < end {
		pos := d.checkpoint
		if pos < d.cfg.Log.MinOffset() {
			pos = d.cfg.Log.MinOffset() // retention passed an undispatched offset (store was down)
		}
		if pos >= end {
			// Nothing left to read: the log starts at its end. Retention
			// deleted segments, a crash lost the unsynced records after
			// them, and the checkpoint is below (the derived state was
			// deleted to be rebuilt); reading would make no progress and
			// fail every start.
			return d.setCheckpoint(pos, pebble.NoSync)
		}
		segEnd := (pos/seg + 1) * seg
		n := min(end, segEnd, pos+limit) - pos
		if cap(d.buf) < int(n) {
			d.buf = make([]byte, n)
		}
		got, err := d.cfg.Log.ReadAtMost(d.buf[:n], pos)
		if err != nil {
			return fmt.Errorf("dispatch: read commit log at %d: %w", pos, err)
		}
		buf := d.buf[:got]
		b := d.db.NewBatch()
		clear(chunk)
		next, err := d.dispatchChunk(b, buf, pos, segEnd, chunk)
		if err != nil {
			_ = b.Close()
			d.reloadCount()
			return err
		}
		if next == pos {
			_ = b.Close()
			// A record larger than the chunk (up to the max message size
			// plus headers): read it whole.
			if size, err := message.RecordSize(buf); err == nil && int64(size) > limit {
				limit = int64(size)
				continue
			}
			d.reloadCount()
			return fmt.Errorf("dispatch: no progress at %d", pos)
		}
		limit = chunkBytes
		if err := b.Set(checkpointKey, checkpointValue(next), nil); err != nil {
			_ = b.Close()
			return fmt.Errorf("dispatch: set checkpoint: %w", err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			_ = b.Close()
			d.reloadCount()
			return fmt.Errorf("dispatch: commit batch: %w", err)
		}
		_ = b.Close()
		d.checkpoint = next
		for k, v := range chunk {
			arrivals[k] = max(arrivals[k], v)
		}
	}
	return nil
}

// checkpointValue encodes a checkpoint row's value.
func checkpointValue(off int64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(off))
}

// setCheckpoint moves the checkpoint to off with no record dispatched.
func (d *Dispatcher) setCheckpoint(off int64, opts *pebble.WriteOptions) error {
	if err := d.db.Set(checkpointKey, checkpointValue(off), opts); err != nil {
		return fmt.Errorf("dispatch: set checkpoint: %w", err)
	}
	d.checkpoint = off
	return nil
}

// reloadCount recounts the LMQ registry after a discarded batch, whose
// registrations were already counted (cq.RegisterLMQ's contract).
func (d *Dispatcher) reloadCount() {
	if _, err := d.cfg.CQ.ReloadLMQCount(); err != nil {
		d.log.Error("cannot recount LMQs", "err", err)
	}
}

type arrivalKey struct {
	topic string
	queue int32
}

// dispatchChunk adds the derived state of every whole record in buf (which
// starts at commit-log offset pos) to b and returns the offset after the
// last record handled. A blank marker ends the segment. The keys written
// for the chunk's records go into one dispatch-log row (see chunkLog).
func (d *Dispatcher) dispatchChunk(b *pebble.Batch, buf []byte, pos, segEnd int64, arrivals map[arrivalKey]int64) (int64, error) {
	next, log, err := d.dispatchRecords(b, buf, pos, segEnd, arrivals)
	if err == nil {
		err = d.flushRuns(b)
	}
	if err != nil {
		d.dropRuns()
		return 0, err
	}
	if err := log.flush(b); err != nil {
		return 0, err
	}
	return next, nil
}

// addEntry adds a topic-queue entry to its queue's run, writing the run
// first when the entry does not continue it.
//
// A chunk's entries of one queue become one row instead of one per
// message: fewer pebble inserts, and half the rows a plain message costs
// in flushes and compactions (docs/benchmarks.md, "Tenth session"). The
// dispatch log still lists each record's own entry key, so forgetting
// works from offsets (see forgetter), whatever the rows' grouping.
func (d *Dispatcher) addEntry(b *pebble.Batch, topic string, queue int32, e cq.Entry) error {
	if err := cq.CheckEntry(topic, queue, e.QueueOffset); err != nil {
		return err
	}
	if d.runs == nil {
		d.runs = make(map[queueID][]cq.Entry)
	}
	q := queueID{topic, queue}
	run := d.runs[q]
	if n := len(run); n == maxRun || (n > 0 && run[n-1].QueueOffset+1 != e.QueueOffset) {
		if _, err := cq.PutGroup(b, topic, queue, run); err != nil {
			return err
		}
		run = run[:0]
	}
	d.runs[q] = append(run, e)
	return nil
}

// flushRuns writes every queue's run into b.
func (d *Dispatcher) flushRuns(b *pebble.Batch) error {
	for q, run := range d.runs {
		if len(run) == 0 {
			continue
		}
		if _, err := cq.PutGroup(b, q.topic, q.queue, run); err != nil {
			return err
		}
		d.runs[q] = run[:0]
	}
	if len(d.runs) > maxIdleRuns {
		// Queues written once (scheduled topics, many small topics) must
		// not keep their slices.
		clear(d.runs)
	}
	return nil
}

// maxIdleRuns bounds the queues whose run slices are kept between chunks.
const maxIdleRuns = 1024

// maxRun caps a group: 3.5 KiB of entries, within one 4 KiB block. A read
// of one entry loads its whole row, and a 4 MiB chunk of small messages to
// one queue would otherwise make a row of 45,000 entries (1.3 MB), which a
// pull of 32 read whole (about 1 ms instead of 10 us).
const maxRun = 128

// dropRuns forgets the runs of a chunk whose batch is discarded.
func (d *Dispatcher) dropRuns() {
	for q, run := range d.runs {
		d.runs[q] = run[:0]
	}
}

func (d *Dispatcher) dispatchRecords(b *pebble.Batch, buf []byte, pos, segEnd int64, arrivals map[arrivalKey]int64) (int64, chunkLog, error) {
	log := chunkLog{first: -1}
	var keys []byte // the keys written for the current record
	for off := 0; off < len(buf); {
		size, err := message.RecordSize(buf[off:])
		if errors.Is(err, message.ErrBlankRecord) {
			return segEnd, log, nil
		}
		if err != nil {
			if len(buf)-off < 8 {
				return pos + int64(off), log, nil // header cut by the chunk end
			}
			return 0, log, fmt.Errorf("dispatch: bad record at %d: %w", pos+int64(off), err)
		}
		if off+size > len(buf) {
			return pos + int64(off), log, nil // record cut by the chunk end: next chunk
		}
		rec, err := message.ParseRecord(buf[off : off+size])
		if err != nil {
			return 0, log, fmt.Errorf("dispatch: bad record at %d: %w", pos+int64(off), err)
		}
		phy := pos + int64(off)
		keys = keys[:0]
		if keys, err = d.dispatchRecord(b, rec, phy, keys, arrivals); err != nil {
			return 0, log, err
		}
		log.add(phy, keys)
		if len(log.value) >= maxLogRow {
			if err := log.flush(b); err != nil {
				return 0, log, err
			}
		}
		off += size
	}
	return pos + int64(len(buf)), log, nil
}

// chunkLog builds the dispatch-log rows of one chunk: one row for all its
// records (up to maxLogRow bytes) instead of one per record (a third of
// the rows dispatch wrote per plain message). The row's key is the first record's offset; its
// value is chunkLogMarker, then per record with keys: uvarint(offset -
// first), uvarint(length of its keys), its keys (each uvarint length +
// key). A value without the marker is a row of one record, the format
// written before: a key length is never 0, so the first byte tells them
// apart. A chunk never spans two segments (dispatchTo stops at a segment
// end), so retention, which forgets whole segments, never splits a row;
// truncation after a crash may, and rewrites the row's surviving part.
type chunkLog struct {
	first int64 // offset of the first record logged; -1: none yet
	value []byte
}

const chunkLogMarker = 0

// maxLogRow caps a dispatch-log row's value (a chunk of small LMQ messages
// could otherwise make one of megabytes, rewritten whole when truncation
// cuts it).
const maxLogRow = 64 << 10

// flush adds the row built so far to b and starts the next one.
func (l *chunkLog) flush(b *pebble.Batch) error {
	if l.first < 0 {
		return nil
	}
	if err := b.Set(logKey(l.first), l.value, nil); err != nil {
		return fmt.Errorf("dispatch: log records from %d: %w", l.first, err)
	}
	l.first = -1
	return nil
}

func (l *chunkLog) add(phy int64, keys []byte) {
	if len(keys) == 0 {
		return
	}
	if l.first < 0 {
		l.first = phy
		l.value = append(l.value[:0], chunkLogMarker)
	}
	l.value = binary.AppendUvarint(l.value, uint64(phy-l.first))
	l.value = binary.AppendUvarint(l.value, uint64(len(keys)))
	l.value = append(l.value, keys...)
}

// logGroup is one record's keys in a dispatch-log row.
type logGroup struct {
	phy  int64
	keys []byte // uvarint length + key, repeated
}

// decodeLog splits the value of the dispatch-log row at offset first into
// its records.
func decodeLog(first int64, v []byte, groups []logGroup) ([]logGroup, error) {
	if len(v) == 0 {
		return groups, errors.New("empty value")
	}
	if v[0] != chunkLogMarker {
		return append(groups, logGroup{phy: first, keys: v}), nil
	}
	for v = v[1:]; len(v) > 0; {
		delta, w := binary.Uvarint(v)
		if w <= 0 {
			return groups, errors.New("bad record offset")
		}
		v = v[w:]
		n, w := binary.Uvarint(v)
		if w <= 0 || n == 0 || uint64(len(v)-w) < n {
			return groups, errors.New("bad record keys")
		}
		groups = append(groups, logGroup{phy: first + int64(delta), keys: v[w : w+int(n)]})
		v = v[w+int(n):]
	}
	return groups, nil
}

func logKey(phy int64) []byte {
	k := make([]byte, 9)
	k[0] = kvdb.PrefixDispatch
	binary.BigEndian.PutUint64(k[1:], uint64(phy))
	return k
}

// appendKey adds a written key to a dispatch-log value.
func appendKey(keys, k []byte) []byte {
	keys = binary.AppendUvarint(keys, uint64(len(k)))
	return append(keys, k...)
}

func (d *Dispatcher) dispatchRecord(b *pebble.Batch, rec message.Record, phy int64, keys []byte, arrivals map[arrivalKey]int64) ([]byte, error) {
	sys := rec.SysFlag()
	tt := sys.TransactionType()
	if tt == message.SysTransactionPrepared || tt == message.SysTransactionRollback {
		// Half and rolled-back transaction messages are never consumable
		// nor found by key.
		return keys, nil
	}
	topic := rec.Topic()
	entry := cq.Entry{
		QueueOffset: rec.QueueOffset(),
		PhyOffset:   phy,
		Size:        int32(rec.Size()),
		TagHash:     int64(rec.TagHash()),
		StoreTime:   rec.StoreTimestamp(),
	}
	if err := d.addEntry(b, topic, rec.QueueID(), entry); err != nil {
		return nil, fmt.Errorf("dispatch: record %d: %w", phy, err)
	}
	keys = appendKey(keys, cq.Key(topic, rec.QueueID(), entry.QueueOffset))
	var err error
	noteArrival(arrivals, topic, rec.QueueID(), entry.QueueOffset+1)
	if d.cfg.Entry != nil {
		d.cfg.Entry(topic, rec.QueueID(), entry)
	}
	if keys, err = d.dispatchParked(b, rec, topic, phy, keys); err != nil {
		return nil, err
	}

	var lmqs []message.LMQOffset
	if d.cfg.EnableLMQ {
		if names, ok := rec.Property(message.PropertyInnerMultiDispatch); ok {
			offs, _ := rec.Property(message.PropertyInnerMultiQueueOffset)
			if lmqs, err = message.PairLMQOffsets(names, offs); err != nil {
				d.log.Warn("record with unusable LMQ properties skipped for LMQ dispatch", "offset", phy, "err", err)
				lmqs = nil
			}
		}
	}
	for _, l := range lmqs {
		if !message.IsLMQ(l.Queue) || l.Offset < 0 {
			continue
		}
		e := entry
		e.QueueOffset = l.Offset
		k, err := cq.Put(b, l.Queue, message.LMQQueueID, e)
		if err != nil {
			return nil, fmt.Errorf("dispatch: record %d, LMQ %s: %w", phy, l.Queue, err)
		}
		keys = appendKey(keys, k)
		// A fresh LMQ (the put created it) is known to be unregistered
		// (blind insert); offset 0 without the mark is a replay, checked
		// against the registry.
		switch fresh := d.cfg.Registered != nil && !d.cfg.Registered(l.Queue); {
		case fresh:
			if err := d.registerFresh(b, l.Queue, entry.StoreTime); err != nil {
				return nil, fmt.Errorf("dispatch: register LMQ %s: %w", l.Queue, err)
			}
		case l.Offset == 0:
			if _, err := d.cfg.CQ.RegisterLMQ(b, l.Queue, entry.StoreTime); err != nil {
				return nil, fmt.Errorf("dispatch: register LMQ %s: %w", l.Queue, err)
			}
		}
		noteArrival(arrivals, l.Queue, message.LMQQueueID, l.Offset+1)
		if d.cfg.Entry != nil {
			d.cfg.Entry(l.Queue, message.LMQQueueID, e)
		}
	}

	if d.cfg.Index {
		uniq, _ := rec.Property(message.PropertyUniqKey)
		kv, _ := rec.Property(message.PropertyKeys)
		targets := []string{topic}
		for _, l := range lmqs {
			if message.IsLMQ(l.Queue) {
				targets = append(targets, l.Queue)
			}
		}
		// A unique key names one message (or a few: its retries), so it is
		// indexed once for all topics and the query checks which topic or
		// LMQ each hit belongs to: K fewer rows per LMQ message than
		// indexing it under every target.
		if uniq != "" {
			k, err := index.AddUniqKey(b, UniqKeyScope, uniq, entry.StoreTime, phy)
			if err != nil {
				return nil, fmt.Errorf("dispatch: record %d: %w", phy, err)
			}
			keys = appendKey(keys, k)
		}
		for _, t := range targets {
			for _, key := range message.SplitKeys(kv) {
				k, err := index.AddKey(b, t, key, entry.StoreTime, phy)
				if err != nil {
					return nil, fmt.Errorf("dispatch: record %d: %w", phy, err)
				}
				keys = appendKey(keys, k)
			}
		}
	}
	return keys, nil
}

// dispatchParked adds the parked row of a record in a parking topic and
// deletes the row a releasing record (BOLIDE_PARKED) names. The row is in
// the record's dispatch-log entry, so retention and truncation forget it
// with the record; a release is not undone by truncation (under
// SYNC_FLUSH nothing unsynced is dispatched, so a release is never lost
// while its effect survives).
func (d *Dispatcher) dispatchParked(b *pebble.Batch, rec message.Record, topic string, phy int64, keys []byte) ([]byte, error) {
	ref, ok, err := parked.Of(topic, rec.Property, phy)
	if err != nil {
		d.log.Warn("parked record cannot be scheduled", "offset", phy, "err", err)
	}
	if ok {
		k := ref.Key()
		if err := b.Set(k, nil, nil); err != nil {
			return nil, fmt.Errorf("dispatch: park record %d: %w", phy, err)
		}
		keys = appendKey(keys, k)
		if d.cfg.Parked != nil {
			d.cfg.Parked(ref)
		}
	}
	if v, has := rec.Property(message.PropertyParked); has {
		rel, err := parked.ParseRef(v)
		if err != nil {
			d.log.Warn("record with an unusable release reference", "offset", phy, "err", err)
			return keys, nil
		}
		if err := b.Delete(rel.Key(), nil); err != nil {
			return nil, fmt.Errorf("dispatch: release %s by record %d: %w", v, phy, err)
		}
	}
	return keys, nil
}

// registerFresh adds a fresh LMQ to the registry batch and drops the
// store's mark of it, as one step for LMQ counters (FreshLock).
func (d *Dispatcher) registerFresh(b *pebble.Batch, name string, storeTime int64) error {
	if d.cfg.FreshLock != nil {
		d.cfg.FreshLock.Lock()
		defer d.cfg.FreshLock.Unlock()
	}
	if err := d.cfg.CQ.RegisterNewLMQ(b, name, storeTime); err != nil {
		return err
	}
	if d.cfg.Fresh != nil {
		d.cfg.Fresh(name)
	}
	return nil
}

func noteArrival(m map[arrivalKey]int64, topic string, queue int32, next int64) {
	k := arrivalKey{topic, queue}
	if next > m[k] {
		m[k] = next
	}
}

// TruncateFrom forgets the derived state of every record at or after off
// (the commit log lost them) and moves the checkpoint to off.
func (d *Dispatcher) TruncateFrom(off int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := newForgetter()
	f.deleteAll = true
	if _, _, err := d.forgetRange(off, math.MaxInt64, f, nil, 0); err != nil {
		return err
	}
	// LMQs that lost rows: their next-offset rows now run ahead of what is
	// left; set them back to the surviving max.
	b := d.db.NewBatch()
	defer b.Close()
	for name := range f.lmqs {
		max, err := d.cfg.CQ.MaxOffset(name, message.LMQQueueID)
		if err != nil {
			return fmt.Errorf("dispatch: max offset of %s: %w", name, err)
		}
		if max == 0 {
			// No rows left: the LMQ is gone (a later put re-creates it).
			if err = cq.DeleteLMQNext(b, name); err == nil {
				_, err = d.cfg.CQ.UnregisterLMQ(b, name)
			}
		} else {
			err = cq.SetLMQNext(b, name, max)
		}
		if err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("dispatch: fix LMQ next offsets: %w", err)
	}
	return d.setCheckpoint(off, pebble.Sync)
}

// ForgetBelow forgets the derived state of every record before off (its
// commit-log segment was deleted) in one go. It returns the LMQs that lost
// entries, so the caller can drop those now empty. Forget does the same in
// steps, which is what the store runs; this is the one-call form, for
// tests and tools.
func (d *Dispatcher) ForgetBelow(off int64) ([]string, error) {
	g := d.Forget(off)
	for {
		done, err := g.Step(0)
		if err != nil {
			return nil, err
		}
		if done {
			return g.Finish()
		}
	}
}

// Forgetting is a ForgetBelow run in steps. Each step holds the
// dispatcher's lock for one batch of deletes only, so dispatch passes run
// between steps: forgetting a 1 GiB segment of 1 KiB messages deletes
// about two million rows, and done in one go it held dispatch (and so the
// consumers of every queue) for seconds. Dispatch passes never touch what
// a step deletes: a segment is deleted only once dispatched, so new rows
// belong to records at or after off.
//
// The last entry of a topic queue is kept even when it expired: it holds
// the queue's max offset, which must never go back (consumers' committed
// offsets refer to it). It points below the commit log's min offset, so
// readers treat the queue as logically empty (min = max). LMQs are not
// kept: an expired LMQ is removed together with its offsets. Each step
// deletes a topic queue's rows below the one holding the last entry it
// forgot, with the log rows that listed them; what becomes of that row is
// decided by Finish, once every step is done (dropLastEntries): it goes,
// or it is cut to its last entry. A pass cut short (a crash, an error) so
// leaves at most one row per queue (up to maxRun entries), which stays
// until a later pass forgets entries of that queue.
type Forgetting struct {
	d    *Dispatcher
	off  int64
	f    *forgetter
	next []byte // dispatch-log key the next step starts at (nil: the start)
	done bool
	n    int // records forgotten
}

// Records is how many records the steps so far forgot.
func (g *Forgetting) Records() int { return g.n }

// LMQs returns the LMQs that lost entries in the steps so far: after a
// failed step, the caller still has them to check for emptiness.
func (g *Forgetting) LMQs() []string {
	out := make([]string, 0, len(g.f.lmqs))
	for n := range g.f.lmqs {
		out = append(out, n)
	}
	return out
}

// Forget starts forgetting the derived state of every record before off.
func (d *Dispatcher) Forget(off int64) *Forgetting {
	return &Forgetting{d: d, off: off, f: newForgetter()}
}

// forgetStepBytes is a step's batch of deletes: about 2,000 records of a
// plain topic, a few milliseconds of pebble work.
const forgetStepBytes = 128 << 10

// Step forgets the next records, about maxBatch bytes of deletes or
// maxBatch/64 records, whichever comes first (0: forgetStepBytes), and
// reports whether every record before off is now forgotten.
func (g *Forgetting) Step(maxBatch int) (done bool, err error) {
	if g.done {
		return true, nil
	}
	if maxBatch <= 0 {
		maxBatch = forgetStepBytes
	}
	d := g.d
	d.mu.Lock()
	defer d.mu.Unlock()
	next, n, err := d.forgetRange(0, g.off, g.f, g.next, maxBatch)
	g.n += n
	if err != nil {
		return false, err
	}
	g.next, g.done = next, next == nil
	return g.done, nil
}

// Finish settles the row holding each topic queue's last forgotten entry
// (dropLastEntries: it goes if the queue has a later entry of a synced
// record, else it is cut to that last entry) and returns the LMQs that
// lost entries. Call it once Step has reported done, after syncing the
// commit log, so that the later entries dispatched so far count.
func (g *Forgetting) Finish() ([]string, error) {
	if !g.done {
		return nil, errors.New("dispatch: finish of an unfinished forget")
	}
	d, f := g.d, g.f
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.dropLastEntries(f); err != nil {
		return nil, err
	}
	return g.LMQs(), nil
}

// dropLastEntries settles, for each topic queue f saw, the row holding its
// last forgotten entry (the steps deleted the rows below it). A queue's
// entries up to that one belong to forgotten records (its offsets follow
// the commit log), so:
//
//   - entries after it in the row, which only a forget bound inside a
//     dispatched chunk leaves there, are live: they stay, re-keyed at the
//     first of them;
//   - otherwise the row goes once the queue has a later entry whose record
//     is synced; until then its last entry stays alone, holding the max
//     offset, which must never go back (consumers' committed offsets refer
//     to it). A later entry of an unsynced record does not count: a crash
//     can lose it, and the queue would then restart at offset 0.
func (d *Dispatcher) dropLastEntries(f *forgetter) error {
	b := d.db.NewBatch()
	defer b.Close()
	synced := int64(math.MaxInt64)
	if d.cfg.Log != nil {
		synced = d.cfg.Log.FlushedOffset()
	}
	rows, err := d.cfg.CQ.NewRowFinder()
	if err != nil {
		return err
	}
	defer rows.Close()
	for q, last := range f.last {
		row, ok, err := rows.RowAt(q.topic, q.queue, last)
		if err != nil && !errors.Is(err, cq.ErrCorrupt) {
			return fmt.Errorf("dispatch: row of %s-%d@%d: %w", q.topic, q.queue, last, err)
		}
		if !ok {
			continue // gone already (an earlier pass), or torn: left as before groups
		}
		first := row[0].QueueOffset
		live := row[last-first+1:]
		if len(live) > 0 {
			if err := b.Delete(cq.Key(q.topic, q.queue, first), nil); err != nil {
				return err
			}
			if _, err := cq.PutGroup(b, q.topic, q.queue, live); err != nil {
				return err
			}
			continue
		}
		later, err := d.cfg.CQ.Range(q.topic, q.queue, last+1, 1)
		if err != nil {
			return fmt.Errorf("dispatch: entry after %s-%d@%d: %w", q.topic, q.queue, last, err)
		}
		switch {
		case len(later) == 1 && later[0].PhyOffset < synced:
			err = b.Delete(cq.Key(q.topic, q.queue, first), nil)
		case len(row) > 1:
			// Keep the last entry alone, as before groups.
			if err = b.Delete(cq.Key(q.topic, q.queue, first), nil); err == nil {
				_, err = cq.Put(b, q.topic, q.queue, row[len(row)-1])
			}
		}
		if err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("dispatch: forget batch: %w", err)
	}
	return nil
}

type queueID struct {
	topic string
	queue int32
}

// forgetter collects, during ForgetBelow, the LMQs touched and the
// highest forgotten offset of each topic queue. It deletes a topic queue's
// forgotten entries by range, with each batch (deleteBelowLast): one range
// deletion per queue and batch instead of a point deletion per entry.
//
// Consume-queue rows may hold groups of entries (cq.PutGroup). The log
// lists each record's own entry key, and a group's key is its first
// entry's, so deleting a forgotten record's key deletes the group that
// starts there; the range deletions stop at the start of the row holding
// the last forgotten entry; and a truncation cuts the one row per queue
// that starts below its first forgotten entry (trims).
type forgetter struct {
	lmqs map[string]struct{}
	last map[queueID]int64
	// from is where a queue's next range deletion starts: 0 at first, so
	// that the last entry an earlier pass kept goes too, then the start of
	// the row holding the last offset of the previous batch.
	from    map[queueID]int64
	touched map[queueID]struct{} // queues with entries forgotten in the current batch
	fresh   []string             // LMQs first touched in the current batch
	// deleteAll deletes every key (truncation): no queue keeps a last row.
	deleteAll bool
	// seen and trims (truncation): each queue's first forgotten offset,
	// the lowest, since records are forgotten in commit-log order; the row
	// holding it keeps its entries below it.
	seen  map[queueID]struct{}
	trims []queueEntry
}

type queueEntry struct {
	q      queueID
	offset int64
}

func newForgetter() *forgetter {
	return &forgetter{lmqs: map[string]struct{}{}, last: map[queueID]int64{},
		from: map[queueID]int64{}, touched: map[queueID]struct{}{}, seen: map[queueID]struct{}{}}
}

// hold decides whether key k is deleted now (true) or by deleteBelowLast
// (the entries of topic queues).
func (f *forgetter) hold(k []byte) (deleteNow bool) {
	if len(k) == 0 || k[0] != kvdb.PrefixCQ {
		return true
	}
	topic, queue, offset, err := cq.DecodeKey(k)
	if err != nil {
		return true
	}
	q := queueID{topic, queue}
	if f.deleteAll {
		if _, ok := f.seen[q]; !ok {
			f.seen[q] = struct{}{}
			f.trims = append(f.trims, queueEntry{q, offset})
		}
	}
	if queue == message.LMQQueueID && message.IsLMQ(topic) {
		if _, seen := f.lmqs[topic]; !seen {
			f.lmqs[topic] = struct{}{}
			f.fresh = append(f.fresh, topic)
		}
		return true
	}
	if f.deleteAll {
		return true
	}
	if prev, ok := f.last[q]; !ok || offset > prev {
		f.last[q] = offset
	}
	f.touched[q] = struct{}{}
	return false
}

// deleteBelowLast adds to b, for each queue touched since the last batch,
// the deletion of its rows from where the previous one stopped to the row
// holding its last forgotten entry, excluded. A topic queue's offsets
// follow the commit log and never restart, so every entry below a
// forgotten one belongs to a forgotten record too. It also lists in b the
// LMQs the batch deletes entries of first, for the emptiness check that
// follows the pass (cq.SetLMQProbe): the log rows that named them go with
// this batch. A truncation lists them too, though it settles them itself
// at its end: a crash before that end would otherwise leave them
// unchecked; the store's next start checks them (an LMQ settled already
// is no harm). A truncation's trims go into b as well, so that a crash
// never leaves a row's entries of lost records behind the log rows that
// named them.
func (f *forgetter) deleteBelowLast(b *pebble.Batch, cqs *cq.Store) error {
	for _, name := range f.fresh {
		if err := cq.SetLMQProbe(b, name); err != nil {
			return err
		}
	}
	f.fresh = f.fresh[:0]
	if len(f.trims) == 0 && len(f.touched) == 0 {
		return nil
	}
	rows, err := cqs.NewRowFinder()
	if err != nil {
		return err
	}
	defer rows.Close()
	for _, t := range f.trims {
		// The row may start at the offset, then the batch deletes it, or
		// below it: it keeps what lies below. A torn row is left to the
		// deletions, as before groups.
		row, ok, err := rows.RowAt(t.q.topic, t.q.queue, t.offset)
		if err != nil && !errors.Is(err, cq.ErrCorrupt) {
			return fmt.Errorf("dispatch: row of %s-%d@%d: %w", t.q.topic, t.q.queue, t.offset, err)
		}
		if ok && row[0].QueueOffset < t.offset {
			if _, err := cq.PutGroup(b, t.q.topic, t.q.queue, row[:t.offset-row[0].QueueOffset]); err != nil {
				return err
			}
		}
	}
	f.trims = f.trims[:0]
	for q := range f.touched {
		from, last := f.from[q], f.last[q]
		start, ok, err := rows.RowStart(q.topic, q.queue, last)
		if err != nil && !errors.Is(err, cq.ErrCorrupt) {
			return fmt.Errorf("dispatch: row of %s-%d@%d: %w", q.topic, q.queue, last, err)
		}
		if ok {
			last = start
		}
		if last > from {
			if err := b.DeleteRange(cq.Key(q.topic, q.queue, from), cq.Key(q.topic, q.queue, last), nil); err != nil {
				return err
			}
			f.from[q] = last
		}
	}
	clear(f.touched)
	return nil
}

// forgetRange deletes the keys the dispatch log lists for every record at
// a commit-log offset in [lo, hi), and their log entries, in batches, and
// returns how many records it forgot. A row holding records on both sides
// of a bound keeps the others, rewritten under its first surviving
// record's offset.
//
// With limit > 0 it stops after the first batch that reaches limit bytes
// or forgets limit/64 records, and returns the log key to resume at (from,
// in the next call); next is nil once the range is done. Resuming skips the rows already forgotten,
// which would otherwise be scanned again as tombstones.
func (d *Dispatcher) forgetRange(lo, hi int64, f *forgetter, from []byte, limit int) (next []byte, n int, err error) {
	upper := []byte{kvdb.PrefixDispatch + 1}
	if hi < math.MaxInt64 {
		upper = logKey(hi)
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kvdb.PrefixDispatch}, UpperBound: upper})
	if err != nil {
		return nil, 0, fmt.Errorf("dispatch: iterate log: %w", err)
	}
	defer it.Close()
	b := d.db.NewBatch()
	defer func() { _ = b.Close() }()
	flush := func() error {
		if f != nil {
			if err := f.deleteBelowLast(b, d.cfg.CQ); err != nil {
				return err
			}
		}
		if b.Empty() {
			return nil
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			return fmt.Errorf("dispatch: forget batch: %w", err)
		}
		_ = b.Close()
		b = d.db.NewBatch()
		return nil
	}
	var groups, keep []logGroup
	var valid bool
	if from != nil {
		valid = it.SeekGE(from)
	} else if valid = it.SeekLT(logKey(lo)); !valid {
		// The last row before lo may hold records at lo and after.
		valid = it.First()
	}
	for ; valid; valid = it.Next() {
		k := it.Key()
		if len(k) != 9 {
			return nil, n, fmt.Errorf("dispatch: bad log key %x", k)
		}
		groups, err = decodeLog(int64(binary.BigEndian.Uint64(k[1:])), it.Value(), groups[:0])
		if err != nil {
			return nil, n, fmt.Errorf("dispatch: corrupt log entry %x: %w", k, err)
		}
		keep = keep[:0]
		for _, g := range groups {
			if g.phy < lo || g.phy >= hi {
				keep = append(keep, g)
				continue
			}
			if err := forgetKeys(b, g.keys, f); err != nil {
				return nil, n, fmt.Errorf("dispatch: log entry %x: %w", k, err)
			}
			n++
		}
		if len(keep) == len(groups) {
			continue
		}
		if err := b.Delete(k, nil); err != nil {
			return nil, n, err
		}
		if len(keep) > 0 {
			rest := chunkLog{first: -1}
			for _, g := range keep {
				rest.add(g.phy, g.keys)
			}
			if err := b.Set(logKey(rest.first), rest.value, nil); err != nil {
				return nil, n, err
			}
		}
		if limit > 0 && (b.Len() >= limit || n >= max(1, limit/64)) {
			// k plus a zero byte sorts right after k and before the next
			// (nine-byte) log key.
			next = append(append(make([]byte, 0, len(k)+1), k...), 0)
			return next, n, flush()
		}
		if b.Len() > 4<<20 {
			if err := flush(); err != nil {
				return nil, n, err
			}
		}
	}
	if err := it.Error(); err != nil {
		return nil, n, fmt.Errorf("dispatch: iterate log: %w", err)
	}
	return nil, n, flush()
}

// forgetKeys deletes one record's logged keys (uvarint length + key,
// repeated), except those f holds back.
func forgetKeys(b *pebble.Batch, v []byte, f *forgetter) error {
	for len(v) > 0 {
		l, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < l {
			return errors.New("corrupt key list")
		}
		k := v[w : w+int(l)]
		if f == nil || f.hold(k) {
			if err := b.Delete(k, nil); err != nil {
				return err
			}
		}
		v = v[w+int(l):]
	}
	return nil
}
