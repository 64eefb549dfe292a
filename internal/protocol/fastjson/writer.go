package fastjson

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ErrWriterState reports a Writer used out of order (a value without a key,
// an unbalanced End, a second top-level value). It is a programming error in
// the caller; the Writer records the first one and ignores later calls.
var ErrWriterState = errors.New("fastjson: writer used out of order")

const hexDigits = "0123456789ABCDEF" // fastjson writes upper-case hex escapes

// Writer builds one compact JSON text in fastjson's default style. Commas and
// colons are inserted automatically; the caller supplies keys and values in
// the order they must appear.
//
// Inside an object, every entry is a key (Key, IntKey, RawKey, or a compound
// key between BeginKey and EndKey) followed by exactly one value. The zero
// Writer is ready to use.
type Writer struct {
	buf     []byte
	stack   []frame
	browser bool
	topDone bool
	err     error
}

type frameKind uint8

const (
	inObject frameKind = iota + 1
	inArray
	inKey // between BeginKey and EndKey: exactly one value, which is the key
)

type frame struct {
	kind      frameKind
	n         int  // entries (object), elements (array) or values (key) so far
	wantValue bool // object: a key has been written, its value is next
	start     int  // key: offset in buf where the key text starts
}

// NewWriter returns a Writer producing fastjson's default output.
func NewWriter() *Writer { return &Writer{} }

// NewBrowserCompatibleWriter returns a Writer that mimics fastjson's
// BrowserCompatible feature, which yields standard JSON: integer and
// compound map keys become JSON strings ("0", "{\"brokerName\":...}"),
// characters outside printable ASCII and '/' are \u- or backslash-escaped,
// and integers beyond ±(2^53-1) are quoted. RocketMQ uses it only for the
// route reply sent to clients that ask for standard JSON.
func NewBrowserCompatibleWriter() *Writer { return &Writer{browser: true} }

// Reset empties the Writer, keeping its mode and buffer capacity.
func (w *Writer) Reset() {
	w.buf = w.buf[:0]
	w.stack = w.stack[:0]
	w.topDone = false
	w.err = nil
}

// Bytes returns the text written so far. It aliases the Writer's buffer
// until the next write or Reset.
func (w *Writer) Bytes() []byte { return w.buf }

// Err reports the first misuse, or an error if a container or key is still
// open.
func (w *Writer) Err() error {
	if w.err != nil {
		return w.err
	}
	if len(w.stack) > 0 {
		return fmt.Errorf("%w: %d unclosed container(s)", ErrWriterState, len(w.stack))
	}
	return nil
}

func (w *Writer) fail(msg string) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %s", ErrWriterState, msg)
	}
}

// beforeValue inserts whatever separator the next value needs and checks
// that a value is allowed here.
func (w *Writer) beforeValue() bool {
	if w.err != nil {
		return false
	}
	if len(w.stack) == 0 {
		if w.topDone {
			w.fail("second top-level value")
			return false
		}
		w.topDone = true
		return true
	}
	top := &w.stack[len(w.stack)-1]
	switch top.kind {
	case inArray:
		if top.n > 0 {
			w.buf = append(w.buf, ',')
		}
		top.n++
	case inObject:
		if !top.wantValue {
			w.fail("object value without a key")
			return false
		}
		top.wantValue = false
	case inKey:
		if top.n > 0 {
			w.fail("compound key with more than one value")
			return false
		}
		top.n++
	}
	return true
}

// beforeKey checks that a key may start here and writes the separator.
func (w *Writer) beforeKey() bool {
	if w.err != nil {
		return false
	}
	if len(w.stack) == 0 || w.stack[len(w.stack)-1].kind != inObject {
		w.fail("key outside an object")
		return false
	}
	top := &w.stack[len(w.stack)-1]
	if top.wantValue {
		w.fail("key where a value was expected")
		return false
	}
	if top.n > 0 {
		w.buf = append(w.buf, ',')
	}
	top.n++
	return true
}

func (w *Writer) afterKey() {
	w.buf = append(w.buf, ':')
	w.stack[len(w.stack)-1].wantValue = true
}

// BeginObject starts an object value.
func (w *Writer) BeginObject() {
	if w.beforeValue() {
		w.buf = append(w.buf, '{')
		w.stack = append(w.stack, frame{kind: inObject})
	}
}

// EndObject closes the innermost object.
func (w *Writer) EndObject() {
	if w.err != nil {
		return
	}
	if len(w.stack) == 0 || w.stack[len(w.stack)-1].kind != inObject || w.stack[len(w.stack)-1].wantValue {
		w.fail("EndObject without a complete open object")
		return
	}
	w.stack = w.stack[:len(w.stack)-1]
	w.buf = append(w.buf, '}')
}

// BeginArray starts an array value.
func (w *Writer) BeginArray() {
	if w.beforeValue() {
		w.buf = append(w.buf, '[')
		w.stack = append(w.stack, frame{kind: inArray})
	}
}

// EndArray closes the innermost array.
func (w *Writer) EndArray() {
	if w.err != nil {
		return
	}
	if len(w.stack) == 0 || w.stack[len(w.stack)-1].kind != inArray {
		w.fail("EndArray without an open array")
		return
	}
	w.stack = w.stack[:len(w.stack)-1]
	w.buf = append(w.buf, ']')
}

// Key writes a string key (a bean property name or a String map key).
func (w *Writer) Key(k string) {
	if w.beforeKey() {
		w.buf = w.appendString(w.buf, k)
		w.afterKey()
	}
}

// IntKey writes an integer map key: bare ({0:...}) in fastjson's default
// style, quoted ({"0":...}) in browser-compatible mode.
func (w *Writer) IntKey(k int64) {
	if w.beforeKey() {
		if w.browser {
			w.buf = append(w.buf, '"')
			w.buf = strconv.AppendInt(w.buf, k, 10)
			w.buf = append(w.buf, '"')
		} else {
			w.buf = strconv.AppendInt(w.buf, k, 10)
		}
		w.afterKey()
	}
}

// RawKey writes key text verbatim (a number token or literal re-emitted from
// a parsed Value); in browser-compatible mode it is written as a string.
func (w *Writer) RawKey(raw string) {
	if w.beforeKey() {
		if w.browser {
			w.buf = w.appendString(w.buf, raw)
		} else {
			w.buf = append(w.buf, raw...)
		}
		w.afterKey()
	}
}

// BeginKey starts a compound map key, such as a MessageQueue object: write
// exactly one value, then call EndKey. In browser-compatible mode the key's
// JSON text is turned into a JSON string, as fastjson does.
func (w *Writer) BeginKey() {
	if w.beforeKey() {
		w.stack = append(w.stack, frame{kind: inKey, start: len(w.buf)})
	}
}

// EndKey finishes a compound key started by BeginKey.
func (w *Writer) EndKey() {
	if w.err != nil {
		return
	}
	if len(w.stack) == 0 || w.stack[len(w.stack)-1].kind != inKey || w.stack[len(w.stack)-1].n != 1 {
		w.fail("EndKey without a complete compound key")
		return
	}
	start := w.stack[len(w.stack)-1].start
	w.stack = w.stack[:len(w.stack)-1]
	if w.browser {
		text := string(w.buf[start:])
		w.buf = w.appendString(w.buf[:start], text)
	}
	w.afterKey()
}

// String writes a string value.
func (w *Writer) String(s string) {
	if w.beforeValue() {
		w.buf = w.appendString(w.buf, s)
	}
}

// Int writes an integer value. Browser-compatible mode quotes integers that
// JavaScript cannot represent exactly.
func (w *Writer) Int(i int64) {
	if w.beforeValue() {
		const maxSafe = 1<<53 - 1
		if w.browser && (i > maxSafe || i < -maxSafe) {
			w.buf = append(w.buf, '"')
			w.buf = strconv.AppendInt(w.buf, i, 10)
			w.buf = append(w.buf, '"')
			return
		}
		w.buf = strconv.AppendInt(w.buf, i, 10)
	}
}

// Double writes a Java double (see AppendDouble).
func (w *Writer) Double(f float64) {
	if w.beforeValue() {
		w.buf = AppendDouble(w.buf, f)
	}
}

// Bool writes true or false.
func (w *Writer) Bool(b bool) {
	if w.beforeValue() {
		w.buf = strconv.AppendBool(w.buf, b)
	}
}

// Null writes null.
func (w *Writer) Null() {
	if w.beforeValue() {
		w.buf = append(w.buf, "null"...)
	}
}

// Raw writes pre-encoded JSON text as one value, unchecked.
func (w *Writer) Raw(text []byte) {
	if w.beforeValue() {
		w.buf = append(w.buf, text...)
	}
}

// Strings writes an array of strings.
func (w *Writer) Strings(ss []string) {
	w.BeginArray()
	for _, s := range ss {
		w.String(s)
	}
	w.EndArray()
}

// Value writes a parsed value tree, keeping member order and raw number
// text. A nil Value is written as null.
func (w *Writer) Value(v *Value) {
	if v == nil {
		w.Null()
		return
	}
	switch v.Kind {
	case KindString:
		w.String(v.Text)
	case KindNumber, KindBool:
		w.Raw([]byte(v.Text))
	case KindArray:
		w.BeginArray()
		for i := range v.Items {
			w.Value(&v.Items[i])
		}
		w.EndArray()
	case KindObject:
		w.BeginObject()
		for i := range v.Members {
			m := &v.Members[i]
			switch m.Key.Kind {
			case KindString:
				w.Key(m.Key.Text)
			case KindNumber, KindBool:
				w.RawKey(m.Key.Text)
			case KindNull:
				w.RawKey("null")
			default:
				w.BeginKey()
				w.Value(&m.Key)
				w.EndKey()
			}
			w.Value(&m.Value)
		}
		w.EndObject()
	default:
		w.Null()
	}
}

// Encode returns the compact fastjson text of a value tree.
func Encode(v *Value) []byte {
	var w Writer
	w.Value(v)
	return w.Bytes()
}

// appendString appends s as a quoted JSON string using the Writer's escaping
// rules.
func (w *Writer) appendString(dst []byte, s string) []byte {
	if w.browser {
		return appendStringBrowser(dst, s)
	}
	return AppendString(dst, s)
}

// plainASCII[c] says AppendString copies byte c as it is: printable ASCII
// other than '"' and '\\'.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7F; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s quoted and escaped like fastjson's default
// serializer: '"' and '\\' get a backslash; \b \t \n \f \r use their short
// escapes; the remaining C0 controls, DEL..U+009F and U+2028/U+2029 become
// \u00XX-style escapes (upper-case hex); everything else, including '/' and
// non-ASCII text, is copied as is. Bytes that are not valid UTF-8 are copied
// unchanged.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	// Header fields are almost always plain ASCII: find the first byte
	// that is not with one table load per byte, and copy up to it at once.
	i := 0
	for i < len(s) && plainASCII[s[i]] {
		i++
	}
	if i == len(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\r':
				dst = append(dst, '\\', 'r')
			default:
				dst = appendUnicodeEscape(dst, rune(c))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			i++ // invalid byte: keep verbatim
			continue
		}
		if r <= 0x9F || r == 0x2028 || r == 0x2029 {
			dst = append(dst, s[start:i]...)
			dst = appendUnicodeEscape(dst, r)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendStringBrowser escapes like fastjson's BrowserCompatible feature:
// '"', '/', '\\' and the short escapes get a backslash, every other code
// unit below 0x20 or from 0x7F up becomes \uXXXX (UTF-16, so characters
// outside the BMP become surrogate pairs).
func appendStringBrowser(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s { // invalid bytes arrive as U+FFFD
		switch {
		case r == '"' || r == '/' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\b':
			dst = append(dst, '\\', 'b')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\f':
			dst = append(dst, '\\', 'f')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r < 0x20 || (r >= 0x7F && r <= 0xFFFF):
			dst = appendUnicodeEscape(dst, r)
		case r > 0xFFFF:
			r -= 0x10000
			dst = appendUnicodeEscape(dst, 0xD800+(r>>10))
			dst = appendUnicodeEscape(dst, 0xDC00+(r&0x3FF))
		default:
			dst = append(dst, byte(r))
		}
	}
	return append(dst, '"')
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[(r>>12)&0xF], hexDigits[(r>>8)&0xF], hexDigits[(r>>4)&0xF], hexDigits[r&0xF])
}
