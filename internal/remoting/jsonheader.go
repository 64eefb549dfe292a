package remoting

import (
	"strings"
	"unicode/utf8"
)

// decodeJSONHeaderFast decodes the JSON headers clients actually send
// without encoding/json, which cost a quarter of the broker's CPU per
// message. It handles a strict subset of JSON — one object, the known
// keys with the expected value types, an "extFields" object of strings,
// numbers, booleans and nulls, unknown keys with any valid value — and
// reports ok=false for anything else (case-folded key names, surrogate
// escapes, invalid UTF-8, nulls where a value is expected, syntax errors),
// so the caller falls back to encoding/json and every answer, error or
// not, is exactly what encoding/json gives. Unescaped strings share one
// copy of the header.
func decodeJSONHeaderFast(b []byte) (cmd *Command, ok bool) {
	p := jsonParser{s: string(b)}
	p.ws()
	if !p.eat('{') {
		return nil, false
	}
	cmd = &Command{}
	var language string
	sawExt := false
	p.ws()
	if p.eat('}') {
		return p.finish(cmd, language)
	}
	for {
		p.ws()
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.eat(':') {
			return nil, false
		}
		p.ws()
		switch key {
		case "code":
			cmd.Code, ok = p.int32()
		case "version":
			cmd.Version, ok = p.int32()
		case "opaque":
			cmd.Opaque, ok = p.int32()
		case "flag":
			cmd.Flag, ok = p.int32()
		case "language":
			language, ok = p.str()
		case "remark":
			if p.lit("null") {
				cmd.Remark = ""
			} else {
				cmd.Remark, ok = p.str()
			}
		case "extFields":
			if sawExt { // encoding/json would merge both objects
				return nil, false
			}
			sawExt = true
			if p.lit("null") {
				break
			}
			ok = p.extFields(cmd)
		default:
			// encoding/json matches struct fields case-insensitively.
			for _, k := range [...]string{"code", "version", "opaque", "flag", "language", "remark", "extfields"} {
				if strings.EqualFold(key, k) {
					return nil, false
				}
			}
			ok = p.skip(0)
		}
		if !ok {
			return nil, false
		}
		p.ws()
		if p.eat('}') {
			return p.finish(cmd, language)
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

// jsonParser walks a JSON text; every method reports false instead of
// failing, leaving the decision to the caller.
type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) finish(cmd *Command, language string) (*Command, bool) {
	p.ws()
	if p.i != len(p.s) {
		return nil, false
	}
	cmd.Language = ParseLanguage(language)
	return cmd, true
}

func (p *jsonParser) ws() {
	s, i := p.s, p.i
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	p.i = i
}

func (p *jsonParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *jsonParser) lit(word string) bool {
	if strings.HasPrefix(p.s[p.i:], word) {
		p.i += len(word)
		return true
	}
	return false
}

// int32 reads an integer literal that fits an int32; fractions, exponents
// and out-of-range values are left to encoding/json (which rejects them).
func (p *jsonParser) int32() (int32, bool) {
	start := p.i
	neg := p.eat('-')
	digits := p.i
	var n int64
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int64(p.s[p.i]-'0')
		p.i++
		if n > 1<<31 {
			return 0, false
		}
	}
	if p.i == digits || (p.s[digits] == '0' && p.i-digits > 1) {
		return 0, false
	}
	if p.i < len(p.s) {
		switch p.s[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	if n > 1<<31-1 || n < -1<<31 || (neg && p.i-start < 2) {
		return 0, false
	}
	return int32(n), true
}

// str reads a string. Without escapes it is a substring of the header;
// escapes other than surrogate \u sequences are decoded; invalid UTF-8 and
// control characters are declined.
func (p *jsonParser) str() (string, bool) {
	// Locals, not p.i: the loop then keeps its index in a register.
	s, i := p.s, p.i
	if i >= len(s) || s[i] != '"' {
		return "", false
	}
	i++
	start := i
	ascii := true
	for i < len(s) {
		c := s[i]
		if !strSpecial[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			v := s[start:i]
			p.i = i + 1
			if !ascii && !utf8.ValidString(v) {
				return "", false
			}
			return v, true
		case c == '\\':
			p.i = i
			return p.strEscaped(start)
		case c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
		i++
	}
	return "", false
}

// strSpecial marks the bytes str must look at: the quote, the backslash,
// control characters and non-ASCII bytes. One table load per byte is
// cheaper than the four comparisons.
var strSpecial = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return t
}()

func (p *jsonParser) strEscaped(start int) (string, bool) {
	// The decoded string is no longer than its text: find the closing
	// quote first and grow the builder once.
	end := p.i
	for end < len(p.s) && p.s[end] != '"' {
		if p.s[end] == '\\' {
			end++
		}
		end++
	}
	var b strings.Builder
	b.Grow(min(end, len(p.s)) - start)
	b.WriteString(p.s[start:p.i])
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			v := b.String()
			if !utf8.ValidString(v) {
				return "", false
			}
			return v, true
		case c < 0x20:
			return "", false
		case c != '\\':
			// Copy the run up to the next byte worth a look at once.
			j := p.i + 1
			for j < len(p.s) && !strSpecial[p.s[j]] {
				j++
			}
			b.WriteString(p.s[p.i:j])
			p.i = j
			continue
		}
		if p.i+1 >= len(p.s) {
			return "", false
		}
		e := p.s[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			if p.i+4 > len(p.s) {
				return "", false
			}
			var r rune
			for _, h := range []byte(p.s[p.i : p.i+4]) {
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return "", false
				}
			}
			if r >= 0xD800 && r < 0xE000 { // surrogates: encoding/json's rules
				return "", false
			}
			p.i += 4
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return "", false
}

// number reads a JSON number literal and returns its text.
func (p *jsonParser) number() (string, bool) {
	start := p.i
	p.eat('-')
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	n := digits()
	if n == 0 || (n > 1 && p.s[intStart] == '0') {
		return "", false
	}
	if p.eat('.') && digits() == 0 {
		return "", false
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if !p.eat('+') {
			p.eat('-')
		}
		if digits() == 0 {
			return "", false
		}
	}
	return p.s[start:p.i], true
}

// extFields reads the ext object into cmd.ExtList: strings as they are,
// numbers and booleans by their text, nulls dropped (as extValue does). A
// repeated key keeps its last value and a null removes an earlier one, so
// the list has encoding/json's map semantics; the linear search for
// repeats is cheaper than a map at the dozen keys a header carries.
func (p *jsonParser) extFields(cmd *Command) bool {
	if !p.eat('{') {
		return false
	}
	var list []ExtField
	var seen uint64 // keyBit of every key in list: most keys need no search
	p.ws()
	if !p.eat('}') {
		list = make([]ExtField, 0, 16)
		for {
			p.ws()
			k, ok := p.str()
			if !ok {
				return false
			}
			p.ws()
			if !p.eat(':') {
				return false
			}
			p.ws()
			if p.i >= len(p.s) {
				return false
			}
			var v string
			present := true
			switch c := p.s[p.i]; {
			case c == '"':
				v, ok = p.str()
			case c == '-' || (c >= '0' && c <= '9'):
				v, ok = p.number()
			case p.lit("true"):
				v = "true"
			case p.lit("false"):
				v = "false"
			case p.lit("null"):
				present = false
			default:
				return false
			}
			if !ok {
				return false
			}
			if bit := keyBit(k); seen&bit == 0 {
				if present {
					list = append(list, ExtField{k, v})
					seen |= bit
				}
			} else {
				list = setExt(list, k, v, present)
			}
			if len(list) > maxFastExtFields {
				return false // the map-based decoder is linear in the keys
			}
			p.ws()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return false
			}
		}
	}
	// An object of nulls only leaves an empty, non-nil list: encoding/json
	// keeps an empty map then, and extToMap makes one.
	cmd.ExtList = list
	return true
}

// maxFastExtFields bounds the ext fields the fast decoder takes: setExt
// is quadratic in them, and a hostile header of a million keys must cost
// no more than encoding/json's map (clients send about fifteen).
const maxFastExtFields = 64

// keyBit maps a key to one of 64 bits by its length and end bytes, so
// that extFields searches the list for a repeat only when a key shares its
// bit with an earlier one: the search compared every pair of keys, a fifth
// of the decoder's time on a send header.
func keyBit(k string) uint64 {
	if len(k) == 1 { // the send headers' "a" to "n": no two share a bit
		return 1 << (k[0] & 63)
	}
	x := uint64(len(k)) << 16
	if len(k) > 0 {
		x |= uint64(k[0]) | uint64(k[len(k)-1])<<8
	}
	return 1 << ((x * 0x9E3779B97F4A7C15) >> 58) // Fibonacci hashing: the top six bits
}

// setExt sets (present) or removes k in list.
func setExt(list []ExtField, k, v string, present bool) []ExtField {
	for i := range list {
		if list[i].Key == k {
			if present {
				list[i].Value = v
				return list
			}
			return append(list[:i], list[i+1:]...)
		}
	}
	if present {
		list = append(list, ExtField{k, v})
	}
	return list
}

// skip validates and skips one value of any type.
func (p *jsonParser) skip(depth int) bool {
	if depth > 64 || p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		_, ok := p.str()
		return ok
	case c == '-' || (c >= '0' && c <= '9'):
		_, ok := p.number()
		return ok
	case c == '{' || c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		p.i++
		p.ws()
		if p.eat(end) {
			return true
		}
		for {
			p.ws()
			if c == '{' {
				if _, ok := p.str(); !ok {
					return false
				}
				p.ws()
				if !p.eat(':') {
					return false
				}
				p.ws()
			}
			if !p.skip(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(end) {
				return true
			}
			if !p.eat(',') {
				return false
			}
		}
	}
	return p.lit("true") || p.lit("false") || p.lit("null")
}
