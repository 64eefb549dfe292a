package remoting

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"testing"
)

// The worked example of the reference (section 1.3): GET_ROUTEINFO_BY_TOPIC
// from Java, version 479, opaque 1, ext {topic: "T"}, binary header.
const routeBinaryHex = "00000025" + "01000021" + "0069" + "00" + "01DF" + "00000001" + "00000000" +
	"00000000" + "0000000C" + "0005746F706963" + "0000000154"

func TestBinaryHeaderGolden(t *testing.T) {
	frame, err := hex.DecodeString(routeBinaryHex)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := ReadCommand(bufio.NewReader(bytes.NewReader(frame)), DefaultMaxFrame)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if cmd.Code != 105 || cmd.Language != LangJava || cmd.Version != 479 || cmd.Opaque != 1 ||
		cmd.Flag != 0 || cmd.Remark != "" || cmd.Ext("topic") != "T" || len(cmd.ExtFields) != 1 ||
		cmd.Serialize != RocketMQ || cmd.Body != nil {
		t.Fatalf("decoded %v ext=%v ser=%v", cmd, cmd.ExtFields, cmd.Serialize)
	}
	out, err := AppendFrame(nil, cmd)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, frame) {
		t.Fatalf("re-encoded\n got %x\nwant %x", out, frame)
	}
}

func TestJSONHeaderMatchesJava(t *testing.T) {
	// Exact Java outputs from the reference (section 2.1).
	cases := []struct {
		cmd  *Command
		want string
	}{
		{&Command{Code: 105, Language: LangJava, Version: 479, Opaque: 7, ExtFields: map[string]string{"topic": "TopicTest"}},
			`{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}`},
		{&Command{Code: 0, Language: LangJava, Version: 479, Opaque: 7, Flag: 1, Remark: "ok \"quoted\" 中"},
			`{"code":0,"flag":1,"language":"JAVA","opaque":7,"remark":"ok \"quoted\" 中","serializeTypeCurrentRPC":"JSON","version":479}`},
	}
	for _, tc := range cases {
		frame, err := AppendFrame(nil, tc.cmd)
		if err != nil {
			t.Fatal(err)
		}
		headerLen := int(binary.BigEndian.Uint32(frame[4:]) & 0xFFFFFF)
		if got := string(frame[8 : 8+headerLen]); got != tc.want {
			t.Errorf("header\n got %s\nwant %s", got, tc.want)
		}
		if total := int(binary.BigEndian.Uint32(frame)); total != len(frame)-4 {
			t.Errorf("length prefix %d, frame %d", total, len(frame))
		}
	}
}

func jsonFrame(header string, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(4+len(header)+len(body)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(header)))
	b = append(b, header...)
	return append(b, body...)
}

func TestJSONHeaderLenient(t *testing.T) {
	// client-go's form: remark always present, key order its own.
	hdr := `{"code":105,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{"topic":"t1","n":8,"b":true,"z":null},"unknownKey":[1,2]}`
	cmd, err := ReadCommand(bufio.NewReader(bytes.NewReader(jsonFrame(hdr, []byte("body")))), DefaultMaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"topic": "t1", "n": "8", "b": "true"}
	if !maps.Equal(cmd.ExtFields, want) {
		t.Errorf("ext = %v, want %v", cmd.ExtFields, want)
	}
	if cmd.Language != LangGo || cmd.Version != 317 || cmd.Opaque != 1 || string(cmd.Body) != "body" || cmd.Serialize != JSON {
		t.Errorf("decoded %v", cmd)
	}
	// Unknown language names decode without failing, as in fastjson.
	cmd, err = ReadCommand(bufio.NewReader(bytes.NewReader(jsonFrame(`{"code":1,"language":"COBOL"}`, nil))), DefaultMaxFrame)
	if err != nil || cmd.Language != LangUnknown {
		t.Errorf("unknown language: %v %v", cmd, err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, ser := range []SerializeType{JSON, RocketMQ} {
		in := &Command{
			Code: 310, Language: LangGo, Version: Version, Opaque: -5, Flag: FlagOneway,
			Remark:    "tab\there \x01 ctl \\ \"q\" 日本",
			ExtFields: map[string]string{"a": "pg", "i": "TAGS\x01A\x02KEYS\x01k\x02", "empty": "", "ü": "x"},
			Body:      []byte{0, 1, 2, 0xFF},
			Serialize: ser,
		}
		frame, err := AppendFrame(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ReadCommand(bufio.NewReader(bytes.NewReader(frame)), DefaultMaxFrame)
		if err != nil {
			t.Fatalf("%v: %v", ser, err)
		}
		if out.Code != in.Code || out.Opaque != in.Opaque || out.Flag != in.Flag || out.Remark != in.Remark ||
			out.Version != in.Version || out.Language != in.Language || !bytes.Equal(out.Body, in.Body) ||
			!maps.Equal(out.ExtFields, in.ExtFields) || out.Serialize != ser {
			t.Errorf("%v: round trip\n in %v %v\nout %v %v", ser, in, in.ExtFields, out, out.ExtFields)
		}
	}
}

func TestBinaryRejectsWideCode(t *testing.T) {
	// POP_MESSAGE (200050) cannot travel in a binary header.
	if _, err := AppendFrame(nil, &Command{Code: 200050, Serialize: RocketMQ}); err == nil {
		t.Fatal("expected an error for a code beyond int16")
	}
}

func TestMalformedFrames(t *testing.T) {
	valid, _ := hex.DecodeString(routeBinaryHex)
	cases := map[string]struct {
		frame []byte
		want  error
	}{
		"too large":          {binary.BigEndian.AppendUint32(nil, DefaultMaxFrame), ErrFrameTooLarge},
		"max uint32 length":  {[]byte{0xFF, 0xFF, 0xFF, 0xFF}, ErrFrameTooLarge},
		"shorter than word":  {[]byte{0, 0, 0, 2, 0, 0}, ErrMalformed},
		"header beyond body": {[]byte{0, 0, 0, 5, 0, 0, 0, 9, '{'}, ErrMalformed},
		"bad json":           {jsonFrame(`{"code":"x"`, nil), ErrMalformed},
		"ext object value":   {jsonFrame(`{"extFields":{"a":{}}}`, nil), ErrMalformed},
	}
	bad := jsonFrame("{}", nil)
	bad[4] = 7 // serialization type byte
	cases["unknown serializer"] = struct {
		frame []byte
		want  error
	}{bad, ErrMalformed}
	// Every truncation of the binary header inside a frame of consistent length.
	for n := 0; n < 33; n++ {
		f := binary.BigEndian.AppendUint32(nil, uint32(4+n))
		f = binary.BigEndian.AppendUint32(f, uint32(RocketMQ)<<24|uint32(n))
		f = append(f, valid[8:8+n]...)
		cases[fmt.Sprintf("binary header cut at %d", n)] = struct {
			frame []byte
			want  error
		}{f, ErrMalformed}
	}
	for name, tc := range cases {
		_, err := ReadCommand(bufio.NewReader(bytes.NewReader(tc.frame)), DefaultMaxFrame)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func TestNegativeLengthsInBinaryHeader(t *testing.T) {
	h := make([]byte, 21)
	binary.BigEndian.PutUint32(h[13:], 0xFFFFFFF0) // remark length -16
	f := binary.BigEndian.AppendUint32(nil, uint32(4+len(h)))
	f = binary.BigEndian.AppendUint32(f, uint32(RocketMQ)<<24|uint32(len(h)))
	f = append(f, h...)
	if _, err := ReadCommand(bufio.NewReader(bytes.NewReader(f)), DefaultMaxFrame); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}
