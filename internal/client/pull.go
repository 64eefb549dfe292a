package client

import (
	"context"
	"fmt"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// PullResult is the outcome of a pull. Code is Success (Messages holds at
// least one message), PullNotFound (nothing new), PullRetryImmediately
// (all filtered out) or PullOffsetMoved (continue at NextBeginOffset).
type PullResult struct {
	Code            protocol.ResponseCode
	Messages        []*message.Message
	NextBeginOffset int64
	MinOffset       int64
	MaxOffset       int64
}

// suspendMargin is kept between a long poll's hold time and the caller's
// deadline, so the broker answers before the caller gives up.
const suspendMargin = 500 * time.Millisecond

// Pull reads up to max messages of (topic, queueID) from offset on the
// broker at brokerAddr for group, with the subscription "*" carried in the
// request (no heartbeat needed). suspend > 0 lets the broker hold the
// request that long when there is nothing new (long polling); it is
// shortened to end before ctx's deadline. Without a deadline on ctx the
// request waits suspend plus the transport's request timeout.
func (c *Client) Pull(ctx context.Context, brokerAddr, group, topic string, queueID int32, offset int64, max int, suspend time.Duration) (PullResult, error) {
	if max <= 0 {
		max = 1
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - suspendMargin; left < suspend {
			suspend = max0(left)
		}
	} else if suspend > 0 {
		timeout := c.cfg.Remoting.RequestTimeout
		if timeout <= 0 {
			timeout = 3 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, suspend+timeout)
		defer cancel()
	}
	flags := protocol.PullFlagSubscription
	if suspend > 0 {
		flags |= protocol.PullFlagSuspend
	}
	h := protocol.PullMessageRequestHeader{
		ConsumerGroup:        group,
		Topic:                topic,
		QueueID:              queueID,
		QueueOffset:          offset,
		MaxMsgNums:           int32(max),
		SysFlag:              flags,
		CommitOffset:         -1,
		SuspendTimeoutMillis: suspend.Milliseconds(),
		Subscription:         "*",
		SubVersion:           c.cfg.Now().UnixMilli(),
		ExpressionType:       "TAG",
	}
	req := remoting.NewRequest(int32(protocol.PullMessage), nil, nil)
	req.ExtList = make([]remoting.ExtField, 0, 12)
	h.EachField(func(k, v string) { req.ExtList = append(req.ExtList, remoting.ExtField{Key: k, Value: v}) })
	resp, err := c.invoke(ctx, brokerAddr, req)
	if err != nil {
		return PullResult{}, err
	}
	code := protocol.ResponseCode(resp.Code)
	switch code {
	case protocol.Success, protocol.PullNotFound, protocol.PullRetryImmediately, protocol.PullOffsetMoved:
	default:
		return PullResult{}, responseError(resp)
	}
	var rh protocol.PullMessageResponseHeader
	if err := protocol.DecodeHeader(resp.ExtFields, &rh); err != nil {
		return PullResult{}, fmt.Errorf("client: pull reply from %s: %w", brokerAddr, err)
	}
	res := PullResult{Code: code, NextBeginOffset: rh.NextBeginOffset, MinOffset: rh.MinOffset, MaxOffset: rh.MaxOffset}
	if code == protocol.Success && len(resp.Body) > 0 {
		res.Messages, err = message.DecodeAll(resp.Body)
		if err != nil {
			return res, fmt.Errorf("client: pull %s/%d@%d from %s: %w", topic, queueID, offset, brokerAddr, err)
		}
	}
	return res, nil
}

func max0(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}
