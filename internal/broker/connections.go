package broker

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Who is connected and who consumes what (GET_CONSUMER_CONNECTION_LIST,
// GET_PRODUCER_CONNECTION_LIST, QUERY_TOPIC_CONSUME_BY_WHO), and the one
// admin call the broker forwards to a consumer (GET_CONSUMER_RUNNING_INFO).

// consumerCallTimeout bounds a call forwarded to a consumer, as upstream's
// Broker2Client.callClient.
const consumerCallTimeout = 5 * time.Second

// consumerCallTimeoutOverride, when non-zero, replaces consumerCallTimeout
// (a time.Duration; tests shorten it).
var consumerCallTimeoutOverride atomic.Int64

func connectionOf(c ClientInfo) body.Connection {
	conn := body.Connection{ClientID: c.ClientID, Language: c.Language.String(), Version: c.Version}
	if c.Conn != nil {
		conn.ClientAddr = c.Conn.RemoteAddr()
	}
	return conn
}

// getConsumerConnectionList answers GET_CONSUMER_CONNECTION_LIST with the
// group's registration; a group without consumers is CONSUMER_NOT_ONLINE.
func (b *Broker) getConsumerConnectionList(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetConsumerConnectionListRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	info, ok := b.clients.ConsumerGroup(h.ConsumerGroup)
	if !ok || len(info.Clients) == 0 {
		return nil, fail(protocol.ConsumerNotOnline, "the consumer group[%s] not online", h.ConsumerGroup)
	}
	cc := body.ConsumerConnection{
		SubscriptionTable: info.Subscriptions, ConsumeType: info.ConsumeType,
		MessageModel: info.MessageModel, ConsumeFromWhere: info.ConsumeFromWhere,
	}
	if cc.SubscriptionTable == nil {
		cc.SubscriptionTable = map[string]body.SubscriptionData{}
	}
	for _, c := range info.Clients {
		cc.ConnectionSet = append(cc.ConnectionSet, connectionOf(c))
	}
	resp := success(req)
	resp.Body = cc.Encode()
	return resp, nil
}

// getProducerConnectionList answers GET_PRODUCER_CONNECTION_LIST; a group
// without producers is SYSTEM_ERROR, as upstream.
func (b *Broker) getProducerConnectionList(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetProducerConnectionListRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	producers := b.clients.Producers(h.ProducerGroup)
	if len(producers) == 0 {
		return nil, fail(protocol.SystemError, "the producer group[%s] not exist", h.ProducerGroup)
	}
	var pc body.ProducerConnection
	for _, c := range producers {
		pc.ConnectionSet = append(pc.ConnectionSet, connectionOf(c))
	}
	resp := success(req)
	resp.Body = pc.Encode()
	return resp, nil
}

// queryTopicConsumeByWho answers QUERY_TOPIC_CONSUME_BY_WHO: the online
// groups subscribed to the topic and the groups with offsets of it, sorted.
// An unknown topic is an empty list, as upstream.
func (b *Broker) queryTopicConsumeByWho(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.QueryTopicConsumeByWhoRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	groups := map[string]struct{}{}
	for _, g := range b.clients.ConsumerGroups() {
		if _, ok := b.clients.Subscription(g, h.Topic); ok {
			groups[g] = struct{}{}
		}
	}
	withOffsets, err := b.offsets.TopicGroups(h.Topic)
	if err != nil {
		return nil, err
	}
	for _, g := range withOffsets {
		groups[g] = struct{}{}
	}
	gl := body.GroupList{GroupList: slices.Sorted(maps.Keys(groups))}
	resp := success(req)
	resp.Body = gl.Encode()
	return resp, nil
}

// getConsumerRunningInfo answers GET_CONSUMER_RUNNING_INFO by forwarding
// the request (same code, ext fields and body) to the named consumer over
// the connection its heartbeats use, and returning the consumer's answer
// as it is. Not online: SYSTEM_ERROR; no answer in time:
// CONSUME_MSG_TIMEOUT; a broken connection: SYSTEM_ERROR.
func (b *Broker) getConsumerRunningInfo(ctx context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetConsumerRunningInfoRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	return b.callConsumer(ctx, req, h.ConsumerGroup, h.ClientID)
}

// callConsumer forwards req to one consumer of group and relays its answer.
func (b *Broker) callConsumer(ctx context.Context, req *remoting.Command, group, clientID string) (*remoting.Command, error) {
	var conn *remoting.Conn
	if info, ok := b.clients.ConsumerGroup(group); ok {
		for _, c := range info.Clients {
			if c.ClientID == clientID {
				conn = c.Conn
				break
			}
		}
	}
	if conn == nil {
		return nil, fail(protocol.SystemError, "The Consumer <%s> <%s> not online", group, clientID)
	}
	fwd := remoting.NewRequest(req.Code, maps.Clone(req.ExtFields), req.Body)
	timeout := consumerCallTimeout
	if d := consumerCallTimeoutOverride.Load(); d > 0 {
		timeout = time.Duration(d)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got, err := conn.Invoke(ctx, fwd)
	if errors.Is(err, remoting.ErrTimeout) {
		return nil, fail(protocol.ConsumeMsgTimeout, "consumer <%s> <%s> Timeout: %v", group, clientID, err)
	}
	if err != nil {
		return nil, fail(protocol.SystemError, "invoke consumer <%s> <%s> Exception: %v", group, clientID, err)
	}
	resp := remoting.NewResponse(req, got.Code, got.Remark)
	resp.ExtFields = got.ExtFields
	resp.Body = got.Body
	return resp, nil
}
