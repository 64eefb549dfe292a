package body

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// LMQInfo is one light message queue in an LMQList.
type LMQInfo struct {
	Name      string
	FirstSeen int64 // store time (ms) of the first message dispatched to it
}

func (li *LMQInfo) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("firstSeen")
	w.Int(li.FirstSeen)
	w.Key("name")
	w.String(li.Name)
	w.EndObject()
}

func (li *LMQInfo) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	li.FirstSeen = d.i64(o, "firstSeen")
	li.Name = d.str(o, "name")
}

// LMQList is the reply of BOLIDE_GET_LMQ_LIST (a Bolide extension): one
// page of the broker's LMQ registry, fastjson style (keys sorted, as a Java
// bean with these properties would be written).
type LMQList struct {
	// Count is the number of LMQs the broker holds in all, whatever the
	// request's prefix (the page's own size is len(LMQList)).
	Count int64
	// LMQList is the page, in byte order of the names.
	LMQList []LMQInfo
	// Next is the after of the next page; "" when this page is the last.
	Next string
}

func (l *LMQList) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("count")
	w.Int(l.Count)
	w.Key("lmqList")
	w.BeginArray()
	for i := range l.LMQList {
		l.LMQList[i].write(w)
	}
	w.EndArray()
	w.Key("next")
	w.String(l.Next)
	w.EndObject()
}

// Encode returns the fastjson text; lmqList and next are always present.
func (l *LMQList) Encode() []byte { return encode(l.write) }

// Decode replaces l with the page in data.
func (l *LMQList) Decode(data []byte) error {
	*l = LMQList{}
	return parse(data, "LMQList", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		l.Count = d.i64(o, "count")
		l.Next = d.str(o, "next")
		items := d.array(o.Get("lmqList"), "lmqList")
		if len(items) == 0 {
			return
		}
		l.LMQList = make([]LMQInfo, len(items))
		for i := range items {
			l.LMQList[i].read(d, &items[i], fmt.Sprintf("lmqList[%d]", i))
		}
	})
}
