package body

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// Enum vocabularies used by client bodies (written by name).
const (
	ConsumeActively  = "CONSUME_ACTIVELY"  // pull consumer
	ConsumePassively = "CONSUME_PASSIVELY" // push consumer
	ConsumePop       = "CONSUME_POP"

	Broadcasting = "BROADCASTING"
	Clustering   = "CLUSTERING"

	ConsumeFromLastOffset  = "CONSUME_FROM_LAST_OFFSET"
	ConsumeFromFirstOffset = "CONSUME_FROM_FIRST_OFFSET"
	ConsumeFromTimestamp   = "CONSUME_FROM_TIMESTAMP"

	ExpressionTag   = "TAG"
	ExpressionSQL92 = "SQL92"
)

// SubscriptionData is one topic subscription of a consumer group.
type SubscriptionData struct {
	ClassFilterMode bool
	Topic           string
	SubString       string   // the expression: "*", "TagA || TagB", or SQL92
	TagsSet         []string // a Java set
	CodeSet         []int32  // Java String.hashCode of each tag; a Java set
	// SubVersion is a millisecond timestamp from Java clients and a
	// nanosecond one from rocketmq-client-go.
	SubVersion     int64
	ExpressionType string // ExpressionTag or ExpressionSQL92
}

func (sd *SubscriptionData) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("classFilterMode")
	w.Bool(sd.ClassFilterMode)
	w.Key("codeSet")
	w.BeginArray()
	for _, c := range sd.CodeSet {
		w.Int(int64(c))
	}
	w.EndArray()
	keyString(w, "expressionType", sd.ExpressionType)
	keyString(w, "subString", sd.SubString)
	w.Key("subVersion")
	w.Int(sd.SubVersion)
	w.Key("tagsSet")
	w.Strings(sd.TagsSet)
	keyString(w, "topic", sd.Topic)
	w.EndObject()
}

func (sd *SubscriptionData) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	sd.ClassFilterMode = d.boolean(o, "classFilterMode")
	sd.CodeSet = d.int32s(o, "codeSet")
	sd.ExpressionType = d.str(o, "expressionType")
	sd.SubString = d.str(o, "subString")
	sd.SubVersion = d.i64(o, "subVersion")
	sd.TagsSet = d.strings(o, "tagsSet")
	sd.Topic = d.str(o, "topic")
}

// ProducerData is a producer group entry of HeartbeatData.
type ProducerData struct {
	GroupName string
}

// ConsumerData is a consumer group entry of HeartbeatData.
type ConsumerData struct {
	GroupName           string
	ConsumeType         string // ConsumeActively, ConsumePassively, ConsumePop
	MessageModel        string // Clustering or Broadcasting
	ConsumeFromWhere    string
	SubscriptionDataSet []SubscriptionData
	UnitMode            bool
}

func (cd *ConsumerData) write(w *fastjson.Writer) {
	w.BeginObject()
	keyString(w, "consumeFromWhere", cd.ConsumeFromWhere)
	keyString(w, "consumeType", cd.ConsumeType)
	keyString(w, "groupName", cd.GroupName)
	keyString(w, "messageModel", cd.MessageModel)
	w.Key("subscriptionDataSet")
	w.BeginArray()
	for i := range cd.SubscriptionDataSet {
		cd.SubscriptionDataSet[i].write(w)
	}
	w.EndArray()
	w.Key("unitMode")
	w.Bool(cd.UnitMode)
	w.EndObject()
}

func (cd *ConsumerData) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	cd.ConsumeFromWhere = d.str(o, "consumeFromWhere")
	cd.ConsumeType = d.str(o, "consumeType")
	cd.GroupName = d.str(o, "groupName")
	cd.MessageModel = d.str(o, "messageModel")
	items := d.array(o.Get("subscriptionDataSet"), path+".subscriptionDataSet")
	if len(items) > 0 {
		cd.SubscriptionDataSet = make([]SubscriptionData, len(items))
		for i := range items {
			cd.SubscriptionDataSet[i].read(d, &items[i], fmt.Sprintf("%s.subscriptionDataSet[%d]", path, i))
		}
	}
	cd.UnitMode = d.boolean(o, "unitMode")
}

// HeartbeatData is the HEART_BEAT body a client sends to every broker.
type HeartbeatData struct {
	ClientID             string // JSON key "clientID"
	ProducerDataSet      []ProducerData
	ConsumerDataSet      []ConsumerData
	HeartbeatFingerprint int32 // 0 = full heartbeat (v1)
	WithoutSub           bool
}

func (hb *HeartbeatData) write(w *fastjson.Writer) {
	w.BeginObject()
	keyString(w, "clientID", hb.ClientID)
	w.Key("consumerDataSet")
	w.BeginArray()
	for i := range hb.ConsumerDataSet {
		hb.ConsumerDataSet[i].write(w)
	}
	w.EndArray()
	w.Key("heartbeatFingerprint")
	w.Int(int64(hb.HeartbeatFingerprint))
	w.Key("producerDataSet")
	w.BeginArray()
	for _, p := range hb.ProducerDataSet {
		w.BeginObject()
		keyString(w, "groupName", p.GroupName)
		w.EndObject()
	}
	w.EndArray()
	w.Key("withoutSub")
	w.Bool(hb.WithoutSub)
	w.EndObject()
}

// Encode returns the fastjson text Java clients send.
func (hb *HeartbeatData) Encode() []byte { return encode(hb.write) }

// Decode replaces hb with the heartbeat in data, as sent by Java clients or
// by rocketmq-client-go (codeSet as strings, nanosecond subVersion, no
// heartbeatFingerprint).
func (hb *HeartbeatData) Decode(data []byte) error {
	*hb = HeartbeatData{}
	return parse(data, "HeartbeatData", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		hb.ClientID = d.str(o, "clientID")
		items := d.array(o.Get("consumerDataSet"), "consumerDataSet")
		if len(items) > 0 {
			hb.ConsumerDataSet = make([]ConsumerData, len(items))
			for i := range items {
				hb.ConsumerDataSet[i].read(d, &items[i], fmt.Sprintf("consumerDataSet[%d]", i))
			}
		}
		hb.HeartbeatFingerprint = d.i32(o, "heartbeatFingerprint")
		items = d.array(o.Get("producerDataSet"), "producerDataSet")
		if len(items) > 0 {
			hb.ProducerDataSet = make([]ProducerData, len(items))
			for i := range items {
				if p := d.object(&items[i], fmt.Sprintf("producerDataSet[%d]", i)); p != nil {
					hb.ProducerDataSet[i].GroupName = d.str(p, "groupName")
				}
			}
		}
		hb.WithoutSub = d.boolean(o, "withoutSub")
	})
}

// Connection describes one client connection in connection lists.
type Connection struct {
	ClientID   string // JSON key "clientId"
	ClientAddr string
	Language   string // LanguageCode name, e.g. "JAVA", "GO"
	Version    int32  // client's MQVersion ordinal
}

func (c *Connection) write(w *fastjson.Writer) {
	w.BeginObject()
	keyString(w, "clientAddr", c.ClientAddr)
	keyString(w, "clientId", c.ClientID)
	keyString(w, "language", c.Language)
	w.Key("version")
	w.Int(int64(c.Version))
	w.EndObject()
}

func (c *Connection) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	c.ClientAddr = d.str(o, "clientAddr")
	c.ClientID = d.str(o, "clientId")
	c.Language = d.str(o, "language")
	c.Version = d.i32(o, "version")
}

func writeConnections(w *fastjson.Writer, cs []Connection) {
	w.BeginArray()
	for i := range cs {
		cs[i].write(w)
	}
	w.EndArray()
}

func readConnections(d *decoder, o *fastjson.Value) []Connection {
	items := d.array(o.Get("connectionSet"), "connectionSet")
	if len(items) == 0 {
		return nil
	}
	out := make([]Connection, len(items))
	for i := range items {
		out[i].read(d, &items[i], fmt.Sprintf("connectionSet[%d]", i))
	}
	return out
}

// ConsumerConnection is the GET_CONSUMER_CONNECTION_LIST reply.
type ConsumerConnection struct {
	ConnectionSet     []Connection
	SubscriptionTable map[string]SubscriptionData // topic -> subscription
	ConsumeType       string
	MessageModel      string
	ConsumeFromWhere  string
}

func (cc *ConsumerConnection) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("connectionSet")
	writeConnections(w, cc.ConnectionSet)
	keyString(w, "consumeFromWhere", cc.ConsumeFromWhere)
	keyString(w, "consumeType", cc.ConsumeType)
	keyString(w, "messageModel", cc.MessageModel)
	w.Key("subscriptionTable")
	w.BeginObject()
	for _, topic := range sortedKeys(cc.SubscriptionTable) {
		sd := cc.SubscriptionTable[topic]
		w.Key(topic)
		sd.write(w)
	}
	w.EndObject()
	w.EndObject()
}

// Encode returns the fastjson text.
func (cc *ConsumerConnection) Encode() []byte { return encode(cc.write) }

// Decode replaces cc with the connection list in data.
func (cc *ConsumerConnection) Decode(data []byte) error {
	*cc = ConsumerConnection{}
	return parse(data, "ConsumerConnection", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		cc.ConnectionSet = readConnections(d, o)
		cc.ConsumeFromWhere = d.str(o, "consumeFromWhere")
		cc.ConsumeType = d.str(o, "consumeType")
		cc.MessageModel = d.str(o, "messageModel")
		cc.SubscriptionTable = readMap(d, o, "subscriptionTable", func(k string, v *fastjson.Value) (sd SubscriptionData) {
			sd.read(d, v, "subscriptionTable."+k)
			return sd
		})
	})
}

// ProducerConnection is the GET_PRODUCER_CONNECTION_LIST reply.
type ProducerConnection struct {
	ConnectionSet []Connection
}

// Encode returns the fastjson text.
func (pc *ProducerConnection) Encode() []byte {
	return encode(func(w *fastjson.Writer) {
		w.BeginObject()
		w.Key("connectionSet")
		writeConnections(w, pc.ConnectionSet)
		w.EndObject()
	})
}

// Decode replaces pc with the connection list in data.
func (pc *ProducerConnection) Decode(data []byte) error {
	*pc = ProducerConnection{}
	return parse(data, "ProducerConnection", func(d *decoder, v *fastjson.Value) {
		if o := d.object(v, "$"); o != nil {
			pc.ConnectionSet = readConnections(d, o)
		}
	})
}

// LockBatchRequestBody is the LOCK_BATCH_MQ (and UNLOCK_BATCH_MQ) body sent
// by orderly consumers.
type LockBatchRequestBody struct {
	ConsumerGroup  string
	ClientID       string // JSON key "clientId"
	OnlyThisBroker bool
	MQSet          []MessageQueue // a Java set
}

// UnlockBatchRequestBody has the same JSON shape as LockBatchRequestBody.
type UnlockBatchRequestBody = LockBatchRequestBody

// Encode returns the fastjson text.
func (lb *LockBatchRequestBody) Encode() []byte {
	return encode(func(w *fastjson.Writer) {
		w.BeginObject()
		keyString(w, "clientId", lb.ClientID)
		keyString(w, "consumerGroup", lb.ConsumerGroup)
		w.Key("mqSet")
		writeQueues(w, lb.MQSet)
		w.Key("onlyThisBroker")
		w.Bool(lb.OnlyThisBroker)
		w.EndObject()
	})
}

// Decode replaces lb with the request in data.
func (lb *LockBatchRequestBody) Decode(data []byte) error {
	*lb = LockBatchRequestBody{}
	return parse(data, "LockBatchRequestBody", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		lb.ClientID = d.str(o, "clientId")
		lb.ConsumerGroup = d.str(o, "consumerGroup")
		lb.MQSet = readQueues(d, o, "mqSet")
		lb.OnlyThisBroker = d.boolean(o, "onlyThisBroker")
	})
}

// LockBatchResponseBody is the LOCK_BATCH_MQ reply: the queues now locked by
// the requesting client.
type LockBatchResponseBody struct {
	LockOKMQSet []MessageQueue
}

// Encode returns the fastjson text.
func (lr *LockBatchResponseBody) Encode() []byte {
	return encode(func(w *fastjson.Writer) {
		w.BeginObject()
		w.Key("lockOKMQSet")
		writeQueues(w, lr.LockOKMQSet)
		w.EndObject()
	})
}

// Decode replaces lr with the reply in data.
func (lr *LockBatchResponseBody) Decode(data []byte) error {
	*lr = LockBatchResponseBody{}
	return parse(data, "LockBatchResponseBody", func(d *decoder, v *fastjson.Value) {
		if o := d.object(v, "$"); o != nil {
			lr.LockOKMQSet = readQueues(d, o, "lockOKMQSet")
		}
	})
}
