package protocol

import (
	"errors"
	"maps"
	"reflect"
	"strconv"
	"testing"
)

type baseHeader struct {
	BrokerName string `ext:"bname"`
}

type testHeader struct {
	baseHeader
	Topic    string  `ext:"topic,required"`
	QueueID  int32   `ext:"queueId,required"`
	Offset   int64   `ext:"offset"`
	Small    int16   `ext:"small"`
	Force    bool    `ext:"isForce"`
	Max      *int64  `ext:"max"`
	Flag     *bool   `ext:"flag"`
	Note     *string `ext:"note"`
	Boundary kind    `ext:"boundaryType"`
	Ignored  string  `ext:"-"`
	Untagged string
}

type kind string

func TestHeaderRoundTrip(t *testing.T) {
	max, flag, note := int64(-9), true, "n"
	h := testHeader{
		baseHeader: baseHeader{BrokerName: "broker-a"},
		Topic:      "T", QueueID: 3, Offset: 1 << 40, Small: -2, Force: false,
		Max: &max, Flag: &flag, Note: &note, Boundary: "UPPER", Ignored: "x", Untagged: "y",
	}
	ext := EncodeHeader(&h)
	want := map[string]string{
		"bname": "broker-a", "topic": "T", "queueId": "3", "offset": "1099511627776", "small": "-2",
		"isForce": "false", "max": "-9", "flag": "true", "note": "n", "boundaryType": "UPPER",
	}
	if !maps.Equal(ext, want) {
		t.Fatalf("EncodeHeader = %v\nwant %v", ext, want)
	}
	var got testHeader
	if err := DecodeHeader(ext, &got); err != nil {
		t.Fatal(err)
	}
	h.Ignored, h.Untagged = "", ""
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("DecodeHeader = %+v\nwant %+v", got, h)
	}
}

func TestHeaderOmitted(t *testing.T) {
	ext := EncodeHeader(testHeader{}) // a struct value works too
	want := map[string]string{"queueId": "0", "offset": "0", "small": "0", "isForce": "false"}
	if !maps.Equal(ext, want) {
		t.Fatalf("EncodeHeader(zero) = %v, want %v (nil pointers and empty strings omitted)", ext, want)
	}
}

func TestDecodeHeaderDefaults(t *testing.T) {
	h := testHeader{Offset: 77, Boundary: "LOWER"}
	if err := DecodeHeader(map[string]string{"topic": "T", "queueId": "1", "offset": "", "boundaryType": "", "note": ""}, &h); err != nil {
		t.Fatal(err)
	}
	if h.Offset != 77 || h.Boundary != "LOWER" || h.Max != nil || h.Flag != nil || h.Note != nil {
		t.Errorf("absent or empty keys changed fields: %+v", h)
	}
}

func TestDecodeHeaderBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, "True": true, "false": false, "1": false, "yes": false, "": false, " true": false} {
		var h testHeader
		if err := DecodeHeader(map[string]string{"topic": "T", "queueId": "0", "isForce": in, "flag": in}, &h); err != nil {
			t.Fatal(err)
		}
		if h.Force != want || h.Flag == nil || *h.Flag != want {
			t.Errorf("bool %q: Force=%v Flag=%v, want %v", in, h.Force, h.Flag, want)
		}
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ext   map[string]string
		field string
		inner error
	}{
		{"nil ext", nil, "topic", nil},
		{"missing topic", map[string]string{"queueId": "1"}, "topic", nil},
		{"missing queueId", map[string]string{"topic": "T"}, "queueId", nil},
		{"empty required string", map[string]string{"topic": "", "queueId": "1"}, "topic", nil},
		{"empty required number", map[string]string{"topic": "T", "queueId": ""}, "queueId", nil},
		{"not a number", map[string]string{"topic": "T", "queueId": "x"}, "queueId", strconv.ErrSyntax},
		{"float", map[string]string{"topic": "T", "queueId": "1.0"}, "queueId", strconv.ErrSyntax},
		{"spaces", map[string]string{"topic": "T", "queueId": " 1"}, "queueId", strconv.ErrSyntax},
		{"int32 overflow", map[string]string{"topic": "T", "queueId": "2147483648"}, "queueId", strconv.ErrRange},
		{"int16 overflow", map[string]string{"topic": "T", "queueId": "1", "small": "40000"}, "small", strconv.ErrRange},
		{"bad pointer", map[string]string{"topic": "T", "queueId": "1", "max": "9x"}, "max", strconv.ErrSyntax},
	} {
		var h testHeader
		err := DecodeHeader(tc.ext, &h)
		var he *HeaderError
		if !errors.As(err, &he) || !errors.Is(err, ErrInvalidHeader) {
			t.Errorf("%s: err = %v, want *HeaderError", tc.name, err)
			continue
		}
		if he.Field != tc.field {
			t.Errorf("%s: Field = %q, want %q", tc.name, he.Field, tc.field)
		}
		if tc.inner != nil && !errors.Is(err, tc.inner) {
			t.Errorf("%s: err = %v, want it to wrap %v", tc.name, err, tc.inner)
		}
	}
}

func TestHeaderTypeErrors(t *testing.T) {
	type badType struct {
		F float64 `ext:"f"`
	}
	type badOpt struct {
		F string `ext:"f,omitempty"`
	}
	type unexported struct {
		//lint:ignore U1000 only reached through reflection
		f string `ext:"f"`
	}
	var n int
	for name, v := range map[string]any{
		"non-pointer": testHeader{}, "nil": (*testHeader)(nil), "not struct": &n,
		"float": &badType{}, "option": &badOpt{}, "unexported": &unexported{},
	} {
		if err := DecodeHeader(map[string]string{}, v); !errors.Is(err, ErrHeaderType) {
			t.Errorf("%s: err = %v, want ErrHeaderType", name, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("EncodeHeader of an unsupported type did not panic")
		}
	}()
	EncodeHeader(&badType{})
}

// allHeaders lists every header type of the package, so a field of an
// unsupported type is caught here rather than at run time.
var allHeaders = []any{
	&RegisterBrokerRequestHeader{}, &RegisterBrokerResponseHeader{}, &UnregisterBrokerRequestHeader{},
	&BrokerHeartbeatRequestHeader{}, &QueryDataVersionRequestHeader{}, &QueryDataVersionResponseHeader{},
	&GetRouteInfoRequestHeader{}, &GetTopicsByClusterRequestHeader{}, &DeleteTopicFromNamesrvRequestHeader{},
	&PutKVConfigRequestHeader{}, &GetKVConfigRequestHeader{}, &GetKVConfigResponseHeader{},
	&DeleteKVConfigRequestHeader{}, &GetKVListByNamespaceRequestHeader{},
	&WipeWritePermOfBrokerRequestHeader{}, &WipeWritePermOfBrokerResponseHeader{},
	&AddWritePermOfBrokerRequestHeader{}, &AddWritePermOfBrokerResponseHeader{},
	&SendMessageRequestHeader{}, &SendMessageRequestHeaderV2{}, &SendMessageResponseHeader{},
}

func TestAllHeadersSupported(t *testing.T) {
	for _, h := range allHeaders {
		ext := EncodeHeader(h)
		if err := DecodeHeader(ext, h); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) || he.Reason != "missing" {
				t.Errorf("%T: %v", h, err)
			}
		}
	}
}

func TestRegisterBrokerHeader(t *testing.T) {
	timeout := int64(120000)
	h := RegisterBrokerRequestHeader{
		BrokerName: "broker-a", BrokerAddr: "192.168.0.1:10911", ClusterName: "DefaultCluster",
		HAServerAddr: "192.168.0.1:10912", BrokerID: 0, HeartbeatTimeoutMillis: &timeout, BodyCrc32: 12345,
	}
	want := map[string]string{
		"brokerName": "broker-a", "brokerAddr": "192.168.0.1:10911", "clusterName": "DefaultCluster",
		"haServerAddr": "192.168.0.1:10912", "brokerId": "0", "heartbeatTimeoutMillis": "120000",
		"compressed": "false", "bodyCrc32": "12345",
	}
	if got := EncodeHeader(&h); !maps.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	var back RegisterBrokerRequestHeader
	if err := DecodeHeader(want, &back); err != nil || !reflect.DeepEqual(back, h) {
		t.Errorf("decode: %+v, %v", back, err)
	}
	delete(want, "brokerId")
	var he *HeaderError
	if err := DecodeHeader(want, &back); !errors.As(err, &he) || he.Field != "brokerId" {
		t.Errorf("missing brokerId: %v", err)
	}
}

// Headers captured from rocketmq-client-go (client-go-compat section 6).
var (
	goSendV1 = map[string]string{"batch": "false", "bname": "broker-a", "bornTimestamp": "1795692041591", "defaultTopic": "TBW102", "defaultTopicQueueNums": "4", "flag": "0", "maxReconsumeTimes": "0", "producerGroup": "pg", "properties": "TAGS\x01TagA\x02KEYS\x01k1\x02UNIQ_KEY\x01C0000202681E00000000832e2b280001\x02", "queueId": "1", "reconsumeTimes": "0", "sysFlag": "0", "topic": "t-probe", "unitMode": "false"}
	goSendV2 = map[string]string{"a": "pg", "b": "t-probe", "c": "TBW102", "d": "4", "e": "1", "f": "0", "g": "1795692041593", "h": "0", "i": "", "j": "0", "k": "false", "l": "0", "m": "true", "n": "broker-a"}
)

func TestSendHeaders(t *testing.T) {
	h, err := DecodeSendMessageRequestHeader(SendMessage, goSendV1)
	if err != nil {
		t.Fatal(err)
	}
	if h.Topic != "t-probe" || h.QueueID != 1 || h.BornTimestamp != 1795692041591 || h.DefaultTopicQueueNums != 4 ||
		h.IsBatch() || h.BrokerName != "broker-a" || *h.MaxReconsumeTimes != 0 || *h.UnitMode {
		t.Errorf("V1 decode: %+v", h)
	}
	if got := EncodeHeader(&h); !maps.Equal(got, goSendV1) {
		t.Errorf("V1 re-encode:\ngot  %v\nwant %v", got, goSendV1)
	}

	b, err := DecodeSendMessageRequestHeader(SendBatchMessage, goSendV2)
	if err != nil {
		t.Fatal(err)
	}
	if b.ProducerGroup != "pg" || b.Topic != "t-probe" || !b.IsBatch() || b.Properties != "" || b.BornTimestamp != 1795692041593 {
		t.Errorf("V2 decode: %+v", b)
	}
	v2 := b.V2()
	got := EncodeHeader(&v2)
	want := maps.Clone(goSendV2)
	delete(want, "i") // an empty properties string is Java's null: not sent
	if !maps.Equal(got, want) {
		t.Errorf("V2 re-encode:\ngot  %v\nwant %v", got, want)
	}
	if back := v2.V1(); !reflect.DeepEqual(back, b) {
		t.Errorf("V2 -> V1 lost data: %+v vs %+v", back, b)
	}

	// A V1 header sent with a V2 code is missing every one-letter key.
	if _, err := DecodeSendMessageRequestHeader(SendMessageV2, goSendV1); !errors.Is(err, ErrInvalidHeader) {
		t.Errorf("V1 keys under code 310: %v", err)
	}

	resp := SendMessageResponseHeader{MsgID: "C0A8000100002A9F0000000000000258", QueueID: 1, QueueOffset: 5, MsgRegion: DefaultMsgRegion}
	wantResp := map[string]string{"msgId": "C0A8000100002A9F0000000000000258", "queueId": "1", "queueOffset": "5", "MSG_REGION": "DefaultRegion", "TRACE_ON": "false"}
	if got := EncodeHeader(&resp); !maps.Equal(got, wantResp) {
		t.Errorf("send response:\ngot  %v\nwant %v", got, wantResp)
	}
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add("topic", "T", "queueId", "1", "max", "-5")
	f.Add("topic", "", "queueId", "99999999999", "flag", "TRUE")
	f.Add("a", "pg", "e", "x", "m", "true")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		ext := map[string]string{k1: v1, k2: v2, k3: v3}
		var h testHeader
		if err := DecodeHeader(ext, &h); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("error is not a *HeaderError: %v", err)
			}
			return
		}
		// What decodes re-encodes to the same values.
		var again testHeader
		if err := DecodeHeader(EncodeHeader(&h), &again); err != nil || !reflect.DeepEqual(again, h) {
			t.Fatalf("round trip: %+v vs %+v (%v)", again, h, err)
		}
		for _, hdr := range allHeaders {
			_ = DecodeHeader(ext, hdr)
		}
		_, _ = DecodeSendMessageRequestHeader(SendMessageV2, ext)
	})
}
