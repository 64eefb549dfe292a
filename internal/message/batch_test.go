package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestBatchRoundTrip(t *testing.T) {
	msgs := []*Message{
		{Flag: 1, Body: []byte("one"), Properties: Properties{PropertyUniqKey: "U1", PropertyKeys: "a"}},
		{Flag: -1, Body: nil, Properties: nil},
		{Body: bytes.Repeat([]byte{0xAB}, 1000), Properties: Properties{PropertyUniqKey: "U3"}},
	}
	body, err := EncodeBatch(msgs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("%d messages, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		if !sameMessage(got[i], msgs[i]) {
			t.Errorf("message %d: %+v, want %+v", i, got[i], msgs[i])
		}
	}
	if msgs, err := DecodeBatch(nil); err != nil || len(msgs) != 0 {
		t.Fatalf("empty batch: %v, %v", msgs, err)
	}
}

// TestBatchGolden checks the exact compact layout of one entry.
func TestBatchGolden(t *testing.T) {
	props := "UNIQ_KEY\x01U1\x02"
	var w builder
	w.u32(uint32(22 + 2 + len(props))) // totalSize
	w.u32(0)                           // magic
	w.u32(0)                           // body CRC
	w.u32(5)                           // flag
	w.u32(2)                           // body length
	w.str("hi")
	w.u16(uint16(len(props)))
	w.str(props)
	got, err := EncodeBatch([]*Message{{Flag: 5, Body: []byte("hi"), Properties: Properties{PropertyUniqKey: "U1"}}})
	if err != nil || !bytes.Equal(got, w.b) {
		t.Fatalf("EncodeBatch = %x, %v\nwant %x", got, err, w.b)
	}
	// The Java broker ignores magic and CRC words; so do we.
	binary.BigEndian.PutUint32(w.b[4:], 0xDEADBEEF)
	binary.BigEndian.PutUint32(w.b[8:], 0x12345678)
	if msgs, err := DecodeBatch(w.b); err != nil || string(msgs[0].Body) != "hi" || msgs[0].Flag != 5 {
		t.Fatalf("DecodeBatch = %v, %v", msgs, err)
	}
}

func TestBatchErrors(t *testing.T) {
	good, _ := EncodeBatch([]*Message{
		{Body: []byte("abc"), Properties: Properties{"k": "v"}},
		{Body: []byte("defg"), Properties: Properties{"k": "w"}},
	})
	first := 22 + 3 + 4
	for n := 1; n < len(good); n++ {
		if n == first {
			continue // a whole first entry is a valid batch
		}
		if _, err := DecodeBatch(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("prefix %d: err = %v", n, err)
		}
	}
	be := binary.BigEndian
	cases := []struct {
		name  string
		edit  func(b []byte)
		field string
	}{
		{"size below minimum", func(b []byte) { be.PutUint32(b[0:], 21) }, "batch[0].TOTALSIZE"},
		{"negative size", func(b []byte) { be.PutUint32(b[0:], 0xFFFFFFFF) }, "batch[0].TOTALSIZE"},
		{"size beyond input", func(b []byte) { be.PutUint32(b[first:], 1000) }, "batch[1].TOTALSIZE"},
		{"negative body length", func(b []byte) { be.PutUint32(b[16:], 0x80000000) }, "batch[0].BODYLENGTH"},
		{"body length too big", func(b []byte) { be.PutUint32(b[16:], 8) }, "batch[0].BODYLENGTH"},
		{"props length mismatch", func(b []byte) { be.PutUint16(b[23:], 3) }, "batch[0].PROPERTIESLENGTH"},
		{"negative props length", func(b []byte) { be.PutUint16(b[23:], 0xFFFF) }, "batch[0].PROPERTIESLENGTH"},
	}
	for _, c := range cases {
		b := bytes.Clone(good)
		c.edit(b)
		_, err := DecodeBatch(b)
		var ce *CorruptionError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%s: err = %v, want field %s", c.name, err, c.field)
		}
	}

	if _, err := EncodeBatch([]*Message{{Properties: Properties{"a": "b\x02"}}}); !errors.Is(err, ErrInvalidProperty) {
		t.Fatalf("invalid property accepted: %v", err)
	}
	big := []*Message{{Properties: Properties{"a": strings.Repeat("b", MaxPropertiesLength)}}}
	out, err := AppendBatch([]byte("keep"), big)
	if !errors.Is(err, ErrPropertiesTooLong) || string(out) != "keep" {
		t.Fatalf("oversized properties: %q, %v", out, err)
	}
}
