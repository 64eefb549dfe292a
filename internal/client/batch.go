package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// BatchResult is what the broker answered to a stored batch.
type BatchResult struct {
	BrokerAddr string
	QueueID    int32
	// FirstOffset is the queue offset of the first message; the others
	// follow it (a batch is stored as consecutive records of one queue).
	FirstOffset int64
	MsgIDs      []string // offset message ids, one per message, in order
	UniqKeys    []string // the UNIQ_KEY of each message, in order
}

// SendBatch sends msgs to one queue of topic in one SEND_BATCH_MESSAGE
// request and waits for the broker's answer: all are stored, with
// consecutive queue offsets, or none. Only each message's Flag, Body and
// Properties are sent; a UNIQ_KEY is generated for a message without one
// (msgs are not modified). queueID < 0 picks a queue as Send does.
func (c *Client) SendBatch(ctx context.Context, topic string, queueID int32, msgs []*message.Message) (BatchResult, error) {
	type outcome struct {
		res BatchResult
		err error
	}
	ch := make(chan outcome, 1)
	if err := c.SendBatchAsync(ctx, topic, queueID, msgs, func(r BatchResult, err error) { ch <- outcome{r, err} }); err != nil {
		return BatchResult{}, err
	}
	select {
	case o := <-ch:
		return o.res, o.err
	case <-ctx.Done():
		return BatchResult{}, ctx.Err()
	}
}

// SendBatchAsync is SendBatch returning once the request is queued; done
// then runs exactly once, on the connection's reader goroutine (it must
// not block). If SendBatchAsync returns an error, done is not called.
func (c *Client) SendBatchAsync(ctx context.Context, topic string, queueID int32, msgs []*message.Message,
	done func(BatchResult, error)) error {
	if len(msgs) == 0 {
		return errors.New("client: empty batch")
	}
	addr, qid, err := c.pickQueue(ctx, topic, queueID)
	if err != nil {
		return err
	}
	req, uniqs, err := c.batchRequest(topic, qid, msgs)
	if err != nil {
		return err
	}
	return c.sendAsync(ctx, addr, req, func(resp *remoting.Command, err error) {
		if err != nil {
			done(BatchResult{}, err)
			return
		}
		r, err := sendResult(addr, "", resp)
		res := BatchResult{BrokerAddr: addr, QueueID: r.QueueID, FirstOffset: r.QueueOffset, UniqKeys: uniqs}
		if r.MsgID != "" {
			res.MsgIDs = strings.Split(r.MsgID, ",")
		}
		done(res, err)
	})
}

// batchRequest encodes a SEND_BATCH_MESSAGE request: a V2 header with the
// batch flag and the batch's own UNIQ_KEY, and the messages in the batch
// body format, each with its own UNIQ_KEY.
func (c *Client) batchRequest(topic string, queueID int32, msgs []*message.Message) (*remoting.Command, []string, error) {
	enc := make([]*message.Message, len(msgs))
	uniqs := make([]string, len(msgs))
	for i, m := range msgs {
		cp := *m
		if uniq := m.Properties.UniqKey(); uniq != "" {
			uniqs[i] = uniq
		} else {
			uniqs[i] = c.uniq.Next()
			cp.Properties = make(message.Properties, len(m.Properties)+1)
			for k, v := range m.Properties {
				cp.Properties[k] = v
			}
			cp.Properties[message.PropertyUniqKey] = uniqs[i]
		}
		enc[i] = &cp
	}
	size := 0
	for _, m := range enc {
		size += len(m.Body) + 64
	}
	body, err := message.AppendBatch(make([]byte, 0, size), enc)
	if err != nil {
		return nil, nil, fmt.Errorf("client: batch to %s: %w", topic, err)
	}
	props, _ := message.AppendProperty(nil, message.PropertyUniqKey, c.uniq.Next())
	batch := true
	h := protocol.SendMessageRequestHeaderV2{
		A: c.cfg.ProducerGroup,
		B: topic,
		C: DefaultTopic,
		D: DefaultTopicQueueNums,
		E: queueID,
		G: c.cfg.Now().UnixMilli(),
		I: string(props),
		M: &batch,
	}
	return sendCommand(protocol.SendBatchMessage, &h, body), uniqs, nil
}
