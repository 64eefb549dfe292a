package protocol

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

// checkSendCodecs compares the hand-written send header codecs with the
// reflective ones on one ext map.
func checkSendCodecs(t *testing.T, ext map[string]string) {
	t.Helper()
	for _, tc := range []struct{ code RequestCode }{{SendMessageV2}, {SendMessage}} {
		// One field at a time, as the broker feeds it from a request's list.
		var fields SendHeaderFields
		fields.Reset(tc.code)
		for k, v := range ext {
			fields.Set(k, v)
		}
		fast, ferr := fields.Decode()
		if got, err := DecodeSendMessageRequestHeader(tc.code, ext); (err == nil) != (ferr == nil) || !reflect.DeepEqual(got, fast) {
			t.Fatalf("code %d on %q: DecodeSendMessageRequestHeader %+v %v, fields %+v %v", tc.code, ext, got, err, fast, ferr)
		}
		var slow SendMessageRequestHeader
		var serr error
		if tc.code == SendMessageV2 {
			var v2 SendMessageRequestHeaderV2
			if serr = decodeHeaderReflect(ext, &v2); serr == nil {
				slow = v2.V1()
			}
		} else {
			serr = decodeHeaderReflect(ext, &slow)
		}
		if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
			t.Fatalf("code %d on %q: errors differ: fast %v, reflect %v", tc.code, ext, ferr, serr)
		}
		if ferr == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("code %d on %q: fast %+v, reflect %+v", tc.code, ext, fast, slow)
		}
		if ferr == nil {
			v2 := fast.V2()
			if got, want := encodeSendRequestV2(&v2), encodeHeaderReflect(&v2); !maps.Equal(got, want) {
				t.Fatalf("V2 encode of %+v: fast %v, reflect %v", v2, got, want)
			}
			var keys []string
			v2.EachField(func(k, _ string) { keys = append(keys, k) })
			if !slices.IsSorted(keys) || len(keys) != len(encodeSendRequestV2(&v2)) {
				t.Fatalf("request EachField keys %q: not sorted or not unique", keys)
			}
		}
	}
	preset := SendMessageResponseHeader{MsgID: "m", TransactionID: "t", MsgRegion: "r", TraceOn: true, QueueOffset: 9}
	fast, slow := preset, preset
	ferr, serr := decodeSendResponse(ext, &fast), decodeHeaderReflect(ext, &slow)
	if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) || !reflect.DeepEqual(fast, slow) {
		t.Fatalf("response on %q: fast %+v %v, reflect %+v %v", ext, fast, ferr, slow, serr)
	}
	if got, want := encodeSendResponse(&fast), encodeHeaderReflect(&fast); !maps.Equal(got, want) {
		t.Fatalf("response encode of %+v: fast %v, reflect %v", fast, got, want)
	}
	// EachField gives each key once, sorted, as the map encoder would.
	var keys []string
	fast.EachField(func(k, _ string) { keys = append(keys, k) })
	if !slices.IsSorted(keys) || len(keys) != len(encodeSendResponse(&fast)) {
		t.Fatalf("EachField keys %q: not sorted or not unique", keys)
	}
}

func TestSendCodecsMatchReflection(t *testing.T) {
	cases := []map[string]string{goSendV1, goSendV2, {}, {"a": "pg"},
		{"a": "pg", "b": "T", "c": "TBW102", "d": "4", "e": "x"},
		{"a": "pg", "b": "T", "c": "TBW102", "d": "4", "e": "1", "f": "0", "g": "99999999999999999999", "h": "0"},
		{"a": "pg", "b": "T", "c": "TBW102", "d": "4", "e": "1", "f": "0", "g": "1", "h": "0", "k": "", "m": "TRUE", "j": "", "l": "-3"},
		{"msgId": "AB", "queueId": "2", "queueOffset": "7", "TRACE_ON": "", "MSG_REGION": "", "batchUniqId": "b"},
		{"msgId": "AB", "queueId": "2147483648", "queueOffset": "7"},
	}
	for _, ext := range cases {
		checkSendCodecs(t, ext)
	}
}

func FuzzSendCodecs(f *testing.F) {
	f.Add("e", "1", "g", "-5", "m", "true", "queueId", "3")
	f.Add("d", "", "msgId", "x", "k", "FALSE", "j", "1e3")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3, k4, v4 string) {
		base := map[string]string{"a": "pg", "b": "T", "c": "TBW102", "d": "4", "e": "1", "f": "0", "g": "1", "h": "0",
			"producerGroup": "pg", "topic": "T", "defaultTopic": "TBW102", "defaultTopicQueueNums": "4", "queueId": "1",
			"sysFlag": "0", "bornTimestamp": "1", "flag": "0", "msgId": "M", "queueOffset": "0"}
		base[k1], base[k2], base[k3], base[k4] = v1, v2, v3, v4
		checkSendCodecs(t, base)
		checkSendCodecs(t, map[string]string{k1: v1, k2: v2, k3: v3, k4: v4})
	})
}
