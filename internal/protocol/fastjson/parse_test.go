package fastjson

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func str(s string) Value { return Value{Kind: KindString, Text: s} }
func num(s string) Value { return Value{Kind: KindNumber, Text: s} }

func TestParseTree(t *testing.T) {
	v, err := Parse([]byte(` {0:"a", "1" : [true,false,null,-1.5e3], {"topic":"T"}:42, name:"x", true:1, null:2} `))
	if err != nil {
		t.Fatal(err)
	}
	want := &Value{Kind: KindObject, Members: []Member{
		{Key: num("0"), Value: str("a")},
		{Key: str("1"), Value: Value{Kind: KindArray, Items: []Value{
			{Kind: KindBool, Text: "true"}, {Kind: KindBool, Text: "false"}, {}, num("-1.5e3"),
		}}},
		{Key: Value{Kind: KindObject, Members: []Member{{Key: str("topic"), Value: str("T")}}}, Value: num("42")},
		{Key: str("name"), Value: str("x")},
		{Key: Value{Kind: KindBool, Text: "true"}, Value: num("1")},
		{Key: Value{}, Value: num("2")},
	}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("got  %#v\nwant %#v", v, want)
	}
	const enc = `{0:"a","1":[true,false,null,-1.5e3],{"topic":"T"}:42,"name":"x",true:1,null:2}`
	if got := string(Encode(v)); got != enc {
		t.Errorf("Encode = %s, want %s", got, enc)
	}
	if v.Get("0").Text != "a" || v.Get("1").Kind != KindArray || v.Get("name").Text != "x" || v.Get("missing") != nil {
		t.Error("Get misbehaves")
	}
}

func TestParseStrings(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"a\"b\\c\/d\be\ff\ng\rh\ti"`, "a\"b\\c/d\be\ff\ng\rh\ti"},
		{`"\u0001\u00e9\u4E2D"`, "\x01é中"},
		{`"\uD83D\uDE00"`, "😀"},
		{`"\uD83Dx"`, "\uFFFDx"},      // lone high surrogate
		{`"\uDE00"`, "\uFFFD"},        // lone low surrogate
		{`"\uD83D\u0041"`, "\uFFFDA"}, // high surrogate then non-surrogate
		{`"\'\x41"`, "'A"},            // fastjson extras
		{"\"raw\x01\nctl\"", "raw\x01\nctl"},
		{"\"bad\xffutf8\"", "bad\xffutf8"},
	} {
		v, err := Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.in, err)
			continue
		}
		if v.Kind != KindString || v.Text != tc.want {
			t.Errorf("Parse(%s) = %q, want %q", tc.in, v.Text, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `[`, `[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{:1}`, `"abc`, `"\q"`, `"\u12"`, `"\x4"`,
		`-`, `1.`, `1e`, `.5`, `+1`, `tru`, `nul`, `truex`, `1 2`, `{} x`, `[1 2]`, `{"a":1 "b":2}`, `NaN`, `'x'`,
	} {
		if v, err := Parse([]byte(in)); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, %v; want ErrSyntax", in, v, err)
		}
	}
}

func TestParseDepth(t *testing.T) {
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if _, err := Parse([]byte(deep)); !errors.Is(err, ErrDepth) {
		t.Errorf("depth %d: err = %v, want ErrDepth", MaxDepth+1, err)
	}
	// Compound keys count towards the depth too.
	keys := strings.Repeat("{", MaxDepth+1) + "1:1" + strings.Repeat(":1}", MaxDepth)
	if _, err := Parse([]byte(keys)); !errors.Is(err, ErrDepth) {
		t.Errorf("nested keys: err = %v, want ErrDepth", err)
	}
	// Hostile input far deeper than the stack could take.
	if _, err := Parse(bytes.Repeat([]byte("{{"), 1<<20)); !errors.Is(err, ErrDepth) {
		t.Errorf("huge nesting: err = %v, want ErrDepth", err)
	}
}

// TestRef parses the $ref quirk of GetConsumerStatusBody (reference 2.5.5)
// and resolves references that can be resolved.
func TestRef(t *testing.T) {
	const body = `{"consumerTable":{"192.168.0.9@12345":{{"brokerName":"broker-a","queueId":0,"topic":"TopicTest"}:42}},"messageQueueTable":{{"$ref":"$.consumerTable.192\\.168\\.0\\.9\\@12345.null"}:42}}`
	root, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	key := &root.Get("messageQueueTable").Members[0].Key
	path, ok := key.Ref()
	if !ok || path != `$.consumerTable.192\.168\.0\.9\@12345.null` {
		t.Fatalf("Ref() = %q, %v", path, ok)
	}
	if _, ok := root.Resolve(path); ok {
		t.Error("a path through a compound key resolved")
	}
	if got, ok := root.Resolve(`$.consumerTable.192\.168\.0\.9\@12345`); !ok || got.Kind != KindObject {
		t.Errorf("escaped path: %v %v", got, ok)
	}
	arr, _ := Parse([]byte(`{"a":[{"b":1},{"b":2}]}`))
	if got, ok := arr.Resolve("$.a[1].b"); !ok || got.Text != "2" {
		t.Errorf("$.a[1].b = %v %v", got, ok)
	}
	if got, ok := arr.Resolve("$"); !ok || got != arr {
		t.Error("$ does not resolve to the root")
	}
	for _, p := range []string{"@", "..", "$.a[2]", "$.a[x]", "$.a[0", "$.nope.b", "$x"} {
		if _, ok := arr.Resolve(p); ok {
			t.Errorf("Resolve(%q) succeeded", p)
		}
	}
}

func TestConversions(t *testing.T) {
	v, err := Parse([]byte(`{"i":"42","n":7,"f":1e3,"frac":1.5,"big":9223372036854775807,"over":1e19,"b":true,"s":"TRUE","z":0,"nan":"NaN","null":null,"o":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	i64 := func(k string) (int64, error) { return v.Get(k).Int64() }
	for k, want := range map[string]int64{"i": 42, "n": 7, "f": 1000, "big": 9223372036854775807, "b": 1, "null": 0} {
		if got, err := i64(k); err != nil || got != want {
			t.Errorf("Int64(%s) = %d, %v; want %d", k, got, err, want)
		}
	}
	if _, err := i64("frac"); !errors.Is(err, ErrRange) {
		t.Errorf("Int64(1.5): %v", err)
	}
	if _, err := i64("over"); !errors.Is(err, ErrRange) {
		t.Errorf("Int64(1e19): %v", err)
	}
	if _, err := i64("o"); !errors.Is(err, ErrType) {
		t.Errorf("Int64({}): %v", err)
	}
	if _, err := v.Get("big").Int32(); !errors.Is(err, ErrRange) {
		t.Errorf("Int32(big): %v", err)
	}
	if f, err := v.Get("i").Float64(); err != nil || f != 42 {
		t.Errorf("Float64(\"42\") = %v, %v", f, err)
	}
	if _, err := v.Get("nan").Float64(); !errors.Is(err, ErrRange) {
		t.Errorf("Float64(NaN): %v", err)
	}
	for k, want := range map[string]bool{"b": true, "s": true, "z": false, "n": true, "null": false} {
		if got, err := v.Get(k).Bool(); err != nil || got != want {
			t.Errorf("Bool(%s) = %v, %v; want %v", k, got, err, want)
		}
	}
	if _, err := v.Get("i").Bool(); !errors.Is(err, ErrType) {
		t.Errorf("Bool(\"42\"): %v", err)
	}
	for k, want := range map[string]string{"i": "42", "n": "7", "b": "true", "null": ""} {
		if got, err := v.Get(k).AsString(); err != nil || got != want {
			t.Errorf("AsString(%s) = %q, %v; want %q", k, got, err, want)
		}
	}
	if _, err := v.Get("o").AsString(); !errors.Is(err, ErrType) {
		t.Errorf("AsString({}): %v", err)
	}
}

// parseStable checks the fuzz property: whatever parses re-encodes to text
// that parses to the same tree and re-encodes identically.
func parseStable(t *testing.T, data []byte) {
	v1, err := Parse(data)
	if err != nil {
		return
	}
	enc1 := Encode(v1)
	v2, err := Parse(enc1)
	if err != nil {
		t.Fatalf("re-encoded text does not parse: %v\ninput: %q\nenc:   %q", err, data, enc1)
	}
	if !reflect.DeepEqual(v1, v2) {
		t.Fatalf("tree changed after re-encoding\ninput: %q\nenc:   %q", data, enc1)
	}
	if enc2 := Encode(v2); !bytes.Equal(enc1, enc2) {
		t.Fatalf("encoding not stable\nenc1: %q\nenc2: %q", enc1, enc2)
	}
}

var fuzzSeeds = []string{
	`{"consumeTps":12.5,"offsetTable":{{"brokerName":"broker-a","queueId":1,"topic":"TopicTest"}:{"brokerOffset":7,"consumerOffset":7,"lastTimestamp":0,"pullOffset":0}}}`,
	`{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.1:10911",1:"192.168.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[]}`,
	`{"messageQueueTable":{{"$ref":"$.consumerTable.192\\.168\\.0\\.9\\@12345.null"}:42}}`,
	`{"a":"\u0001\uD83D\uDE00\x41\'", b : [1, -2.5E-3, true, null], "c":{}}`,
	`["\u2028", "中", 1e400, 00012]`,
	"{\"raw\":\"\x01\xff\"}",
}

func TestParseStableSeeds(t *testing.T) {
	for _, s := range fuzzSeeds {
		parseStable(t, []byte(s))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		parseStable(t, data)
		// The helpers must not panic on anything the parser returns.
		if v, err := Parse(data); err == nil {
			_, _ = v.Int64()
			_, _ = v.Float64()
			_, _ = v.Bool()
			_, _ = v.AsString()
			if p, ok := v.Ref(); ok {
				_, _ = v.Resolve(p)
			}
		}
	})
}
