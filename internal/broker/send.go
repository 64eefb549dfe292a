package broker

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store"
)

// lmqQuotaRemark is upstream's remark for PutMessageStatus
// LMQ_CONSUME_QUEUE_NUM_EXCEEDED; clients match on the bracketed prefix.
const lmqQuotaRemark = "[LMQ_CONSUME_QUEUE_NUM_EXCEEDED]broker config enableLmq and enableMultiDispatch, " +
	"lmq consumeQueue num exceed maxLmqConsumeQueueNum config num, default limit 2w."

// notAllowedSend are the topics clients may not send to
// (TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET). Other system topics
// (TBW102, RMQ_SYS_TRACE_TOPIC, BenchmarkTest, ...) accept sends.
var notAllowedSend = map[string]bool{
	message.TopicSchedule: true, message.TopicTransHalf: true, message.TopicTransOpHalf: true,
	message.TopicTransCheckMaxTime: true, message.TopicSelfTest: true, message.TopicOffsetMovedEvent: true,
}

// sender serves the send codes. It holds the generator of the UNIQ_KEYs
// the broker assigns to messages that arrive without one.
type sender struct {
	b         *Broker
	storeHost netip.AddrPort // the store's, for offset message ids
	uniq      *message.UniqIDGenerator
}

func (b *Broker) registerSendProcessors() {
	host, _ := netip.ParseAddrPort(b.addr) // Listen checked it before opening the store with it
	s := &sender{b: b, storeHost: host, uniq: message.NewUniqIDGenerator(message.UniqIDConfig{IP: host.Addr(), Now: b.now})}
	b.handleRoute(protocol.SendMessage, remoting.RouteInline, s.process)
	b.handleRoute(protocol.SendMessageV2, remoting.RouteInline, s.process)
	b.handleRoute(protocol.SendBatchMessage, remoting.RouteInline, s.process)
}

// sendTarget is what the checks common to single and batch sends decided.
type sendTarget struct {
	h     protocol.SendMessageRequestHeader
	props message.Properties // of the header: the message's, or the batch's
	topic body.TopicConfig
	queue int32
	born  netip.AddrPort
	half  bool // a transaction half message
}

// process serves SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and
// SEND_BATCH_MESSAGE (320); the header's batch flag, not the code, says
// whether the body is a batch (reference 4.1). A single message may be a
// transaction half message (transaction.go), a delayed one (delay.go), or
// a retry past its group's maximum, which goes to %DLQ%<group> (retry.go).
func (s *sender) process(_ context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := decodeSendHeader(req)
	if err != nil {
		return nil, err
	}
	t, err := s.check(conn, h, len(req.Body))
	if err != nil {
		return nil, err
	}
	if h.IsBatch() {
		return s.sendBatch(conn, req, t)
	}
	return s.sendOne(conn, req, t)
}

// decodeSendHeader decodes a send request's header (any of the three send
// codes). The fields arrive in ExtList (handleRoute) unless ACL or a binary
// header put them in ExtFields.
func decodeSendHeader(req *remoting.Command) (protocol.SendMessageRequestHeader, error) {
	var fields protocol.SendHeaderFields
	fields.Reset(protocol.RequestCode(req.Code))
	req.EachExt(fields.Set)
	h, err := fields.Decode()
	if err != nil {
		return h, remoting.HeaderFail(err)
	}
	return h, nil
}

// check applies the broker's send-time rules (AbstractSendMessageProcessor
// msgCheck and friends) and picks the queue.
func (s *sender) check(conn *remoting.Conn, h protocol.SendMessageRequestHeader, bodyLen int) (sendTarget, error) {
	b := s.b
	t := sendTarget{h: h, props: message.ParseProperties(h.Properties)}
	if b.bc.BrokerPermission&permWrite == 0 {
		return t, fail(protocol.NoPermission, "the broker[%s, %s] sending message is forbidden (brokerPermission %d)",
			b.bc.BrokerName, b.addr, b.bc.BrokerPermission)
	}
	if err := message.ValidateTopic(h.Topic); err != nil {
		return t, fail(protocol.InvalidParameter, "%v", err)
	}
	if notAllowedSend[h.Topic] {
		return t, fail(protocol.NoPermission, "Sending message to topic[%s] is forbidden.", h.Topic)
	}
	if message.IsLMQ(h.Topic) {
		return t, fail(protocol.InvalidParameter,
			"the topic[%s] is a light message queue: send to its parent topic with property %s=%s",
			h.Topic, message.PropertyInnerMultiDispatch, h.Topic)
	}
	if bodyLen > b.bc.MaxMessageSize {
		return t, fail(protocol.MessageIllegal, "the message body size %d is over the max value, MAX: %d", bodyLen, b.bc.MaxMessageSize)
	}
	sys := message.SysFlag(h.SysFlag)
	switch tt := sys.TransactionType(); {
	case tt == message.SysTransactionPrepared || strings.EqualFold(t.props.Get(message.PropertyTransactionPrepared), "true"):
		t.half = true
	case tt != message.SysTransactionNotType:
		return t, fail(protocol.InvalidParameter, "a producer may only send ordinary or half (prepared) messages, sysFlag %d", h.SysFlag)
	}

	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		var err error
		if group, isRetry := retryGroup(h.Topic); isRetry {
			if _, ok := b.groups.GetOrCreate(group); !ok {
				return t, fail(protocol.SubscriptionGroupNotExist, "subscription group[%s] of topic[%s] does not exist", group, h.Topic)
			}
			tc, err = b.topics.EnsureRetryTopic(group)
		} else {
			tc, err = b.topics.AutoCreate(h.Topic, h.DefaultTopic, int(h.DefaultTopicQueueNums))
		}
		if errors.Is(err, ErrTopicNotFound) {
			return t, fail(protocol.TopicNotExist, "%v", err)
		}
		if err != nil && tc.TopicName == "" {
			return t, fail(protocol.SystemError, "create topic[%s]: %v", h.Topic, err)
		}
		// A persist failure leaves the topic usable: send anyway.
	}
	t.topic = tc
	if tc.Perm&permWrite == 0 {
		return t, fail(protocol.NoPermission, "the topic[%s] sending message is forbidden (perm %d)", h.Topic, tc.Perm)
	}
	// Upstream accepts queue ids below max(read, write): while write queues
	// shrink, producers with an old route still send to the higher ones.
	limit := max(tc.ReadQueueNums, tc.WriteQueueNums)
	switch q := h.QueueID; {
	case q < 0:
		if tc.WriteQueueNums <= 0 {
			return t, fail(protocol.NoPermission, "the topic[%s] has no write queues", h.Topic)
		}
		t.queue = rand.Int32N(tc.WriteQueueNums)
	case q >= limit:
		return t, fail(protocol.InvalidParameter, "request queueId[%d] is illegal: topic[%s] has %d queues on broker %s",
			q, h.Topic, limit, b.bc.BrokerName)
	default:
		t.queue = q
	}
	t.born = conn.RemoteAddrPort() // parsed once per connection, unmapped
	return t, nil
}

// retryGroup returns the group of a %RETRY%<group> topic.
func retryGroup(topic string) (string, bool) {
	if !message.IsRetryTopic(topic) {
		return "", false
	}
	return strings.TrimPrefix(topic, message.RetryTopicPrefix), true
}

// newMessage builds the message to store from the request and the target.
func (s *sender) newMessage(t *sendTarget, flag int32, payload []byte, props message.Properties) *message.Message {
	sys := message.SysFlag(t.h.SysFlag)
	if t.topic.TopicFilterType == body.MultiTag {
		sys |= message.SysMultiTags
	}
	for name := range props {
		if strings.HasPrefix(name, message.PropertyTransientPrefix) {
			delete(props, name) // never persisted
		}
	}
	// Only the broker releases parked messages (see delay.go).
	props.Delete(message.PropertyParked)
	if props.UniqKey() == "" {
		props.Set(message.PropertyUniqKey, s.uniq.Next())
	}
	props.Set(message.PropertyCluster, s.b.bc.BrokerClusterName)
	var reconsume int32
	if t.h.ReconsumeTimes != nil {
		reconsume = *t.h.ReconsumeTimes
	}
	return &message.Message{
		Topic: t.h.Topic, Flag: flag, Body: payload, Properties: props, SysFlag: sys,
		BornTimestamp: t.h.BornTimestamp, BornHost: t.born, QueueID: t.queue, ReconsumeTimes: reconsume,
	}
}

func (s *sender) sendOne(conn *remoting.Conn, req *remoting.Command, t sendTarget) (*remoting.Command, error) {
	if err := s.b.checkMultiDispatch(t.h.Topic, t.props); err != nil {
		return nil, fail(protocol.InvalidParameter, "%v", err)
	}
	m := s.newMessage(&t, t.h.Flag, req.Body, t.props)
	if t.half {
		s.toHalf(t, m)
		return s.putLater(conn, req, t, m)
	}
	if err := s.b.retryToDLQ(&t, m); err != nil {
		return nil, err
	}
	due, level, delayed, err := s.b.delayOf(m.Properties, s.b.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	if delayed && !message.IsSystemTopic(m.Topic) && !message.IsDLQTopic(m.Topic) {
		park(m, due, level)
	}
	return s.putLater(conn, req, t, m)
}

// putLater stores m and answers req once the store has it: the
// connection's goroutine does not wait (the group commit may be written by
// another), which is what lets sends run on the connection's reader.
func (s *sender) putLater(conn *remoting.Conn, req *remoting.Command, t sendTarget, m *message.Message) (*remoting.Command, error) {
	p := conn.Later(req)
	s.b.store.PutAsync([]*message.Message{m}, func(res store.PutResult, err error) {
		if err != nil {
			p.Finish(nil, putError(t.h.Topic, err))
			return
		}
		if !t.half { // a half message is counted when it is committed
			s.b.traffic.sent(t.h.Topic, lmqEntries(res), len(m.Body))
		}
		p.Finish(s.respond(req, t.queue, res, m.UniqKey()), nil)
	})
	return nil, nil
}

func (s *sender) sendBatch(conn *remoting.Conn, req *remoting.Command, t sendTarget) (*remoting.Command, error) {
	if t.half {
		return nil, fail(protocol.MessageIllegal, "batch messages cannot be transaction messages")
	}
	if message.IsRetryTopic(t.h.Topic) {
		return nil, fail(protocol.MessageIllegal, "batch request does not support retry group topic[%s]", t.h.Topic)
	}
	if len(t.h.Topic) > message.MaxTopicLength {
		return nil, fail(protocol.MessageIllegal, "message topic length too long %d", len(t.h.Topic))
	}
	inner, err := message.DecodeBatch(req.Body)
	if err != nil {
		return nil, fail(protocol.MessageIllegal, "bad batch body: %v", err)
	}
	if len(inner) == 0 {
		return nil, fail(protocol.MessageIllegal, "empty batch")
	}
	// Properties of the batch itself (header) apply to every message, under
	// each message's own; a batch-level UNIQ_KEY is not copied (every inner
	// message needs its own).
	common := t.props
	batchUniq := common.UniqKey()
	common.Delete(message.PropertyUniqKey)
	msgs := make([]*message.Message, len(inner))
	for i, im := range inner {
		if len(im.Body) > s.b.bc.MaxMessageSize {
			return nil, fail(protocol.MessageIllegal, "message %d of the batch: body size %d is over the max value, MAX: %d",
				i, len(im.Body), s.b.bc.MaxMessageSize)
		}
		props := common.Clone()
		for k, v := range im.Properties {
			props.Set(k, v)
		}
		for _, p := range []string{message.PropertyDelayTimeLevel, message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec, message.PropertyTimerDelayMS} {
			if props.Get(p) != "" {
				return nil, fail(protocol.MessageIllegal, "message %d of the batch: batches do not support delayed messages (%s)", i, p)
			}
		}
		if err := s.b.checkMultiDispatch(t.h.Topic, props); err != nil {
			return nil, fail(protocol.InvalidParameter, "message %d of the batch: %v", i, err)
		}
		msgs[i] = s.newMessage(&t, im.Flag, im.Body, props)
	}
	// Answered once the store has the batch, as sendOne: the connection's
	// goroutine does not wait for the group commit.
	p := conn.Later(req)
	s.b.store.PutAsync(msgs, func(res store.PutResult, err error) {
		if err != nil {
			p.Finish(nil, putError(t.h.Topic, err))
			return
		}
		sizes := make([]int, len(msgs))
		for i, m := range msgs {
			sizes[i] = len(m.Body)
		}
		s.b.traffic.sent(t.h.Topic, lmqEntries(res), sizes...)
		p.Finish(s.respond(req, t.queue, res, batchUniq), nil)
	})
	return nil, nil
}

// lmqEntries counts the LMQ entries a put wrote (for the metrics).
func lmqEntries(res store.PutResult) int {
	n := 0
	for _, o := range res.LMQOffsets {
		n += len(o)
	}
	return n
}

// putError maps a store failure to a response code.
func putError(topic string, err error) error {
	switch {
	case errors.Is(err, store.ErrLMQQuota):
		return fail(protocol.SystemError, "%s (%v)", lmqQuotaRemark, err)
	case errors.Is(err, store.ErrMessageTooLarge), errors.Is(err, store.ErrInvalidMessage):
		return fail(protocol.MessageIllegal, "%v", err)
	case errors.Is(err, store.ErrClosed):
		return fail(protocol.ServiceNotAvailable, "the message store is closed")
	}
	return fail(protocol.SystemError, "storing a message of topic[%s] failed: %v", topic, err)
}

// respond builds the success response: always msgId, queueId, queueOffset,
// MSG_REGION and TRACE_ON (Java clients read the last two unconditionally).
func (s *sender) respond(req *remoting.Command, queue int32, res store.PutResult, uniq string) *remoting.Command {
	var id []byte
	for i, phy := range res.PhyOffsets {
		if i > 0 {
			id = append(id, ',')
		}
		id = message.AppendOffsetID(id, s.storeHost, phy)
	}
	code := protocol.Success
	if !res.Flushed {
		code = protocol.FlushDiskTimeout
	}
	resp := remoting.NewResponse(req, int32(code), "")
	var first int64
	if len(res.QueueOffsets) > 0 {
		first = res.QueueOffsets[0]
	}
	h := protocol.SendMessageResponseHeader{
		MsgID: string(id), QueueID: queue, QueueOffset: first, TransactionID: uniq,
		MsgRegion: protocol.DefaultMsgRegion, TraceOn: true,
	}
	resp.ExtList = make([]remoting.ExtField, 0, 6)
	h.EachField(func(k, v string) { resp.ExtList = append(resp.ExtList, remoting.ExtField{Key: k, Value: v}) })
	return resp
}
