package fastjson

import (
	"errors"
	"math"
	"testing"
)

func TestAppendDouble(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{12.5, "12.5"},
		{1.5, "1.5"},
		{-1.5, "-1.5"},
		{100, "100.0"},
		{1234567, "1234567.0"},
		{9999999, "9999999.0"},
		{9999999.5, "9999999.5"},
		{1e7, "1.0E7"},
		{12345678, "1.2345678E7"},
		{123456789, "1.23456789E8"},
		{1e21, "1.0E21"},
		{0.1, "0.1"},
		{0.001, "0.001"},
		{0.00123, "0.00123"},
		{0.0001, "1.0E-4"},
		{-1.5e-5, "-1.5E-5"},
		{1.0 / 3, "0.3333333333333333"},
		{2.0 / 3, "0.6666666666666666"},
		{math.MaxFloat64, "1.7976931348623157E308"},
		{2.2250738585072014e-308, "2.2250738585072014E-308"},
		{5e-324, "4.9E-324"}, // Java keeps two digits in scientific notation
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
		{math.Inf(-1), "null"},
	} {
		if got := string(AppendDouble(nil, tc.in)); got != tc.want {
			t.Errorf("AppendDouble(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestAppendString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`ok "quoted" 中`, `"ok \"quoted\" 中"`},
		{`back\slash/slash`, `"back\\slash/slash"`},
		{"\x00\x01\x07\x0b\x0e\x1f", `"\u0000\u0001\u0007\u000B\u000E\u001F"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"del\x7f c1\u0085\u009f nbsp\u00a0", `"del\u007F c1\u0085\u009F nbsp` + "\u00a0" + `"`},
		{"ls\u2028ps\u2029", `"ls\u2028ps\u2029"`},
		{"emoji 😀", `"emoji 😀"`},
		{"bad \xff utf8", "\"bad \xff utf8\""},
		{"TAGS\x01TagA\x02", `"TAGS\u0001TagA\u0002"`},
	} {
		if got := string(AppendString(nil, tc.in)); got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestBrowserCompatibleString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a/b", `"a\/b"`},
		{"中", `"\u4E2D"`},
		{"😀", `"\uD83D\uDE00"`},
		{"\x01\n\x7f", `"\u0001\n\u007F"`},
		{`"\`, `"\"\\"`},
	} {
		if got := string(appendStringBrowser(nil, tc.in)); got != tc.want {
			t.Errorf("appendStringBrowser(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestWriterHeaders reproduces the exact Java RemotingCommand headers of
// reference section 2.1.
func TestWriterHeaders(t *testing.T) {
	w := NewWriter()
	w.BeginObject()
	w.Key("code")
	w.Int(105)
	w.Key("extFields")
	w.BeginObject()
	w.Key("topic")
	w.String("TopicTest")
	w.EndObject()
	w.Key("flag")
	w.Int(0)
	w.Key("language")
	w.String("JAVA")
	w.Key("opaque")
	w.Int(7)
	w.Key("serializeTypeCurrentRPC")
	w.String("JSON")
	w.Key("version")
	w.Int(479)
	w.EndObject()
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	const want = `{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}`
	if got := string(w.Bytes()); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	w.Reset()
	w.BeginObject()
	w.Key("code")
	w.Int(0)
	w.Key("flag")
	w.Int(1)
	w.Key("language")
	w.String("JAVA")
	w.Key("opaque")
	w.Int(7)
	w.Key("remark")
	w.String(`ok "quoted" 中`)
	w.Key("serializeTypeCurrentRPC")
	w.String("JSON")
	w.Key("version")
	w.Int(479)
	w.EndObject()
	const want2 = `{"code":0,"flag":1,"language":"JAVA","opaque":7,"remark":"ok \"quoted\" 中","serializeTypeCurrentRPC":"JSON","version":479}`
	if got := string(w.Bytes()); got != want2 || w.Err() != nil {
		t.Errorf("got  %s (%v)\nwant %s", got, w.Err(), want2)
	}
}

func writeKeys(w *Writer) {
	w.BeginObject()
	w.IntKey(0)
	w.String("a")
	w.BeginKey()
	w.BeginObject()
	w.Key("brokerName")
	w.String("b")
	w.Key("queueId")
	w.Int(0)
	w.EndObject()
	w.EndKey()
	w.Int(1 << 60)
	w.Key("list")
	w.BeginArray()
	w.Bool(true)
	w.Null()
	w.Double(0)
	w.Strings([]string{"x"})
	w.EndArray()
	w.EndObject()
}

func TestWriterKeys(t *testing.T) {
	w := NewWriter()
	writeKeys(w)
	const want = `{0:"a",{"brokerName":"b","queueId":0}:1152921504606846976,"list":[true,null,0.0,["x"]]}`
	if got := string(w.Bytes()); got != want || w.Err() != nil {
		t.Errorf("got  %s (%v)\nwant %s", got, w.Err(), want)
	}
	w = NewBrowserCompatibleWriter()
	writeKeys(w)
	const wantB = `{"0":"a","{\"brokerName\":\"b\",\"queueId\":0}":"1152921504606846976","list":[true,null,0.0,["x"]]}`
	if got := string(w.Bytes()); got != wantB || w.Err() != nil {
		t.Errorf("got  %s (%v)\nwant %s", got, w.Err(), wantB)
	}
}

func TestWriterMisuse(t *testing.T) {
	for name, f := range map[string]func(w *Writer){
		"value without key":    func(w *Writer) { w.BeginObject(); w.Int(1) },
		"key outside object":   func(w *Writer) { w.Key("a") },
		"key in array":         func(w *Writer) { w.BeginArray(); w.Key("a") },
		"two keys":             func(w *Writer) { w.BeginObject(); w.Key("a"); w.Key("b") },
		"end dangling key":     func(w *Writer) { w.BeginObject(); w.Key("a"); w.EndObject() },
		"end array as object":  func(w *Writer) { w.BeginArray(); w.EndObject() },
		"two top-level values": func(w *Writer) { w.Int(1); w.Int(2) },
		"empty compound key":   func(w *Writer) { w.BeginObject(); w.BeginKey(); w.EndKey() },
		"double compound key":  func(w *Writer) { w.BeginObject(); w.BeginKey(); w.Int(1); w.Int(2) },
		"unclosed":             func(w *Writer) { w.BeginArray() },
		"end nothing":          func(w *Writer) { w.EndArray() },
	} {
		w := NewWriter()
		f(w)
		if err := w.Err(); !errors.Is(err, ErrWriterState) {
			t.Errorf("%s: Err() = %v, want ErrWriterState", name, err)
		}
	}
}
