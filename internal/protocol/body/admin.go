package body

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// OffsetWrapper is one queue's entry in ConsumeStats.
type OffsetWrapper struct {
	BrokerOffset   int64 // queue max offset
	ConsumerOffset int64 // committed consumer offset
	PullOffset     int64
	LastTimestamp  int64 // store time of the last consumed message, ms; 0 if none
	// FirstUnconsumedTimestamp is a Bolide extension: the store time (ms)
	// of the oldest message not consumed yet, 0 when the queue is fully
	// consumed, so that lag can be shown in time. It is written only when
	// non-zero, so the bodies of caught-up queues stay byte-identical to
	// Java's, and Java's fastjson ignores the unknown key otherwise.
	FirstUnconsumedTimestamp int64
}

func writeOffsetWrapper(w *fastjson.Writer, ow OffsetWrapper) {
	w.BeginObject()
	w.Key("brokerOffset")
	w.Int(ow.BrokerOffset)
	w.Key("consumerOffset")
	w.Int(ow.ConsumerOffset)
	if ow.FirstUnconsumedTimestamp != 0 { // keys in fastjson's (sorted) order
		w.Key("firstUnconsumedTimestamp")
		w.Int(ow.FirstUnconsumedTimestamp)
	}
	w.Key("lastTimestamp")
	w.Int(ow.LastTimestamp)
	w.Key("pullOffset")
	w.Int(ow.PullOffset)
	w.EndObject()
}

func readOffsetWrapper(d *decoder, v *fastjson.Value, path string) (ow OffsetWrapper) {
	o := d.object(v, path)
	if o == nil {
		return ow
	}
	ow.BrokerOffset = d.i64(o, "brokerOffset")
	ow.ConsumerOffset = d.i64(o, "consumerOffset")
	ow.FirstUnconsumedTimestamp = d.i64(o, "firstUnconsumedTimestamp")
	ow.LastTimestamp = d.i64(o, "lastTimestamp")
	ow.PullOffset = d.i64(o, "pullOffset")
	return ow
}

// ConsumeStats is the GET_CONSUME_STATS reply: per-queue progress of one
// consumer group.
type ConsumeStats struct {
	OffsetTable map[MessageQueue]OffsetWrapper
	ConsumeTps  float64
}

func (cs *ConsumeStats) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("consumeTps")
	w.Double(cs.ConsumeTps)
	w.Key("offsetTable")
	writeQueueMap(w, cs.OffsetTable, writeOffsetWrapper)
	w.EndObject()
}

// Encode returns the fastjson text (object map keys, queues sorted).
func (cs *ConsumeStats) Encode() []byte { return encode(cs.write) }

// Decode replaces cs with the stats in data (object- or string-keyed).
func (cs *ConsumeStats) Decode(data []byte) error {
	*cs = ConsumeStats{}
	return parse(data, "ConsumeStats", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		cs.ConsumeTps = d.f64(o, "consumeTps")
		cs.OffsetTable = readQueueMap(d, o, "offsetTable", readOffsetWrapper)
	})
}

// TopicOffset is one queue's entry in TopicStatsTable.
type TopicOffset struct {
	MinOffset           int64
	MaxOffset           int64
	LastUpdateTimestamp int64 // store time of message MaxOffset-1, ms; 0 if empty
}

func writeTopicOffset(w *fastjson.Writer, to TopicOffset) {
	w.BeginObject()
	w.Key("lastUpdateTimestamp")
	w.Int(to.LastUpdateTimestamp)
	w.Key("maxOffset")
	w.Int(to.MaxOffset)
	w.Key("minOffset")
	w.Int(to.MinOffset)
	w.EndObject()
}

func readTopicOffset(d *decoder, v *fastjson.Value, path string) (to TopicOffset) {
	o := d.object(v, path)
	if o == nil {
		return to
	}
	to.LastUpdateTimestamp = d.i64(o, "lastUpdateTimestamp")
	to.MaxOffset = d.i64(o, "maxOffset")
	to.MinOffset = d.i64(o, "minOffset")
	return to
}

// TopicStatsTable is the GET_TOPIC_STATS_INFO reply.
type TopicStatsTable struct {
	OffsetTable map[MessageQueue]TopicOffset
	TopicPutTps float64
}

func (ts *TopicStatsTable) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("offsetTable")
	writeQueueMap(w, ts.OffsetTable, writeTopicOffset)
	w.Key("topicPutTps")
	w.Double(ts.TopicPutTps)
	w.EndObject()
}

// Encode returns the fastjson text (object map keys, queues sorted).
func (ts *TopicStatsTable) Encode() []byte { return encode(ts.write) }

// Decode replaces ts with the table in data.
func (ts *TopicStatsTable) Decode(data []byte) error {
	*ts = TopicStatsTable{}
	return parse(data, "TopicStatsTable", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		ts.OffsetTable = readQueueMap(d, o, "offsetTable", readTopicOffset)
		ts.TopicPutTps = d.f64(o, "topicPutTps")
	})
}

// ResetOffsetBody is the reply of INVOKE_BROKER_TO_RESET_OFFSET and the body
// of RESET_CONSUMER_CLIENT_OFFSET.
//
// Encode writes the compact fastjson object-key form, which is the only form
// rocketmq-client-go parses correctly (it treats valid JSON as Gson's array
// form). Decode accepts that form, the string-key form, Gson's
// [[{mq},offset],...] and the C++ client's [{"brokerName",...,"offset"}].
type ResetOffsetBody struct {
	OffsetTable map[MessageQueue]int64
}

func (rb *ResetOffsetBody) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("offsetTable")
	writeQueueMap(w, rb.OffsetTable, func(w *fastjson.Writer, off int64) { w.Int(off) })
	w.EndObject()
}

// Encode returns the compact fastjson object-key form.
func (rb *ResetOffsetBody) Encode() []byte { return encode(rb.write) }

// Decode replaces rb with the offsets in data.
func (rb *ResetOffsetBody) Decode(data []byte) error {
	*rb = ResetOffsetBody{}
	return parse(data, "ResetOffsetBody", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		t := o.Get("offsetTable")
		if t == nil || t.Kind != fastjson.KindArray {
			rb.OffsetTable = readQueueMap(d, o, "offsetTable", func(d *decoder, v *fastjson.Value, path string) int64 {
				n, err := v.Int64()
				if err != nil {
					d.fail(path, err)
				}
				return n
			})
			return
		}
		rb.OffsetTable = make(map[MessageQueue]int64, len(t.Items))
		for i := range t.Items {
			path := fmt.Sprintf("offsetTable[%d]", i)
			var mq MessageQueue
			var off int64
			it := &t.Items[i]
			if it.Kind == fastjson.KindArray { // Gson: [mq, offset]
				if len(it.Items) != 2 {
					d.fail(path, fmt.Errorf("pair with %d elements", len(it.Items)))
					return
				}
				mq.readKey(d, &it.Items[0], path)
				n, err := it.Items[1].Int64()
				if err != nil {
					d.fail(path, err)
				}
				off = n
			} else { // C++: {"brokerName","queueId","topic","offset"}
				mq.read(d, it, path)
				off = d.i64(it, "offset")
			}
			if d.err != nil {
				return
			}
			rb.OffsetTable[mq] = off
		}
	})
}
