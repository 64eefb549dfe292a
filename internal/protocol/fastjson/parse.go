package fastjson

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds how deeply arrays, objects and compound keys may nest.
// RocketMQ bodies nest a handful of levels; the bound keeps hostile input
// from exhausting the stack.
const MaxDepth = 64

var (
	// ErrSyntax: the input is not JSON, even by fastjson's lenient rules.
	ErrSyntax = errors.New("fastjson: syntax error")
	// ErrDepth: the input nests deeper than MaxDepth.
	ErrDepth = errors.New("fastjson: nesting too deep")
)

// Parse reads one JSON value, surrounded by optional whitespace, into a
// Value tree. Besides standard JSON it accepts what fastjson and the
// RocketMQ clients produce:
//
//   - any value as an object key: bare numbers ({0:"a"}), objects
//     ({{"topic":"T"}:1}), true/false/null, and unquoted identifiers
//     ({topic:"T"}, read as string keys);
//   - raw control characters and invalid UTF-8 inside strings (kept as is),
//     and the escapes \' and \xHH besides the standard ones; lone UTF-16
//     surrogates decode to U+FFFD;
//   - numbers with leading zeros; the number text is kept verbatim.
//
// Parse never panics, and its memory is bounded by its input: a first pass
// validates the text and counts the children of every container, so the
// second pass allocates each container once at its exact size, and
// unescaped text shares a single copy of the input. A Value takes 72 bytes
// and needs at least two input bytes, so even the densest inputs (arrays of
// one-digit numbers or of {1:2}) cost under 45 bytes per input byte. Depth
// is limited to MaxDepth.
func Parse(data []byte) (*Value, error) {
	p := parser{data: data, src: string(data)}
	var scratch Value
	if err := p.document(&scratch); err != nil {
		return nil, err
	}
	p.pos, p.build = 0, true
	v := new(Value)
	if err := p.document(v); err != nil {
		// Unreachable: the first pass accepted the same input.
		return nil, err
	}
	return v, nil
}

type parser struct {
	data []byte
	src  string // the same bytes, sliced for Text without further copies
	pos  int
	// build is false in the counting pass, which records in counts the
	// number of children of every container in pre-order, and true in the
	// building pass, which consumes them (next).
	build  bool
	counts []int
	next   int
}

func (p *parser) document(v *Value) error {
	p.skipSpace()
	if err := p.value(v, 0); err != nil {
		return err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return p.errorf("unexpected %s after the value", p.describe())
	}
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) describe() string {
	if p.pos >= len(p.data) {
		return "end of input"
	}
	return fmt.Sprintf("character %q", p.data[p.pos])
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\b': // fastjson also skips \f and \b
			p.pos++
		default:
			return
		}
	}
}

// value parses the value starting at p.pos (no leading whitespace) into v.
func (p *parser) value(v *Value, depth int) error {
	if p.pos >= len(p.data) {
		return p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(v, depth+1)
	case c == '[':
		return p.array(v, depth+1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		*v = Value{Kind: KindString, Text: s}
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(v)
	case c == 't' || c == 'f' || c == 'n':
		return p.literal(v)
	default:
		return p.errorf("unexpected %s", p.describe())
	}
}

func (p *parser) literal(v *Value) error {
	rest := p.data[p.pos:]
	switch {
	case hasWord(rest, "true"):
		*v = Value{Kind: KindBool, Text: "true"}
		p.pos += 4
	case hasWord(rest, "false"):
		*v = Value{Kind: KindBool, Text: "false"}
		p.pos += 5
	case hasWord(rest, "null"):
		*v = Value{}
		p.pos += 4
	default:
		return p.errorf("unexpected %s", p.describe())
	}
	return nil
}

// hasWord reports whether b starts with word not followed by an identifier
// character.
func hasWord(b []byte, word string) bool {
	return len(b) >= len(word) && string(b[:len(word)]) == word &&
		(len(b) == len(word) || !isIdentChar(b[len(word)]))
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) number(v *Value) error {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if !p.digits() {
		return p.errorf("malformed number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if !p.digits() {
			return p.errorf("malformed number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if !p.digits() {
			return p.errorf("malformed number")
		}
	}
	*v = Value{Kind: KindNumber, Text: p.src[start:p.pos]}
	return nil
}

// digits consumes one or more decimal digits.
func (p *parser) digits() bool {
	start := p.pos
	for p.pos < len(p.data) && isDigit(p.data[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

// openContainer is called at the start of every array or object. In the
// counting pass it reserves the container's slot in counts; in the building
// pass it returns the child count recorded there.
func (p *parser) openContainer(depth int) (slot, n int, err error) {
	if depth > MaxDepth {
		return 0, 0, fmt.Errorf("%w (limit %d) at offset %d", ErrDepth, MaxDepth, p.pos)
	}
	p.pos++ // '[' or '{'
	if !p.build {
		p.counts = append(p.counts, 0)
		return len(p.counts) - 1, 0, nil
	}
	if p.next >= len(p.counts) {
		return 0, 0, p.errorf("internal: container count missing")
	}
	p.next++
	return p.next - 1, p.counts[p.next-1], nil
}

func (p *parser) array(v *Value, depth int) error {
	slot, n, err := p.openContainer(depth)
	if err != nil {
		return err
	}
	*v = Value{Kind: KindArray}
	if p.build && n > 0 {
		v.Items = make([]Value, n)
	}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return nil
	}
	var scratch Value
	for i := 0; ; i++ {
		item := &scratch
		if p.build {
			if i >= len(v.Items) {
				return p.errorf("internal: array longer than counted")
			}
			item = &v.Items[i]
		}
		if err := p.value(item, depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errorf("unterminated array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			if !p.build {
				p.counts[slot] = i + 1
			}
			return nil
		default:
			return p.errorf("unexpected %s in array", p.describe())
		}
	}
}

func (p *parser) object(v *Value, depth int) error {
	slot, n, err := p.openContainer(depth)
	if err != nil {
		return err
	}
	*v = Value{Kind: KindObject}
	if p.build && n > 0 {
		v.Members = make([]Member, n)
	}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	var scratch Member
	for i := 0; ; i++ {
		m := &scratch
		if p.build {
			if i >= len(v.Members) {
				return p.errorf("internal: object longer than counted")
			}
			m = &v.Members[i]
		}
		if err := p.key(&m.Key, depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.errorf("expected ':' after object key, found %s", p.describe())
		}
		p.pos++
		p.skipSpace()
		if err := p.value(&m.Value, depth); err != nil {
			return err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.errorf("unterminated object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			if !p.build {
				p.counts[slot] = i + 1
			}
			return nil
		default:
			return p.errorf("unexpected %s in object", p.describe())
		}
	}
}

// key parses an object key: any value, or an unquoted identifier.
func (p *parser) key(k *Value, depth int) error {
	if p.pos < len(p.data) && isIdentStart(p.data[p.pos]) {
		rest := p.data[p.pos:]
		if !hasWord(rest, "true") && !hasWord(rest, "false") && !hasWord(rest, "null") {
			start := p.pos
			for p.pos < len(p.data) && isIdentChar(p.data[p.pos]) {
				p.pos++
			}
			*k = Value{Kind: KindString, Text: p.src[start:p.pos]}
			return nil
		}
	}
	return p.value(k, depth)
}

// str parses a quoted string starting at p.pos. The counting pass only
// validates it and returns "".
func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes, the text is a slice of the input.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			p.pos++
			return p.src[start : p.pos-1], nil
		}
		if c == '\\' {
			break
		}
		p.pos++
	}
	var b strings.Builder
	if p.build {
		b.WriteString(p.src[start:p.pos])
	}
	for p.pos < len(p.data) {
		switch c := p.data[p.pos]; c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			if p.build {
				b.WriteRune(r)
			}
		default:
			if p.build {
				b.WriteByte(c)
			}
			p.pos++
		}
	}
	return "", p.errorf("unterminated string")
}

// escape decodes the backslash escape at p.pos.
func (p *parser) escape() (rune, error) {
	if p.pos+1 >= len(p.data) {
		return 0, p.errorf("unterminated string")
	}
	c := p.data[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/', '\'':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'x':
		h, ok := p.hex(2)
		if !ok {
			return 0, p.errorf("malformed \\x escape")
		}
		return rune(h), nil
	case 'u':
		h, ok := p.hex(4)
		if !ok {
			return 0, p.errorf("malformed \\u escape")
		}
		r := rune(h)
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		// A high surrogate combines with an immediately following low one;
		// anything else is a lone surrogate.
		if r < 0xDC00 && p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
			save := p.pos
			p.pos += 2
			if lo, ok := p.hex(4); ok && rune(lo) >= 0xDC00 && rune(lo) <= 0xDFFF {
				return utf16.DecodeRune(r, rune(lo)), nil
			}
			p.pos = save
		}
		return utf8.RuneError, nil
	default:
		p.pos--
		return 0, p.errorf("unknown escape \\%c", c)
	}
}

// hex reads n hex digits.
func (p *parser) hex(n int) (uint32, bool) {
	if p.pos+n > len(p.data) {
		return 0, false
	}
	var v uint32
	for _, c := range p.data[p.pos : p.pos+n] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint32(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint32(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.pos += n
	return v, true
}
