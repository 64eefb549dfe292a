package mqadmincheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Check is one mqadmin invocation and the answer it must give.
type Check struct {
	Name string // what it checks, e.g. "topicStatus LMQ by parent topic"
	Kind Kind
	Args []string // command name first, -n included
	Want []string // canonical answer (see Parse), sorted
	// NotFoundOK lets Bolide's mqadmin answer "not found" (exit 3)
	// instead of Want: its contract says so for an LMQ that exists nowhere
	// asked, where upstream prints rows of zeros.
	NotFoundOK bool
}

// BolideNotFound reports whether r is Bolide's mqadmin answering "not
// found" where c allows it.
func (c Check) BolideNotFound(r Result) bool { return c.NotFoundOK && r.Status == "exit 3" }

// Plan returns the checks of the six commands on the fixture, for a tool
// that may reset group (one of Fixture.Groups): read-only commands first,
// then the resets, then consumerProgress again to see them applied.
//
// LMQ invocations pass -c as Java 5.3.3 requires: the parent topic (the
// cluster name for one topicStatus, where only brokers matter).
func (f *Fixture) Plan(group string) []Check {
	topic, lmqA, lmqB := f.Topic, f.LMQs[0], f.LMQs[1]
	uniqMsg := f.pick(func(m Sent) bool {
		return m.LMQs == nil && m.Broker == f.Brokers[len(f.Brokers)-1].Name && m.Phase == 2
	})
	idMsg := f.pick(func(m Sent) bool { return m.LMQs == nil && m.Broker == f.Brokers[0].Name && m.Phase == 1 })
	lmqMsg := f.pick(func(m Sent) bool { return len(m.LMQs) == 2 })
	cmd := func(name string, args ...string) []string {
		return append([]string{name, "-n", f.Namesrv}, args...)
	}
	committed := func(q Queue) int64 { return f.Committed[q] }
	reset := func(q Queue) int64 { return int64(f.Count(q, 1)) }
	return []Check{
		ck("topicStatus topic", TopicStatus, cmd("topicStatus", "-t", topic), f.wantStatus(topic)),
		ck("topicStatus LMQ by parent topic", TopicStatus, cmd("topicStatus", "-t", lmqA, "-c", topic), f.wantStatus(lmqA)),
		ck("topicStatus LMQ by cluster (absent on some brokers)", TopicStatus, cmd("topicStatus", "-t", lmqB, "-c", f.Cluster), f.wantStatus(lmqB)),
		ck("topicStatus LMQ never written", TopicStatus, cmd("topicStatus", "-t", f.AbsentLMQ, "-c", f.Cluster), f.wantStatus(f.AbsentLMQ)).allowNotFound(),
		ck("consumerProgress topic", ConsumerProgress, cmd("consumerProgress", "-g", group, "-t", topic), f.wantProgress(topic, committed)),
		ck("consumerProgress LMQ", ConsumerProgress, cmd("consumerProgress", "-g", group, "-t", lmqA, "-c", topic), f.wantProgress(lmqA, committed)),
		ck("queryMsgByKey topic", KeyQuery, cmd("queryMsgByKey", "-t", topic, "-k", f.SharedKey), f.wantKey(f.SharedKey)),
		ck("queryMsgByKey LMQ", KeyQuery, cmd("queryMsgByKey", "-t", lmqA, "-k", f.LMQKey, "-c", topic), f.wantKey(f.LMQKey)),
		ck("queryMsgByUniqueKey topic", UniqueKeyQuery, cmd("queryMsgByUniqueKey", "-t", topic, "-i", uniqMsg.UniqKey), f.wantMessage(UniqueKeyQuery, uniqMsg)),
		ck("queryMsgByUniqueKey LMQ", UniqueKeyQuery, cmd("queryMsgByUniqueKey", "-t", lmqA, "-i", lmqMsg.UniqKey, "-c", topic), f.wantMessage(UniqueKeyQuery, lmqMsg)),
		ck("queryMsgById offset id", MessageByID, cmd("queryMsgById", "-t", topic, "-i", idMsg.OffsetID), f.wantMessage(MessageByID, idMsg)),
		ck("queryMsgById unique key", MessageByID, cmd("queryMsgById", "-t", topic, "-i", uniqMsg.UniqKey), f.wantMessage(MessageByID, uniqMsg)),
		ck("queryMsgById LMQ", MessageByID, cmd("queryMsgById", "-t", lmqA, "-i", lmqMsg.UniqKey, "-c", topic), f.wantMessage(MessageByID, lmqMsg)),
		ck("resetOffsetByTime topic", ResetOffset, cmd("resetOffsetByTime", "-g", group, "-t", topic, "-s", strconv.FormatInt(f.ResetTimestamp, 10)), f.wantReset(topic)),
		ck("resetOffsetByTime LMQ", ResetOffset, cmd("resetOffsetByTime", "-g", group, "-t", lmqA, "-s", strconv.FormatInt(f.ResetTimestamp, 10), "-c", topic), f.wantReset(lmqA)),
		ck("consumerProgress topic after reset", ConsumerProgress, cmd("consumerProgress", "-g", group, "-t", topic), f.wantProgress(topic, reset)),
		ck("consumerProgress LMQ after reset", ConsumerProgress, cmd("consumerProgress", "-g", group, "-t", lmqA, "-c", topic), f.wantProgress(lmqA, reset)),
	}
}

func ck(name string, kind Kind, args, want []string) Check {
	return Check{Name: name, Kind: kind, Args: args, Want: want}
}

func (c Check) allowNotFound() Check {
	c.NotFoundOK = true
	return c
}

// Invocations returns the Args of checks.
func Invocations(checks []Check) [][]string {
	out := make([][]string, len(checks))
	for i, c := range checks {
		out[i] = c.Args
	}
	return out
}

func (f *Fixture) pick(match func(Sent) bool) Sent {
	for _, m := range f.Sent {
		if match(m) {
			return m
		}
	}
	panic("mqadmincheck: the fixture has no such message")
}

// queues lists the queues of topic (or an LMQ) on every broker.
func (f *Fixture) queues(topic string) []Queue {
	n := int32(QueueCount)
	if topic != f.Topic {
		n = 1
	}
	var out []Queue
	for _, b := range f.Brokers {
		for q := range n {
			out = append(out, Queue{topic, b.Name, q})
		}
	}
	return out
}

// wantStatus: every queue from 0 to its message count; an LMQ a broker
// never saw reads 0 0 there (an Apache RocketMQ 5.3.3 broker answers so,
// creating the LMQ's queue empty on the spot).
func (f *Fixture) wantStatus(topic string) []string {
	var out []string
	for _, q := range f.queues(topic) {
		out = append(out, fmt.Sprintf("%s q%d min=0 max=%d", q.Broker, q.QueueID, f.Count(q, 0)))
	}
	slices.Sort(out)
	return out
}

// wantProgress: the broker offset is the message count, the consumer
// offset what consumer says (0 when none is committed), nothing in flight
// (no consumer ever pulled).
func (f *Fixture) wantProgress(topic string, consumer func(Queue) int64) []string {
	var out []string
	for _, q := range f.queues(topic) {
		n, c := int64(f.Count(q, 0)), consumer(q)
		out = append(out, fmt.Sprintf("%s %s q%d broker=%d consumer=%d diff=%d inflight=0", topic, q.Broker, q.QueueID, n, c, n-c))
	}
	slices.Sort(out)
	return out
}

// wantReset: the first offset stored at or after the reset timestamp, that
// is the number of phase-1 messages.
func (f *Fixture) wantReset(topic string) []string {
	var out []string
	for _, q := range f.queues(topic) {
		out = append(out, fmt.Sprintf("%s q%d offset=%d", q.Broker, q.QueueID, f.Count(q, 1)))
	}
	slices.Sort(out)
	return out
}

// wantKey: every message holding key, by its parent queue and offset.
func (f *Fixture) wantKey(key string) []string {
	var out []string
	for _, m := range f.Sent {
		if slices.Contains(strings.Fields(m.Keys), key) {
			out = append(out, fmt.Sprintf("%s q%d offset=%d", m.UniqKey, m.QueueID, m.QueueOffset))
		}
	}
	slices.Sort(out)
	return out
}

// wantMessage: the message as stored in its parent topic.
func (f *Fixture) wantMessage(kind Kind, m Sent) []string {
	l := fmt.Sprintf("topic=%s q%d offset=%d phy=%d uniq=%s keys=%s tags=%s",
		f.Topic, m.QueueID, m.QueueOffset, m.Phy, m.UniqKey, m.Keys, m.Tags)
	if m.LMQs != nil {
		offs := make([]string, len(m.LMQOffsets))
		for i, o := range m.LMQOffsets {
			offs[i] = strconv.FormatInt(o, 10)
		}
		l += fmt.Sprintf(" lmq=%s@%s", strings.Join(m.LMQs, ","), strings.Join(offs, ","))
	}
	if kind == MessageByID {
		l += " id=" + m.OffsetID
	}
	return []string{l}
}
