package body

import (
	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// TopicList is the reply of GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
// GET_TOPICS_BY_CLUSTER, GET_SYSTEM_TOPIC_LIST_FROM_NS and
// QUERY_TOPICS_BY_CONSUMER. TopicList stands for a Java set: the caller's
// order is kept.
type TopicList struct {
	TopicList  []string
	BrokerAddr string // only set by GET_SYSTEM_TOPIC_LIST_FROM_NS
}

func (tl *TopicList) write(w *fastjson.Writer) {
	w.BeginObject()
	keyString(w, "brokerAddr", tl.BrokerAddr)
	w.Key("topicList")
	w.Strings(tl.TopicList)
	w.EndObject()
}

// Encode returns the fastjson text.
func (tl *TopicList) Encode() []byte { return encode(tl.write) }

// Decode replaces tl with the list in data.
func (tl *TopicList) Decode(data []byte) error {
	*tl = TopicList{}
	return parse(data, "TopicList", func(d *decoder, v *fastjson.Value) {
		if o := d.object(v, "$"); o != nil {
			tl.BrokerAddr = d.str(o, "brokerAddr")
			tl.TopicList = d.strings(o, "topicList")
		}
	})
}

// KVTable is a string map body: GET_KVLIST_BY_NAMESPACE,
// GET_BROKER_RUNTIME_INFO, the REGISTER_BROKER reply.
type KVTable struct {
	Table map[string]string
}

// Encode returns the fastjson text, keys sorted.
func (kv *KVTable) Encode() []byte {
	return encode(func(w *fastjson.Writer) {
		w.BeginObject()
		w.Key("table")
		writeStringMap(w, kv.Table)
		w.EndObject()
	})
}

// Decode replaces kv with the table in data.
func (kv *KVTable) Decode(data []byte) error {
	*kv = KVTable{}
	return parse(data, "KVTable", func(d *decoder, v *fastjson.Value) {
		if o := d.object(v, "$"); o != nil {
			kv.Table = d.stringMap(o, "table")
		}
	})
}

// GroupList is the QUERY_TOPIC_CONSUME_BY_WHO reply (a Java set of groups).
type GroupList struct {
	GroupList []string
}

// Encode returns the fastjson text.
func (gl *GroupList) Encode() []byte {
	return encode(func(w *fastjson.Writer) {
		w.BeginObject()
		w.Key("groupList")
		w.Strings(gl.GroupList)
		w.EndObject()
	})
}

// Decode replaces gl with the list in data.
func (gl *GroupList) Decode(data []byte) error {
	*gl = GroupList{}
	return parse(data, "GroupList", func(d *decoder, v *fastjson.Value) {
		if o := d.object(v, "$"); o != nil {
			gl.GroupList = d.strings(o, "groupList")
		}
	})
}

// GetConsumerListByGroupResponseBody is the GET_CONSUMER_LIST_BY_GROUP
// reply. Go clients read it with gjson and must find their own client id in
// it.
type GetConsumerListByGroupResponseBody struct {
	ConsumerIDList []string
}

// Encode returns the fastjson text.
func (b *GetConsumerListByGroupResponseBody) Encode() []byte {
	return encode(func(w *fastjson.Writer) {
		w.BeginObject()
		w.Key("consumerIdList")
		w.Strings(b.ConsumerIDList)
		w.EndObject()
	})
}

// Decode replaces b with the list in data.
func (b *GetConsumerListByGroupResponseBody) Decode(data []byte) error {
	*b = GetConsumerListByGroupResponseBody{}
	return parse(data, "GetConsumerListByGroupResponseBody", func(d *decoder, v *fastjson.Value) {
		if o := d.object(v, "$"); o != nil {
			b.ConsumerIDList = d.strings(o, "consumerIdList")
		}
	})
}
