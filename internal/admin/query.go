package admin

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
)

// found is a message a broker returned, with that broker.
type found struct {
	Msg    *message.Message
	Broker Broker
}

// msgID is the id mqadmin shows for a message (MessageClientExt.getMsgId):
// its UNIQ_KEY, else its offset id.
func msgID(m *message.Message) string {
	if u := m.UniqKey(); u != "" {
		return u
	}
	return m.OffsetID()
}

// inTopic reports whether m belongs to topic: its own topic, or for an
// LMQ one of the queues it was dispatched to.
func inTopic(m *message.Message, topic string) bool {
	if m.Topic == topic {
		return true
	}
	if !message.IsLMQ(topic) {
		return false
	}
	return slices.Contains(message.ParseMultiDispatch(m.Property(message.PropertyInnerMultiDispatch)), topic)
}

// lmqOffset returns m's offset in the LMQ named queue, if it was
// dispatched there.
func lmqOffset(m *message.Message, queue string) (int64, bool) {
	pairs, err := message.PairLMQOffsets(m.Property(message.PropertyInnerMultiDispatch), m.Property(message.PropertyInnerMultiQueueOffset))
	if err != nil {
		return 0, false
	}
	for _, p := range pairs {
		if p.Queue == queue {
			return p.Offset, true
		}
	}
	return 0, false
}

// queryOptions are the parameters of one QUERY_MESSAGE fan-out.
type queryOptions struct {
	topic, cluster, key string
	unique              bool
	maxNum              int32
	begin, end          int64
}

// query sends QUERY_MESSAGE to every broker that may hold topic (see
// brokersFor) and keeps the hits that really match: the key among KEYS
// (or the UNIQ_KEY) and the topic, for an LMQ among the queues the message
// was dispatched to. The header names the topic asked for, LMQs included:
// Bolide's broker indexes messages under each LMQ as well as the parent
// topic, so an LMQ query finds only that LMQ's messages, and nothing is
// retried under the parent. Only an Apache RocketMQ broker, which indexes
// LMQ messages under their parent topic alone, is asked again with the
// parent (-c), as upstream's tool does. Hits come back sorted by store
// time.
func (a *Admin) query(ctx context.Context, o queryOptions) ([]found, []*BrokerError, error) {
	brokers, err := a.brokersFor(ctx, o.topic, o.cluster)
	if err != nil {
		return nil, nil, err
	}
	h := protocol.QueryMessageRequestHeader{
		Topic: o.topic, Key: o.key, MaxNum: o.maxNum,
		BeginTimestamp: o.begin, EndTimestamp: o.end, UniqueKey: "false",
	}
	if o.unique {
		h.UniqueKey = "true"
	}
	answers := fanOut(ctx, brokers, queryTimeout, func(ctx context.Context, b Broker) ([]*message.Message, error) {
		msgs, err := a.c.QueryMessage(ctx, b.Addr, h)
		if message.IsLMQ(o.topic) && o.cluster != "" && client.IsCode(err, protocol.QueryNotFound) && a.isApache(ctx, b) {
			// An Apache RocketMQ broker indexes an LMQ's messages only
			// under the parent topic: ask for the parent's (the -c value)
			// and keep those dispatched to the LMQ below. A Bolide broker's
			// "nothing" is final.
			ph := h
			ph.Topic = o.cluster
			return a.c.QueryMessage(ctx, b.Addr, ph)
		}
		return msgs, err
	})
	var hits []found
	var fails []*BrokerError
	for _, an := range answers {
		if absent(an.Err) {
			continue
		}
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		for _, m := range an.Value {
			if !inTopic(m, o.topic) {
				continue
			}
			if o.unique && msgID(m) != o.key {
				continue
			}
			if !o.unique && !slices.Contains(m.Keys(), o.key) {
				continue
			}
			hits = append(hits, found{Msg: m, Broker: an.Broker})
		}
	}
	slices.SortStableFunc(hits, func(x, y found) int {
		if c := cmp.Compare(x.Msg.StoreTimestamp, y.Msg.StoreTimestamp); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Broker.Name, y.Broker.Name); c != 0 {
			return c
		}
		return cmp.Compare(x.Msg.CommitLogOffset, y.Msg.CommitLogOffset)
	})
	return hits, fails, nil
}

// isApache reports whether b is an Apache RocketMQ broker rather than a
// Bolide one: it does not know Bolide's request codes.
func (a *Admin) isApache(ctx context.Context, b Broker) bool {
	_, err := a.c.LMQList(ctx, b.Addr, "", "", 1)
	return client.IsCode(err, protocol.RequestCodeNotSupported)
}

// uniqueQuery finds the copies of a message by its UNIQ_KEY in the whole
// time range, as queryMsgByUniqueKey does (up to 32 per broker).
func (a *Admin) uniqueQuery(ctx context.Context, topic, cluster, id string, begin int64) ([]found, []*BrokerError, error) {
	return a.query(ctx, queryOptions{
		topic: topic, cluster: cluster, key: id, unique: true,
		maxNum: protocol.DefaultUniqueKeyQueryNum, begin: begin, end: math.MaxInt64,
	})
}
