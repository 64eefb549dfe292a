package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store/cq"
)

// Topic and consumer-group statistics for the admin commands topicStatus
// and consumerProgress (GET_TOPIC_STATS_INFO, GET_CONSUME_STATS), computed
// as upstream's AdminBrokerProcessor does, from consume-queue rows only:
// store times come from the rows, never from the commit log.
//
// Rates (topicPutTps, consumeTps) are always 0.0: the broker keeps no
// per-topic or per-group rate statistics yet.

// maxConsumeStatsQueues bounds the queues one GET_CONSUME_STATS answer
// covers (about 200 bytes each): a group that consumed a million LMQs must
// be asked per topic rather than produce a body beyond the frame limit.
const maxConsumeStatsQueues = 50_000

// registerOpsProcessors binds the operational commands' read side:
// statistics, connections, running info and message queries.
func (b *Broker) registerOpsProcessors() {
	b.handle(protocol.GetTopicStatsInfo, b.getTopicStatsInfo)
	b.handle(protocol.GetConsumeStats, b.getConsumeStats)
	b.handle(protocol.GetConsumerConnectionList, b.getConsumerConnectionList)
	b.handle(protocol.GetProducerConnectionList, b.getProducerConnectionList)
	b.handle(protocol.QueryTopicConsumeByWho, b.queryTopicConsumeByWho)
	b.handle(protocol.GetConsumerRunningInfo, b.getConsumerRunningInfo)
	b.handle(protocol.QueryMessage, b.queryMessage)
	b.handle(protocol.ViewMessageByID, b.viewMessageByID)
}

// storeTimeAt is the store time of the message at offset, 0 when the queue
// holds no row there.
func (b *Broker) storeTimeAt(topic string, queueID int32, offset int64) (int64, error) {
	ts, err := b.store.StoreTimeAt(topic, queueID, offset)
	if errors.Is(err, cq.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("broker: store time of %s-%d@%d: %w", topic, queueID, offset, err)
	}
	return ts, nil
}

// holdsLMQ reports whether this broker holds messages of the LMQ. The
// topic manager synthesizes a config for every %LMQ% name, so this is what
// tells a broker that never saw the LMQ apart; an LMQ whose messages all
// expired is removed by retention and then counts as never seen.
func (b *Broker) holdsLMQ(name string) (bool, error) {
	if max, err := b.store.MaxOffset(name, message.LMQQueueID); err != nil {
		return false, fmt.Errorf("broker: max offset of %s: %w", name, err)
	} else if max > 0 {
		return true, nil
	}
	// Registered but without rows: only between a put and its dispatch.
	l, err := b.store.ListLMQs(name, "", 1)
	if err != nil {
		return false, fmt.Errorf("broker: look up LMQ %s: %w", name, err)
	}
	return len(l) == 1 && l[0].Name == name, nil
}

// getTopicStatsInfo answers GET_TOPIC_STATS_INFO: min and max offset and
// the store time of the last message of every queue (max(read, write)
// queues). An LMQ this broker never held gets upstream's answer, one row of
// zeros, marked with LMQAbsentField so that an admin asking every broker
// can tell "not here" from "empty".
func (b *Broker) getTopicStatsInfo(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetTopicStatsInfoRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	tc, ok := b.topics.Get(h.Topic)
	if ok && message.IsLMQ(h.Topic) {
		held, err := b.holdsLMQ(h.Topic)
		if err != nil {
			return nil, err
		}
		if !held {
			// Java's mqadmin asks every broker of a cluster and gives up on
			// the first error, so answer as upstream does (one empty row)
			// and say in an ext field, which Java ignores, that the LMQ is
			// not here: Bolide's admin tells "absent" from "empty".
			table := body.TopicStatsTable{OffsetTable: map[body.MessageQueue]body.TopicOffset{
				{Topic: h.Topic, BrokerName: b.bc.BrokerName, QueueID: message.LMQQueueID}: {}}}
			resp := success(req)
			resp.ExtFields = map[string]string{protocol.LMQAbsentField: "true"}
			resp.Body = table.Encode()
			return resp, nil
		}
	}
	if !ok {
		return nil, fail(protocol.TopicNotExist, "topic[%s] not exist", h.Topic)
	}
	n := max(tc.ReadQueueNums, tc.WriteQueueNums)
	table := body.TopicStatsTable{OffsetTable: make(map[body.MessageQueue]body.TopicOffset, n)}
	for q := range n {
		minOff, err := b.store.MinOffset(h.Topic, q)
		if err != nil {
			return nil, fmt.Errorf("broker: min offset of %s-%d: %w", h.Topic, q, err)
		}
		maxOff, err := b.store.MaxOffset(h.Topic, q)
		if err != nil {
			return nil, fmt.Errorf("broker: max offset of %s-%d: %w", h.Topic, q, err)
		}
		to := body.TopicOffset{MinOffset: max(minOff, 0), MaxOffset: max(maxOff, 0)}
		if maxOff > 0 {
			if to.LastUpdateTimestamp, err = b.storeTimeAt(h.Topic, q, maxOff-1); err != nil {
				return nil, err
			}
		}
		table.OffsetTable[body.MessageQueue{Topic: h.Topic, BrokerName: b.bc.BrokerName, QueueID: q}] = to
	}
	resp := success(req)
	resp.Body = table.Encode()
	return resp, nil
}

// consumerGroupExists reports whether group is known here: it has a
// subscription group config, online consumers or committed offsets.
// %LMQ% groups always exist.
func (b *Broker) consumerGroupExists(group string) (bool, error) {
	if message.IsLMQ(group) {
		return true, nil
	}
	if _, ok := b.groups.Get(group); ok {
		return true, nil
	}
	if b.clients.ConsumerGroupOnline(group) {
		return true, nil
	}
	topics, _, err := b.offsets.GroupTopics(group, 1)
	return len(topics) > 0, err
}

// consumeStatsTopics picks the topics of a GET_CONSUME_STATS as upstream:
// topicList if given (no subscription check); else the topic, or every
// topic the group has offsets of, minus those its online consumers do not
// subscribe to (when they subscribe to anything).
func (b *Broker) consumeStatsTopics(h *protocol.GetConsumeStatsRequestHeader) ([]string, error) {
	var topics []string
	seen := map[string]bool{}
	for t := range strings.SplitSeq(h.TopicList, ";") {
		if t != "" && !seen[t] {
			seen[t] = true
			topics = append(topics, t)
		}
	}
	if len(topics) > 0 {
		return topics, nil
	}
	if strings.TrimSpace(h.Topic) != "" {
		topics = []string{h.Topic}
	} else {
		var more bool
		var err error
		topics, more, err = b.offsets.GroupTopics(h.ConsumerGroup, maxConsumeStatsQueues)
		if err != nil {
			return nil, err
		}
		if more {
			return nil, tooManyQueues(h.ConsumerGroup)
		}
	}
	info, online := b.clients.ConsumerGroup(h.ConsumerGroup)
	if !online || len(info.Subscriptions) == 0 {
		return topics, nil
	}
	kept := topics[:0]
	for _, t := range topics {
		if _, ok := info.Subscriptions[t]; ok {
			kept = append(kept, t)
		}
	}
	return kept, nil
}

func tooManyQueues(group string) error {
	return fail(protocol.SystemError, "consumer group %s has offsets of more than %d queues on this broker; ask for one topic",
		group, maxConsumeStatsQueues)
}

// getConsumeStats answers GET_CONSUME_STATS. Per read queue of each topic:
// brokerOffset (max offset), consumerOffset (committed, 0 when none),
// pullOffset (max of the committed offset and the last pull's next
// offset), lastTimestamp (store time of the last consumed message) and
// Bolide's firstUnconsumedTimestamp (store time of the oldest message not
// consumed, 0 when caught up).
//
// Unlike upstream, a topic the group has no committed offset of on this
// broker contributes no rows (upstream reports every queue at offset 0),
// so that an admin merging brokers can tell "never consumed here" apart.
// An unknown group answers SUBSCRIPTION_GROUP_NOT_EXIST.
func (b *Broker) getConsumeStats(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetConsumeStatsRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	group := h.ConsumerGroup
	exists, err := b.consumerGroupExists(group)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fail(protocol.SubscriptionGroupNotExist, "subscription group [%s] does not exist", group)
	}
	topics, err := b.consumeStatsTopics(&h)
	if err != nil {
		return nil, err
	}
	stats := body.ConsumeStats{OffsetTable: map[body.MessageQueue]body.OffsetWrapper{}}
	for _, topic := range topics {
		tc, ok := b.topics.Get(topic)
		if !ok {
			continue // as upstream: a topic without config is skipped
		}
		committed, err := b.offsets.TopicOffsets(group, topic)
		if err != nil {
			return nil, err
		}
		if len(committed) == 0 {
			continue
		}
		if len(stats.OffsetTable)+int(tc.ReadQueueNums) > maxConsumeStatsQueues {
			return nil, tooManyQueues(group)
		}
		for q := range tc.ReadQueueNums {
			ow, err := b.queueProgress(group, topic, q, committed)
			if err != nil {
				return nil, err
			}
			stats.OffsetTable[body.MessageQueue{Topic: topic, BrokerName: b.bc.BrokerName, QueueID: q}] = ow
		}
	}
	resp := success(req)
	resp.Body = stats.Encode()
	return resp, nil
}

// queueProgress is one queue's row of GET_CONSUME_STATS.
func (b *Broker) queueProgress(group, topic string, q int32, committed map[int32]int64) (body.OffsetWrapper, error) {
	brokerOff, err := b.store.MaxOffset(topic, q)
	if err != nil {
		return body.OffsetWrapper{}, fmt.Errorf("broker: max offset of %s-%d: %w", topic, q, err)
	}
	consumer := max(committed[q], 0)
	ow := body.OffsetWrapper{
		BrokerOffset:   max(brokerOff, 0),
		ConsumerOffset: consumer,
		PullOffset:     max(consumer, b.holds.pulled.get(group, topic, q)),
	}
	if consumer > 0 {
		if ow.LastTimestamp, err = b.storeTimeAt(topic, q, consumer-1); err != nil {
			return body.OffsetWrapper{}, err
		}
	}
	if consumer < brokerOff {
		// The oldest unconsumed message still held: messages below the
		// min offset are gone with their segment.
		minOff, err := b.store.MinOffset(topic, q)
		if err != nil {
			return body.OffsetWrapper{}, fmt.Errorf("broker: min offset of %s-%d: %w", topic, q, err)
		}
		if at := max(consumer, minOff); at < brokerOff {
			if ow.FirstUnconsumedTimestamp, err = b.storeTimeAt(topic, q, at); err != nil {
				return body.OffsetWrapper{}, err
			}
		}
	}
	return ow, nil
}
