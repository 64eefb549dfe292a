package protocol

import (
	"maps"
	"testing"
)

func TestGetLMQListHeader(t *testing.T) {
	ext := map[string]string{"prefix": "%LMQ%a", "after": "%LMQ%a1", "limit": "20"}
	var h GetLMQListRequestHeader
	if err := DecodeHeader(ext, &h); err != nil {
		t.Fatal(err)
	}
	if h.Prefix != "%LMQ%a" || h.After != "%LMQ%a1" || h.Limit == nil || *h.Limit != 20 || h.PageSize() != 20 {
		t.Errorf("decode: %+v", h)
	}
	if got := EncodeHeader(&h); !maps.Equal(got, ext) {
		t.Errorf("re-encode: %v", got)
	}
	var empty GetLMQListRequestHeader
	if err := DecodeHeader(map[string]string{}, &empty); err != nil {
		t.Fatal(err)
	}
	if empty.PageSize() != DefaultLMQListLimit {
		t.Errorf("default page size %d", empty.PageSize())
	}
	for limit, want := range map[int32]int{-5: 1, 0: 1, 1: 1, 1000: 1000, 1001: 1000, 1 << 30: 1000} {
		l := limit
		if got := (&GetLMQListRequestHeader{Limit: &l}).PageSize(); got != want {
			t.Errorf("limit %d: page size %d, want %d", limit, got, want)
		}
	}
}
