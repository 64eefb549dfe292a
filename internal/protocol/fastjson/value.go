package fastjson

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Errors returned by the conversion helpers. They are wrapped with context
// (the offending text), so match them with errors.Is.
var (
	// ErrType: the value's kind cannot be converted to the requested type.
	ErrType = errors.New("fastjson: wrong value type")
	// ErrRange: a number does not fit, or is not an integer where one is
	// required.
	ErrRange = errors.New("fastjson: number out of range")
)

// Kind is the kind of a parsed Value.
type Kind uint8

// The Kind of a Value. The zero Kind is KindNull, so a zero Value is null.
const (
	KindNull Kind = iota
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

var kindNames = [...]string{"null", "bool", "number", "string", "array", "object"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one node of a parsed document.
//
// Numbers keep their source text, so nothing is lost to float64 rounding and
// re-encoding reproduces them exactly; use Int64, Float64 or AsString to
// interpret them.
type Value struct {
	Kind Kind
	// Text is the decoded content of a string, the raw token of a number,
	// or "true"/"false" for a bool.
	Text string
	// Items are the elements of an array.
	Items []Value
	// Members are the entries of an object in input order, duplicates kept.
	Members []Member
}

// Member is one object entry. Its key is a Value because fastjson writes
// non-string map keys as bare numbers or whole objects.
type Member struct {
	Key   Value
	Value Value
}

// IsNull reports whether v is absent or JSON null.
func (v *Value) IsNull() bool { return v == nil || v.Kind == KindNull }

// Get returns the value of the last member whose key is the string or
// number token name (fastjson lets the last duplicate win), or nil. It
// returns nil when v is not an object.
func (v *Value) Get(name string) *Value {
	if v == nil || v.Kind != KindObject {
		return nil
	}
	var found *Value
	for i := range v.Members {
		k := &v.Members[i].Key
		if (k.Kind == KindString || k.Kind == KindNumber) && k.Text == name {
			found = &v.Members[i].Value
		}
	}
	return found
}

// Ref returns the path of a fastjson reference object {"$ref":"path"}.
func (v *Value) Ref() (string, bool) {
	if v == nil || v.Kind != KindObject || len(v.Members) != 1 {
		return "", false
	}
	m := &v.Members[0]
	if m.Key.Kind != KindString || m.Key.Text != "$ref" || m.Value.Kind != KindString {
		return "", false
	}
	return m.Value.Text, true
}

// Resolve follows an absolute fastjson reference path ("$", "$.a.b",
// "$.list[2].c", with '\' escaping characters inside names) from the root v.
// Relative references ("@", "..") and paths through compound keys cannot be
// followed without more context; for those, and for dangling paths, ok is
// false.
func (v *Value) Resolve(path string) (target *Value, ok bool) {
	if !strings.HasPrefix(path, "$") {
		return nil, false
	}
	cur := v
	p := path[1:]
	for len(p) > 0 {
		if cur == nil {
			return nil, false
		}
		switch p[0] {
		case '.':
			p = p[1:]
			var name strings.Builder
			for len(p) > 0 && p[0] != '.' && p[0] != '[' {
				if p[0] == '\\' && len(p) > 1 {
					p = p[1:]
				}
				name.WriteByte(p[0])
				p = p[1:]
			}
			cur = cur.Get(name.String())
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, false
			}
			idx, err := strconv.Atoi(p[1:end])
			if err != nil || cur.Kind != KindArray || idx < 0 || idx >= len(cur.Items) {
				return nil, false
			}
			cur = &cur.Items[idx]
			p = p[end+1:]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

// AsString converts a string, number or bool to its text, as fastjson does
// when a String field receives a non-string token. Null yields "".
func (v *Value) AsString() (string, error) {
	switch {
	case v.IsNull():
		return "", nil
	case v.Kind == KindString || v.Kind == KindNumber || v.Kind == KindBool:
		return v.Text, nil
	}
	return "", fmt.Errorf("%w: %s where a string was expected", ErrType, v.Kind)
}

// Int64 converts a number, or a string holding one, to an int64. Integral
// values written with a fraction or exponent ("1.0", "1e3") are accepted;
// true and false give 1 and 0; null gives 0.
func (v *Value) Int64() (int64, error) {
	switch {
	case v.IsNull():
		return 0, nil
	case v.Kind == KindBool:
		if v.Text == "true" {
			return 1, nil
		}
		return 0, nil
	case v.Kind == KindNumber || v.Kind == KindString:
		return parseInt64(strings.TrimSpace(v.Text))
	}
	return 0, fmt.Errorf("%w: %s where an integer was expected", ErrType, v.Kind)
}

func parseInt64(s string) (int64, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a number", ErrType, s)
	}
	// 2^63 is exactly representable; anything at or beyond it overflows.
	if f != math.Trunc(f) || f >= 1<<63 || f < -(1<<63) {
		return 0, fmt.Errorf("%w: %q is not an int64", ErrRange, s)
	}
	return int64(f), nil
}

// Int32 is Int64 with a range check.
func (v *Value) Int32() (int32, error) {
	i, err := v.Int64()
	if err != nil {
		return 0, err
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return 0, fmt.Errorf("%w: %d is not an int32", ErrRange, i)
	}
	return int32(i), nil
}

// Float64 converts a number, or a string holding one, to a finite float64;
// null gives 0.
func (v *Value) Float64() (float64, error) {
	switch {
	case v.IsNull():
		return 0, nil
	case v.Kind == KindNumber || v.Kind == KindString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.Text), 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, fmt.Errorf("%w: %q", ErrRange, v.Text)
			}
			return 0, fmt.Errorf("%w: %q is not a number", ErrType, v.Text)
		}
		// JSON has no NaN or infinity (fastjson writes null for them), so a
		// string spelling one is garbage, not a value.
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%w: %q is not finite", ErrRange, v.Text)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%w: %s where a number was expected", ErrType, v.Kind)
}

// Bool converts a value to a bool the way fastjson's castToBoolean does:
// booleans as is, numbers by being non-zero, the strings "true"/"false",
// "1"/"0", "Y"/"N" and "T"/"F" (any case); null and "" give false.
func (v *Value) Bool() (bool, error) {
	switch {
	case v.IsNull():
		return false, nil
	case v.Kind == KindBool:
		return v.Text == "true", nil
	case v.Kind == KindNumber:
		f, err := strconv.ParseFloat(v.Text, 64)
		if err != nil {
			return false, fmt.Errorf("%w: %q is not a number", ErrType, v.Text)
		}
		return f != 0, nil
	case v.Kind == KindString:
		switch strings.ToLower(strings.TrimSpace(v.Text)) {
		case "true", "1", "y", "t":
			return true, nil
		case "false", "0", "n", "f", "", "null":
			return false, nil
		}
		return false, fmt.Errorf("%w: %q is not a boolean", ErrType, v.Text)
	}
	return false, fmt.Errorf("%w: %s where a boolean was expected", ErrType, v.Kind)
}
