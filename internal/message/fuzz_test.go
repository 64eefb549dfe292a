package message

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func recordSeeds(f *testing.F) {
	v6 := sampleMessage()
	v6.BornHost, v6.StoreHost = v6Born, v6Store
	v2 := sampleMessage()
	v2.Topic = strings.Repeat("V", 140)
	forced := sampleMessage()
	forced.Magic = MagicV2
	for _, m := range []*Message{sampleMessage(), v6, v2, forced, {}} {
		rec, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
		f.Add(rec[:len(rec)/2])
	}
	raw, _ := AppendRecordRawProperties(nil, sampleMessage(), []byte("a\x01b\x02\x02junk\x01\x02a\x01c"))
	f.Add(raw)
	f.Add([]byte{})
	f.Add(make([]byte, MinRecordSize))
}

// FuzzDecodeRecord: decoding never panics; whatever decodes re-encodes to a
// record that decodes to the same message, and encoding is then stable.
func FuzzDecodeRecord(f *testing.F) {
	recordSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The in-place readers must not panic on anything either.
		_, _ = RecordSize(data)
		_, _ = PeekPhysicalOffset(data)
		_, _ = PeekStoreTimestamp(data)
		_, _ = PeekQueueOffset(data)
		if r, err := ParseRecord(data); err == nil {
			_ = r.Message()
			_ = r.TagHash()
			_ = r.OffsetID()
			_, _ = r.Property(PropertyUniqKey)
			_ = r.VerifyBodyCRC()
			if r.Size() > len(data) {
				t.Fatalf("record size %d beyond input %d", r.Size(), len(data))
			}
		}
		_, _ = DecodeAll(data)

		m, err := Decode(data)
		if err != nil {
			var ce *CorruptionError
			if !errors.As(err, &ce) && !errors.Is(err, ErrBlankRecord) {
				t.Fatalf("decode error is neither corruption nor blank: %v", err)
			}
			return
		}
		enc, err := Encode(m)
		if errors.Is(err, ErrPropertiesTooLong) {
			// A last pair without its \x02 grows by one byte when re-encoded.
			return
		}
		if err != nil {
			t.Fatalf("re-encode of a decoded record failed: %v", err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded record: %v", err)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("decode-encode-decode changed the message\n%+v\n%+v", m, m2)
		}
		enc2, err := Encode(m2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %v", err)
		}
	})
}

// FuzzParseProperties: parsing never panics, agrees with LookupProperty, and
// the result re-encodes to a string that parses to the same set.
func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{
		"", "a\x01b\x02", "a\x01b", "\x01a\x02", "a\x01\x02", "ab\x02", "a\x01b\x01c\x02",
		"a\x011\x02a\x012\x02", "KEYS\x01k1 k2\x02TAGS\x01TagA\x02UNIQ_KEY\x01X\x02", "\x02\x02", "键\x01值",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := ParseProperties(s)
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed properties invalid: %v", err)
		}
		for k, v := range p {
			got, ok := LookupProperty([]byte(s), k)
			if !ok || string(got) != v {
				t.Fatalf("LookupProperty(%q) = %q, %v; map has %q", k, got, ok, v)
			}
			_ = SplitKeys(v)
		}
		enc, err := p.Encode()
		if err != nil {
			if errors.Is(err, ErrPropertiesTooLong) {
				return
			}
			t.Fatalf("Encode: %v", err)
		}
		if len(enc) > len(s)+1 {
			t.Fatalf("encoding grew from %d to %d bytes", len(s), len(enc))
		}
		if p2 := ParseProperties(enc); !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip: %q -> %q", p, p2)
		}
	})
}

// FuzzDecodeBatch: no panics; decoded batches re-encode to an equal batch.
func FuzzDecodeBatch(f *testing.F) {
	good, _ := EncodeBatch([]*Message{
		{Flag: 1, Body: []byte("one"), Properties: Properties{PropertyUniqKey: "U1"}},
		{Body: nil, Properties: Properties{"a": "b"}},
	})
	f.Add(good)
	f.Add(good[:30])
	f.Add([]byte{})
	f.Add(make([]byte, 22))
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := DecodeBatch(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("batch error is not ErrCorrupt: %v", err)
			}
			return
		}
		if len(msgs) > len(data)/batchEntryOverhead {
			t.Fatalf("%d messages from %d bytes", len(msgs), len(data))
		}
		enc, err := EncodeBatch(msgs)
		if errors.Is(err, ErrPropertiesTooLong) {
			return
		}
		if err != nil {
			t.Fatalf("EncodeBatch: %v", err)
		}
		msgs2, err := DecodeBatch(enc)
		if err != nil || len(msgs2) != len(msgs) {
			t.Fatalf("re-decode: %d msgs, %v", len(msgs2), err)
		}
		for i := range msgs {
			if !sameMessage(msgs[i], msgs2[i]) {
				t.Fatalf("message %d changed", i)
			}
		}
	})
}

// FuzzParseMessageID: both id parsers agree on what is well-formed hex and
// reproduce their input (uppercased) when formatting what they parsed.
func FuzzParseMessageID(f *testing.F) {
	f.Add(MakeOffsetID(v4Store, 1000))
	f.Add(MakeOffsetID(v6Store, 1<<40))
	f.Add(strings.ToLower(MakeOffsetID(v4Store, 7)))
	f.Add("C0A8000112340A0B0C0D16D187780000")
	f.Add("")
	f.Add("zz")
	f.Add(strings.Repeat("F", 56))
	f.Fuzz(func(t *testing.T, s string) {
		upper := strings.ToUpper(s)
		host, off, oerr := ParseOffsetID(s)
		if oerr == nil {
			if got := MakeOffsetID(host, off); got != upper {
				t.Fatalf("offset id %q re-formats as %q", s, got)
			}
			if !LooksLikeOffsetID(s) {
				t.Fatalf("LooksLikeOffsetID disagrees with ParseOffsetID")
			}
		} else if !errors.Is(oerr, ErrInvalidMessageID) {
			t.Fatalf("offset id error not ErrInvalidMessageID: %v", oerr)
		}
		u, uerr := ParseUniqID(s)
		if uerr == nil {
			if got := u.String(); got != upper {
				t.Fatalf("unique id %q re-formats as %q", s, got)
			}
		} else if !errors.Is(uerr, ErrInvalidMessageID) {
			t.Fatalf("unique id error not ErrInvalidMessageID: %v", uerr)
		}
		if oerr == nil && uerr != nil {
			t.Fatalf("valid offset id rejected as unique id: %v", uerr)
		}
	})
}
