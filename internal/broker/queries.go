package broker

import (
	"context"
	"errors"
	"strings"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store/cq"
)

// Queue offset and time lookups. Like upstream they do not check that the
// topic exists (an unknown queue answers 0), so they work for %LMQ% names
// without any creation, and the answer always carries its offset or
// timestamp: Go clients read it whatever the code.

func (b *Broker) registerQueryProcessors() {
	b.handle(protocol.GetMaxOffset, b.getMaxOffset)
	b.handle(protocol.GetMinOffset, b.getMinOffset)
	b.handle(protocol.GetEarliestMsgStoreTime, b.getEarliestMsgStoreTime)
	b.handle(protocol.SearchOffsetByTimestamp, b.searchOffsetByTimestamp)
}

// queryError maps a store lookup error to an answer.
func queryError(err error) error {
	if errors.Is(err, cq.ErrInvalidTopic) || errors.Is(err, cq.ErrInvalidQueue) || errors.Is(err, cq.ErrInvalidArgument) {
		return fail(protocol.InvalidParameter, "%v", err)
	}
	return err
}

func offsetResponse(req *remoting.Command, off int64) *remoting.Command {
	resp := success(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.OffsetResponseHeader{Offset: off})
	return resp
}

// getMaxOffset answers GET_MAX_OFFSET: the next offset to be written.
func (b *Broker) getMaxOffset(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetMaxOffsetRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	off, err := b.store.MaxOffset(h.Topic, h.QueueID)
	if err != nil {
		return nil, queryError(err)
	}
	return offsetResponse(req, off), nil
}

// getMinOffset answers GET_MIN_OFFSET: the first offset still held.
func (b *Broker) getMinOffset(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetMinOffsetRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	off, err := b.store.MinOffset(h.Topic, h.QueueID)
	if err != nil {
		return nil, queryError(err)
	}
	return offsetResponse(req, off), nil
}

// getEarliestMsgStoreTime answers GET_EARLIEST_MSG_STORETIME: the store
// time of the queue's first held message, -1 when it holds none (as Java).
func (b *Broker) getEarliestMsgStoreTime(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetEarliestMsgStoretimeRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	ts, err := b.store.EarliestStoreTime(h.Topic, h.QueueID)
	if errors.Is(err, cq.ErrNotFound) {
		ts, err = -1, nil
	}
	if err != nil {
		return nil, queryError(err)
	}
	resp := success(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.GetEarliestMsgStoretimeResponseHeader{Timestamp: ts})
	return resp, nil
}

// searchOffsetByTimestamp answers SEARCH_OFFSET_BY_TIMESTAMP: with LOWER
// (the default) the first offset stored at or after the time, with UPPER
// the last stored at or before it.
func (b *Broker) searchOffsetByTimestamp(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.SearchOffsetRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	boundary := cq.Lower
	switch strings.ToUpper(h.BoundaryType) {
	case "", protocol.BoundaryLower:
	case protocol.BoundaryUpper:
		boundary = cq.Upper
	default:
		return nil, fail(protocol.InvalidParameter, "boundaryType %q is neither LOWER nor UPPER", h.BoundaryType)
	}
	off, err := b.store.OffsetByTime(h.Topic, h.QueueID, h.Timestamp, boundary)
	if err != nil {
		return nil, queryError(err)
	}
	return offsetResponse(req, off), nil
}
