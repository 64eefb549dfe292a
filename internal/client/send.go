package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// SendResult is what the broker answered to a stored message.
type SendResult struct {
	MsgID       string // offset message id (store host + commit-log offset)
	UniqKey     string // UNIQ_KEY, the id users know as msgId
	BrokerAddr  string
	QueueID     int32
	QueueOffset int64
}

// Send sends one message to topic with SEND_MESSAGE_V2 and waits for the
// broker's answer. queueID < 0 picks the topic's write queues round-robin
// across its brokers; queueID >= 0 sends to the first broker (by name) that
// has that write queue. props may be nil; it is not modified, and a
// UNIQ_KEY is generated unless it holds one. A topic the name servers do
// not know is sent through the route of TBW102, which lets a broker with
// autoCreateTopicEnable create it.
//
// The codes FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE
// mean "stored, but not as durably as asked": Send returns the result and a
// *ResponseError.
func (c *Client) Send(ctx context.Context, topic string, queueID int32, body []byte, props message.Properties) (SendResult, error) {
	addr, qid, err := c.pickQueue(ctx, topic, queueID)
	if err != nil {
		return SendResult{}, err
	}
	return c.SendTo(ctx, addr, topic, qid, body, props)
}

// SendOneway sends like Send but asks for no answer: it returns once the
// request is queued on the connection, and a broker-side failure is never
// reported.
func (c *Client) SendOneway(ctx context.Context, topic string, queueID int32, body []byte, props message.Properties) error {
	addr, qid, err := c.pickQueue(ctx, topic, queueID)
	if err != nil {
		return err
	}
	req, _, err := c.sendRequest(topic, qid, body, props)
	if err != nil {
		return err
	}
	if c.closed.Load() {
		return ErrClosed
	}
	c.sign(req)
	if err := c.rc.InvokeOneway(ctx, addr, req); err != nil {
		return fmt.Errorf("client: oneway send to %s: %w", addr, err)
	}
	c.oneway.Store(addr, MessageQueue{Topic: topic, BrokerAddr: addr, QueueID: qid})
	return nil
}

// Flush waits until every broker this client sent oneway messages to has
// read them: it makes one GET_MAX_OFFSET round trip per such broker on the
// same connection (repeated while the broker answers SYSTEM_BUSY). A broker may still drop oneway sends it has read (for
// example beyond its per-connection in-flight bound); nothing reports that.
func (c *Client) Flush(ctx context.Context) error {
	var errs []error
	c.oneway.Range(func(_, v any) bool {
		q := v.(MessageQueue)
		for {
			_, err := c.MaxOffset(ctx, q.BrokerAddr, q.Topic, q.QueueID)
			if !IsCode(err, protocol.SystemBusy) {
				if err != nil {
					errs = append(errs, err)
				}
				return true
			}
			// Busy with our own backlog: ask again.
			select {
			case <-ctx.Done():
				errs = append(errs, err)
				return true
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	return errors.Join(errs...)
}

// SendTo sends one message to a given broker and queue (queueID < 0: the
// broker picks a queue).
func (c *Client) SendTo(ctx context.Context, brokerAddr, topic string, queueID int32, body []byte, props message.Properties) (SendResult, error) {
	req, uniq, err := c.sendRequest(topic, queueID, body, props)
	if err != nil {
		return SendResult{}, err
	}
	resp, err := c.invoke(ctx, brokerAddr, req)
	if err != nil {
		return SendResult{}, err
	}
	return sendResult(brokerAddr, uniq, resp)
}

// SendAsync sends like Send but returns once the request is queued; done
// then runs exactly once with what Send would have returned, on the
// connection's reader goroutine (it must not block). ctx bounds the route
// lookup and, through its deadline, the wait for the answer (default the
// transport's request timeout). If SendAsync returns an error, done is not
// called. It lets a load generator keep many sends in flight without a
// goroutine blocked on each.
func (c *Client) SendAsync(ctx context.Context, topic string, queueID int32, body []byte, props message.Properties, done func(SendResult, error)) error {
	addr, qid, err := c.pickQueue(ctx, topic, queueID)
	if err != nil {
		return err
	}
	req, uniq, err := c.sendRequest(topic, qid, body, props)
	if err != nil {
		return err
	}
	return c.sendAsync(ctx, addr, req, func(resp *remoting.Command, err error) {
		if err != nil {
			done(SendResult{}, err)
			return
		}
		done(sendResult(addr, uniq, resp))
	})
}

// sendAsync signs req and queues it for addr; onResp then runs once with
// the response or the transport's error (on the connection's reader
// goroutine). If sendAsync returns an error, onResp is not called.
func (c *Client) sendAsync(ctx context.Context, addr string, req *remoting.Command, onResp func(*remoting.Command, error)) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.sign(req)
	code := protocol.RequestCode(req.Code)
	err := c.rc.InvokeAsync(ctx, addr, req, func(resp *remoting.Command, err error) {
		if err != nil {
			onResp(nil, fmt.Errorf("client: %v to %s: %w", code, addr, err))
			return
		}
		onResp(resp, nil)
	})
	if err != nil {
		return fmt.Errorf("client: send to %s: %w", addr, err)
	}
	return nil
}

// sendResult interprets a send response.
func sendResult(brokerAddr, uniq string, resp *remoting.Command) (SendResult, error) {
	switch protocol.ResponseCode(resp.Code) {
	case protocol.Success, protocol.FlushDiskTimeout, protocol.FlushSlaveTimeout, protocol.SlaveNotAvailable:
	default:
		return SendResult{}, responseError(resp)
	}
	var h protocol.SendMessageResponseHeader
	if err := protocol.DecodeHeader(resp.ExtFields, &h); err != nil {
		return SendResult{}, fmt.Errorf("client: send reply from %s: %w", brokerAddr, err)
	}
	res := SendResult{MsgID: h.MsgID, UniqKey: uniq, BrokerAddr: brokerAddr, QueueID: h.QueueID, QueueOffset: h.QueueOffset}
	if resp.Code != int32(protocol.Success) {
		return res, responseError(resp)
	}
	return res, nil
}

func (c *Client) sendRequest(topic string, queueID int32, body []byte, props message.Properties) (*remoting.Command, string, error) {
	uniq := props.UniqKey()
	var propStr string
	var err error
	switch {
	case uniq == "" && len(props) == 0:
		// The load generator's case: no map to build and sort.
		uniq = c.uniq.Next()
		b, _ := message.AppendProperty(make([]byte, 0, len(message.PropertyUniqKey)+len(uniq)+2), message.PropertyUniqKey, uniq)
		propStr = string(b)
	case uniq == "":
		p := make(message.Properties, len(props)+1)
		for k, v := range props {
			p[k] = v
		}
		uniq = c.uniq.Next()
		p[message.PropertyUniqKey] = uniq
		propStr, err = p.Encode()
	default:
		propStr, err = props.Encode()
	}
	if err != nil {
		return nil, "", fmt.Errorf("client: send to %s: %w", topic, err)
	}
	h := protocol.SendMessageRequestHeaderV2{
		A: c.cfg.ProducerGroup,
		B: topic,
		C: DefaultTopic,
		D: DefaultTopicQueueNums,
		E: queueID,
		G: c.cfg.Now().UnixMilli(),
		I: propStr,
	}
	return sendCommand(protocol.SendMessageV2, &h, body), uniq, nil
}

// sendCommand builds a send request with its header fields as a list, in
// key order: one map built and sorted per message was a tenth of the
// load generator's CPU.
func sendCommand(code protocol.RequestCode, h *protocol.SendMessageRequestHeaderV2, body []byte) *remoting.Command {
	req := remoting.NewRequest(int32(code), nil, body)
	req.ExtList = make([]remoting.ExtField, 0, 10)
	h.EachField(func(k, v string) { req.ExtList = append(req.ExtList, remoting.ExtField{Key: k, Value: v}) })
	return req
}

// pickQueue resolves the broker address and queue id of a send.
func (c *Client) pickQueue(ctx context.Context, topic string, queueID int32) (string, int32, error) {
	r, err := c.Route(ctx, topic)
	if IsCode(err, protocol.TopicNotExist) {
		// Let a broker auto-create it, as Java producers do.
		def, derr := c.Route(ctx, DefaultTopic)
		if derr != nil {
			return "", 0, err
		}
		addrs := def.MasterAddrs()
		if len(addrs) == 0 {
			return "", 0, err
		}
		return addrs[0], queueID, nil
	}
	if err != nil {
		return "", 0, err
	}
	qs := r.WriteQueues
	if len(qs) == 0 {
		return "", 0, fmt.Errorf("%w: topic %s", ErrNoQueue, topic)
	}
	if queueID < 0 {
		q := qs[int(c.rr.Add(1)-1)%len(qs)]
		return q.BrokerAddr, q.QueueID, nil
	}
	for _, q := range qs {
		if q.QueueID == queueID {
			return q.BrokerAddr, q.QueueID, nil
		}
	}
	return "", 0, fmt.Errorf("%w: topic %s has no write queue %d", ErrNoQueue, topic, queueID)
}
