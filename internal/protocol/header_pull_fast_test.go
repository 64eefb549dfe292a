package protocol

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

// checkPullCodecs compares the hand-written pull codecs with the
// reflective ones on one ext map.
func checkPullCodecs(t *testing.T, ext map[string]string) {
	t.Helper()
	var fields PullHeaderFields
	for k, v := range ext {
		fields.Set(k, v)
	}
	fast, ferr := fields.Decode()
	var slow PullMessageRequestHeader
	serr := decodeHeaderReflect(ext, &slow)
	if (ferr == nil) != (serr == nil) || (ferr != nil && ferr.Error() != serr.Error()) {
		t.Fatalf("on %q: errors differ: fast %v, reflect %v", ext, ferr, serr)
	}
	if ferr == nil && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("on %q: fast %+v, reflect %+v", ext, fast, slow)
	}
	// The request encoder, on the header decoded from the map.
	if ferr == nil {
		checkEachField(t, "request", &fast, fast.EachField)
	}
	// The response encoder, on a header decoded from the same map.
	var resp PullMessageResponseHeader
	if decodeHeaderReflect(ext, &resp) != nil {
		return
	}
	checkEachField(t, "response", &resp, resp.EachField)
}

// checkEachField compares a hand-written EachField encoder of h with
// EncodeHeader's reflective one: the same fields, keys sorted and unique.
func checkEachField(t *testing.T, what string, h any, each func(func(k, v string))) {
	t.Helper()
	got := map[string]string{}
	var keys []string
	each(func(k, v string) { got[k] = v; keys = append(keys, k) })
	if want := encodeHeaderReflect(h); !maps.Equal(got, want) {
		t.Fatalf("%s encode of %+v: fast %v, reflect %v", what, h, got, want)
	}
	if !slices.IsSorted(keys) || len(keys) != len(got) {
		t.Fatalf("%s EachField keys %q: not sorted or not unique", what, keys)
	}
}

var goPull = map[string]string{"consumerGroup": "g", "topic": "T", "queueId": "3", "queueOffset": "42", "maxMsgNums": "32",
	"sysFlag": "6", "commitOffset": "-1", "suspendTimeoutMillis": "20000", "subscription": "*", "subVersion": "1732600000000",
	"expressionType": "TAG", "bname": "broker-a"}

func TestPullCodecsMatchReflection(t *testing.T) {
	cases := []map[string]string{goPull, {}, {"consumerGroup": "g"}, {"consumerGroup": "g", "topic": "T", "queueId": "x"},
		{"consumerGroup": "g", "topic": "T", "queueId": "1", "queueOffset": ""},
		{"consumerGroup": "g", "topic": "T", "queueId": "1", "queueOffset": "9", "maxMsgBytes": "", "requestSource": "-1",
			"proxyFrowardClientId": "c", "maxMsgNums": "2147483648"},
		{"consumerGroup": "g", "topic": "T", "queueId": "1", "queueOffset": "9", "subVersion": "1e3"},
		{"consumerGroup": "g", "topic": "T", "queueId": "1", "queueOffset": "9", "maxMsgBytes": "1048576", "requestSource": "1",
			"proxyFrowardClientId": "c", "bname": "b"},
		{"suggestWhichBrokerId": "0", "nextBeginOffset": "7", "minOffset": "0", "maxOffset": "9", "forbiddenType": "1",
			"offsetDelta": "", "topicSysFlag": "3", "groupSysFlag": "-2"},
	}
	for _, ext := range cases {
		checkPullCodecs(t, ext)
	}
}

func FuzzPullCodecs(f *testing.F) {
	f.Add("queueId", "1", "maxMsgBytes", "-5", "sysFlag", "true", "minOffset", "3")
	f.Add("queueOffset", "", "requestSource", "x", "forbiddenType", "7", "commitOffset", "9223372036854775808")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3, k4, v4 string) {
		base := maps.Clone(goPull)
		for k, v := range map[string]string{"suggestWhichBrokerId": "0", "nextBeginOffset": "1", "minOffset": "0", "maxOffset": "2"} {
			base[k] = v
		}
		base[k1], base[k2], base[k3], base[k4] = v1, v2, v3, v4
		checkPullCodecs(t, base)
		checkPullCodecs(t, map[string]string{k1: v1, k2: v2, k3: v3, k4: v4})
	})
}
