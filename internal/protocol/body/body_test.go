package body

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// Heartbeat as rocketmq-client-go sends it (client-go-compat 4.2): codeSet
// as strings, subVersion in nanoseconds, no fingerprint, any key order.
const goHeartbeat = `{"clientID":"192.0.2.2@c1","producerDataSet":[{"groupName":"pg"}],"consumerDataSet":[{"groupName":"cg","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","unitMode":false,"subscriptionDataSet":[{"classFilterMode":false,"topic":"t","subString":"TagA || TagB","tagsSet":["TagA","TagB"],"codeSet":["2598919","2598920"],"subVersion":1795692835892812541,"expressionType":"TAG"},{"classFilterMode":false,"topic":"%RETRY%cg","subString":"*","tagsSet":[],"codeSet":[],"subVersion":1795692835892812541,"expressionType":"TAG"}]}]}`

func TestHeartbeatFromGoClient(t *testing.T) {
	var hb HeartbeatData
	if err := hb.Decode([]byte(goHeartbeat)); err != nil {
		t.Fatal(err)
	}
	want := HeartbeatData{
		ClientID:        "192.0.2.2@c1",
		ProducerDataSet: []ProducerData{{GroupName: "pg"}},
		ConsumerDataSet: []ConsumerData{{
			GroupName: "cg", ConsumeType: ConsumePassively, MessageModel: Clustering, ConsumeFromWhere: ConsumeFromFirstOffset,
			SubscriptionDataSet: []SubscriptionData{
				{Topic: "t", SubString: "TagA || TagB", TagsSet: []string{"TagA", "TagB"}, CodeSet: []int32{2598919, 2598920}, SubVersion: 1795692835892812541, ExpressionType: ExpressionTag},
				{Topic: "%RETRY%cg", SubString: "*", SubVersion: 1795692835892812541, ExpressionType: ExpressionTag},
			},
		}},
	}
	if !reflect.DeepEqual(hb, want) {
		t.Errorf("got  %+v\nwant %+v", hb, want)
	}
}

func TestLockBatchFromGoClient(t *testing.T) {
	var lb LockBatchRequestBody
	if err := lb.Decode([]byte(`{"consumerGroup":"cg","clientId":"192.0.2.2@c1","mqSet":[{"topic":"%RETRY%cg","brokerName":"broker-a","queueId":0}]}`)); err != nil {
		t.Fatal(err)
	}
	want := LockBatchRequestBody{ConsumerGroup: "cg", ClientID: "192.0.2.2@c1", MQSet: []MessageQueue{{Topic: "%RETRY%cg", BrokerName: "broker-a"}}}
	if !reflect.DeepEqual(lb, want) {
		t.Errorf("got %+v", lb)
	}
}

func TestResetOffsetBodyForms(t *testing.T) {
	want := map[MessageQueue]int64{mq0: 42, mq1: 43}
	for name, text := range map[string]string{
		"gson":       `{"offsetTable":[[{"topic":"TopicTest","brokerName":"broker-a","queueId":0},42],[{"topic":"TopicTest","brokerName":"broker-a","queueId":1},43]]}`,
		"cpp":        `{"offsetTable":[{"brokerName":"broker-a","queueId":0,"topic":"TopicTest","offset":42},{"brokerName":"broker-a","queueId":1,"topic":"TopicTest","offset":43}]}`,
		"string-key": `{"offsetTable":{"{\"brokerName\":\"broker-a\",\"queueId\":0,\"topic\":\"TopicTest\"}":42,"{\"brokerName\":\"broker-a\",\"queueId\":1,\"topic\":\"TopicTest\"}":"43"}}`,
		"spaces":     ` { "offsetTable" : { {"topic":"TopicTest","brokerName":"broker-a","queueId":0} : 42 , {"topic":"TopicTest","brokerName":"broker-a","queueId":1}:43 } } `,
	} {
		var rb ResetOffsetBody
		if err := rb.Decode([]byte(text)); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(rb.OffsetTable, want) {
			t.Errorf("%s: got %v", name, rb.OffsetTable)
		}
	}
	var rb ResetOffsetBody
	if err := rb.Decode([]byte(`{"offsetTable":[[{"topic":"T"}]]}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("short gson pair: %v", err)
	}
}

func TestDecodeRefs(t *testing.T) {
	var rd TopicRouteData
	text := `{"brokerDatas":[{"brokerAddrs":{0:"a:1"},"brokerName":"b"},{"$ref":"$.brokerDatas[0]"}],"queueDatas":[]}`
	if err := rd.Decode([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if len(rd.BrokerDatas) != 2 || !reflect.DeepEqual(rd.BrokerDatas[0], rd.BrokerDatas[1]) {
		t.Errorf("reference not followed: %+v", rd.BrokerDatas)
	}
	for _, bad := range []string{
		`{"brokerDatas":[{"$ref":"$.nowhere"}]}`,
		`{"a":{"$ref":"$.b"},"b":{"$ref":"$.a"},"brokerDatas":[{"$ref":"$.a"}]}`, // no loop
		`{"brokerDatas":[{"$ref":"@"}]}`,                                         // relative references are not followed
	} {
		if err := rd.Decode([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", bad, err)
		}
	}
	many := `{"brokerDatas":[{"brokerName":"b"}` + strings.Repeat(`,{"$ref":"$.brokerDatas[0]"}`, maxRefs+1) + `]}`
	if err := rd.Decode([]byte(many)); !errors.Is(err, ErrInvalid) {
		t.Errorf("%d references: %v", maxRefs+1, err)
	}
	var cs ConsumeStats
	err := cs.Decode([]byte(`{"offsetTable":{{"$ref":"$.x.null"}:{"brokerOffset":1}}}`))
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("unresolvable key reference: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		c    codec
		text string
	}{
		"syntax":          {new(DataVersion), `{"counter":`},
		"not object":      {new(DataVersion), `[1]`},
		"bad number":      {new(DataVersion), `{"counter":"x"}`},
		"fraction":        {new(DataVersion), `{"counter":1.5}`},
		"int32 overflow":  {new(TopicConfig), `{"perm":4294967296}`},
		"bad bool":        {new(TopicConfig), `{"order":"maybe"}`},
		"object string":   {new(TopicConfig), `{"topicName":{}}`},
		"array expected":  {new(TopicList), `{"topicList":{}}`},
		"bad list item":   {new(TopicList), `{"topicList":[[]]}`},
		"bad broker id":   {new(ClusterInfo), `{"brokerAddrTable":{"b":{"brokerAddrs":{"x":"a:1"}}}}`},
		"bad mq key":      {new(ConsumeStats), `{"offsetTable":{"not json":{}}}`},
		"bad tps":         {new(ConsumeStats), `{"consumeTps":"NaN"}`},
		"bad code":        {new(HeartbeatData), `{"consumerDataSet":[{"subscriptionDataSet":[{"codeSet":["x"]}]}]}`},
		"bad offset":      {new(ResetOffsetBody), `{"offsetTable":{{"queueId":0}:{}}}`},
		"deep":            {new(KVTable), string(bytes.Repeat([]byte("["), 100))},
		"bad map value":   {new(KVTable), `{"table":{"a":[]}}`},
		"bad mapping map": {new(TopicConfigAndMappingSerializeWrapper), `{"topicQueueMappingInfoMap":[]}`},
	} {
		if err := tc.c.Decode([]byte(tc.text)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	// Lenient conversions that must succeed.
	var tc TopicConfig
	if err := tc.Decode([]byte(`{"perm":"6","order":"true","readQueueNums":4.0,"topicName":123,"unknown":{"x":[1]}}`)); err != nil {
		t.Fatal(err)
	}
	if tc.Perm != 6 || !tc.Order || tc.ReadQueueNums != 4 || tc.TopicName != "123" || tc.TopicFilterType != SingleTag {
		t.Errorf("lenient decode: %+v", tc)
	}
}

func TestTopicConfigLegacy(t *testing.T) {
	tc := TopicConfig{TopicName: "T", ReadQueueNums: 8, WriteQueueNums: 4, Perm: 6, TopicFilterType: MultiTag,
		Attributes: map[string]string{"+message.type": "NORMAL", "k": "a b"}}
	s := tc.EncodeLegacy()
	if want := `T 8 4 6 MULTI_TAG {"+message.type":"NORMAL","k":"a b"}`; s != want {
		t.Errorf("EncodeLegacy = %s, want %s", s, want)
	}
	var back TopicConfig
	if err := back.DecodeLegacy(s); err != nil || !reflect.DeepEqual(back, tc) {
		t.Errorf("DecodeLegacy = %+v, %v", back, err)
	}
	if err := back.DecodeLegacy("TopicTest 4 4 6 SINGLE_TAG"); err != nil || back.Attributes != nil || back.WriteQueueNums != 4 {
		t.Errorf("5-field form: %+v, %v", back, err)
	}
	if got := (&TopicConfig{TopicName: "x"}).EncodeLegacy(); got != "x 0 0 0 SINGLE_TAG {}" {
		t.Errorf("defaults: %q", got)
	}
	for _, bad := range []string{"", "T 1 2 3", "T x 2 3 SINGLE_TAG", "T 1 2 99999999999 SINGLE_TAG", "T 1 2 3 SINGLE_TAG {"} {
		if err := back.DecodeLegacy(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeLegacy(%q) = %v", bad, err)
		}
	}
}

// javaCompressed builds a compressed REGISTER_BROKER body the way Java's
// RegisterBrokerBody.encode(true) lays it out.
func javaCompressed(withMapping bool, topics ...string) []byte {
	var raw bytes.Buffer
	chunk := func(s string) {
		_ = binary.Write(&raw, binary.BigEndian, int32(len(s)))
		raw.WriteString(s)
	}
	chunk(refDataVersion)
	_ = binary.Write(&raw, binary.BigEndian, int32(len(topics)))
	for _, tc := range topics {
		chunk(tc)
	}
	chunk(`[]`)
	if withMapping {
		_ = binary.Write(&raw, binary.BigEndian, int32(1))
		chunk(`{"bname":"broker-a","currIdMap":{},"epoch":0,"topic":"Static","totalQueues":4}`)
	}
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close() // writing to memory cannot fail
	return out.Bytes()
}

func TestRegisterBrokerBodyCompressed(t *testing.T) {
	// From a Java 4.x broker: no mapping section.
	rb, err := DecodeRegisterBrokerBody(javaCompressed(false, "TopicTest 4 4 6 SINGLE_TAG {}"), true, 317)
	if err != nil {
		t.Fatal(err)
	}
	want := RegisterBrokerBody{TopicConfigSerializeWrapper: TopicConfigAndMappingSerializeWrapper{
		TopicConfigSerializeWrapper: TopicConfigSerializeWrapper{
			TopicConfigTable: map[string]TopicConfig{"TopicTest": topicTest},
			DataVersion:      DataVersion{Counter: 1, Timestamp: 1700000000000},
		},
	}}
	if !reflect.DeepEqual(*rb, want) {
		t.Errorf("4.x body:\ngot  %+v\nwant %+v", *rb, want)
	}
	// A 5.x broker adds the mapping section.
	rb, err = DecodeRegisterBrokerBody(javaCompressed(true, "TopicTest 4 4 6 SINGLE_TAG {}"), true, 479)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := rb.TopicConfigSerializeWrapper.TopicQueueMappingInfoMap["Static"]
	if !ok || m.Get("totalQueues").Text != "4" {
		t.Errorf("mapping section: %+v", rb.TopicConfigSerializeWrapper.TopicQueueMappingInfoMap)
	}
	// Lenient: a 5.x sender whose stream ends after the filter list.
	if _, err := DecodeRegisterBrokerBody(javaCompressed(false), true, 479); err != nil {
		t.Errorf("5.x body without mapping section: %v", err)
	}

	// Our own encoding round-trips (order and topicSysFlag are not part of
	// the compressed form, as in Java).
	body := RegisterBrokerBody{FilterServerList: []string{"f:1"}, TopicConfigSerializeWrapper: mappingWrapper}
	body.TopicConfigSerializeWrapper.TopicQueueMappingInfoMap = rb.TopicConfigSerializeWrapper.TopicQueueMappingInfoMap
	data, err := body.EncodeCompressed()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeRegisterBrokerBody(data, true, 479)
	if err != nil {
		t.Fatal(err)
	}
	back.TopicConfigSerializeWrapper.MappingDataVersion = body.TopicConfigSerializeWrapper.MappingDataVersion // not carried
	back.TopicConfigSerializeWrapper.TopicQueueMappingDetailMap = body.TopicConfigSerializeWrapper.TopicQueueMappingDetailMap
	if !reflect.DeepEqual(*back, body) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", *back, body)
	}
	// And the JSON form goes through the same entry point.
	if got, err := DecodeRegisterBrokerBody([]byte(refRegisterBroker), false, 479); err != nil || !reflect.DeepEqual(*got, RegisterBrokerBody{TopicConfigSerializeWrapper: mappingWrapper}) {
		t.Errorf("JSON form: %+v, %v", got, err)
	}
}

func TestRegisterBrokerBodyCompressedErrors(t *testing.T) {
	compress := func(raw []byte) []byte {
		var out bytes.Buffer
		zw := zlib.NewWriter(&out)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		return out.Bytes()
	}
	be := func(vs ...int32) []byte {
		var b bytes.Buffer
		for _, v := range vs {
			_ = binary.Write(&b, binary.BigEndian, v)
		}
		return b.Bytes()
	}
	dv := append(be(int32(len(refDataVersion))), refDataVersion...)
	good := javaCompressed(true, "TopicTest 4 4 6 SINGLE_TAG {}")
	for name, data := range map[string][]byte{
		"not zlib":          []byte("{}"),
		"truncated zlib":    good[:len(good)-6],
		"empty":             compress(nil),
		"huge chunk":        compress(be(1 << 30)),
		"negative chunk":    compress(be(-1)),
		"bad data version":  compress(append(be(2), "{x"...)),
		"huge topic count":  compress(append(dv, be(1<<30)...)),
		"missing topic":     compress(append(dv, be(1)...)),
		"bad topic":         compress(append(append(dv, be(1, 3)...), "a b"...)),
		"no filter list":    compress(append(dv, be(0)...)),
		"bad filter list":   compress(append(append(dv, be(0, 1)...), "{"...)),
		"bad mapping count": compress(append(append(dv, be(0, 2)...), append([]byte("[]"), be(-5)...)...)),
		"bad mapping":       compress(append(append(dv, be(0, 2)...), append([]byte("[]"), append(be(1, 1), "x"...)...)...)),
	} {
		if _, err := DecodeRegisterBrokerBody(data, true, 479); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// bodyDecoders lists every decoder for the fuzz target.
var bodyDecoders = []func() codec{
	func() codec { return new(DataVersion) },
	func() codec { return new(TopicConfig) },
	func() codec { return new(TopicConfigSerializeWrapper) },
	func() codec { return new(TopicConfigAndMappingSerializeWrapper) },
	func() codec { return new(RegisterBrokerBody) },
	func() codec { return &routeCodec{style: StyleFastjson} },
	func() codec { return &routeCodec{style: StyleStandard} },
	func() codec { return new(ClusterInfo) },
	func() codec { return new(TopicList) },
	func() codec { return new(KVTable) },
	func() codec { return new(ConsumeStats) },
	func() codec { return new(TopicStatsTable) },
	func() codec { return new(ResetOffsetBody) },
	func() codec { return new(HeartbeatData) },
	func() codec { return new(GroupList) },
	func() codec { return new(ConsumerConnection) },
	func() codec { return new(ProducerConnection) },
	func() codec { return new(GetConsumerListByGroupResponseBody) },
	func() codec { return new(LockBatchRequestBody) },
	func() codec { return new(LockBatchResponseBody) },
}

func FuzzDecodeBody(f *testing.F) {
	for _, g := range goldens() {
		f.Add([]byte(g.text))
	}
	f.Add([]byte(goHeartbeat))
	f.Add([]byte(`{"offsetTable":[[{"topic":"T","brokerName":"b","queueId":0},42]]}`))
	f.Add(javaCompressed(true, "TopicTest 4 4 6 SINGLE_TAG {}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fresh := range bodyDecoders {
			c := fresh()
			if err := c.Decode(data); err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("%T: error does not wrap ErrInvalid: %v", c, err)
				}
				continue
			}
			// Whatever decodes must encode to text that decodes to the
			// same encoding.
			enc1 := c.Encode()
			again := fresh()
			if err := again.Decode(enc1); err != nil {
				t.Fatalf("%T: re-encoded body does not decode: %v\n%s", c, err, enc1)
			}
			if enc2 := again.Encode(); !bytes.Equal(enc1, enc2) {
				t.Fatalf("%T: encoding not stable\n%s\n%s", c, enc1, enc2)
			}
		}
		if rb, err := DecodeRegisterBrokerBody(data, true, 479); err == nil {
			if _, err := rb.EncodeCompressed(); err != nil {
				t.Fatal(err)
			}
		}
		var tc TopicConfig
		_ = tc.DecodeLegacy(string(data))
		_ = fastjson.Encode(&fastjson.Value{Kind: fastjson.KindString, Text: string(data)})
	})
}
