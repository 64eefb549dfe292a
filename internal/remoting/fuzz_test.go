package remoting

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"maps"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeFrame feeds arbitrary bytes to the frame decoder. It must never
// panic, and whatever it accepts must survive an encode/decode round trip.
func FuzzDecodeFrame(f *testing.F) {
	golden, _ := hex.DecodeString(routeBinaryHex)
	f.Add(golden[4:])
	f.Add(jsonFrame(`{"code":105,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{"topic":"t1"}}`, []byte("x"))[4:])
	f.Add(jsonFrame(`{"code":1,"extFields":{"a":1,"b":true,"c":null}}`, nil)[4:])
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, err := DecodeFrame(data)
		if err != nil {
			return
		}
		if cmd.Serialize == RocketMQ && (cmd.Code > 32767 || cmd.Code < -32768) {
			t.Fatalf("binary header decoded a code beyond int16: %d", cmd.Code)
		}
		if cmd.Serialize == JSON && !validUTF8Command(cmd) {
			return // the encoder substitutes invalid UTF-8, so no exact round trip
		}
		frame, err := AppendFrame(nil, cmd)
		if err != nil {
			if cmd.Serialize == RocketMQ {
				t.Fatalf("cannot re-encode a decoded binary command: %v", err)
			}
			return
		}
		again, err := ReadCommand(bufio.NewReader(bytes.NewReader(frame)), len(frame))
		if err != nil {
			t.Fatalf("cannot decode own encoding: %v\n%q", err, frame)
		}
		if again.Code != cmd.Code || again.Opaque != cmd.Opaque || again.Flag != cmd.Flag ||
			again.Remark != cmd.Remark || !maps.Equal(again.ExtFields, cmd.ExtFields) || !bytes.Equal(again.Body, cmd.Body) {
			t.Fatalf("round trip changed the command:\n%v %v\n%v %v", cmd, cmd.ExtFields, again, again.ExtFields)
		}
	})
}

// FuzzReadCommand checks that the stream reader honours the frame limit
// whatever the length prefix says.
func FuzzReadCommand(f *testing.F) {
	golden, _ := hex.DecodeString(routeBinaryHex)
	f.Add(golden)
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 4 {
			cmd, err := ReadCommand(r, 1024)
			if err != nil {
				return
			}
			if len(cmd.Body) > 1024 {
				t.Fatalf("body of %d bytes passed a 1 KiB frame limit", len(cmd.Body))
			}
		}
	})
}

func validUTF8Command(c *Command) bool {
	if !utf8.ValidString(c.Remark) {
		return false
	}
	for k, v := range c.ExtFields {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}
