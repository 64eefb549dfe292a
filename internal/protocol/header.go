package protocol

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// ErrInvalidHeader is matched (errors.Is) by every *HeaderError.
var ErrInvalidHeader = errors.New("protocol: invalid header")

// ErrHeaderType reports a header struct the mapper cannot handle: not a
// pointer to a struct, or a tagged field of an unsupported type. It is a
// programming error, not bad input.
var ErrHeaderType = errors.New("protocol: unsupported header type")

// HeaderError describes an extFields entry that does not fit its header
// field. Servers answer it with INVALID_PARAMETER and the error text as
// remark.
type HeaderError struct {
	Field  string // the ext key, e.g. "queueId"
	Reason string // e.g. "missing", `invalid int32 "x"`
	Err    error  // underlying parse error, if any
}

func (e *HeaderError) Error() string {
	return fmt.Sprintf("protocol: header field %q: %s", e.Field, e.Reason)
}

// Unwrap exposes ErrInvalidHeader and the underlying parse error.
func (e *HeaderError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalidHeader, e.Err}
	}
	return []error{ErrInvalidHeader}
}

// headerField is one tagged struct field.
type headerField struct {
	index    []int
	key      string
	required bool
	kind     reflect.Kind // of the field, or of the pointee for pointers
	ptr      bool
	bits     int // integer size
}

var headerFields sync.Map // reflect.Type -> []headerField or error

// fieldsOf returns the tagged fields of struct type t, including those of
// embedded structs (Java headers inherit fields from their superclasses).
func fieldsOf(t reflect.Type) ([]headerField, error) {
	if c, ok := headerFields.Load(t); ok {
		if err, isErr := c.(error); isErr {
			return nil, err
		}
		return c.([]headerField), nil
	}
	var fields []headerField
	err := collectFields(t, nil, &fields)
	if err != nil {
		headerFields.Store(t, err)
		return nil, err
	}
	headerFields.Store(t, fields)
	return fields, nil
}

func collectFields(t reflect.Type, prefix []int, out *[]headerField) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		index := append(append([]int(nil), prefix...), i)
		tag, tagged := sf.Tag.Lookup("ext")
		if !tagged {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				if err := collectFields(sf.Type, index, out); err != nil {
					return err
				}
			}
			continue
		}
		if tag == "-" {
			continue
		}
		if !sf.IsExported() {
			return fmt.Errorf("%w: %s.%s is tagged but unexported", ErrHeaderType, t, sf.Name)
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := headerField{index: index, key: name}
		for opts != "" {
			var opt string
			opt, opts, _ = strings.Cut(opts, ",")
			switch opt {
			case "required":
				f.required = true
			default:
				return fmt.Errorf("%w: %s.%s: unknown tag option %q", ErrHeaderType, t, sf.Name, opt)
			}
		}
		if name == "" {
			return fmt.Errorf("%w: %s.%s: empty ext key", ErrHeaderType, t, sf.Name)
		}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			f.ptr = true
			ft = ft.Elem()
		}
		f.kind = ft.Kind()
		switch f.kind {
		case reflect.String, reflect.Bool:
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.bits = ft.Bits()
		default:
			return fmt.Errorf("%w: %s.%s has type %s", ErrHeaderType, t, sf.Name, sf.Type)
		}
		*out = append(*out, f)
	}
	return nil
}

func structValue(v any) (reflect.Value, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}, fmt.Errorf("%w: nil %T", ErrHeaderType, v)
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("%w: %T is not a struct", ErrHeaderType, v)
	}
	return rv, nil
}

// EncodeHeader turns a header struct (or a pointer to one) into extFields,
// the way Java's makeCustomHeaderToNet does: every field tagged
// `ext:"key[,required]"` becomes key -> decimal/"true"/"false"/string.
// Fields of embedded untagged structs are included.
//
// A Java field that is null is not sent. Here that is: a nil pointer field
// (use pointers for Java's boxed optional fields) and an empty string (the
// binary header codec cannot carry "" anyway; it decodes it as null).
// Non-pointer numbers and bools are always sent, like Java primitives.
//
// EncodeHeader panics if v is not a supported header type; that is a
// programming error which the package's tests check for every header.
func EncodeHeader(v any) map[string]string {
	switch h := v.(type) { // the per-message headers skip reflection
	case *SendMessageResponseHeader:
		return encodeSendResponse(h)
	case *SendMessageRequestHeaderV2:
		return encodeSendRequestV2(h)
	}
	return encodeHeaderReflect(v)
}

func encodeHeaderReflect(v any) map[string]string {
	rv, err := structValue(v)
	if err != nil {
		panic(err)
	}
	fields, err := fieldsOf(rv.Type())
	if err != nil {
		panic(err)
	}
	ext := make(map[string]string, len(fields))
	for i := range fields {
		f := &fields[i]
		fv := rv.FieldByIndex(f.index)
		if f.ptr {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		switch f.kind {
		case reflect.String:
			if s := fv.String(); s != "" {
				ext[f.key] = s
			}
		case reflect.Bool:
			ext[f.key] = strconv.FormatBool(fv.Bool())
		default:
			ext[f.key] = strconv.FormatInt(fv.Int(), 10)
		}
	}
	return ext
}

// DecodeHeader fills the tagged fields of the struct v points to from ext.
//
// A key that is absent leaves its field untouched, so callers can preset
// defaults; an absent required key is an error. An empty value counts as
// absent, except for bools. Numbers are parsed as decimal integers of the
// field's size; bools follow Java's Boolean.parseBoolean ("true" in any
// case is true, anything else, "" included, false).
// Pointer fields are allocated when their key is present. Errors from bad
// input are *HeaderError; nothing in ext can make DecodeHeader panic.
func DecodeHeader(ext map[string]string, v any) error {
	if h, ok := v.(*SendMessageResponseHeader); ok && h != nil {
		return decodeSendResponse(ext, h)
	}
	return decodeHeaderReflect(ext, v)
}

func decodeHeaderReflect(ext map[string]string, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%w: DecodeHeader needs a non-nil struct pointer, got %T", ErrHeaderType, v)
	}
	rv = rv.Elem()
	fields, err := fieldsOf(rv.Type())
	if err != nil {
		return err
	}
	for i := range fields {
		f := &fields[i]
		s, ok := ext[f.key]
		// An empty value counts as absent: Java's binary header codec turns
		// "" into null, and parseInt fails on it, leaving the field null.
		// Only Boolean.parseBoolean("") yields a value (false).
		if ok && s == "" && f.kind != reflect.Bool {
			ok = false
		}
		if !ok {
			if f.required {
				return &HeaderError{Field: f.key, Reason: "missing"}
			}
			continue
		}
		var val reflect.Value
		switch f.kind {
		case reflect.String:
			val = reflect.ValueOf(s)
		case reflect.Bool:
			val = reflect.ValueOf(strings.EqualFold(s, "true"))
		default:
			n, err := strconv.ParseInt(s, 10, f.bits)
			if err != nil {
				reason := fmt.Sprintf("invalid int%d %q", f.bits, s)
				if errors.Is(err, strconv.ErrRange) {
					reason = fmt.Sprintf("%q out of int%d range", s, f.bits)
				}
				return &HeaderError{Field: f.key, Reason: reason, Err: err}
			}
			val = reflect.ValueOf(n)
		}
		fv := rv.FieldByIndex(f.index)
		if f.ptr {
			p := reflect.New(fv.Type().Elem())
			fv.Set(p)
			fv = p.Elem()
		}
		// Convert handles named types (type BoundaryType string) and sizes.
		fv.Set(val.Convert(fv.Type()))
	}
	return nil
}
