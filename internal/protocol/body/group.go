package body

import (
	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// Group retry policy types (Java enum GroupRetryPolicyType).
const (
	RetryPolicyCustomized  = "CUSTOMIZED"
	RetryPolicyExponential = "EXPONENTIAL"
)

// GroupRetryPolicy is a 5.x group's retry back-off policy. Bolide keeps the
// two policy objects as parsed JSON so that they survive a round trip; the
// zero Value of each is Java's null and is not written.
type GroupRetryPolicy struct {
	Type                   string // RetryPolicyCustomized (default) or RetryPolicyExponential
	ExponentialRetryPolicy fastjson.Value
	CustomizedRetryPolicy  fastjson.Value
}

func (p *GroupRetryPolicy) write(w *fastjson.Writer) {
	w.BeginObject()
	if !p.CustomizedRetryPolicy.IsNull() {
		w.Key("customizedRetryPolicy")
		w.Value(&p.CustomizedRetryPolicy)
	}
	if !p.ExponentialRetryPolicy.IsNull() {
		w.Key("exponentialRetryPolicy")
		w.Value(&p.ExponentialRetryPolicy)
	}
	w.Key("type")
	if p.Type == "" {
		w.String(RetryPolicyCustomized)
	} else {
		w.String(p.Type)
	}
	w.EndObject()
}

func (p *GroupRetryPolicy) read(d *decoder, v *fastjson.Value, path string) {
	*p = GroupRetryPolicy{Type: RetryPolicyCustomized}
	o := d.object(v, path)
	if o == nil {
		return
	}
	if t := d.str(o, "type"); t != "" {
		p.Type = t
	}
	if c := o.Get("customizedRetryPolicy"); c != nil {
		p.CustomizedRetryPolicy = *c
	}
	if e := o.Get("exponentialRetryPolicy"); e != nil {
		p.ExponentialRetryPolicy = *e
	}
}

// SubscriptionGroupConfig is a broker's configuration of one consumer group
// (Java SubscriptionGroupConfig, 5.x). Fields absent from a decoded body keep
// Java's defaults, which NewSubscriptionGroupConfig sets.
type SubscriptionGroupConfig struct {
	GroupName                      string
	ConsumeEnable                  bool
	ConsumeFromMinEnable           bool
	ConsumeBroadcastEnable         bool
	ConsumeMessageOrderly          bool
	RetryQueueNums                 int32
	RetryMaxTimes                  int32
	GroupRetryPolicy               GroupRetryPolicy
	BrokerID                       int64
	WhichBrokerWhenConsumeSlowly   int64
	NotifyConsumerIdsChangedEnable bool
	GroupSysFlag                   int32
	ConsumeTimeoutMinute           int32
	// SubscriptionDataSet is the 5.x set of SimpleSubscriptionData, kept
	// as parsed JSON; the zero Value (Java's null default) is not written.
	SubscriptionDataSet fastjson.Value
	Attributes          map[string]string
}

// Java defaults of SubscriptionGroupConfig.
const (
	DefaultRetryQueueNums       = 1
	DefaultRetryMaxTimes        = 16
	DefaultConsumeTimeoutMinute = 15
)

// NewSubscriptionGroupConfig returns the config Java's constructor builds
// for group: consumption enabled, one retry queue, 16 retries.
func NewSubscriptionGroupConfig(group string) SubscriptionGroupConfig {
	return SubscriptionGroupConfig{
		GroupName:                      group,
		ConsumeEnable:                  true,
		ConsumeFromMinEnable:           true,
		ConsumeBroadcastEnable:         true,
		RetryQueueNums:                 DefaultRetryQueueNums,
		RetryMaxTimes:                  DefaultRetryMaxTimes,
		GroupRetryPolicy:               GroupRetryPolicy{Type: RetryPolicyCustomized},
		WhichBrokerWhenConsumeSlowly:   1,
		NotifyConsumerIdsChangedEnable: true,
		ConsumeTimeoutMinute:           DefaultConsumeTimeoutMinute,
		Attributes:                     map[string]string{},
	}
}

func (sc *SubscriptionGroupConfig) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("attributes")
	writeStringMap(w, sc.Attributes)
	w.Key("brokerId")
	w.Int(sc.BrokerID)
	w.Key("consumeBroadcastEnable")
	w.Bool(sc.ConsumeBroadcastEnable)
	w.Key("consumeEnable")
	w.Bool(sc.ConsumeEnable)
	w.Key("consumeFromMinEnable")
	w.Bool(sc.ConsumeFromMinEnable)
	w.Key("consumeMessageOrderly")
	w.Bool(sc.ConsumeMessageOrderly)
	w.Key("consumeTimeoutMinute")
	w.Int(int64(sc.ConsumeTimeoutMinute))
	keyString(w, "groupName", sc.GroupName)
	w.Key("groupRetryPolicy")
	sc.GroupRetryPolicy.write(w)
	w.Key("groupSysFlag")
	w.Int(int64(sc.GroupSysFlag))
	w.Key("notifyConsumerIdsChangedEnable")
	w.Bool(sc.NotifyConsumerIdsChangedEnable)
	w.Key("retryMaxTimes")
	w.Int(int64(sc.RetryMaxTimes))
	w.Key("retryQueueNums")
	w.Int(int64(sc.RetryQueueNums))
	if !sc.SubscriptionDataSet.IsNull() {
		w.Key("subscriptionDataSet")
		w.Value(&sc.SubscriptionDataSet)
	}
	w.Key("whichBrokerWhenConsumeSlowly")
	w.Int(sc.WhichBrokerWhenConsumeSlowly)
	w.EndObject()
}

// has reports whether key is present (and not null) in o.
func has(o *fastjson.Value, key string) bool { return !o.Get(key).IsNull() }

func (sc *SubscriptionGroupConfig) read(d *decoder, v *fastjson.Value, path string) {
	*sc = NewSubscriptionGroupConfig("")
	o := d.object(v, path)
	if o == nil {
		return
	}
	if has(o, "attributes") {
		sc.Attributes = d.stringMap(o, "attributes")
	}
	sc.BrokerID = d.i64(o, "brokerId")
	bools := []struct {
		key string
		dst *bool
	}{
		{"consumeBroadcastEnable", &sc.ConsumeBroadcastEnable},
		{"consumeEnable", &sc.ConsumeEnable},
		{"consumeFromMinEnable", &sc.ConsumeFromMinEnable},
		{"consumeMessageOrderly", &sc.ConsumeMessageOrderly},
		{"notifyConsumerIdsChangedEnable", &sc.NotifyConsumerIdsChangedEnable},
	}
	for _, b := range bools {
		if has(o, b.key) {
			*b.dst = d.boolean(o, b.key)
		}
	}
	ints := []struct {
		key string
		dst *int32
	}{
		{"consumeTimeoutMinute", &sc.ConsumeTimeoutMinute},
		{"groupSysFlag", &sc.GroupSysFlag},
		{"retryMaxTimes", &sc.RetryMaxTimes},
		{"retryQueueNums", &sc.RetryQueueNums},
	}
	for _, n := range ints {
		if has(o, n.key) {
			*n.dst = d.i32(o, n.key)
		}
	}
	sc.GroupName = d.str(o, "groupName")
	if has(o, "groupRetryPolicy") {
		sc.GroupRetryPolicy.read(d, o.Get("groupRetryPolicy"), path+".groupRetryPolicy")
	}
	if s := o.Get("subscriptionDataSet"); s != nil {
		sc.SubscriptionDataSet = *s
	}
	if has(o, "whichBrokerWhenConsumeSlowly") {
		sc.WhichBrokerWhenConsumeSlowly = d.i64(o, "whichBrokerWhenConsumeSlowly")
	}
}

// Encode returns the fastjson text of the config (the body of
// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP and GET_SUBSCRIPTIONGROUP_CONFIG).
func (sc *SubscriptionGroupConfig) Encode() []byte { return encode(sc.write) }

// Decode replaces sc with the config in data; absent fields take Java's
// defaults.
func (sc *SubscriptionGroupConfig) Decode(data []byte) error {
	*sc = SubscriptionGroupConfig{}
	return parse(data, "SubscriptionGroupConfig", func(d *decoder, v *fastjson.Value) { sc.read(d, v, "$") })
}

// SubscriptionGroupWrapper is a broker's group table with its data version:
// the GET_ALL_SUBSCRIPTIONGROUP_CONFIG reply and subscriptionGroup.json.
// The output is strict JSON (string keys only, small counter), which
// rocketmq-client-go decodes with encoding/json.
type SubscriptionGroupWrapper struct {
	SubscriptionGroupTable map[string]SubscriptionGroupConfig
	// ForbiddenTable maps group -> topic -> forbidden-permission bits.
	ForbiddenTable map[string]map[string]int32
	DataVersion    DataVersion
}

func (gw *SubscriptionGroupWrapper) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("dataVersion")
	gw.DataVersion.write(w)
	w.Key("forbiddenTable")
	w.BeginObject()
	for _, g := range sortedKeys(gw.ForbiddenTable) {
		w.Key(g)
		inner := gw.ForbiddenTable[g]
		w.BeginObject()
		for _, t := range sortedKeys(inner) {
			w.Key(t)
			w.Int(int64(inner[t]))
		}
		w.EndObject()
	}
	w.EndObject()
	w.Key("subscriptionGroupTable")
	w.BeginObject()
	for _, name := range sortedKeys(gw.SubscriptionGroupTable) {
		sc := gw.SubscriptionGroupTable[name]
		w.Key(name)
		sc.write(w)
	}
	w.EndObject()
	w.EndObject()
}

// Encode returns the fastjson text of the wrapper.
func (gw *SubscriptionGroupWrapper) Encode() []byte { return encode(gw.write) }

// Decode replaces gw with the wrapper in data.
func (gw *SubscriptionGroupWrapper) Decode(data []byte) error {
	*gw = SubscriptionGroupWrapper{}
	return parse(data, "SubscriptionGroupWrapper", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		gw.DataVersion.read(d, o.Get("dataVersion"), "dataVersion")
		gw.ForbiddenTable = readMap(d, o, "forbiddenTable", func(k string, v *fastjson.Value) map[string]int32 {
			return d.int32MapOf(v, "forbiddenTable."+k)
		})
		gw.SubscriptionGroupTable = readMap(d, o, "subscriptionGroupTable", func(k string, v *fastjson.Value) (sc SubscriptionGroupConfig) {
			sc.read(d, v, "subscriptionGroupTable."+k)
			return sc
		})
	})
}

// int32MapOf reads an object of integers keyed by any scalar token.
func (d *decoder) int32MapOf(v *fastjson.Value, path string) map[string]int32 {
	m := d.object(v, path)
	if m == nil {
		return nil
	}
	out := make(map[string]int32, len(m.Members))
	for i := range m.Members {
		k, err := m.Members[i].Key.AsString()
		if err != nil {
			d.fail(path, err)
			return nil
		}
		n, err := m.Members[i].Value.Int32()
		if err != nil {
			d.fail(path+"."+k, err)
			return nil
		}
		out[k] = n
	}
	return out
}
