package protocol

import (
	"errors"
	"maps"
	"testing"
)

func TestProducerConnectionListHeader(t *testing.T) {
	ext := map[string]string{"producerGroup": "PG"}
	var h GetProducerConnectionListRequestHeader
	if err := DecodeHeader(ext, &h); err != nil || h.ProducerGroup != "PG" {
		t.Fatalf("decode: %+v, %v", h, err)
	}
	if got := EncodeHeader(&h); !maps.Equal(got, ext) {
		t.Errorf("re-encode: %v", got)
	}
	var he *HeaderError
	if err := DecodeHeader(map[string]string{}, &h); !errors.As(err, &he) {
		t.Errorf("missing producerGroup: %v", err)
	}
}
