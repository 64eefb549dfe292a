package body

import (
	"errors"
	"fmt"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// ErrInvalid wraps every decoding failure of this package.
var ErrInvalid = errors.New("body: invalid body")

// decoder walks a parsed tree, remembering the first error and the path to
// it, so the per-type code stays a flat list of field reads.
type decoder struct {
	root *fastjson.Value
	err  error
	refs int // references followed so far
}

// maxRefs bounds the $ref objects one body may use. Java brokers build
// fresh objects for their replies, so real bodies have none or a few; the
// bound stops a body of many references to a huge object from costing
// quadratic time.
const maxRefs = 64

// parse parses data and runs fn over the root value.
func parse(data []byte, what string, fn func(d *decoder, v *fastjson.Value)) error {
	root, err := fastjson.Parse(data)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, what, err)
	}
	d := &decoder{root: root}
	fn(d, root)
	if d.err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalid, what, d.err)
	}
	return nil
}

func (d *decoder) fail(path string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %w", path, err)
	}
}

// deref follows a fastjson {"$ref":...} object to its target when it can.
func (d *decoder) deref(v *fastjson.Value, path string) *fastjson.Value {
	ref, ok := v.Ref()
	if !ok {
		return v
	}
	if d.refs++; d.refs > maxRefs {
		d.fail(path, fmt.Errorf("more than %d references", maxRefs))
		return nil
	}
	t, ok := d.root.Resolve(ref)
	if !ok || t == v {
		d.fail(path, fmt.Errorf("unresolvable reference %q", ref))
		return nil
	}
	if _, again := t.Ref(); again {
		d.fail(path, fmt.Errorf("reference %q points at another reference", ref))
		return nil
	}
	return t
}

// object returns v as an object, nil for null or on error.
func (d *decoder) object(v *fastjson.Value, path string) *fastjson.Value {
	if d.err != nil || v.IsNull() {
		return nil
	}
	v = d.deref(v, path)
	if v == nil {
		return nil
	}
	if v.Kind != fastjson.KindObject {
		d.fail(path, fmt.Errorf("%w: %s where an object was expected", fastjson.ErrType, v.Kind))
		return nil
	}
	return v
}

// array returns the elements of v, nil for null or on error.
func (d *decoder) array(v *fastjson.Value, path string) []fastjson.Value {
	if d.err != nil || v.IsNull() {
		return nil
	}
	v = d.deref(v, path)
	if v == nil {
		return nil
	}
	if v.Kind != fastjson.KindArray {
		d.fail(path, fmt.Errorf("%w: %s where an array was expected", fastjson.ErrType, v.Kind))
		return nil
	}
	return v.Items
}

func (d *decoder) str(o *fastjson.Value, key string) string {
	v := o.Get(key)
	if d.err != nil || v == nil {
		return ""
	}
	s, err := v.AsString()
	if err != nil {
		d.fail(key, err)
	}
	return s
}

func (d *decoder) i64(o *fastjson.Value, key string) int64 {
	v := o.Get(key)
	if d.err != nil || v == nil {
		return 0
	}
	i, err := v.Int64()
	if err != nil {
		d.fail(key, err)
	}
	return i
}

func (d *decoder) i32(o *fastjson.Value, key string) int32 {
	v := o.Get(key)
	if d.err != nil || v == nil {
		return 0
	}
	i, err := v.Int32()
	if err != nil {
		d.fail(key, err)
	}
	return i
}

func (d *decoder) f64(o *fastjson.Value, key string) float64 {
	v := o.Get(key)
	if d.err != nil || v == nil {
		return 0
	}
	f, err := v.Float64()
	if err != nil {
		d.fail(key, err)
	}
	return f
}

func (d *decoder) boolean(o *fastjson.Value, key string) bool {
	v := o.Get(key)
	if d.err != nil || v == nil {
		return false
	}
	b, err := v.Bool()
	if err != nil {
		d.fail(key, err)
	}
	return b
}

// strings reads the array of strings at key; numbers and booleans are
// taken as their text.
func (d *decoder) strings(o *fastjson.Value, key string) []string {
	return d.stringsOf(o.Get(key), key)
}

func (d *decoder) stringsOf(v *fastjson.Value, path string) []string {
	items := d.array(v, path)
	if len(items) == 0 {
		return nil
	}
	out := make([]string, 0, len(items))
	for i := range items {
		s, err := items[i].AsString()
		if err != nil {
			d.fail(fmt.Sprintf("%s[%d]", path, i), err)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// int32s reads an array of integers; strings holding integers are accepted
// because rocketmq-client-go sends codeSet as strings.
func (d *decoder) int32s(o *fastjson.Value, key string) []int32 {
	items := d.array(o.Get(key), key)
	if len(items) == 0 {
		return nil
	}
	out := make([]int32, 0, len(items))
	for i := range items {
		n, err := items[i].Int32()
		if err != nil {
			d.fail(fmt.Sprintf("%s[%d]", key, i), err)
			return nil
		}
		out = append(out, n)
	}
	return out
}

// stringMap reads the map with string values at key; keys may be any
// scalar token.
func (d *decoder) stringMap(o *fastjson.Value, key string) map[string]string {
	return d.stringMapOf(o.Get(key), key)
}

func (d *decoder) stringMapOf(v *fastjson.Value, key string) map[string]string {
	m := d.object(v, key)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m.Members))
	for i := range m.Members {
		k, err := m.Members[i].Key.AsString()
		if err != nil {
			d.fail(key, err)
			return nil
		}
		v, err := m.Members[i].Value.AsString()
		if err != nil {
			d.fail(key+"."+k, err)
			return nil
		}
		out[k] = v
	}
	return out
}

// rawMap keeps the members of a map whose values this package does not
// model (static-topic mappings), so they survive a decode/encode cycle.
func (d *decoder) rawMap(o *fastjson.Value, key string) map[string]fastjson.Value {
	m := d.object(o.Get(key), key)
	if m == nil {
		return nil
	}
	out := make(map[string]fastjson.Value, len(m.Members))
	for i := range m.Members {
		k, err := m.Members[i].Key.AsString()
		if err != nil {
			d.fail(key, err)
			return nil
		}
		out[k] = m.Members[i].Value
	}
	return out
}

// readMap reads the object at key as a map with string keys (any scalar
// key token is taken as its text), converting each value with fn. It
// returns nil when the property is absent or null, and a non-nil map for {}.
func readMap[V any](d *decoder, o *fastjson.Value, key string, fn func(k string, v *fastjson.Value) V) map[string]V {
	m := d.object(o.Get(key), key)
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m.Members))
	for i := range m.Members {
		k, err := m.Members[i].Key.AsString()
		if err != nil {
			d.fail(key, err)
			return nil
		}
		v := fn(k, &m.Members[i].Value)
		if d.err != nil {
			return nil
		}
		out[k] = v
	}
	return out
}
