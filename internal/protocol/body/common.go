package body

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// sortedKeys returns the keys of m in ascending order, the deterministic
// stand-in for Java's hash-map iteration order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}

// DataVersion is RocketMQ's version stamp for a broker's topic (and mapping)
// configuration; the name server compares it to skip redundant
// registrations.
type DataVersion struct {
	StateVersion int64
	Timestamp    int64 // ms
	Counter      int64
}

func (dv *DataVersion) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("counter")
	w.Int(dv.Counter)
	w.Key("stateVersion")
	w.Int(dv.StateVersion)
	w.Key("timestamp")
	w.Int(dv.Timestamp)
	w.EndObject()
}

func (dv *DataVersion) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	dv.Counter = d.i64(o, "counter")
	dv.StateVersion = d.i64(o, "stateVersion")
	dv.Timestamp = d.i64(o, "timestamp")
}

// Encode returns the fastjson text of the data version.
func (dv *DataVersion) Encode() []byte { return encode(dv.write) }

// Decode replaces dv with the data version in data.
func (dv *DataVersion) Decode(data []byte) error {
	*dv = DataVersion{}
	return parse(data, "DataVersion", func(d *decoder, v *fastjson.Value) { dv.read(d, v, "$") })
}

// MessageQueue names one queue of a topic on one broker. It is also the key
// type of several maps, which fastjson writes with the object itself as the
// key.
type MessageQueue struct {
	Topic      string
	BrokerName string
	QueueID    int32
}

// Compare orders queues like Java's MessageQueue.compareTo: by topic, then
// broker name, then queue id.
func (mq MessageQueue) Compare(o MessageQueue) int {
	if c := cmp.Compare(mq.Topic, o.Topic); c != 0 {
		return c
	}
	if c := cmp.Compare(mq.BrokerName, o.BrokerName); c != 0 {
		return c
	}
	return cmp.Compare(mq.QueueID, o.QueueID)
}

func (mq MessageQueue) String() string {
	return fmt.Sprintf("MessageQueue [topic=%s, brokerName=%s, queueId=%d]", mq.Topic, mq.BrokerName, mq.QueueID)
}

func (mq *MessageQueue) write(w *fastjson.Writer) {
	w.BeginObject()
	if mq.BrokerName != "" {
		w.Key("brokerName")
		w.String(mq.BrokerName)
	}
	w.Key("queueId")
	w.Int(int64(mq.QueueID))
	if mq.Topic != "" {
		w.Key("topic")
		w.String(mq.Topic)
	}
	w.EndObject()
}

func (mq *MessageQueue) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	mq.BrokerName = d.str(o, "brokerName")
	mq.QueueID = d.i32(o, "queueId")
	mq.Topic = d.str(o, "topic")
}

// readKey decodes a map key that stands for a MessageQueue: the object form
// fastjson writes by default, or the string form (the key's JSON text in a
// string) that BrowserCompatible output and some clients use.
func (mq *MessageQueue) readKey(d *decoder, k *fastjson.Value, path string) {
	if k.Kind != fastjson.KindString {
		mq.read(d, k, path)
		return
	}
	inner, err := fastjson.Parse([]byte(k.Text))
	if err != nil {
		d.fail(path, err)
		return
	}
	// A string key is a separate document: references inside it cannot
	// point into the outer one, so decode it with its own root.
	sub := &decoder{root: inner}
	mq.read(sub, inner, path)
	if sub.err != nil {
		d.fail(path, sub.err)
	}
}

func writeQueues(w *fastjson.Writer, mqs []MessageQueue) {
	w.BeginArray()
	for i := range mqs {
		mqs[i].write(w)
	}
	w.EndArray()
}

func readQueues(d *decoder, o *fastjson.Value, key string) []MessageQueue {
	items := d.array(o.Get(key), key)
	if len(items) == 0 {
		return nil
	}
	out := make([]MessageQueue, len(items))
	for i := range items {
		out[i].read(d, &items[i], fmt.Sprintf("%s[%d]", key, i))
	}
	return out
}

// writeQueueMap writes a map keyed by MessageQueue in fastjson's object-key
// form, sorted by queue.
func writeQueueMap[V any](w *fastjson.Writer, m map[MessageQueue]V, value func(*fastjson.Writer, V)) {
	keys := slices.SortedFunc(maps.Keys(m), MessageQueue.Compare)
	w.BeginObject()
	for _, mq := range keys {
		w.BeginKey()
		mq.write(w)
		w.EndKey()
		value(w, m[mq])
	}
	w.EndObject()
}

// readQueueMap reads a map keyed by MessageQueue in object-key or
// string-key form.
func readQueueMap[V any](d *decoder, o *fastjson.Value, key string, value func(*decoder, *fastjson.Value, string) V) map[MessageQueue]V {
	m := d.object(o.Get(key), key)
	if m == nil {
		return nil
	}
	out := make(map[MessageQueue]V, len(m.Members))
	for i := range m.Members {
		if d.err != nil {
			return nil
		}
		var mq MessageQueue
		path := fmt.Sprintf("%s{%d}", key, i)
		mq.readKey(d, &m.Members[i].Key, path)
		val := value(d, &m.Members[i].Value, path)
		out[mq] = val
	}
	if d.err != nil {
		return nil
	}
	return out
}

// encode runs write on a fresh default-style Writer.
func encode(write func(*fastjson.Writer)) []byte {
	w := fastjson.NewWriter()
	write(w)
	return w.Bytes()
}

func writeStringMap(w *fastjson.Writer, m map[string]string) {
	w.BeginObject()
	for _, k := range sortedKeys(m) {
		w.Key(k)
		w.String(m[k])
	}
	w.EndObject()
}

func writeRawMap(w *fastjson.Writer, m map[string]fastjson.Value) {
	w.BeginObject()
	for _, k := range sortedKeys(m) {
		v := m[k]
		w.Key(k)
		w.Value(&v)
	}
	w.EndObject()
}

// keyString writes a possibly empty string property; fastjson omits null
// strings and an empty Go string is this package's null.
func keyString(w *fastjson.Writer, key, s string) {
	if s != "" {
		w.Key(key)
		w.String(s)
	}
}
