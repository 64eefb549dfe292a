package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store/commitlog"
	"github.com/bolidemq/bolide/internal/store/index"
)

// Message lookups for queryMsgByKey, queryMsgByUniqueKey and queryMsgById:
// QUERY_MESSAGE (by key or unique key, through the store's index) and
// VIEW_MESSAGE_BY_ID (one record by commit-log offset). Both answer with
// the stored records unchanged, as a pull does.

// queryBodyBudget bounds a QUERY_MESSAGE body below the 16 MiB frame limit:
// once it is reached, the remaining hits (older ones) are left out. The
// first hit is always sent.
const queryBodyBudget = 12 << 20

// queryNotFound is upstream's remark for a query without hits.
const queryNotFound = "can not find message, maybe time range not correct"

// queryMessage answers QUERY_MESSAGE: the newest maxNum messages of the
// topic whose KEYS holds key (or, with _UNIQUE_KEY_QUERY=true, whose
// UNIQ_KEY is key, maxNum then being 32), stored within [begin, end].
//
// The index is exact (no hash collisions). The topic may be a parent topic
// (what Java's mqadmin sends for an LMQ with -c: the parent's messages
// with that key) or an LMQ name (only messages dispatched to that LMQ:
// keys are indexed per LMQ, unique-key hits are checked against the
// record's INNER_MULTI_DISPATCH).
func (b *Broker) queryMessage(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.QueryMessageRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	kind := index.KindKey
	maxNum := min(max(int(h.MaxNum), 1), protocol.MaxQueryMessageNum)
	if h.UniqueKey == "true" {
		kind, maxNum = index.KindUniqKey, protocol.DefaultUniqueKeyQueryNum
	}
	recs, err := b.store.Query(kind, h.Topic, h.Key, h.BeginTimestamp, h.EndTimestamp, maxNum)
	if errors.Is(err, index.ErrInvalidArgument) {
		return nil, fail(protocol.InvalidParameter, "%v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("broker: query %s %q: %w", h.Topic, h.Key, err)
	}
	rh := protocol.QueryMessageResponseHeader{IndexLastUpdatePhyoffset: b.store.Stats().Dispatched}
	size := 0
	for i, r := range recs {
		if i > 0 && size+len(r) > queryBodyBudget {
			recs = recs[:i]
			break
		}
		size += len(r)
		if ts, err := message.PeekStoreTimestamp(r); err == nil {
			rh.IndexLastUpdateTimestamp = max(rh.IndexLastUpdateTimestamp, ts)
		}
	}
	if len(recs) == 0 {
		resp := remoting.NewResponse(req, int32(protocol.QueryNotFound), queryNotFound)
		resp.ExtFields = protocol.EncodeHeader(&rh)
		return resp, nil
	}
	buf := make([]byte, 0, size)
	for _, r := range recs {
		buf = append(buf, r...)
	}
	resp := success(req)
	resp.ExtFields = protocol.EncodeHeader(&rh)
	resp.Body = buf
	return resp, nil
}

// viewMessageByID answers VIEW_MESSAGE_BY_ID with the record stored at the
// commit-log offset. An offset that does not start a record still held
// (negative, beyond the end, expired, mid-record, a segment's blank tail)
// answers SYSTEM_ERROR with upstream's remark.
func (b *Broker) viewMessageByID(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.ViewMessageRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	rec, err := b.store.ReadRecord(h.Offset)
	if err != nil {
		if errors.Is(err, commitlog.ErrOutOfRange) || errors.Is(err, message.ErrCorrupt) ||
			errors.Is(err, message.ErrTruncated) || errors.Is(err, message.ErrBlankRecord) {
			return nil, fail(protocol.SystemError, "can not find message by the offset, %d", h.Offset)
		}
		return nil, fmt.Errorf("broker: view message at %d: %w", h.Offset, err)
	}
	resp := success(req)
	resp.Body = rec
	return resp, nil
}
