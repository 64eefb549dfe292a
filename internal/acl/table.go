package acl

import (
	"encoding/json"
	"strings"

	"github.com/bolidemq/bolide/internal/protocol"
)

// Requirement is one permission a request needs: any one of Actions on
// Resource. A request needs all of its requirements.
type Requirement struct {
	Resource Resource
	Actions  Action
}

// rule derives a request's requirements from its ext fields and body. The
// cluster is the serving broker's cluster name.
type rule func(ext map[string]string, body []byte, cluster string) []Requirement

// authOnly marks codes every authenticated user may send: client
// bookkeeping that touches no data a policy guards (upstream lets them
// through too; what a consumer then reads is checked on PULL).
func authOnly(map[string]string, []byte, string) []Requirement { return nil }

// Retry and dead-letter topics belong to a group: upstream checks the
// group, not the topic, for them.
const (
	retryPrefix = "%RETRY%"
	dlqPrefix   = "%DLQ%"
)

// topicRes is the resource a topic name stands for.
func topicRes(name string) Resource {
	for _, p := range []string{retryPrefix, dlqPrefix} {
		if g, ok := strings.CutPrefix(name, p); ok {
			return Resource{Group, g}
		}
	}
	return Resource{Topic, name}
}

func topic(field string, a Action) rule {
	return func(ext map[string]string, _ []byte, _ string) []Requirement {
		r := topicRes(ext[field])
		if r.Type == Group && a&Pub != 0 {
			// A consumer sends failed messages back to its retry topic:
			// upstream asks Sub on the group for that, not Pub.
			a = a&^Pub | Sub
		}
		return []Requirement{{r, a}}
	}
}

func group(field string, a Action) rule {
	return func(ext map[string]string, _ []byte, _ string) []Requirement {
		return []Requirement{{Resource{Group, ext[field]}, a}}
	}
}

func cluster(a Action) rule {
	return func(_ map[string]string, _ []byte, c string) []Requirement {
		return []Requirement{{Resource{Cluster, c}, a}}
	}
}

// all joins rules: the request needs every requirement of each.
func all(rs ...rule) rule {
	return func(ext map[string]string, body []byte, c string) []Requirement {
		var out []Requirement
		for _, r := range rs {
			out = append(out, r(ext, body, c)...)
		}
		return out
	}
}

// optional applies r only when ext has field; without it, fallback.
func optional(field string, r, fallback rule) rule {
	return func(ext map[string]string, body []byte, c string) []Requirement {
		if ext[field] != "" {
			return r(ext, body, c)
		}
		if fallback == nil {
			return nil
		}
		return fallback(ext, body, c)
	}
}

// consumeStats needs Get on the group and on each topic asked for
// (topic, or the comma-separated topicList).
func consumeStats(ext map[string]string, _ []byte, _ string) []Requirement {
	out := []Requirement{{Resource{Group, ext["consumerGroup"]}, Get}}
	if t := ext["topic"]; t != "" {
		out = append(out, Requirement{topicRes(t), Get})
	}
	for _, t := range strings.Split(ext["topicList"], ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, Requirement{topicRes(t), Get})
		}
	}
	return out
}

// lockGroup reads the consumerGroup of a LOCK_BATCH_MQ / UNLOCK_BATCH_MQ
// body: locking queues is part of consuming as that group.
func lockGroup(_ map[string]string, body []byte, _ string) []Requirement {
	var req struct {
		ConsumerGroup string `json:"consumerGroup"`
	}
	_ = json.Unmarshal(body, &req) // a bad body names group "" and the processor rejects it
	return []Requirement{{Resource{Group, req.ConsumerGroup}, Sub}}
}

// groupFromBody reads the groupName of a SubscriptionGroupConfig body.
func groupFromBody(a Action) rule {
	return func(_ map[string]string, body []byte, _ string) []Requirement {
		var cfg struct {
			GroupName string `json:"groupName"`
		}
		_ = json.Unmarshal(body, &cfg) // a bad body names group "" and the processor rejects it
		return []Requirement{{Resource{Group, cfg.GroupName}, a}}
	}
}

// table maps each request code the broker serves to what it needs; a code
// missing here is for super users only. Sources: reference
// reliability-security-users.md 2.3 (upstream's @RocketMQAction
// annotations and DefaultAuthorizationContextBuilder) and remoting-protocol
// 6.2 (ACL 1.0's per-code checks). "A|B" means either action suffices.
var table = map[protocol.RequestCode]rule{
	// Produce.
	protocol.SendMessage:         all(topic("topic", Pub)),
	protocol.SendMessageV2:       all(topic("b", Pub)),
	protocol.SendBatchMessage:    all(topic("b", Pub)),
	protocol.ConsumerSendMsgBack: group("group", Sub),
	// The official clients send no topic with END_TRANSACTION; the broker
	// then requires the request's producerGroup to be the half message's.
	protocol.EndTransaction: optional("topic", topic("topic", Pub), authOnly),

	// Consume.
	protocol.PullMessage:             all(topic("topic", Sub), group("consumerGroup", Sub)),
	protocol.LitePullMessage:         all(topic("topic", Sub), group("consumerGroup", Sub)),
	protocol.QueryConsumerOffset:     all(topic("topic", Sub|Get), group("consumerGroup", Sub|Get)),
	protocol.UpdateConsumerOffset:    all(topic("topic", Sub|Update), group("consumerGroup", Sub|Update)),
	protocol.GetConsumerListByGroup:  group("consumerGroup", Sub|Get),
	protocol.GetMaxOffset:            topic("topic", Sub|Get),
	protocol.GetMinOffset:            topic("topic", Sub|Get),
	protocol.GetEarliestMsgStoreTime: topic("topic", Sub|Get),
	protocol.SearchOffsetByTimestamp: topic("topic", Sub|Get),
	protocol.HeartBeat:               authOnly,
	protocol.LockBatchMQ:             lockGroup,
	protocol.UnlockBatchMQ:           lockGroup,
	protocol.UnregisterClient:        authOnly,

	// The six operational commands.
	protocol.GetTopicStatsInfo:         topic("topic", Get),
	protocol.GetConsumeStats:           consumeStats,
	protocol.GetConsumerConnectionList: group("consumerGroup", Get),
	protocol.GetProducerConnectionList: group("producerGroup", Get),
	protocol.QueryTopicConsumeByWho:    topic("topic", Get),
	protocol.GetConsumerRunningInfo:    group("consumerGroup", Get),
	protocol.QueryMessage:              all(topic("topic", Sub), topic("topic", Get)), // both, as upstream
	protocol.ViewMessageByID:           optional("topic", topic("topic", Get), cluster(Get)),
	protocol.InvokeBrokerToResetOffset: all(topic("topic", Update), group("group", Update)),
	protocol.BolideResetOffset:         optional("undo", cluster(Update), all(topic("topic", Update), group("group", Update))),
	protocol.BolideGetLagAdvice: func(ext map[string]string, body []byte, c string) []Requirement {
		r := all(optional("consumerGroup", group("consumerGroup", Get), nil), optional("topic", topic("topic", Get), nil))(ext, body, c)
		if len(r) == 0 {
			return cluster(Get)(ext, body, c)
		}
		return r
	},
	protocol.BolideGetLMQList: cluster(List),

	// Metadata administration.
	protocol.UpdateAndCreateTopic:             topic("topic", Create|Update),
	protocol.DeleteTopicInBroker:              topic("topic", Delete),
	protocol.GetTopicConfig:                   topic("topic", Get),
	protocol.GetAllTopicConfig:                cluster(List),
	protocol.UpdateAndCreateSubscriptionGroup: groupFromBody(Create | Update),
	protocol.DeleteSubscriptionGroup:          group("groupName", Delete),
	protocol.GetSubscriptionGroupConfig:       group("group", Get),
	protocol.GetAllSubscriptionGroupConfig:    cluster(List),
	protocol.GetAllConsumerOffset:             cluster(List),
	protocol.GetBrokerRuntimeInfo:             cluster(Get),
}

// Requirements returns what a request with code, ext and body needs on a
// broker of the given cluster; mapped is false for codes only super users
// may send.
func Requirements(code protocol.RequestCode, ext map[string]string, body []byte, cluster string) (reqs []Requirement, mapped bool) {
	r, ok := table[code]
	if !ok {
		return nil, false
	}
	return r(ext, body, cluster), true
}
