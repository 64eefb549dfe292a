package protocol

import "strconv"

// Hand-written codecs of the pull headers, the hottest after the send
// ones: a consumer at the tail of its queues sends one pull per message or
// two. They follow DecodeHeader's and EncodeHeader's rules exactly; the
// tests compare them with the reflective codecs.

// pullKeys are PullMessageRequestHeader's ext keys in field order.
var pullKeys = [15]string{"consumerGroup", "topic", "queueId", "queueOffset", "maxMsgNums", "sysFlag",
	"commitOffset", "suspendTimeoutMillis", "subscription", "subVersion", "expressionType", "maxMsgBytes",
	"requestSource", "proxyFrowardClientId", "bname"}

// PullHeaderFields collects a pull request's ext fields one by one and
// decodes them as DecodeHeader decodes a map into a
// PullMessageRequestHeader, without the map or reflection. The zero value
// is ready; it lives on the caller's stack.
type PullHeaderFields struct {
	v [len(pullKeys)]string
}

// Set records one ext field; keys must be unique (a later Set of the same
// key overwrites, as in a map), and unknown keys are ignored.
func (f *PullHeaderFields) Set(key, value string) {
	if i := fieldIndex(key, pullKeys[:]); i >= 0 {
		f.v[i] = value
	}
}

// Decode returns the header, with DecodeHeader's errors.
func (f *PullHeaderFields) Decode() (PullMessageRequestHeader, error) {
	var h PullMessageRequestHeader
	k, v := &pullKeys, &f.v
	var err error
	if h.ConsumerGroup, err = valStr(v[0], k[0], true); err != nil {
		return PullMessageRequestHeader{}, err
	}
	if h.Topic, err = valStr(v[1], k[1], true); err != nil {
		return PullMessageRequestHeader{}, err
	}
	if err := valInt32(v[2], k[2], true, &h.QueueID); err != nil {
		return PullMessageRequestHeader{}, err
	}
	for _, c := range [...]struct {
		i        int
		required bool
		dst      *int64
		dst32    *int32
	}{
		{3, true, &h.QueueOffset, nil}, {4, false, nil, &h.MaxMsgNums}, {5, false, nil, &h.SysFlag},
		{6, false, &h.CommitOffset, nil}, {7, false, &h.SuspendTimeoutMillis, nil},
	} {
		if c.dst32 != nil {
			if err := valInt32(v[c.i], k[c.i], c.required, c.dst32); err != nil {
				return PullMessageRequestHeader{}, err
			}
			continue
		}
		n, ok, err := valInt(v[c.i], k[c.i], 64, c.required)
		if err != nil {
			return PullMessageRequestHeader{}, err
		}
		if ok {
			*c.dst = n
		}
	}
	h.Subscription = v[8]
	n, ok, err := valInt(v[9], k[9], 64, false)
	if err != nil {
		return PullMessageRequestHeader{}, err
	}
	if ok {
		h.SubVersion = n
	}
	h.ExpressionType = v[10]
	if err := valInt32Ptr(v[11], k[11], &h.MaxMsgBytes); err != nil {
		return PullMessageRequestHeader{}, err
	}
	if err := valInt32Ptr(v[12], k[12], &h.RequestSource); err != nil {
		return PullMessageRequestHeader{}, err
	}
	h.ProxyForwardClientID = v[13]
	h.BrokerName = v[14]
	return h, nil
}

// fieldInt gives fn the ext field k holding n, written as EncodeHeader
// writes numbers; fieldStr gives it k holding v unless v is empty, which
// EncodeHeader leaves out. The hand-written EachField encoders use both.
func fieldInt(fn func(k, v string), k string, n int64) { fn(k, strconv.FormatInt(n, 10)) }

func fieldStr(fn func(k, v string), k, v string) {
	if v != "" {
		fn(k, v)
	}
}

// fieldIndex is the index of key in keys, or -1.
func fieldIndex(key string, keys []string) int {
	for i, name := range keys {
		if name == key {
			return i
		}
	}
	return -1
}

// EachField calls fn with every ext field EncodeHeader would produce for
// h, in byte order of the keys, without building a map.
func (h *PullMessageResponseHeader) EachField(fn func(k, v string)) {
	if h.ForbiddenType != nil {
		fieldInt(fn, "forbiddenType", int64(*h.ForbiddenType))
	}
	if h.GroupSysFlag != nil {
		fieldInt(fn, "groupSysFlag", int64(*h.GroupSysFlag))
	}
	fieldInt(fn, "maxOffset", h.MaxOffset)
	fieldInt(fn, "minOffset", h.MinOffset)
	fieldInt(fn, "nextBeginOffset", h.NextBeginOffset)
	if h.OffsetDelta != nil {
		fieldInt(fn, "offsetDelta", *h.OffsetDelta)
	}
	fieldInt(fn, "suggestWhichBrokerId", h.SuggestWhichBrokerID)
	if h.TopicSysFlag != nil {
		fieldInt(fn, "topicSysFlag", int64(*h.TopicSysFlag))
	}
}

// EachField calls fn with every ext field EncodeHeader would produce for
// h, in byte order of the keys, without building a map: the request a
// consumer sends once per message or two at the tail of its queues.
func (h *PullMessageRequestHeader) EachField(fn func(k, v string)) {
	fieldStr(fn, "bname", h.BrokerName)
	fieldInt(fn, "commitOffset", h.CommitOffset)
	fieldStr(fn, "consumerGroup", h.ConsumerGroup)
	fieldStr(fn, "expressionType", h.ExpressionType)
	if h.MaxMsgBytes != nil {
		fieldInt(fn, "maxMsgBytes", int64(*h.MaxMsgBytes))
	}
	fieldInt(fn, "maxMsgNums", int64(h.MaxMsgNums))
	fieldStr(fn, "proxyFrowardClientId", h.ProxyForwardClientID)
	fieldInt(fn, "queueId", int64(h.QueueID))
	fieldInt(fn, "queueOffset", h.QueueOffset)
	if h.RequestSource != nil {
		fieldInt(fn, "requestSource", int64(*h.RequestSource))
	}
	fieldInt(fn, "subVersion", h.SubVersion)
	fieldStr(fn, "subscription", h.Subscription)
	fieldInt(fn, "suspendTimeoutMillis", h.SuspendTimeoutMillis)
	fieldInt(fn, "sysFlag", int64(h.SysFlag))
	fieldStr(fn, "topic", h.Topic)
}
