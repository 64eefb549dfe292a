package message

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"strings"
	"testing"
)

// TestGoldenRecordIPv4 builds a record by hand from the layout table and
// checks the encoder produces exactly those bytes and the decoder reads them.
func TestGoldenRecordIPv4(t *testing.T) {
	body := []byte("hi")
	topic := "T1"
	props := "KEYS\x01a b\x02TAGS\x01TagA\x02" // sorted by name
	crc := crc32.ChecksumIEEE(body) & 0x7FFFFFFF
	total := 91 + len(body) + len(topic) + len(props)

	var w builder
	w.u32(uint32(total))      // 0 TOTALSIZE
	w.u32(0xDAA320A7)         // 4 MAGICCODE
	w.u32(crc)                // 8 BODYCRC
	w.u32(3)                  // 12 QUEUEID
	w.u32(7)                  // 16 FLAG
	w.u64(42)                 // 20 QUEUEOFFSET
	w.u64(1000)               // 28 PHYSICALOFFSET
	w.u32(0)                  // 36 SYSFLAG
	w.u64(1700000000000)      // 40 BORNTIMESTAMP
	w.raw(10, 0, 0, 1)        // 48 BORNHOST ip
	w.u32(5555)               //    port
	w.u64(1700000000123)      // 56 STORETIMESTAMP
	w.raw(192, 168, 1, 2)     // 64 STOREHOST ip
	w.u32(10911)              //    port
	w.u32(1)                  // 72 RECONSUMETIMES
	w.u64(0)                  // 76 PREPARED_TRANSACTION_OFFSET
	w.u32(uint32(len(body)))  // 84 BODYLENGTH
	w.raw(body...)            // 88 BODY
	w.u8(uint8(len(topic)))   // TOPICLENGTH
	w.str(topic)              // TOPIC
	w.u16(uint16(len(props))) // PROPERTIESLENGTH
	w.str(props)              // PROPERTIES
	want := w.b

	m := &Message{
		Topic: topic, Flag: 7, Body: body,
		Properties:    Properties{PropertyTags: "TagA", PropertyKeys: "a b"},
		BornTimestamp: 1700000000000, BornHost: v4Born,
		StoreTimestamp: 1700000000123, StoreHost: v4Store,
		QueueID: 3, QueueOffset: 42, CommitLogOffset: 1000, ReconsumeTimes: 1,
	}
	got := mustEncode(t, m)
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding differs from hand-built record\n got %x\nwant %x", got, want)
	}
	be := binary.BigEndian
	checks := []struct {
		name string
		off  int
		want uint64
		size int
	}{
		{"TOTALSIZE", 0, uint64(total), 4},
		{"MAGICCODE", 4, 0xDAA320A7, 4},
		{"QUEUEID", 12, 3, 4},
		{"QUEUEOFFSET", 20, 42, 8},
		{"PHYSICALOFFSET", 28, 1000, 8},
		{"STORETIMESTAMP", 56, 1700000000123, 8},
		{"BODYLENGTH", 84, 2, 4},
	}
	for _, c := range checks {
		var v uint64
		if c.size == 4 {
			v = uint64(be.Uint32(got[c.off:]))
		} else {
			v = be.Uint64(got[c.off:])
		}
		if v != c.want {
			t.Errorf("%s at %d = %d, want %d", c.name, c.off, v, c.want)
		}
	}
	if string(got[88:90]) != "hi" {
		t.Errorf("body not at offset 88: %q", got[88:90])
	}
	if got[90] != 2 || string(got[91:93]) != "T1" {
		t.Errorf("topic length/topic not after body: %x", got[90:93])
	}

	dec, err := Decode(want)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	m.BodyCRC = int32(crc)
	m.Magic = MagicV1
	if !sameMessage(dec, m) {
		t.Fatalf("decoded %+v\nwant %+v", dec, m)
	}
	if len(want) != MinRecordSize+len(body)+len(topic)+len(props) {
		t.Fatalf("MinRecordSize inconsistent")
	}
}

// TestGoldenRecordIPv6 checks the widened host fields and the sysFlag bits.
func TestGoldenRecordIPv6(t *testing.T) {
	m := &Message{Topic: "T", Body: []byte("x"), BornHost: v6Born, StoreHost: v6Store,
		StoreTimestamp: 77, CommitLogOffset: 5, ReconsumeTimes: 9}
	got := mustEncode(t, m)
	be := binary.BigEndian
	if sf := be.Uint32(got[36:]); sf != 0x30 {
		t.Fatalf("sysFlag = %#x, want 0x30 (both hosts IPv6)", sf)
	}
	born := v6Born.Addr().As16()
	if !bytes.Equal(got[48:64], born[:]) || be.Uint32(got[64:]) != 40000 {
		t.Fatalf("born host bytes wrong: %x", got[48:68])
	}
	if be.Uint64(got[68:]) != 77 {
		t.Fatalf("store timestamp not at 68")
	}
	store := v6Store.Addr().As16()
	if !bytes.Equal(got[76:92], store[:]) || be.Uint32(got[92:]) != 10911 {
		t.Fatalf("store host bytes wrong: %x", got[76:96])
	}
	if be.Uint32(got[96:]) != 9 {
		t.Fatalf("reconsume times not at 96")
	}
	if be.Uint32(got[108:]) != 1 || got[112] != 'x' {
		t.Fatalf("body length/body not at 108/112")
	}
	if len(got) != MinRecordSize+24+1+1 {
		t.Fatalf("size %d", len(got))
	}
	ts, err := PeekStoreTimestamp(got)
	if err != nil || ts != 77 {
		t.Fatalf("PeekStoreTimestamp = %d, %v", ts, err)
	}
}

func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("t", 200)
	cases := []struct {
		name   string
		mutate func(m *Message)
		magic  uint32
	}{
		{"ipv4", func(m *Message) {}, MagicV1},
		{"ipv6 both", func(m *Message) { m.BornHost, m.StoreHost = v6Born, v6Store }, MagicV1},
		{"ipv6 born only", func(m *Message) { m.BornHost = v6Born }, MagicV1},
		{"ipv6 store only", func(m *Message) { m.StoreHost = v6Store }, MagicV1},
		{"4in6 host stays 16 bytes", func(m *Message) {
			m.StoreHost = netip.AddrPortFrom(netip.MustParseAddr("::ffff:1.2.3.4"), 1)
		}, MagicV1},
		{"empty body", func(m *Message) { m.Body = nil }, MagicV1},
		{"empty props", func(m *Message) { m.Properties = nil }, MagicV1},
		{"empty everything", func(m *Message) { *m = Message{} }, MagicV1},
		{"topic 127 stays V1", func(m *Message) { m.Topic = long[:127] }, MagicV1},
		{"topic 128 picks V2", func(m *Message) { m.Topic = long[:128] }, MagicV2},
		{"long topic V2 ipv6", func(m *Message) { m.Topic = long; m.BornHost = v6Born }, MagicV2},
		{"forced V2 short topic", func(m *Message) { m.Magic = MagicV2 }, MagicV2},
		{"negative fields", func(m *Message) {
			m.QueueID, m.Flag, m.QueueOffset, m.ReconsumeTimes = -1, -2, -3, -4
			m.SysFlag = SysFlag(-1) &^ (SysBornHostV6 | SysStoreHostV6)
		}, MagicV1},
		{"binary body", func(m *Message) { m.Body = []byte{0, 1, 2, 0xFF, 0x02, 0x01} }, MagicV1},
		{"value with name separator", func(m *Message) { m.Properties["X"] = "a\x01b" }, MagicV1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sampleMessage()
			c.mutate(m)
			enc := mustEncode(t, m)
			if n, err := EncodedSize(m); err != nil || n != len(enc) {
				t.Fatalf("EncodedSize = %d, %v; encoded %d", n, err, len(enc))
			}
			got, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Magic != c.magic {
				t.Fatalf("magic %#x, want %#x", got.Magic, c.magic)
			}
			want := m.Clone()
			want.Magic = c.magic
			want.BodyCRC = BodyCRC(m.Body)
			want.SysFlag = m.SysFlag &^ (SysBornHostV6 | SysStoreHostV6)
			if m.BornHost.Addr().Is6() {
				want.SysFlag |= SysBornHostV6
			}
			if m.StoreHost.Addr().Is6() {
				want.SysFlag |= SysStoreHostV6
			}
			if !want.BornHost.IsValid() {
				want.BornHost = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
			}
			if !want.StoreHost.IsValid() {
				want.StoreHost = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
			}
			if !sameMessage(got, want) {
				t.Fatalf("round trip mismatch\n got %+v\nwant %+v", got, want)
			}
			// Re-encoding a decoded message is byte-identical.
			if again := mustEncode(t, got); !bytes.Equal(again, enc) {
				t.Fatalf("re-encoding differs")
			}
		})
	}
}

func TestSysFlagHostBitsFollowAddresses(t *testing.T) {
	m := sampleMessage()
	m.SysFlag = SysBornHostV6 | SysStoreHostV6 | SysCompressed // stale bits
	got, err := Decode(mustEncode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if got.SysFlag != SysCompressed {
		t.Fatalf("sysFlag %#x, want only COMPRESSED", got.SysFlag)
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m *Message)
		want   error
	}{
		{"V1 forced with long topic", func(m *Message) { m.Magic = MagicV1; m.Topic = strings.Repeat("a", 128) }, ErrTopicTooLong},
		{"topic beyond V2", func(m *Message) { m.Topic = strings.Repeat("a", MaxTopicLengthV2+1) }, ErrTopicTooLong},
		{"unknown magic", func(m *Message) { m.Magic = MagicBlank }, ErrUnknownMagic},
		{"props too long", func(m *Message) { m.Properties["big"] = strings.Repeat("v", MaxPropertiesLength) }, ErrPropertiesTooLong},
		{"name with separator", func(m *Message) { m.Properties["a\x01b"] = "v" }, ErrInvalidProperty},
		{"value with separator", func(m *Message) { m.Properties["a"] = "v\x02" }, ErrInvalidProperty},
		{"empty name", func(m *Message) { m.Properties[""] = "v" }, ErrInvalidProperty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sampleMessage()
			c.mutate(m)
			prefix := []byte("keep")
			out, err := AppendRecord(prefix, m)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if string(out) != "keep" {
				t.Fatalf("dst modified on error: %q", out)
			}
			if _, err := EncodedSize(m); !errors.Is(err, c.want) {
				t.Fatalf("EncodedSize err = %v, want %v", err, c.want)
			}
		})
	}
	// Exactly at the limit is fine.
	m := sampleMessage()
	m.Properties = Properties{"k": strings.Repeat("v", MaxPropertiesLength-3)}
	if _, err := Encode(m); err != nil {
		t.Fatalf("props at limit: %v", err)
	}
}

func TestRawProperties(t *testing.T) {
	m := sampleMessage()
	raw := []byte("ZZZ\x01last\x02AAA\x01first\x02")
	raw, _ = AppendProperty(raw, PropertyCluster, "DefaultCluster")
	rec, err := AppendRecordRawProperties(nil, m, raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.PropertiesBytes(), raw) {
		t.Fatalf("raw properties not preserved: %q", r.PropertiesBytes())
	}
	if v, _ := r.Property(PropertyCluster); v != "DefaultCluster" {
		t.Fatalf("CLUSTER = %q", v)
	}
	if _, err := AppendRecordRawProperties(nil, m, make([]byte, MaxPropertiesLength+1)); !errors.Is(err, ErrPropertiesTooLong) {
		t.Fatalf("oversized raw props: %v", err)
	}
}

func TestBodyCRC(t *testing.T) {
	// crc32("123456789") = 0xCBF43926; the top bit is cleared.
	if got := BodyCRC([]byte("123456789")); got != 0x4BF43926 {
		t.Fatalf("BodyCRC = %#x, want 0x4BF43926", got)
	}
	if BodyCRC(nil) != 0 {
		t.Fatalf("BodyCRC(empty) != 0")
	}
	rec := mustEncode(t, sampleMessage())
	rec[88] ^= 0xFF // flip a body byte
	_, err := Decode(rec)
	if !errors.Is(err, ErrBadCRC) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrBadCRC and ErrCorrupt", err)
	}
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Field != "BODYCRC" || ce.Offset != 8 {
		t.Fatalf("want CorruptionError at BODYCRC, got %#v", err)
	}
	// ParseRecord does not check the CRC; VerifyBodyCRC does.
	r, err := ParseRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.VerifyBodyCRC(); !errors.Is(err, ErrBadCRC) {
		t.Fatalf("VerifyBodyCRC = %v", err)
	}
}

// TestDecodeEveryPrefix decodes every strict prefix of valid records: each
// must fail cleanly (no panic); prefixes shorter than TOTALSIZE are torn
// tails and must say ErrTruncated.
func TestDecodeEveryPrefix(t *testing.T) {
	v6 := sampleMessage()
	v6.BornHost, v6.StoreHost = v6Born, v6Store
	v2 := sampleMessage()
	v2.Topic = strings.Repeat("L", 130)
	for name, m := range map[string]*Message{"v4": sampleMessage(), "v6": v6, "v2": v2} {
		rec := mustEncode(t, m)
		for n := 0; n < len(rec); n++ {
			_, err := Decode(rec[:n])
			if err == nil {
				t.Fatalf("%s: prefix %d/%d decoded", name, n, len(rec))
			}
			if !errors.Is(err, ErrTruncated) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: prefix %d: err = %v, want ErrTruncated", name, n, err)
			}
			if _, err := ParseRecord(rec[:n]); err == nil {
				t.Fatalf("%s: ParseRecord accepted prefix %d", name, n)
			}
		}
		if _, err := Decode(rec); err != nil {
			t.Fatalf("%s: full record: %v", name, err)
		}
	}
}

func TestDecodeCorruptions(t *testing.T) {
	base := mustEncode(t, sampleMessage())
	be := binary.BigEndian
	bodyLen := len(sampleMessage().Body)
	topicLenOff := 88 + bodyLen
	propsLenOff := topicLenOff + 1 + len(sampleMessage().Topic)
	cases := []struct {
		name  string
		edit  func(b []byte) []byte
		want  error
		field string
	}{
		{"bad magic", func(b []byte) []byte { be.PutUint32(b[4:], 0x12345678); return b }, ErrCorrupt, "MAGICCODE"},
		{"blank magic", func(b []byte) []byte { be.PutUint32(b[4:], MagicBlank); return b }, ErrBlankRecord, ""},
		{"size below minimum", func(b []byte) []byte { be.PutUint32(b[0:], 90); return b }, ErrCorrupt, "TOTALSIZE"},
		{"negative size", func(b []byte) []byte { be.PutUint32(b[0:], 0x80000000); return b }, ErrCorrupt, "TOTALSIZE"},
		{"size beyond input", func(b []byte) []byte { be.PutUint32(b[0:], uint32(len(b)+1)); return b }, ErrTruncated, "TOTALSIZE"},
		{"trailing byte", func(b []byte) []byte { return append(b, 0) }, ErrCorrupt, "TOTALSIZE"},
		{"size too small for content", func(b []byte) []byte {
			be.PutUint32(b[0:], uint32(len(b)-1))
			return b[:len(b)-1]
		}, ErrCorrupt, "PROPERTIESLENGTH"},
		{"negative body length", func(b []byte) []byte { be.PutUint32(b[84:], 0xFFFFFFFF); return b }, ErrCorrupt, "BODYLENGTH"},
		{"huge body length", func(b []byte) []byte { be.PutUint32(b[84:], 0x7FFFFFFF); return b }, ErrCorrupt, "BODYLENGTH"},
		{"negative topic length", func(b []byte) []byte { b[topicLenOff] = 0x80; return b }, ErrCorrupt, "TOPICLENGTH"},
		{"topic length too big", func(b []byte) []byte { b[topicLenOff] = 0x7F; return b }, ErrCorrupt, "TOPICLENGTH"},
		{"negative props length", func(b []byte) []byte { be.PutUint16(b[propsLenOff:], 0x8000); return b }, ErrCorrupt, "PROPERTIESLENGTH"},
		{"props length short", func(b []byte) []byte {
			be.PutUint16(b[propsLenOff:], be.Uint16(b[propsLenOff:])-1)
			return b
		}, ErrCorrupt, "TOTALSIZE"},
		{"ipv6 flag without room", func(b []byte) []byte {
			be.PutUint32(b[36:], be.Uint32(b[36:])|0x30)
			return b
		}, ErrCorrupt, ""},
		{"born port out of range", func(b []byte) []byte { be.PutUint32(b[52:], 70000); return b }, ErrCorrupt, "BORNHOST"},
		{"store port negative", func(b []byte) []byte { be.PutUint32(b[68:], 0xFFFFFFFF); return b }, ErrCorrupt, "STOREHOST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.edit(bytes.Clone(base))
			_, err := Decode(b)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			var ce *CorruptionError
			if c.field != "" && (!errors.As(err, &ce) || ce.Field != c.field) {
				t.Fatalf("err = %v, want field %s", err, c.field)
			}
		})
	}
}

func TestRecordView(t *testing.T) {
	m := sampleMessage()
	m.BornHost = v6Born
	rec := mustEncode(t, m)
	// Followed by another record: ParseRecord looks at the first only.
	buf := append(bytes.Clone(rec), rec...)
	r, err := ParseRecord(buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != len(rec) || !bytes.Equal(r.Bytes(), rec) || r.Magic() != MagicV1 {
		t.Fatalf("size/bytes/magic wrong")
	}
	if r.Topic() != m.Topic || string(r.TopicBytes()) != m.Topic || !bytes.Equal(r.Body(), m.Body) {
		t.Fatalf("topic/body wrong")
	}
	if r.QueueID() != m.QueueID || r.Flag() != m.Flag || r.QueueOffset() != m.QueueOffset ||
		r.PhysicalOffset() != m.CommitLogOffset || r.BornTimestamp() != m.BornTimestamp ||
		r.StoreTimestamp() != m.StoreTimestamp || r.ReconsumeTimes() != m.ReconsumeTimes ||
		r.PreparedTransactionOffset() != m.PreparedTransactionOffset ||
		r.BornHost() != m.BornHost || r.StoreHost() != m.StoreHost ||
		r.SysFlag() != m.SysFlag|SysBornHostV6 || r.BodyCRC() != BodyCRC(m.Body) {
		t.Fatalf("accessor mismatch")
	}
	if v, ok := r.Property(PropertyTags); !ok || v != "TagA" {
		t.Fatalf("Property(TAGS) = %q, %v", v, ok)
	}
	if _, ok := r.Property("nope"); ok {
		t.Fatalf("found absent property")
	}
	if r.TagHash() != TagHash("TagA") {
		t.Fatalf("TagHash mismatch")
	}
	if r.OffsetID() != MakeOffsetID(v4Store, 1<<33) {
		t.Fatalf("OffsetID = %s", r.OffsetID())
	}
	if !sameMessage(r.Message(), func() *Message { d, _ := Decode(rec); return d }()) {
		t.Fatalf("Record.Message differs from Decode")
	}
	// Body and topic slices are capacity-limited: appending cannot clobber the record.
	_ = append(r.Body(), 'X')
	if !bytes.Equal(r.Bytes(), rec) {
		t.Fatalf("append through Body() modified the record")
	}
}

func TestPeekAndSet(t *testing.T) {
	for _, born := range []netip.AddrPort{v4Born, v6Born} {
		m := sampleMessage()
		m.BornHost = born
		rec := mustEncode(t, m)
		if n, err := RecordSize(rec[:8]); err != nil || n != len(rec) {
			t.Fatalf("RecordSize = %d, %v", n, err)
		}
		if v, err := PeekQueueID(rec[:16]); err != nil || v != 3 {
			t.Fatalf("PeekQueueID = %d, %v", v, err)
		}
		if v, err := PeekPhysicalOffset(rec[:36]); err != nil || v != 1<<33 {
			t.Fatalf("PeekPhysicalOffset = %d, %v", v, err)
		}
		if _, err := PeekPhysicalOffset(rec[:35]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("short PeekPhysicalOffset: %v", err)
		}
		if err := SetQueueOffset(rec, 1234); err != nil {
			t.Fatal(err)
		}
		if err := SetPhysicalOffset(rec, 5678); err != nil {
			t.Fatal(err)
		}
		if err := SetStoreTimestamp(rec, 999); err != nil {
			t.Fatal(err)
		}
		got, err := Decode(rec) // CRC still valid: body untouched
		if err != nil {
			t.Fatal(err)
		}
		if got.QueueOffset != 1234 || got.CommitLogOffset != 5678 || got.StoreTimestamp != 999 {
			t.Fatalf("setters not applied: %+v", got)
		}
		if v, _ := PeekQueueOffset(rec); v != 1234 {
			t.Fatalf("PeekQueueOffset = %d", v)
		}
		if v, _ := PeekStoreTimestamp(rec); v != 999 {
			t.Fatalf("PeekStoreTimestamp = %d", v)
		}
		if sf, _ := PeekSysFlag(rec); sf != got.SysFlag {
			t.Fatalf("PeekSysFlag = %#x", sf)
		}
	}
	blank := make([]byte, 8)
	binary.BigEndian.PutUint32(blank[0:], 1000)
	binary.BigEndian.PutUint32(blank[4:], MagicBlank)
	if _, err := RecordSize(blank); !errors.Is(err, ErrBlankRecord) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("blank: %v", err)
	}
	if err := SetStoreTimestamp(blank, 1); !errors.Is(err, ErrBlankRecord) {
		t.Fatalf("SetStoreTimestamp on blank: %v", err)
	}
	if _, err := RecordSize(nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("RecordSize(nil): %v", err)
	}
}

func TestDecodeAll(t *testing.T) {
	a, b := sampleMessage(), sampleMessage()
	b.Topic, b.StoreHost = "Other", v6Store
	ra, rb := mustEncode(t, a), mustEncode(t, b)
	msgs, err := DecodeAll(append(bytes.Clone(ra), rb...))
	if err != nil || len(msgs) != 2 || msgs[0].Topic != a.Topic || msgs[1].Topic != "Other" {
		t.Fatalf("DecodeAll = %d msgs, %v", len(msgs), err)
	}
	if msgs, err := DecodeAll(nil); err != nil || len(msgs) != 0 {
		t.Fatalf("DecodeAll(nil) = %v, %v", msgs, err)
	}
	bad := append(bytes.Clone(ra), rb[:50]...)
	msgs, err = DecodeAll(bad)
	if !errors.Is(err, ErrTruncated) || len(msgs) != 1 || !strings.Contains(err.Error(), "record 1 at byte") {
		t.Fatalf("DecodeAll(torn) = %d, %v", len(msgs), err)
	}
}

func BenchmarkEncode(b *testing.B) {
	m := sampleMessage()
	m.Body = make([]byte, 1024)
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendRecord(buf[:0], m)
	}
}

func BenchmarkParseRecord(b *testing.B) {
	m := sampleMessage()
	m.Body = make([]byte, 1024)
	rec, _ := Encode(m)
	b.ReportAllocs()
	for b.Loop() {
		r, _ := ParseRecord(rec)
		_ = r.TagHash()
	}
}
