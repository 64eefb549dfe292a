package remoting

import (
	"fmt"
	"maps"
	"testing"
)

var jsonHeaderSeeds = []string{
	`{"code":310,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{"a":"pg","b":"T","c":"TBW102","d":"4","e":"-1","f":"0","g":"1732600000000","h":"0","i":"UNIQ_KEY\u0001AB\u0002TAGS\u0001x\u0002"}}`,
	`{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}`,
	`{"code":0,"flag":1,"language":"JAVA","opaque":7,"remark":"ok \"quoted\" 中","serializeTypeCurrentRPC":"JSON","version":479}`,
	`{"code":1,"extFields":{"a":1,"b":true,"c":null,"d":-2.5e+3,"e":false}}`,
	`{"code":1,"extFields":{"a":"x","a":null}}`,
	`{"code":1,"extFields":{"a":"x","b":"y","a":"z","c":null,"b":null,"d":"w"}}`,
	`{"code":1,"extFields":{"a":"x"},"extFields":{"b":"y"}}`,
	`{"Code":1}`,
	`{"code":1.0}`,
	`{"code":2147483648}`,
	`{"code":-2147483648,"opaque":-0}`,
	`{"code":01}`,
	`{"remark":null,"language":null}`,
	`{"remark":"\ud83d\ude00"}`,
	`{"remark":"\u00e9\/\b\f\n\r\t"}`,
	"{\"remark\":\"\xff\"}",
	"{\"remark\":\"a\x01\"}",
	` { "code" : 5 , "x" : [1, {"y": [true, null]}, "z"] } `,
	`{"code":5}x`,
	`{"extFields":{"a":{}}}`,
	`null`,
	`[]`,
	`{}`,
	`{"extFields":{}}`,
	`{"extFields":null}`,
}

// FuzzJSONHeaderFast checks the fast JSON header decoder against
// encoding/json: whatever it accepts must decode exactly as the reference
// does.
func FuzzJSONHeaderFast(f *testing.F) {
	for _, s := range jsonHeaderSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkFastMatchesSlow(t, b)
	})
}

func TestJSONHeaderFastMatchesSlow(t *testing.T) {
	accepted := 0
	for _, s := range jsonHeaderSeeds {
		if checkFastMatchesSlow(t, []byte(s)) {
			accepted++
		}
	}
	// The common forms must take the fast path, or it is useless.
	for _, s := range jsonHeaderSeeds[:4] {
		if _, ok := decodeJSONHeaderFast([]byte(s)); !ok {
			t.Errorf("fast decoder declined %s", s)
		}
	}
	if accepted < 10 {
		t.Errorf("fast decoder accepted only %d seeds", accepted)
	}
}

// TestJSONHeaderRepeatsOfKeysSharingABit: the decoder searches for a
// repeated ext key only when its keyBit was seen; keys that share a bit
// and repeat, removed by null or set again, must keep encoding/json's
// map semantics.
func TestJSONHeaderRepeatsOfKeysSharingABit(t *testing.T) {
	byBit := map[uint64]string{}
	var k1, k2 string
	for i := 0; k1 == ""; i++ {
		k := fmt.Sprintf("key%d", i)
		if other, ok := byBit[keyBit(k)]; ok {
			k1, k2 = other, k
		}
		byBit[keyBit(k)] = k
	}
	for _, h := range []string{
		`{"code":1,"extFields":{"%[1]s":"x","%[2]s":"y","%[1]s":null,"%[2]s":"z"}}`,
		`{"code":1,"extFields":{"%[2]s":null,"%[1]s":"x","%[2]s":"y","%[1]s":"w","%[2]s":null}}`,
		`{"code":1,"extFields":{"%[1]s":"x","%[1]s":null,"%[1]s":"v","%[2]s":"y"}}`,
	} {
		b := fmt.Appendf(nil, h, k1, k2)
		if !checkFastMatchesSlow(t, b) {
			t.Fatalf("fast decoder declined %s", b)
		}
	}
	// The send headers' single-letter keys never search.
	var seen uint64
	for c := 'a'; c <= 'z'; c++ {
		bit := keyBit(string(c))
		if seen&bit != 0 {
			t.Fatalf("key %q shares a bit with an earlier letter", c)
		}
		seen |= bit
	}
}

func checkFastMatchesSlow(t *testing.T, b []byte) bool {
	t.Helper()
	fast, ok := decodeJSONHeaderFast(b)
	if !ok {
		return false
	}
	slow, err := decodeJSONHeaderSlow(b)
	if err != nil {
		t.Fatalf("fast decoder accepted what encoding/json rejects (%v): %q", err, b)
	}
	// The fast decoder leaves the fields in ExtList (what list-reading
	// processors get): one entry per key, and Ext agrees with the map.
	if fast.ExtFields != nil {
		t.Fatalf("fast decoder built a map for %q", b)
	}
	seen := map[string]bool{}
	for _, f := range fast.ExtList {
		if seen[f.Key] {
			t.Fatalf("ExtList repeats %q for %q: %q", f.Key, b, fast.ExtList)
		}
		seen[f.Key] = true
		if got := fast.Ext(f.Key); got != slow.ExtFields[f.Key] {
			t.Fatalf("Ext(%q) = %q, want %q", f.Key, got, slow.ExtFields[f.Key])
		}
	}
	fast.extToMap()
	if fast.Code != slow.Code || fast.Language != slow.Language || fast.Version != slow.Version ||
		fast.Opaque != slow.Opaque || fast.Flag != slow.Flag || fast.Remark != slow.Remark ||
		!maps.Equal(fast.ExtFields, slow.ExtFields) || (fast.ExtFields == nil) != (slow.ExtFields == nil) {
		t.Fatalf("decoders disagree on %q:\nfast %v %q\nslow %v %q", b, fast, fast.ExtFields, slow, slow.ExtFields)
	}
	return true
}

func BenchmarkDecodeJSONHeader(b *testing.B) {
	hdr := []byte(jsonHeaderSeeds[0])
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeJSONHeader(hdr); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeJSONHeaderSlow(hdr); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestJSONHeaderManyKeysTakesSlowPath checks that a header with more ext
// fields than the fast decoder takes (its duplicate search is quadratic)
// still decodes, through encoding/json.
func TestJSONHeaderManyKeysTakesSlowPath(t *testing.T) {
	b := []byte(`{"code":1,"extFields":{`)
	for i := range maxFastExtFields + 1 {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"k%d":"v%d"`, i, i)
	}
	b = append(b, "}}"...)
	if _, ok := decodeJSONHeaderFast(b); ok {
		t.Fatalf("fast decoder took %d ext fields", maxFastExtFields+1)
	}
	cmd, err := decodeJSONHeader(b)
	if err != nil || len(cmd.ExtFields) != maxFastExtFields+1 || cmd.ExtFields["k64"] != "v64" {
		t.Fatalf("decoded %v, %v", cmd, err)
	}
}
