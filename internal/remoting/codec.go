package remoting

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// DefaultMaxFrame is the largest frame accepted by default, counting the
// 4-byte length prefix, as in Java's NettyDecoder (16 MiB).
const DefaultMaxFrame = 16 << 20

// binaryFixedLen is the size of the fixed part of a ROCKETMQ binary header.
const binaryFixedLen = 21

var (
	// ErrFrameTooLarge reports a frame whose announced length exceeds the
	// limit. The connection must be closed: the stream cannot be resynced.
	ErrFrameTooLarge = errors.New("remoting: frame too large")
	// ErrMalformed reports a frame that cannot be decoded.
	ErrMalformed = errors.New("remoting: malformed frame")
)

// ReadCommand reads one frame from r and decodes it. maxFrame bounds the
// frame including its 4-byte prefix; nothing larger is ever allocated.
func ReadCommand(r *bufio.Reader, maxFrame int) (*Command, error) {
	cmd, err := readFrame(r, maxFrame)
	if err != nil {
		return nil, err
	}
	cmd.extToMap()
	return cmd, nil
}

// readFrame is ReadCommand leaving a JSON header's ext fields in ExtList.
func readFrame(r *bufio.Reader, maxFrame int) (*Command, error) {
	var prefix [4]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, err
	}
	total := int64(binary.BigEndian.Uint32(prefix[:]))
	if total > int64(maxFrame)-4 {
		return nil, fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, total+4, maxFrame)
	}
	if total < 4 {
		return nil, fmt.Errorf("%w: frame length %d shorter than its header word", ErrMalformed, total)
	}
	buf := make([]byte, total)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("remoting: reading %d-byte frame: %w", total, err)
	}
	return decodeFrame(buf)
}

// DecodeFrame decodes a frame without its 4-byte length prefix: the header
// word, the header and the body. The returned command's Body aliases buf.
func DecodeFrame(buf []byte) (*Command, error) {
	cmd, err := decodeFrame(buf)
	if err != nil {
		return nil, err
	}
	cmd.extToMap()
	return cmd, nil
}

// decodeFrame is DecodeFrame leaving a JSON header's ext fields in ExtList.
func decodeFrame(buf []byte) (*Command, error) {
	if len(buf) < 4 {
		return nil, fmt.Errorf("%w: %d bytes, no header word", ErrMalformed, len(buf))
	}
	word := binary.BigEndian.Uint32(buf)
	ser := SerializeType(word >> 24)
	headerLen := int(word & 0xFFFFFF)
	if headerLen > len(buf)-4 {
		return nil, fmt.Errorf("%w: header length %d exceeds frame (%d bytes)", ErrMalformed, headerLen, len(buf)-4)
	}
	header := buf[4 : 4+headerLen]
	var (
		cmd *Command
		err error
	)
	switch ser {
	case JSON:
		cmd, err = decodeJSONHeader(header)
	case RocketMQ:
		cmd, err = decodeBinaryHeader(header)
	default:
		return nil, fmt.Errorf("%w: unknown serialization type %d", ErrMalformed, ser)
	}
	if err != nil {
		return nil, err
	}
	cmd.Serialize = ser
	if body := buf[4+headerLen:]; len(body) > 0 {
		cmd.Body = body
	}
	return cmd, nil
}

// jsonHeader mirrors the JSON header object. Ext values are kept raw so
// that numbers and booleans, which fastjson tolerates, become strings.
type jsonHeader struct {
	Code      int32                      `json:"code"`
	Language  string                     `json:"language"`
	Version   int32                      `json:"version"`
	Opaque    int32                      `json:"opaque"`
	Flag      int32                      `json:"flag"`
	Remark    *string                    `json:"remark"`
	ExtFields map[string]json.RawMessage `json:"extFields"`
}

func decodeJSONHeader(b []byte) (*Command, error) {
	if cmd, ok := decodeJSONHeaderFast(b); ok {
		return cmd, nil
	}
	return decodeJSONHeaderSlow(b)
}

// decodeJSONHeaderSlow is the reference decoder (encoding/json); the fast
// one defers to it for anything outside the common subset.
func decodeJSONHeaderSlow(b []byte) (*Command, error) {
	var h jsonHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%w: JSON header: %v", ErrMalformed, err)
	}
	cmd := &Command{
		Code:     h.Code,
		Language: ParseLanguage(h.Language),
		Version:  h.Version,
		Opaque:   h.Opaque,
		Flag:     h.Flag,
	}
	if h.Remark != nil {
		cmd.Remark = *h.Remark
	}
	if len(h.ExtFields) > 0 {
		cmd.ExtFields = make(map[string]string, len(h.ExtFields))
		for k, raw := range h.ExtFields {
			v, ok, err := extValue(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: JSON header ext %q: %v", ErrMalformed, k, err)
			}
			if ok {
				cmd.ExtFields[k] = v
			}
		}
	}
	return cmd, nil
}

// extValue converts one raw ext value to a string the way fastjson does:
// strings as is, numbers and booleans by their text, null dropped.
func extValue(raw json.RawMessage) (string, bool, error) {
	if len(raw) == 0 {
		return "", false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, err
		}
		return s, true, nil
	case 'n':
		return "", false, nil
	case '{', '[':
		return "", false, errors.New("object or array where a string is expected")
	default: // number or boolean: keep the literal text
		return string(raw), true, nil
	}
}

func decodeBinaryHeader(b []byte) (*Command, error) {
	if len(b) < binaryFixedLen {
		return nil, fmt.Errorf("%w: binary header %d bytes, need %d", ErrMalformed, len(b), binaryFixedLen)
	}
	lang := LanguageCode(b[2])
	if int(lang) >= len(languageNames) {
		lang = LangUnknown
	}
	cmd := &Command{
		Code:     int32(int16(binary.BigEndian.Uint16(b[0:]))),
		Language: lang,
		Version:  int32(int16(binary.BigEndian.Uint16(b[3:]))),
		Opaque:   int32(binary.BigEndian.Uint32(b[5:])),
		Flag:     int32(binary.BigEndian.Uint32(b[9:])),
	}
	rest := b[13:]
	remarkLen := int64(int32(binary.BigEndian.Uint32(rest)))
	rest = rest[4:]
	if remarkLen < 0 || remarkLen > int64(len(rest)) {
		return nil, fmt.Errorf("%w: binary header remark length %d, %d bytes left", ErrMalformed, remarkLen, len(rest))
	}
	cmd.Remark = string(rest[:remarkLen])
	rest = rest[remarkLen:]
	if len(rest) < 4 {
		return nil, fmt.Errorf("%w: binary header truncated before ext length", ErrMalformed)
	}
	extLen := int64(int32(binary.BigEndian.Uint32(rest)))
	rest = rest[4:]
	if extLen < 0 || extLen > int64(len(rest)) {
		return nil, fmt.Errorf("%w: binary header ext length %d, %d bytes left", ErrMalformed, extLen, len(rest))
	}
	ext := rest[:extLen]
	for len(ext) > 0 {
		if len(ext) < 2 {
			return nil, fmt.Errorf("%w: binary header ext entry truncated", ErrMalformed)
		}
		kl := int(int16(binary.BigEndian.Uint16(ext)))
		ext = ext[2:]
		if kl < 0 || kl > len(ext) {
			return nil, fmt.Errorf("%w: binary header ext key length %d", ErrMalformed, kl)
		}
		key := string(ext[:kl])
		ext = ext[kl:]
		if len(ext) < 4 {
			return nil, fmt.Errorf("%w: binary header ext value length truncated", ErrMalformed)
		}
		vl := int64(int32(binary.BigEndian.Uint32(ext)))
		ext = ext[4:]
		if vl < 0 || vl > int64(len(ext)) {
			return nil, fmt.Errorf("%w: binary header ext value length %d", ErrMalformed, vl)
		}
		if cmd.ExtFields == nil {
			cmd.ExtFields = make(map[string]string, 8)
		}
		cmd.ExtFields[key] = string(ext[:vl])
		ext = ext[vl:]
	}
	return cmd, nil
}

// AppendFrame appends the complete frame of cmd (length prefix, header
// word, header, body) to dst.
func AppendFrame(dst []byte, cmd *Command) ([]byte, error) {
	dst, err := appendFrameHead(dst, cmd)
	if err != nil {
		return dst, err
	}
	return append(dst, cmd.Body...), nil
}

// appendFrameHead appends everything of cmd's frame but the body: the
// length prefix (which counts the body), the header word and the header.
func appendFrameHead(dst []byte, cmd *Command) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // length prefix and header word, patched below
	var err error
	switch cmd.Serialize {
	case JSON:
		dst = appendJSONHeader(dst, cmd)
	case RocketMQ:
		dst, err = appendBinaryHeader(dst, cmd)
	default:
		err = fmt.Errorf("remoting: cannot encode serialization type %d", cmd.Serialize)
	}
	if err != nil {
		return dst[:start], err
	}
	headerLen := len(dst) - start - 8
	if headerLen > 0xFFFFFF {
		return dst[:start], fmt.Errorf("remoting: header of %d bytes exceeds the 24-bit length field", headerLen)
	}
	total := 4 + headerLen + len(cmd.Body)
	if int64(total) > math.MaxInt32 {
		return dst[:start], fmt.Errorf("remoting: frame of %d bytes too large", total)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(total))
	binary.BigEndian.PutUint32(dst[start+4:], uint32(cmd.Serialize)<<24|uint32(headerLen))
	return dst, nil
}

// appendJSONHeader writes the header as Java does: keys in alphabetical
// order, compact, strings escaped as fastjson escapes them, null remark
// omitted. Ext keys are sorted so that output
// is deterministic (Java's is hash order, which no reader depends on).
func appendJSONHeader(dst []byte, cmd *Command) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Code), 10)
	if len(cmd.ExtFields)+len(cmd.ExtList) > 0 {
		dst = append(dst, `,"extFields":{`...)
		keys := sortedKeys(cmd.ExtFields, make([]string, 0, 24))
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = fastjson.AppendString(dst, k)
			dst = append(dst, ':')
			dst = fastjson.AppendString(dst, cmd.ExtFields[k])
		}
		for i, f := range cmd.ExtList {
			if i > 0 || len(keys) > 0 {
				dst = append(dst, ',')
			}
			dst = fastjson.AppendString(dst, f.Key)
			dst = append(dst, ':')
			dst = fastjson.AppendString(dst, f.Value)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"flag":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Flag), 10)
	dst = append(dst, `,"language":`...)
	dst = fastjson.AppendString(dst, cmd.Language.String())
	dst = append(dst, `,"opaque":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Opaque), 10)
	if cmd.Remark != "" {
		dst = append(dst, `,"remark":`...)
		dst = fastjson.AppendString(dst, cmd.Remark)
	}
	dst = append(dst, `,"serializeTypeCurrentRPC":"JSON","version":`...)
	dst = strconv.AppendInt(dst, int64(cmd.Version), 10)
	return append(dst, '}')
}

func appendBinaryHeader(dst []byte, cmd *Command) ([]byte, error) {
	if cmd.Code > math.MaxInt16 || cmd.Code < math.MinInt16 {
		return dst, fmt.Errorf("remoting: code %d does not fit a ROCKETMQ binary header", cmd.Code)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(cmd.Code)))
	dst = append(dst, byte(cmd.Language))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(cmd.Version)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(cmd.Opaque))
	dst = binary.BigEndian.AppendUint32(dst, uint32(cmd.Flag))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(cmd.Remark)))
	dst = append(dst, cmd.Remark...)
	extLenAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	keys := sortedKeys(cmd.ExtFields, make([]string, 0, 24))
	var err error
	for _, k := range keys {
		if dst, err = appendBinaryExt(dst, k, cmd.ExtFields[k]); err != nil {
			return dst, err
		}
	}
	for _, f := range cmd.ExtList {
		if dst, err = appendBinaryExt(dst, f.Key, f.Value); err != nil {
			return dst, err
		}
	}
	binary.BigEndian.PutUint32(dst[extLenAt:], uint32(len(dst)-extLenAt-4))
	return dst, nil
}

// appendBinaryExt appends one ext field of a binary header.
func appendBinaryExt(dst []byte, k, v string) ([]byte, error) {
	if len(k) > math.MaxInt16 {
		return dst, fmt.Errorf("remoting: ext key of %d bytes too long for a binary header", len(k))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(k)))
	dst = append(dst, k...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...), nil
}

// sortedKeys appends the keys of ext to buf, sorted. Callers pass a small
// buffer that stays on the stack for the usual header sizes.
func sortedKeys(ext map[string]string, buf []string) []string {
	for k := range ext {
		buf = append(buf, k)
	}
	slices.Sort(buf)
	return buf
}
