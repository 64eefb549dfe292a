package body

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// Style selects how TopicRouteData is written.
type Style uint8

const (
	// StyleFastjson is fastjson's default output, with bare integer map
	// keys ({0:"addr"}). Old clients expect it.
	StyleFastjson Style = iota
	// StyleStandard is valid JSON (fastjson's BrowserCompatible +
	// MapSortField): map keys quoted and sorted ({"0":"addr"}), non-ASCII
	// escaped.
	StyleStandard
)

// VersionV494 is the MQVersion ordinal of 4.9.4, the first client version
// the name server answers with standard-JSON routes.
const VersionV494 = 401

// RouteStyle picks the route reply style the Java name server would use for
// a GET_ROUTEINFO_BY_TOPIC request with the given version and
// acceptStandardJsonOnly header.
func RouteStyle(requestVersion int32, acceptStandardJSONOnly bool) Style {
	if requestVersion >= VersionV494 || acceptStandardJSONOnly {
		return StyleStandard
	}
	return StyleFastjson
}

func newWriter(style Style) *fastjson.Writer {
	if style == StyleStandard {
		return fastjson.NewBrowserCompatibleWriter()
	}
	return fastjson.NewWriter()
}

// MasterID is the broker id of a master (MixAll.MASTER_ID).
const MasterID = 0

// BrokerData describes one broker name (a master and its slaves) in a
// cluster.
type BrokerData struct {
	Cluster            string
	BrokerName         string
	BrokerAddrs        map[int64]string // broker id -> ip:port; MasterID is the master
	ZoneName           string
	EnableActingMaster bool
}

func (bd *BrokerData) write(w *fastjson.Writer) {
	w.BeginObject()
	// Always present, even empty: rocketmq-client-go slices the raw text of
	// this object and panics when it is missing.
	w.Key("brokerAddrs")
	w.BeginObject()
	for _, id := range sortedKeys(bd.BrokerAddrs) {
		w.IntKey(id)
		w.String(bd.BrokerAddrs[id])
	}
	w.EndObject()
	keyString(w, "brokerName", bd.BrokerName)
	keyString(w, "cluster", bd.Cluster)
	w.Key("enableActingMaster")
	w.Bool(bd.EnableActingMaster)
	keyString(w, "zoneName", bd.ZoneName)
	w.EndObject()
}

func (bd *BrokerData) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	if addrs := d.object(o.Get("brokerAddrs"), path+".brokerAddrs"); addrs != nil {
		bd.BrokerAddrs = make(map[int64]string, len(addrs.Members))
		for i := range addrs.Members {
			id, err := addrs.Members[i].Key.Int64()
			if err != nil {
				d.fail(path+".brokerAddrs", fmt.Errorf("broker id: %w", err))
				return
			}
			addr, err := addrs.Members[i].Value.AsString()
			if err != nil {
				d.fail(path+".brokerAddrs", err)
				return
			}
			bd.BrokerAddrs[id] = addr
		}
	}
	bd.BrokerName = d.str(o, "brokerName")
	bd.Cluster = d.str(o, "cluster")
	bd.EnableActingMaster = d.boolean(o, "enableActingMaster")
	bd.ZoneName = d.str(o, "zoneName")
}

// QueueData describes the queues of one topic on one broker name.
type QueueData struct {
	BrokerName     string
	ReadQueueNums  int32
	WriteQueueNums int32
	Perm           int32
	TopicSysFlag   int32
}

func (qd *QueueData) write(w *fastjson.Writer) {
	w.BeginObject()
	keyString(w, "brokerName", qd.BrokerName)
	w.Key("perm")
	w.Int(int64(qd.Perm))
	w.Key("readQueueNums")
	w.Int(int64(qd.ReadQueueNums))
	w.Key("topicSysFlag")
	w.Int(int64(qd.TopicSysFlag))
	w.Key("writeQueueNums")
	w.Int(int64(qd.WriteQueueNums))
	w.EndObject()
}

func (qd *QueueData) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	qd.BrokerName = d.str(o, "brokerName")
	qd.Perm = d.i32(o, "perm")
	qd.ReadQueueNums = d.i32(o, "readQueueNums")
	qd.TopicSysFlag = d.i32(o, "topicSysFlag")
	qd.WriteQueueNums = d.i32(o, "writeQueueNums")
}

// TopicRouteData is the GET_ROUTEINFO_BY_TOPIC reply.
type TopicRouteData struct {
	OrderTopicConf    string // namesrv KV ORDER_TOPIC_CONFIG entry, e.g. "broker-a:4;broker-b:4"
	QueueDatas        []QueueData
	BrokerDatas       []BrokerData
	FilterServerTable map[string][]string // broker addr -> filter servers; obsolete, normally empty
	// TopicQueueMappingByBroker carries static-topic mappings as parsed
	// JSON; nil omits the property.
	TopicQueueMappingByBroker map[string]fastjson.Value
}

func (rd *TopicRouteData) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("brokerDatas")
	w.BeginArray()
	for i := range rd.BrokerDatas {
		rd.BrokerDatas[i].write(w)
	}
	w.EndArray()
	w.Key("filterServerTable")
	w.BeginObject()
	for _, k := range sortedKeys(rd.FilterServerTable) {
		w.Key(k)
		w.Strings(rd.FilterServerTable[k])
	}
	w.EndObject()
	keyString(w, "orderTopicConf", rd.OrderTopicConf)
	w.Key("queueDatas")
	w.BeginArray()
	for i := range rd.QueueDatas {
		rd.QueueDatas[i].write(w)
	}
	w.EndArray()
	if rd.TopicQueueMappingByBroker != nil {
		w.Key("topicQueueMappingByBroker")
		writeRawMap(w, rd.TopicQueueMappingByBroker)
	}
	w.EndObject()
}

// Encode returns the route in the given style; see RouteStyle.
func (rd *TopicRouteData) Encode(style Style) []byte {
	w := newWriter(style)
	rd.write(w)
	return w.Bytes()
}

// Decode replaces rd with the route in data (either style).
func (rd *TopicRouteData) Decode(data []byte) error {
	*rd = TopicRouteData{}
	return parse(data, "TopicRouteData", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		items := d.array(o.Get("brokerDatas"), "brokerDatas")
		if len(items) > 0 {
			rd.BrokerDatas = make([]BrokerData, len(items))
			for i := range items {
				rd.BrokerDatas[i].read(d, &items[i], fmt.Sprintf("brokerDatas[%d]", i))
			}
		}
		rd.FilterServerTable = readMap(d, o, "filterServerTable", func(k string, v *fastjson.Value) []string {
			return d.stringsOf(v, "filterServerTable."+k)
		})
		rd.OrderTopicConf = d.str(o, "orderTopicConf")
		items = d.array(o.Get("queueDatas"), "queueDatas")
		if len(items) > 0 {
			rd.QueueDatas = make([]QueueData, len(items))
			for i := range items {
				rd.QueueDatas[i].read(d, &items[i], fmt.Sprintf("queueDatas[%d]", i))
			}
		}
		rd.TopicQueueMappingByBroker = d.rawMap(o, "topicQueueMappingByBroker")
	})
}

// ClusterInfo is the GET_BROKER_CLUSTER_INFO reply. Java leaves both maps
// null until set; nil maps are omitted.
type ClusterInfo struct {
	BrokerAddrTable  map[string]BrokerData // broker name -> data
	ClusterAddrTable map[string][]string   // cluster -> broker names (a Java set)
}

func (ci *ClusterInfo) write(w *fastjson.Writer) {
	w.BeginObject()
	if ci.BrokerAddrTable != nil {
		w.Key("brokerAddrTable")
		w.BeginObject()
		for _, k := range sortedKeys(ci.BrokerAddrTable) {
			bd := ci.BrokerAddrTable[k]
			w.Key(k)
			bd.write(w)
		}
		w.EndObject()
	}
	if ci.ClusterAddrTable != nil {
		w.Key("clusterAddrTable")
		w.BeginObject()
		for _, k := range sortedKeys(ci.ClusterAddrTable) {
			w.Key(k)
			w.Strings(ci.ClusterAddrTable[k])
		}
		w.EndObject()
	}
	w.EndObject()
}

// Encode returns the fastjson text of the cluster info.
func (ci *ClusterInfo) Encode() []byte { return encode(ci.write) }

// Decode replaces ci with the cluster info in data.
func (ci *ClusterInfo) Decode(data []byte) error {
	*ci = ClusterInfo{}
	return parse(data, "ClusterInfo", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		ci.BrokerAddrTable = readMap(d, o, "brokerAddrTable", func(k string, v *fastjson.Value) (bd BrokerData) {
			bd.read(d, v, "brokerAddrTable."+k)
			return bd
		})
		ci.ClusterAddrTable = readMap(d, o, "clusterAddrTable", func(k string, v *fastjson.Value) []string {
			return d.stringsOf(v, "clusterAddrTable."+k)
		})
	})
}
