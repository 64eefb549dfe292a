package client

// Admin RPCs: the broker and name-server calls mqadmin makes (topic and
// consume stats, connections, message queries, offset resets, topic and
// group administration). Each wrapper sends one request and decodes one
// reply; choosing brokers, merging and retrying is the caller's business
// (internal/admin). A failure code comes back as a *ResponseError, so
// callers can tell "this broker does not have the topic" (TOPIC_NOT_EXIST)
// from "this broker is busy" (SYSTEM_BUSY) with IsCode.

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/protocol/fastjson"
	"github.com/bolidemq/bolide/internal/remoting"
)

// call sends code with header h (nil: no header) and body to addr and
// returns the response when it is SUCCESS; any other code is a
// *ResponseError.
func (c *Client) call(ctx context.Context, addr string, code protocol.RequestCode, h any, b []byte) (*remoting.Command, error) {
	var ext map[string]string
	if h != nil {
		ext = protocol.EncodeHeader(h)
	}
	resp, err := c.invoke(ctx, addr, remoting.NewRequest(int32(code), ext, b))
	if err != nil {
		return nil, err
	}
	if resp.Code != int32(protocol.Success) {
		return nil, responseError(resp)
	}
	return resp, nil
}

// callNamesrv is call against the name servers (first one that answers).
func (c *Client) callNamesrv(ctx context.Context, code protocol.RequestCode, h any) (*remoting.Command, error) {
	var ext map[string]string
	if h != nil {
		ext = protocol.EncodeHeader(h)
	}
	resp, err := c.invokeNamesrv(ctx, code, ext)
	if err != nil {
		return nil, err
	}
	if resp.Code != int32(protocol.Success) {
		return nil, responseError(resp)
	}
	return resp, nil
}

// decodeBody decodes a reply body with dec, naming the request on failure.
func decodeBody(what, addr string, data []byte, dec func([]byte) error) error {
	if err := dec(data); err != nil {
		return fmt.Errorf("client: %s reply from %s: %w", what, addr, err)
	}
	return nil
}

// NamesrvAddrs returns the configured name server addresses.
func (c *Client) NamesrvAddrs() []string {
	return append([]string(nil), c.cfg.NamesrvAddrs...)
}

// TopicStats returns the per-queue min/max offsets of topic on one broker
// (GET_TOPIC_STATS_INFO). A broker without the topic answers
// TOPIC_NOT_EXIST.
func (c *Client) TopicStats(ctx context.Context, addr, topic string) (*body.TopicStatsTable, error) {
	resp, err := c.call(ctx, addr, protocol.GetTopicStatsInfo, &protocol.GetTopicStatsInfoRequestHeader{Topic: topic}, nil)
	if err != nil {
		return nil, err
	}
	if resp.ExtFields[protocol.LMQAbsentField] == "true" {
		// A Bolide broker without the LMQ answers upstream's row of zeros
		// (for Java tools) and says so here.
		return nil, &ResponseError{Code: protocol.TopicNotExist, Remark: "LMQ " + topic + " not on broker " + addr}
	}
	ts := new(body.TopicStatsTable)
	return ts, decodeBody("topic stats", addr, resp.Body, ts.Decode)
}

// ConsumeStats returns the progress of group on one broker
// (GET_CONSUME_STATS); topic "" means every topic the group has offsets
// for.
func (c *Client) ConsumeStats(ctx context.Context, addr, group, topic string) (*body.ConsumeStats, error) {
	h := protocol.GetConsumeStatsRequestHeader{ConsumerGroup: group, Topic: topic}
	resp, err := c.call(ctx, addr, protocol.GetConsumeStats, &h, nil)
	if err != nil {
		return nil, err
	}
	cs := new(body.ConsumeStats)
	return cs, decodeBody("consume stats", addr, resp.Body, cs.Decode)
}

// queueKey reads a MessageQueue map key: fastjson's object form or the
// string form holding the object's JSON text.
func queueKey(k *fastjson.Value) (body.MessageQueue, bool) {
	if k.Kind == fastjson.KindString {
		inner, err := fastjson.Parse([]byte(k.Text))
		if err != nil {
			return body.MessageQueue{}, false
		}
		k = inner
	}
	if k.Kind != fastjson.KindObject {
		return body.MessageQueue{}, false
	}
	var mq body.MessageQueue
	var err error
	if mq.Topic, err = k.Get("topic").AsString(); err != nil {
		return mq, false
	}
	if mq.BrokerName, err = k.Get("brokerName").AsString(); err != nil {
		return mq, false
	}
	if mq.QueueID, err = k.Get("queueId").Int32(); err != nil {
		return mq, false
	}
	return mq, true
}

// ConsumerConnection returns the online clients of group as one broker
// sees them (GET_CONSUMER_CONNECTION_LIST); an offline group is
// CONSUMER_NOT_ONLINE.
func (c *Client) ConsumerConnection(ctx context.Context, addr, group string) (*body.ConsumerConnection, error) {
	h := protocol.GetConsumerConnectionListRequestHeader{ConsumerGroup: group}
	resp, err := c.call(ctx, addr, protocol.GetConsumerConnectionList, &h, nil)
	if err != nil {
		return nil, err
	}
	cc := new(body.ConsumerConnection)
	return cc, decodeBody("consumer connection", addr, resp.Body, cc.Decode)
}

// TopicConsumers returns the groups consuming topic on one broker
// (QUERY_TOPIC_CONSUME_BY_WHO).
func (c *Client) TopicConsumers(ctx context.Context, addr, topic string) ([]string, error) {
	h := protocol.QueryTopicConsumeByWhoRequestHeader{Topic: topic}
	resp, err := c.call(ctx, addr, protocol.QueryTopicConsumeByWho, &h, nil)
	if err != nil {
		return nil, err
	}
	var gl body.GroupList
	return gl.GroupList, decodeBody("topic consumers", addr, resp.Body, gl.Decode)
}

// ConsumerQueues returns the queues one client of group is consuming, from
// its running info (GET_CONSUMER_RUNNING_INFO, forwarded by the broker to
// the client).
func (c *Client) ConsumerQueues(ctx context.Context, addr, group, clientID string) ([]body.MessageQueue, error) {
	h := protocol.GetConsumerRunningInfoRequestHeader{ConsumerGroup: group, ClientID: clientID}
	resp, err := c.call(ctx, addr, protocol.GetConsumerRunningInfo, &h, nil)
	if err != nil {
		return nil, err
	}
	v, err := fastjson.Parse(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: consumer running info of %s from %s: %w", clientID, addr, err)
	}
	table := v.Get("mqTable")
	if table.IsNull() || table.Kind != fastjson.KindObject {
		return nil, nil
	}
	var out []body.MessageQueue
	for i := range table.Members {
		if mq, ok := queueKey(&table.Members[i].Key); ok {
			out = append(out, mq)
		}
	}
	return out, nil
}

// QueryMessage runs a key or unique-key query on one broker
// (QUERY_MESSAGE) and decodes the records it returns. A broker with no hit
// answers QUERY_NOT_FOUND.
func (c *Client) QueryMessage(ctx context.Context, addr string, h protocol.QueryMessageRequestHeader) ([]*message.Message, error) {
	resp, err := c.call(ctx, addr, protocol.QueryMessage, &h, nil)
	if err != nil {
		return nil, err
	}
	if len(resp.Body) == 0 {
		return nil, nil
	}
	msgs, err := message.DecodeAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: query message reply from %s: %w", addr, err)
	}
	return msgs, nil
}

// ViewMessage reads the record stored at a commit-log offset on one broker
// (VIEW_MESSAGE_BY_ID).
func (c *Client) ViewMessage(ctx context.Context, addr, topic string, offset int64) (*message.Message, error) {
	resp, err := c.call(ctx, addr, protocol.ViewMessageByID, &protocol.ViewMessageRequestHeader{Topic: topic, Offset: offset}, nil)
	if err != nil {
		return nil, err
	}
	m, err := message.Decode(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: view message reply from %s: %w", addr, err)
	}
	return m, nil
}

// ResetOffset runs Bolide's logged reset on one broker
// (BOLIDE_RESET_OFFSET). A broker that does not know the code (an Apache
// RocketMQ broker) answers REQUEST_CODE_NOT_SUPPORTED.
func (c *Client) ResetOffset(ctx context.Context, addr string, h protocol.BolideResetOffsetRequestHeader) (*body.ResetOffsetResult, error) {
	resp, err := c.call(ctx, addr, protocol.BolideResetOffset, &h, nil)
	if err != nil {
		return nil, err
	}
	r := new(body.ResetOffsetResult)
	return r, decodeBody("reset offset", addr, resp.Body, r.Decode)
}

// InvokeResetOffset runs upstream's reset on one broker
// (INVOKE_BROKER_TO_RESET_OFFSET) and returns the new offsets.
func (c *Client) InvokeResetOffset(ctx context.Context, addr string, h protocol.ResetOffsetRequestHeader) (*body.ResetOffsetBody, error) {
	resp, err := c.call(ctx, addr, protocol.InvokeBrokerToResetOffset, &h, nil)
	if err != nil {
		return nil, err
	}
	rb := new(body.ResetOffsetBody)
	if len(resp.Body) == 0 {
		return rb, nil
	}
	return rb, decodeBody("reset offset", addr, resp.Body, rb.Decode)
}

// offsetCall sends a request whose reply carries "offset" in its header.
func (c *Client) offsetCall(ctx context.Context, addr string, code protocol.RequestCode, h any) (int64, error) {
	resp, err := c.call(ctx, addr, code, h, nil)
	if err != nil {
		return 0, err
	}
	var out protocol.OffsetResponseHeader
	if err := protocol.DecodeHeader(resp.ExtFields, &out); err != nil {
		return 0, fmt.Errorf("client: %v reply from %s: %w", code, addr, err)
	}
	return out.Offset, nil
}

// SearchOffset returns the first offset of a queue stored at or after
// timestamp (SEARCH_OFFSET_BY_TIMESTAMP, boundary LOWER).
func (c *Client) SearchOffset(ctx context.Context, addr, topic string, queueID int32, timestamp int64) (int64, error) {
	h := protocol.SearchOffsetRequestHeader{Topic: topic, QueueID: queueID, Timestamp: timestamp, BoundaryType: protocol.BoundaryLower}
	return c.offsetCall(ctx, addr, protocol.SearchOffsetByTimestamp, &h)
}

// MinOffset returns the smallest retained offset of a queue
// (GET_MIN_OFFSET).
func (c *Client) MinOffset(ctx context.Context, addr, topic string, queueID int32) (int64, error) {
	return c.offsetCall(ctx, addr, protocol.GetMinOffset, &protocol.GetMinOffsetRequestHeader{Topic: topic, QueueID: queueID})
}

// QueryConsumerOffset returns group's committed offset of a queue
// (QUERY_CONSUMER_OFFSET, without the young-queue zero rule); none is
// QUERY_NOT_FOUND.
func (c *Client) QueryConsumerOffset(ctx context.Context, addr, group, topic string, queueID int32) (int64, error) {
	no := false
	h := protocol.QueryConsumerOffsetRequestHeader{ConsumerGroup: group, Topic: topic, QueueID: queueID, SetZeroIfNotFound: &no}
	resp, err := c.call(ctx, addr, protocol.QueryConsumerOffset, &h, nil)
	if err != nil {
		return 0, err
	}
	var out protocol.QueryConsumerOffsetResponseHeader
	if err := protocol.DecodeHeader(resp.ExtFields, &out); err != nil {
		return 0, fmt.Errorf("client: consumer offset reply from %s: %w", addr, err)
	}
	return out.Offset, nil
}

// UpdateConsumerOffset commits group's offset of a queue
// (UPDATE_CONSUMER_OFFSET, answered).
func (c *Client) UpdateConsumerOffset(ctx context.Context, addr, group, topic string, queueID int32, offset int64) error {
	h := protocol.UpdateConsumerOffsetRequestHeader{ConsumerGroup: group, Topic: topic, QueueID: queueID, CommitOffset: offset}
	_, err := c.call(ctx, addr, protocol.UpdateConsumerOffset, &h, nil)
	return err
}

// BrokerRuntimeInfo returns a broker's runtime statistics
// (GET_BROKER_RUNTIME_INFO).
func (c *Client) BrokerRuntimeInfo(ctx context.Context, addr string) (map[string]string, error) {
	resp, err := c.call(ctx, addr, protocol.GetBrokerRuntimeInfo, nil, nil)
	if err != nil {
		return nil, err
	}
	var kv body.KVTable
	return kv.Table, decodeBody("runtime info", addr, resp.Body, kv.Decode)
}

// LMQList returns one page of a broker's LMQ registry
// (BOLIDE_GET_LMQ_LIST): names starting with prefix, after the name
// after, at most limit (<= 0: the broker's default).
func (c *Client) LMQList(ctx context.Context, addr, prefix, after string, limit int) (*body.LMQList, error) {
	h := protocol.GetLMQListRequestHeader{Prefix: prefix, After: after}
	if limit > 0 {
		l := int32(min(limit, protocol.MaxLMQListLimit))
		h.Limit = &l
	}
	resp, err := c.call(ctx, addr, protocol.BolideGetLMQList, &h, nil)
	if err != nil {
		return nil, err
	}
	l := new(body.LMQList)
	return l, decodeBody("LMQ list", addr, resp.Body, l.Decode)
}

// TopicList returns every topic the name servers know
// (GET_ALL_TOPIC_LIST_FROM_NAMESERVER).
func (c *Client) TopicList(ctx context.Context) ([]string, error) {
	resp, err := c.callNamesrv(ctx, protocol.GetAllTopicListFromNameServer, nil)
	if err != nil {
		return nil, err
	}
	var tl body.TopicList
	return tl.TopicList, decodeBody("topic list", "name server", resp.Body, tl.Decode)
}

// UpdateTopic creates or updates a topic on one broker from its full
// configuration (UPDATE_AND_CREATE_TOPIC).
func (c *Client) UpdateTopic(ctx context.Context, addr string, tc body.TopicConfig) error {
	h := protocol.CreateTopicRequestHeader{
		Topic:           tc.TopicName,
		DefaultTopic:    DefaultTopic,
		ReadQueueNums:   tc.ReadQueueNums,
		WriteQueueNums:  tc.WriteQueueNums,
		Perm:            tc.Perm,
		TopicFilterType: tc.TopicFilterType,
		TopicSysFlag:    &tc.TopicSysFlag,
		Order:           tc.Order,
		Attributes:      formatAttributes(tc.Attributes),
	}
	if h.TopicFilterType == "" {
		h.TopicFilterType = body.SingleTag
	}
	if _, err := c.call(ctx, addr, protocol.UpdateAndCreateTopic, &h, nil); err != nil {
		return err
	}
	c.InvalidateRoute(tc.TopicName)
	return nil
}

// formatAttributes writes attribute changes in the header's
// "+k=v,-k" form; m holds "+k" -> "v" and "-k" -> "" as Java's
// AttributeParser.parseToMap leaves them.
func formatAttributes(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	out := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if out != "" {
			out += ","
		}
		if v := m[k]; v != "" {
			out += k + "=" + v
		} else {
			out += k
		}
	}
	return out
}

// DeleteTopicInBroker deletes topic on one broker (DELETE_TOPIC_IN_BROKER).
func (c *Client) DeleteTopicInBroker(ctx context.Context, addr, topic string) error {
	_, err := c.call(ctx, addr, protocol.DeleteTopicInBroker, &protocol.DeleteTopicRequestHeader{Topic: topic}, nil)
	c.InvalidateRoute(topic)
	return err
}

// DeleteTopicInNamesrv deletes topic's route, for cluster's brokers only
// when cluster is not "", on one name server (DELETE_TOPIC_IN_NAMESRV).
func (c *Client) DeleteTopicInNamesrv(ctx context.Context, nsAddr, cluster, topic string) error {
	h := protocol.DeleteTopicFromNamesrvRequestHeader{Topic: topic, ClusterName: cluster}
	_, err := c.call(ctx, nsAddr, protocol.DeleteTopicInNamesrv, &h, nil)
	c.InvalidateRoute(topic)
	return err
}

// UpdateGroup creates or updates a subscription group on one broker
// (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP).
func (c *Client) UpdateGroup(ctx context.Context, addr string, cfg body.SubscriptionGroupConfig) error {
	_, err := c.call(ctx, addr, protocol.UpdateAndCreateSubscriptionGroup, nil, cfg.Encode())
	return err
}

// DeleteGroup deletes a subscription group on one broker, and its offsets
// when cleanOffset is set (DELETE_SUBSCRIPTIONGROUP).
func (c *Client) DeleteGroup(ctx context.Context, addr, group string, cleanOffset bool) error {
	h := protocol.DeleteSubscriptionGroupRequestHeader{GroupName: group, CleanOffset: cleanOffset}
	_, err := c.call(ctx, addr, protocol.DeleteSubscriptionGroup, &h, nil)
	return err
}
