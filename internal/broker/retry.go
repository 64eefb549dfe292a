package broker

import (
	"context"
	"math/rand/v2"
	"strconv"

	"github.com/bolidemq/bolide/internal/acl"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Retries and dead letters.
//
// A clustering consumer that fails a message sends it back
// (CONSUMER_SEND_MSG_BACK with the record's commit-log offset). The broker
// stores a copy in %RETRY%<group>, delayed by level 3 + reconsumeTimes
// unless the consumer chose a level, with RETRY_TOPIC naming the original
// topic, ORIGIN_MESSAGE_ID the first message id and the reconsume count
// one higher; the group's consumers subscribe to their retry topic, so the
// copy comes back when due. Once the count reaches the group's
// retryMaxTimes (or the client's maxReconsumeTimes, which wins), or when
// the consumer asks (delayLevel < 0), the copy goes to %DLQ%<group>
// instead: one queue, no delay, readable by the admin commands.
//
// A client whose send-back fails falls back to sending the message to the
// retry topic itself; that send goes through the same DLQ switch
// (retryToDLQ).

func (b *Broker) registerRetryProcessors() {
	b.handle(protocol.ConsumerSendMsgBack, b.consumerSendMsgBack)
}

// maxReconsume is the retry limit of a group: the client's, when it sent
// one, else the group's retryMaxTimes.
func maxReconsume(sc body.SubscriptionGroupConfig, fromClient *int32) int32 {
	if fromClient != nil && *fromClient >= 0 {
		return *fromClient
	}
	return sc.RetryMaxTimes
}

func (b *Broker) consumerSendMsgBack(_ context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.ConsumerSendMsgBackRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	sc, ok := b.groups.GetOrCreate(h.Group)
	if !ok {
		return nil, fail(protocol.SubscriptionGroupNotExist, "subscription group not exist, %s", h.Group)
	}
	if b.bc.BrokerPermission&permWrite == 0 {
		return nil, fail(protocol.NoPermission, "the broker[%s] sending message is forbidden", b.bc.BrokerName)
	}
	if sc.RetryQueueNums <= 0 {
		return success(req), nil // upstream: retry disabled for the group, the message is dropped
	}
	retry, err := b.topics.EnsureRetryTopic(h.Group)
	if err != nil && retry.TopicName == "" {
		return nil, fail(protocol.SystemError, "create retry topic of %s: %v", h.Group, err)
	}
	if retry.Perm&permWrite == 0 {
		return nil, fail(protocol.NoPermission, "the topic[%s] sending message is forbidden", retry.TopicName)
	}
	raw, err := b.store.ReadRecord(h.Offset)
	if err != nil {
		return nil, fail(protocol.SystemError, "look message by offset failed, %d", h.Offset)
	}
	rec, err := message.ParseRecord(raw)
	if err != nil {
		return nil, fail(protocol.SystemError, "look message by offset failed, %d: %v", h.Offset, err)
	}
	orig := rec.Message()
	// The request names a commit-log offset, not a topic: with ACL on, the
	// sender must be allowed to consume the message it sends back, or any
	// group member could copy any message into its own retry topic.
	if auth := b.acl.auth; auth != nil {
		origin := orig.Properties.Get(message.PropertyRetryTopic)
		if origin == "" {
			origin = orig.Topic
		}
		if err := auth.CheckTopic(protocol.ConsumerSendMsgBack, req.ExtFields, origin, acl.Sub); err != nil {
			b.logDenial(conn, err)
			return nil, fail(protocol.NoPermission, "%s", err.Error())
		}
	}
	m := &message.Message{
		Topic: retry.TopicName, Flag: orig.Flag, Body: orig.Body, Properties: orig.Properties,
		SysFlag: orig.SysFlag, BornTimestamp: orig.BornTimestamp, BornHost: orig.BornHost,
		ReconsumeTimes: orig.ReconsumeTimes + 1,
	}
	props := m.Properties
	if props.Get(message.PropertyRetryTopic) == "" {
		props.Set(message.PropertyRetryTopic, orig.Topic)
	}
	originID := props.Get(message.PropertyOriginMessageID)
	if originID == "" {
		originID = h.OriginMsgID
	}
	if originID == "" {
		originID = orig.UniqKey()
	}
	if originID == "" {
		originID = rec.OffsetID()
	}
	props.Set(message.PropertyOriginMessageID, originID)
	// What the original's delivery added is not the copy's: it is not
	// parked, nor dispatched to the original's LMQs again.
	for _, p := range []string{message.PropertyParked, message.PropertyDelayTimeLevel, message.PropertyTimerDeliverMS,
		message.PropertyTimerDelaySec, message.PropertyTimerDelayMS, message.PropertyTimerOutMS,
		message.PropertyInnerMultiDispatch, message.PropertyInnerMultiQueueOffset, message.PropertyTransactionPrepared} {
		props.Delete(p)
	}

	if orig.ReconsumeTimes >= maxReconsume(sc, h.MaxReconsumeTimes) || h.DelayLevel < 0 {
		if err := b.toDLQ(h.Group, m, originID); err != nil {
			return nil, err
		}
	} else {
		level := int(h.DelayLevel)
		if level == 0 {
			level = 3 + int(orig.ReconsumeTimes)
		}
		level = min(level, len(b.bc.Semantics.DelayLevels))
		m.QueueID = rand.Int32N(max(retry.WriteQueueNums, 1))
		park(m, b.now().UnixMilli()+b.bc.Semantics.DelayLevels[level-1].Milliseconds(), level)
		m.Properties.Set(message.PropertyDelayTimeLevel, strconv.Itoa(level))
	}
	res, err := b.store.Put(m)
	if err != nil {
		return nil, putError(m.Topic, err)
	}
	b.traffic.sent(m.Topic, lmqEntries(res), len(m.Body))
	return success(req), nil
}

// toDLQ readies m for the dead-letter topic of group (created if needed).
func (b *Broker) toDLQ(group string, m *message.Message, originID string) error {
	dlq, err := b.topics.EnsureDLQTopic(group)
	if err != nil && dlq.TopicName == "" {
		return fail(protocol.SystemError, "create dead letter topic of %s: %v", group, err)
	}
	if dlq.Perm&permWrite == 0 {
		return fail(protocol.NoPermission, "the topic[%s] sending message is forbidden", dlq.TopicName)
	}
	origin := m.Properties.Get(message.PropertyRetryTopic)
	if origin == "" {
		origin = m.Topic
	}
	m.Properties.Set(message.PropertyDLQOriginTopic, origin)
	if originID != "" {
		m.Properties.Set(message.PropertyDLQOriginMessageID, originID)
	}
	for _, p := range []string{message.PropertyDelayTimeLevel, message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec, message.PropertyTimerDelayMS} {
		m.Properties.Delete(p)
	}
	m.Topic, m.QueueID = dlq.TopicName, 0
	return nil
}

// retryToDLQ is the send path's switch: a message sent to %RETRY%<group>
// (a client's fallback when its send-back failed) whose reconsumeTimes has
// reached the limit goes to %DLQ%<group> instead.
func (b *Broker) retryToDLQ(t *sendTarget, m *message.Message) error {
	group, ok := retryGroup(m.Topic)
	if !ok {
		return nil
	}
	sc, ok := b.groups.GetOrCreate(group)
	if !ok {
		return fail(protocol.SubscriptionGroupNotExist, "subscription group not exist, %s", group)
	}
	if m.ReconsumeTimes < maxReconsume(sc, t.h.MaxReconsumeTimes) {
		return nil
	}
	origin := m.Properties.Get(message.PropertyOriginMessageID)
	if origin == "" {
		origin = m.UniqKey()
	}
	if err := b.toDLQ(group, m, origin); err != nil {
		return err
	}
	t.queue = 0
	return nil
}

// EnsureDLQTopic returns the %DLQ% topic of group, creating it if needed:
// one queue (upstream's DLQ_NUMS_PER_GROUP), readable and writable so the
// admin commands and a re-driving consumer can read it.
func (m *TopicManager) EnsureDLQTopic(group string) (body.TopicConfig, error) {
	return m.ensureGroupTopic(message.DLQTopic(group))
}
