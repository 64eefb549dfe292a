package body

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

const (
	refLMQList      = `{"count":3,"lmqList":[{"firstSeen":1700000000000,"name":"%LMQ%a1"},{"firstSeen":1700000000001,"name":"%LMQ%a2"}],"next":"%LMQ%a2"}`
	refLMQListLast  = `{"count":3,"lmqList":[{"firstSeen":1700000000002,"name":"%LMQ%b"}],"next":""}`
	refLMQListEmpty = `{"count":0,"lmqList":[],"next":""}`
)

func TestLMQListGolden(t *testing.T) {
	for _, g := range []golden{
		{"page", refLMQList, &LMQList{Count: 3, Next: "%LMQ%a2", LMQList: []LMQInfo{
			{Name: "%LMQ%a1", FirstSeen: 1700000000000}, {Name: "%LMQ%a2", FirstSeen: 1700000000001},
		}}, func() codec { return new(LMQList) }, true},
		{"last", refLMQListLast, &LMQList{Count: 3, LMQList: []LMQInfo{{Name: "%LMQ%b", FirstSeen: 1700000000002}}},
			func() codec { return new(LMQList) }, true},
		{"empty", refLMQListEmpty, &LMQList{}, func() codec { return new(LMQList) }, true},
	} {
		t.Run(g.name, func(t *testing.T) {
			if got := string(g.want.Encode()); got != g.text {
				t.Errorf("encode:\ngot  %s\nwant %s", got, g.text)
			}
			got := g.fresh()
			if err := got.Decode([]byte(g.text)); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, g.want) {
				t.Errorf("decode:\ngot  %+v\nwant %+v", got, g.want)
			}
		})
	}
	// Any key order and missing keys decode (hand-written or future bodies).
	var l LMQList
	if err := l.Decode([]byte(`{"next":"x","lmqList":[{"name":"%LMQ%q"}]}`)); err != nil {
		t.Fatal(err)
	}
	if l.Next != "x" || len(l.LMQList) != 1 || l.LMQList[0].Name != "%LMQ%q" {
		t.Errorf("decode: %+v", l)
	}
	for _, bad := range []string{`[]`, `{"lmqList":{}}`, `{"lmqList":[1]}`, `{"count":"x"}`, `{"lmqList":[{"firstSeen":"x"}]}`} {
		if err := new(LMQList).Decode([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzDecodeLMQList(f *testing.F) {
	for _, s := range []string{refLMQList, refLMQListLast, refLMQListEmpty} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l LMQList
		if err := l.Decode(data); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		enc1 := l.Encode()
		var again LMQList
		if err := again.Decode(enc1); err != nil {
			t.Fatalf("re-encoded body does not decode: %v\n%s", err, enc1)
		}
		if enc2 := again.Encode(); !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding not stable\n%s\n%s", enc1, enc2)
		}
	})
}
