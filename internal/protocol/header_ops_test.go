package protocol

import (
	"errors"
	"maps"
	"testing"
)

// The operational headers carry Java's key names, including the
// _UNIQUE_KEY_QUERY flag that is an ext field, not a header field, in Java.
func TestOpsHeadersRoundTrip(t *testing.T) {
	q := map[string]string{"topic": "T", "key": "k1", "maxNum": "64", "beginTimestamp": "0",
		"endTimestamp": "9223372036854775807", UniqueKeyQueryFlag: "true"}
	var qh QueryMessageRequestHeader
	if err := DecodeHeader(q, &qh); err != nil {
		t.Fatal(err)
	}
	if qh.Key != "k1" || qh.MaxNum != 64 || qh.EndTimestamp != 1<<63-1 || qh.UniqueKey != "true" {
		t.Errorf("QueryMessage decode: %+v", qh)
	}
	if got := EncodeHeader(&qh); !maps.Equal(got, q) {
		t.Errorf("QueryMessage re-encode: %v", got)
	}

	r := map[string]string{"topic": "T", "group": "G", "timestamp": "-1", "isForce": "true", "queueId": "3", "offset": "42"}
	var rh ResetOffsetRequestHeader
	if err := DecodeHeader(r, &rh); err != nil {
		t.Fatal(err)
	}
	if rh.QueueID == nil || *rh.QueueID != 3 || rh.Offset == nil || *rh.Offset != 42 || rh.Timestamp != -1 {
		t.Errorf("ResetOffset decode: %+v", rh)
	}
	if got := EncodeHeader(&rh); !maps.Equal(got, r) {
		t.Errorf("ResetOffset re-encode: %v", got)
	}

	// A reset without its group is refused naming the field.
	err := DecodeHeader(map[string]string{"topic": "T", "timestamp": "0"}, &ResetOffsetRequestHeader{})
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("missing group: %v", err)
	}
	if err := DecodeHeader(map[string]string{"opId": "x", "undo": "y"}, &BolideResetOffsetRequestHeader{}); err != nil {
		t.Errorf("undo needs only opId and undo: %v", err)
	}
}
