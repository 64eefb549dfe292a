package message

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"
)

// builder writes big-endian fields, for hand-made golden records.
type builder struct{ b []byte }

func (w *builder) u8(v uint8)    { w.b = append(w.b, v) }
func (w *builder) u16(v uint16)  { w.b = binary.BigEndian.AppendUint16(w.b, v) }
func (w *builder) u32(v uint32)  { w.b = binary.BigEndian.AppendUint32(w.b, v) }
func (w *builder) u64(v uint64)  { w.b = binary.BigEndian.AppendUint64(w.b, v) }
func (w *builder) raw(v ...byte) { w.b = append(w.b, v...) }
func (w *builder) str(s string)  { w.b = append(w.b, s...) }

// normalized makes messages comparable with DeepEqual: nil and empty bodies
// and property sets mean the same thing on the wire.
func normalized(m *Message) Message {
	c := *m
	if len(c.Body) == 0 {
		c.Body = nil
	}
	if len(c.Properties) == 0 {
		c.Properties = nil
	}
	return c
}

func sameMessage(a, b *Message) bool {
	return reflect.DeepEqual(normalized(a), normalized(b))
}

func mustEncode(t testing.TB, m *Message) []byte {
	t.Helper()
	b, err := Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return b
}

var (
	v4Born  = netip.MustParseAddrPort("10.0.0.1:5555")
	v4Store = netip.MustParseAddrPort("192.168.1.2:10911")
	v6Born  = netip.MustParseAddrPort("[2001:db8::1]:40000")
	v6Store = netip.MustParseAddrPort("[fe80::1234:5678]:10911")
)

func sampleMessage() *Message {
	return &Message{
		Topic:                     "TopicTest",
		Flag:                      7,
		Body:                      []byte("hello, bolide"),
		Properties:                Properties{PropertyTags: "TagA", PropertyKeys: "k1 k2", PropertyUniqKey: "C0A8000112342A9F0000000000000001"},
		SysFlag:                   SysMultiTags,
		BornTimestamp:             1700000000000,
		BornHost:                  v4Born,
		StoreTimestamp:            1700000000123,
		StoreHost:                 v4Store,
		QueueID:                   3,
		QueueOffset:               42,
		CommitLogOffset:           1 << 33,
		ReconsumeTimes:            2,
		PreparedTransactionOffset: 99,
	}
}
