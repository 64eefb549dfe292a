package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/fastjson"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// ErrBadOffsetKey reports a group or topic that cannot be used in an
// offset key (empty, or containing NUL).
var ErrBadOffsetKey = errors.New("broker: invalid consumer offset key")

// offsetSyncInterval is how often committed offsets are made durable.
const offsetSyncInterval = time.Second

// OffsetManager holds consumer offsets in a small pebble database of its
// own: key group\x00topic\x00queueId(4 BE), value offset (8 BE). Commits
// are applied without waiting for the disk; a background loop syncs the
// WAL once a second when something changed, batching every commit of that
// second into one fsync, and Close syncs and flushes. A crash (of the
// process too: pebble buffers unsynced WAL records itself) can thus lose at
// most the last second of commits, which consumers re-deliver. Resets are
// synced before they are answered.
//
// LMQ offsets are ordinary rows (queue 0): nothing has to be created first,
// and millions of LMQ groups cost rows, not memory.
//
// A secondary index, key "\x00t" topic \x00 group with no value, lists the
// groups holding offsets of a topic, so that the offsets of a topic (an LMQ
// removed by retention) are deleted without scanning every row. Group
// names are never empty and hold no NUL, so index keys (leading NUL) never
// collide with offset rows and sort before them. Commit writes the row and
// its index key in one batch; an index missing on open (a database written
// before the index existed) is built once from a full scan.
type OffsetManager struct {
	b     *Broker
	db    *kvdb.DB
	dirty atomic.Bool
	sync  *lifecycle.Loop

	closed atomic.Bool
}

func newOffsetManager(b *Broker, dir string) (*OffsetManager, error) {
	return newOffsetManagerFS(b, dir, nil)
}

// newOffsetManagerFS opens the offsets in fs (nil: the OS); crash tests
// use pebble's crashable in-memory FS.
func newOffsetManagerFS(b *Broker, dir string, fs vfs.FS) (*OffsetManager, error) {
	db, err := kvdb.Open(dir, fs, kvdb.Options{CacheSize: 8 << 20, MemTableSize: 4 << 20, MaxCompactions: 1, Logger: b.cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("broker: open consumer offsets: %w", err)
	}
	m := &OffsetManager{b: b, db: db}
	if err := m.buildTopicIndex(); err != nil {
		_ = db.Close()
		return nil, err
	}
	m.sync = lifecycle.NewLoop("consumer-offset-sync", offsetSyncInterval, func(context.Context) {
		if err := m.Sync(); err != nil {
			b.log.Error("sync consumer offsets", "err", err)
		}
	})
	m.sync.Start()
	return m, nil
}

// Close syncs, flushes and closes the database. It is idempotent.
func (m *OffsetManager) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	m.sync.Stop()
	var errs []error
	errs = append(errs, m.db.Sync(), m.db.Flush())
	errs = append(errs, m.db.Close())
	return errors.Join(errs...)
}

// Sync makes every commit so far durable, if any happened since the last
// Sync.
func (m *OffsetManager) Sync() error {
	if !m.dirty.Swap(false) {
		return nil
	}
	if err := m.db.Sync(); err != nil {
		m.dirty.Store(true)
		return err
	}
	return nil
}

func checkOffsetName(what, s string) error {
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q", ErrBadOffsetKey, what, s)
	}
	return nil
}

// Keys of the topic index and its version marker; both start with NUL,
// which no offset row does.
var (
	topicIndexPrefix  = []byte{0, 't'}
	topicIndexVersion = []byte{0, 'v'}
	// offsetRowsLower bounds a scan of offset rows only.
	offsetRowsLower = []byte{1}
)

// topicIndexKey is "\x00t" topic \x00 group.
func topicIndexKey(topic, group string) []byte {
	k := make([]byte, 0, len(topicIndexPrefix)+len(topic)+len(group)+1)
	k = append(k, topicIndexPrefix...)
	k = append(k, topic...)
	k = append(k, 0)
	return append(k, group...)
}

// topicIndexTopicPrefix is the prefix of topic's index keys.
func topicIndexTopicPrefix(topic string) []byte {
	k := append(append([]byte{}, topicIndexPrefix...), topic...)
	return append(k, 0)
}

// buildTopicIndex writes the topic index of every offset row once, when
// the database has no index yet.
func (m *OffsetManager) buildTopicIndex() error {
	db := m.db.Pebble()
	_, closer, err := db.Get(topicIndexVersion)
	if err == nil {
		return closer.Close()
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("broker: read offset index version: %w", err)
	}
	b := db.NewBatch()
	defer func() { _ = b.Close() }()
	last := ""
	n := 0
	var cbErr error
	err = m.scan(nil, func(group, topic string, _ int32, _ int64) bool {
		if k := group + "\x00" + topic; k != last {
			last = k
			if cbErr = b.Set(topicIndexKey(topic, group), nil, nil); cbErr != nil {
				return false
			}
			n++
		}
		if b.Len() > 4<<20 {
			if cbErr = b.Commit(pebble.NoSync); cbErr != nil {
				return false
			}
			_ = b.Close()
			b = db.NewBatch()
		}
		return true
	})
	if err = errors.Join(err, cbErr); err != nil {
		return fmt.Errorf("broker: build offset topic index: %w", err)
	}
	if err := b.Set(topicIndexVersion, []byte{1}, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("broker: build offset topic index: %w", err)
	}
	if n > 0 {
		m.b.log.Info("built consumer offset topic index", "entries", n)
	}
	return nil
}

func offsetKey(group, topic string, queueID int32) []byte {
	k := make([]byte, 0, len(group)+len(topic)+6)
	k = append(k, group...)
	k = append(k, 0)
	k = append(k, topic...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(queueID))
}

// parseOffsetKey splits a key built by offsetKey.
func parseOffsetKey(k []byte) (group, topic string, queueID int32, ok bool) {
	if len(k) < 6 {
		return "", "", 0, false
	}
	q := int32(binary.BigEndian.Uint32(k[len(k)-4:]))
	rest := k[:len(k)-4]
	if rest[len(rest)-1] != 0 {
		return "", "", 0, false
	}
	rest = rest[:len(rest)-1]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return "", "", 0, false
	}
	return string(rest[:i]), string(rest[i+1:]), q, true
}

// Commit stores group's offset for a queue. Offsets may go backwards
// (resets, re-consumption), as upstream allows.
func (m *OffsetManager) Commit(group, topic string, queueID int32, offset int64) error {
	if err := checkOffsetName("group", group); err != nil {
		return err
	}
	if err := checkOffsetName("topic", topic); err != nil {
		return err
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(offset))
	b := m.db.Pebble().NewBatch()
	defer func() { _ = b.Close() }()
	err := errors.Join(b.Set(offsetKey(group, topic, queueID), v[:], nil), b.Set(topicIndexKey(topic, group), nil, nil))
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	if err != nil {
		return fmt.Errorf("broker: commit offset %s %s-%d: %w", group, topic, queueID, err)
	}
	m.dirty.Store(true)
	return nil
}

// maxDeleteBatch bounds a batch of DeleteTopics (bytes); tests lower it.
var maxDeleteBatch = 4 << 20

// DeleteTopics deletes every group's offsets of the given topics (LMQs
// removed by retention), finding the groups through the topic index, and
// returns how many offset rows it deleted. A commit racing with it either
// lands before (and is deleted) or after (and is kept, with its index key).
// The deletions are durable when it returns: the store calls it before it
// makes the LMQs' removal durable (store.Config.OnLMQsRemoved).
func (m *OffsetManager) DeleteTopics(topics []string) (int, error) {
	if m.closed.Load() {
		return 0, errors.New("broker: consumer offsets closed")
	}
	db := m.db.Pebble()
	b := db.NewBatch()
	defer func() { _ = b.Close() }()
	deleted := 0
	for _, topic := range topics {
		if checkOffsetName("topic", topic) != nil {
			continue
		}
		prefix := topicIndexTopicPrefix(topic)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kvdb.PrefixEnd(prefix)})
		if err != nil {
			return deleted, fmt.Errorf("broker: scan offset index: %w", err)
		}
		var groups []string
		for ok := it.First(); ok; ok = it.Next() {
			groups = append(groups, string(it.Key()[len(prefix):]))
			if err = b.Delete(it.Key(), nil); err != nil {
				break
			}
		}
		if err = errors.Join(err, it.Error(), it.Close()); err != nil {
			return deleted, fmt.Errorf("broker: scan offset index: %w", err)
		}
		for _, g := range groups {
			var cbErr error
			err = m.scan(append(append(append([]byte(g), 0), topic...), 0), func(group, topic string, q int32, _ int64) bool {
				if cbErr = b.Delete(offsetKey(group, topic, q), nil); cbErr != nil {
					return false
				}
				deleted++
				return true
			})
			if err = errors.Join(err, cbErr); err != nil {
				return deleted, fmt.Errorf("broker: delete offsets of %s: %w", topic, err)
			}
		}
		// Every batch is synced: pebble does not sync for an empty batch,
		// so a last one left empty could not stand for the ones before.
		if b.Len() > maxDeleteBatch {
			if err := b.Commit(pebble.Sync); err != nil {
				return deleted, fmt.Errorf("broker: delete offsets: %w", err)
			}
			_ = b.Close()
			b = db.NewBatch()
		}
	}
	if b.Empty() {
		return deleted, nil // nothing, or everything already committed
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return deleted, fmt.Errorf("broker: delete offsets: %w", err)
	}
	return deleted, nil
}

// Query returns group's committed offset for a queue.
func (m *OffsetManager) Query(group, topic string, queueID int32) (int64, bool, error) {
	if checkOffsetName("group", group) != nil || checkOffsetName("topic", topic) != nil {
		return 0, false, nil
	}
	v, closer, err := m.db.Pebble().Get(offsetKey(group, topic, queueID))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("broker: query offset %s %s-%d: %w", group, topic, queueID, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, false, fmt.Errorf("broker: offset %s %s-%d: %d-byte value", group, topic, queueID, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

// TopicOffsets returns group's committed offsets of every queue of topic.
func (m *OffsetManager) TopicOffsets(group, topic string) (map[int32]int64, error) {
	out := map[int32]int64{}
	if checkOffsetName("group", group) != nil || checkOffsetName("topic", topic) != nil {
		return out, nil
	}
	prefix := append(append(append([]byte(group), 0), topic...), 0)
	err := m.scan(prefix, func(_, _ string, q int32, off int64) bool {
		out[q] = off
		return true
	})
	return out, err
}

// Range calls fn for every stored offset in key order (group, topic,
// queue) until fn returns false.
func (m *OffsetManager) Range(fn func(group, topic string, queueID int32, offset int64) bool) error {
	return m.scan(nil, fn)
}

func (m *OffsetManager) scan(prefix []byte, fn func(group, topic string, queueID int32, offset int64) bool) error {
	opts := &pebble.IterOptions{LowerBound: offsetRowsLower} // skip the index
	if len(prefix) > 0 {
		opts.LowerBound, opts.UpperBound = prefix, kvdb.PrefixEnd(prefix)
	}
	it, err := m.db.Pebble().NewIter(opts)
	if err != nil {
		return fmt.Errorf("broker: scan offsets: %w", err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		g, t, q, good := parseOffsetKey(it.Key())
		v := it.Value()
		if !good || len(v) != 8 {
			continue
		}
		if !fn(g, t, q, int64(binary.BigEndian.Uint64(v))) {
			break
		}
	}
	return errors.Join(it.Error(), it.Close())
}

func (b *Broker) registerOffsetProcessors() {
	b.handle(protocol.QueryConsumerOffset, b.queryConsumerOffset)
	b.handle(protocol.UpdateConsumerOffset, b.updateConsumerOffset)
	b.handle(protocol.GetAllConsumerOffset, b.getAllConsumerOffset)
}

// queryConsumerOffset answers QUERY_CONSUMER_OFFSET. Without a stored
// offset it follows Java: offset 0 when the queue still holds its first
// message (min offset 0) so that a new CONSUME_FROM_LAST_OFFSET group reads
// a young queue from the start, else QUERY_NOT_FOUND and the client falls
// back to its ConsumeFromWhere.
func (b *Broker) queryConsumerOffset(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.QueryConsumerOffsetRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	off, found, err := b.offsets.Query(h.ConsumerGroup, h.Topic, h.QueueID)
	if err != nil {
		return nil, err
	}
	if !found {
		if h.SetZeroIfNotFound != nil && !*h.SetZeroIfNotFound {
			return nil, fail(protocol.QueryNotFound, "Not found, do not set to zero, maybe this group boot first")
		}
		minOff, err := b.store.MinOffset(h.Topic, h.QueueID)
		if err != nil || minOff > 0 {
			return nil, fail(protocol.QueryNotFound, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first")
		}
		off = 0
	}
	resp := success(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.QueryConsumerOffsetResponseHeader{Offset: off})
	return resp, nil
}

// updateConsumerOffset answers UPDATE_CONSUMER_OFFSET, which Java clients
// send oneway and Go clients (and admin tools) as a normal request: the
// transport drops the answer to a oneway request, so always answer.
func (b *Broker) updateConsumerOffset(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.UpdateConsumerOffsetRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	if !message.IsLMQ(h.Topic) {
		if _, ok := b.consumeTopic(h.Topic); !ok {
			return nil, fail(protocol.TopicNotExist, "topic[%s] not exist", h.Topic)
		}
	}
	ignored, err := b.commitOffset(h.ConsumerGroup, h.Topic, h.QueueID, h.CommitOffset)
	if err != nil {
		if errors.Is(err, ErrBadOffsetKey) {
			return nil, fail(protocol.InvalidParameter, "%v", err)
		}
		return nil, err
	}
	resp := success(req)
	resp.Remark = ignored // upstream answers an ignored commit with SUCCESS and a remark too
	return resp, nil
}

// getAllConsumerOffset answers GET_ALL_CONSUMER_OFFSET with Java's
// ConsumerOffsetSerializeWrapper: {"offsetTable":{"topic@group":{0:12,..}}}
// (fastjson writes the integer keys unquoted).
func (b *Broker) getAllConsumerOffset(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	w := fastjson.NewWriter()
	w.BeginObject()
	w.Key("offsetTable")
	w.BeginObject()
	cur := ""
	err := b.offsets.Range(func(group, topic string, q int32, off int64) bool {
		if k := topic + "@" + group; k != cur {
			if cur != "" {
				w.EndObject()
			}
			cur = k
			w.Key(k)
			w.BeginObject()
		}
		w.IntKey(int64(q))
		w.Int(off)
		return true
	})
	if err != nil {
		return nil, err
	}
	if cur != "" {
		w.EndObject()
	}
	w.EndObject()
	w.EndObject()
	if err := w.Err(); err != nil {
		return nil, err
	}
	resp := success(req)
	resp.Body = w.Bytes()
	return resp, nil
}
