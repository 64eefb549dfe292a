package body

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// Topic filter types (Java enum TopicFilterType).
const (
	SingleTag = "SINGLE_TAG"
	MultiTag  = "MULTI_TAG"
)

// TopicConfig is a broker's configuration of one topic.
type TopicConfig struct {
	TopicName       string
	ReadQueueNums   int32
	WriteQueueNums  int32
	Perm            int32  // PermName bits: 8 priority, 4 read, 2 write, 1 inherit
	TopicFilterType string // SingleTag or MultiTag; empty is written as SingleTag
	TopicSysFlag    int32
	Order           bool
	Attributes      map[string]string
}

func (tc *TopicConfig) filterType() string {
	if tc.TopicFilterType == "" {
		return SingleTag // Java's default; the enum is never null
	}
	return tc.TopicFilterType
}

func (tc *TopicConfig) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("attributes") // Java initialises it to an empty map
	writeStringMap(w, tc.Attributes)
	w.Key("order")
	w.Bool(tc.Order)
	w.Key("perm")
	w.Int(int64(tc.Perm))
	w.Key("readQueueNums")
	w.Int(int64(tc.ReadQueueNums))
	w.Key("topicFilterType")
	w.String(tc.filterType())
	keyString(w, "topicName", tc.TopicName)
	w.Key("topicSysFlag")
	w.Int(int64(tc.TopicSysFlag))
	w.Key("writeQueueNums")
	w.Int(int64(tc.WriteQueueNums))
	w.EndObject()
}

func (tc *TopicConfig) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	tc.Attributes = d.stringMap(o, "attributes")
	tc.Order = d.boolean(o, "order")
	tc.Perm = d.i32(o, "perm")
	tc.ReadQueueNums = d.i32(o, "readQueueNums")
	tc.TopicFilterType = d.str(o, "topicFilterType")
	if tc.TopicFilterType == "" {
		tc.TopicFilterType = SingleTag // Java's default when absent
	}
	tc.TopicName = d.str(o, "topicName")
	tc.TopicSysFlag = d.i32(o, "topicSysFlag")
	tc.WriteQueueNums = d.i32(o, "writeQueueNums")
}

// Encode returns the fastjson text of the topic config.
func (tc *TopicConfig) Encode() []byte { return encode(tc.write) }

// Decode replaces tc with the topic config in data.
func (tc *TopicConfig) Decode(data []byte) error {
	*tc = TopicConfig{}
	return parse(data, "TopicConfig", func(d *decoder, v *fastjson.Value) { tc.read(d, v, "$") })
}

// EncodeLegacy returns the space-separated form used inside compressed
// RegisterBrokerBody: "name read write perm filterType attributesJSON".
// Order and topicSysFlag are not part of it (a Java limitation).
func (tc *TopicConfig) EncodeLegacy() string {
	var b strings.Builder
	b.WriteString(tc.TopicName)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(int64(tc.ReadQueueNums), 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(int64(tc.WriteQueueNums), 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(int64(tc.Perm), 10))
	b.WriteByte(' ')
	b.WriteString(tc.filterType())
	b.WriteByte(' ')
	b.Write(encode(func(w *fastjson.Writer) { writeStringMap(w, tc.Attributes) }))
	return b.String()
}

// DecodeLegacy replaces tc with the legacy form s. Java splits the whole
// string on spaces, which breaks attribute values containing one; here
// everything after the fifth field is taken as the attributes JSON.
func (tc *TopicConfig) DecodeLegacy(s string) error {
	*tc = TopicConfig{}
	f := strings.SplitN(s, " ", 6)
	if len(f) < 5 {
		return fmt.Errorf("%w: legacy topic config %q has %d fields, want at least 5", ErrInvalid, s, len(f))
	}
	nums := [3]int32{}
	for i := range nums {
		n, err := strconv.ParseInt(f[1+i], 10, 32)
		if err != nil {
			return fmt.Errorf("%w: legacy topic config %q: field %d: %w", ErrInvalid, s, 2+i, err)
		}
		nums[i] = int32(n)
	}
	tc.TopicName, tc.ReadQueueNums, tc.WriteQueueNums, tc.Perm = f[0], nums[0], nums[1], nums[2]
	tc.TopicFilterType = f[4]
	if len(f) == 6 && strings.TrimSpace(f[5]) != "" {
		err := parse([]byte(f[5]), "TopicConfig attributes", func(d *decoder, v *fastjson.Value) {
			tc.Attributes = d.stringMapOf(v, "$")
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// TopicConfigSerializeWrapper is a broker's full topic table with its data
// version (GET_ALL_TOPIC_CONFIG of old brokers, and the pre-3.0.11
// REGISTER_BROKER body).
type TopicConfigSerializeWrapper struct {
	TopicConfigTable map[string]TopicConfig
	DataVersion      DataVersion
}

func (tw *TopicConfigSerializeWrapper) writeTable(w *fastjson.Writer) {
	w.BeginObject()
	for _, name := range sortedKeys(tw.TopicConfigTable) {
		tc := tw.TopicConfigTable[name]
		w.Key(name)
		tc.write(w)
	}
	w.EndObject()
}

func (tw *TopicConfigSerializeWrapper) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("dataVersion")
	tw.DataVersion.write(w)
	w.Key("topicConfigTable")
	tw.writeTable(w)
	w.EndObject()
}

func (tw *TopicConfigSerializeWrapper) readFields(d *decoder, o *fastjson.Value) {
	tw.DataVersion.read(d, o.Get("dataVersion"), "dataVersion")
	tw.TopicConfigTable = readMap(d, o, "topicConfigTable", func(k string, v *fastjson.Value) (tc TopicConfig) {
		tc.read(d, v, "topicConfigTable."+k)
		return tc
	})
}

// Encode returns the fastjson text of the wrapper.
func (tw *TopicConfigSerializeWrapper) Encode() []byte { return encode(tw.write) }

// Decode replaces tw with the wrapper in data.
func (tw *TopicConfigSerializeWrapper) Decode(data []byte) error {
	*tw = TopicConfigSerializeWrapper{}
	return parse(data, "TopicConfigSerializeWrapper", func(d *decoder, v *fastjson.Value) {
		if o := d.object(v, "$"); o != nil {
			tw.readFields(d, o)
		}
	})
}

// TopicConfigAndMappingSerializeWrapper is the 5.x topic table, extended
// with static-topic queue mappings. Bolide does not implement static topics;
// the mapping maps are carried as parsed JSON so they survive a round trip.
type TopicConfigAndMappingSerializeWrapper struct {
	TopicConfigSerializeWrapper
	MappingDataVersion         DataVersion
	TopicQueueMappingInfoMap   map[string]fastjson.Value
	TopicQueueMappingDetailMap map[string]fastjson.Value
}

func (tw *TopicConfigAndMappingSerializeWrapper) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("dataVersion")
	tw.DataVersion.write(w)
	w.Key("mappingDataVersion")
	tw.MappingDataVersion.write(w)
	w.Key("topicConfigTable")
	tw.writeTable(w)
	w.Key("topicQueueMappingDetailMap")
	writeRawMap(w, tw.TopicQueueMappingDetailMap)
	w.Key("topicQueueMappingInfoMap")
	writeRawMap(w, tw.TopicQueueMappingInfoMap)
	w.EndObject()
}

func (tw *TopicConfigAndMappingSerializeWrapper) read(d *decoder, v *fastjson.Value, path string) {
	o := d.object(v, path)
	if o == nil {
		return
	}
	tw.readFields(d, o)
	tw.MappingDataVersion.read(d, o.Get("mappingDataVersion"), "mappingDataVersion")
	tw.TopicQueueMappingDetailMap = d.rawMap(o, "topicQueueMappingDetailMap")
	tw.TopicQueueMappingInfoMap = d.rawMap(o, "topicQueueMappingInfoMap")
}

// Encode returns the fastjson text of the wrapper.
func (tw *TopicConfigAndMappingSerializeWrapper) Encode() []byte { return encode(tw.write) }

// Decode replaces tw with the wrapper in data; the plain
// TopicConfigSerializeWrapper form is accepted too.
func (tw *TopicConfigAndMappingSerializeWrapper) Decode(data []byte) error {
	*tw = TopicConfigAndMappingSerializeWrapper{}
	return parse(data, "TopicConfigAndMappingSerializeWrapper", func(d *decoder, v *fastjson.Value) { tw.read(d, v, "$") })
}

// RegisterBrokerBody is the body of REGISTER_BROKER: the broker's topics and
// its filter servers.
type RegisterBrokerBody struct {
	TopicConfigSerializeWrapper TopicConfigAndMappingSerializeWrapper
	FilterServerList            []string
}

// VersionV500 is the MQVersion ordinal of 5.0.0; compressed register bodies
// from senders at or above it carry a topic-queue-mapping section.
const VersionV500 = 413

// MaxInflatedRegisterBody bounds the decompressed size of a compressed
// REGISTER_BROKER body, so a small zlib bomb cannot exhaust memory. It is
// far above what a million topics need.
const MaxInflatedRegisterBody = 256 << 20

func (rb *RegisterBrokerBody) write(w *fastjson.Writer) {
	w.BeginObject()
	w.Key("filterServerList") // Java initialises it to an empty list
	w.Strings(rb.FilterServerList)
	w.Key("topicConfigSerializeWrapper")
	rb.TopicConfigSerializeWrapper.write(w)
	w.EndObject()
}

// Encode returns the JSON form of the body (header compressed=false).
func (rb *RegisterBrokerBody) Encode() []byte { return encode(rb.write) }

// EncodeCompressed returns the zlib form (header compressed=true) in the
// 5.x layout, including the mapping section.
func (rb *RegisterBrokerBody) EncodeCompressed() ([]byte, error) {
	var raw bytes.Buffer
	putChunk := func(b []byte) {
		_ = binary.Write(&raw, binary.BigEndian, int32(len(b)))
		raw.Write(b)
	}
	tw := &rb.TopicConfigSerializeWrapper
	putChunk(tw.DataVersion.Encode())
	_ = binary.Write(&raw, binary.BigEndian, int32(len(tw.TopicConfigTable)))
	for _, name := range sortedKeys(tw.TopicConfigTable) {
		tc := tw.TopicConfigTable[name]
		putChunk([]byte(tc.EncodeLegacy()))
	}
	putChunk(encode(func(w *fastjson.Writer) { w.Strings(rb.FilterServerList) }))
	_ = binary.Write(&raw, binary.BigEndian, int32(len(tw.TopicQueueMappingInfoMap)))
	for _, k := range sortedKeys(tw.TopicQueueMappingInfoMap) {
		v := tw.TopicQueueMappingInfoMap[k]
		putChunk(fastjson.Encode(&v))
	}

	var out bytes.Buffer
	zw, err := zlib.NewWriterLevel(&out, zlib.BestCompression) // as Java's Deflater
	if err != nil {
		return nil, fmt.Errorf("body: compress RegisterBrokerBody: %w", err)
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, fmt.Errorf("body: compress RegisterBrokerBody: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("body: compress RegisterBrokerBody: %w", err)
	}
	return out.Bytes(), nil
}

// Decode replaces rb with the JSON form of the body.
func (rb *RegisterBrokerBody) Decode(data []byte) error {
	*rb = RegisterBrokerBody{}
	return parse(data, "RegisterBrokerBody", func(d *decoder, v *fastjson.Value) {
		o := d.object(v, "$")
		if o == nil {
			return
		}
		rb.FilterServerList = d.strings(o, "filterServerList")
		rb.TopicConfigSerializeWrapper.read(d, o.Get("topicConfigSerializeWrapper"), "topicConfigSerializeWrapper")
	})
}

// DecodeRegisterBrokerBody decodes a REGISTER_BROKER body. compressed is the
// request header's flag; senderVersion is the request's version field,
// which decides whether the compressed form has a mapping section. Bodies
// from brokers older than 3.0.11 (a bare TopicConfigSerializeWrapper) are
// the caller's business.
func DecodeRegisterBrokerBody(data []byte, compressed bool, senderVersion int32) (*RegisterBrokerBody, error) {
	rb := new(RegisterBrokerBody)
	if !compressed {
		if err := rb.Decode(data); err != nil {
			return nil, err
		}
		return rb, nil
	}
	if err := rb.decodeCompressed(data, senderVersion); err != nil {
		return nil, err
	}
	return rb, nil
}

var errShort = errors.New("truncated")

// chunkReader reads the length-prefixed sections of the compressed form,
// checking every length against what is left before allocating.
type chunkReader struct{ b []byte }

func (r *chunkReader) int32() (int32, error) {
	if len(r.b) < 4 {
		return 0, errShort
	}
	n := int32(binary.BigEndian.Uint32(r.b))
	r.b = r.b[4:]
	return n, nil
}

func (r *chunkReader) chunk() ([]byte, error) {
	n, err := r.int32()
	if err != nil {
		return nil, err
	}
	if n < 0 || int64(n) > int64(len(r.b)) {
		return nil, fmt.Errorf("%w: section of %d bytes with %d left", errShort, n, len(r.b))
	}
	c := r.b[:n]
	r.b = r.b[n:]
	return c, nil
}

// count reads an element count; each element needs at least 4 bytes.
func (r *chunkReader) count() (int, error) {
	n, err := r.int32()
	if err != nil {
		return 0, err
	}
	if n < 0 || int64(n) > int64(len(r.b)/4) {
		return 0, fmt.Errorf("%w: count %d with %d bytes left", errShort, n, len(r.b))
	}
	return int(n), nil
}

func (rb *RegisterBrokerBody) decodeCompressed(data []byte, senderVersion int32) error {
	fail := func(what string, err error) error {
		return fmt.Errorf("%w: compressed RegisterBrokerBody: %s: %w", ErrInvalid, what, err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return fail("zlib header", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, MaxInflatedRegisterBody+1))
	if err != nil {
		return fail("inflate", err)
	}
	if len(raw) > MaxInflatedRegisterBody {
		return fail("inflate", fmt.Errorf("more than %d bytes", MaxInflatedRegisterBody))
	}
	r := &chunkReader{b: raw}
	tw := &rb.TopicConfigSerializeWrapper

	c, err := r.chunk()
	if err != nil {
		return fail("data version", err)
	}
	if err := tw.DataVersion.Decode(c); err != nil {
		return fail("data version", err)
	}
	n, err := r.count()
	if err != nil {
		return fail("topic count", err)
	}
	tw.TopicConfigTable = make(map[string]TopicConfig, n)
	for i := range n {
		c, err := r.chunk()
		if err != nil {
			return fail(fmt.Sprintf("topic %d", i), err)
		}
		var tc TopicConfig
		if err := tc.DecodeLegacy(string(c)); err != nil {
			return fail(fmt.Sprintf("topic %d", i), err)
		}
		tw.TopicConfigTable[tc.TopicName] = tc
	}
	c, err = r.chunk()
	if err != nil {
		return fail("filter server list", err)
	}
	err = parse(c, "filterServerList", func(d *decoder, v *fastjson.Value) {
		rb.FilterServerList = d.stringsOf(v, "$")
	})
	if err != nil {
		return fail("filter server list", err)
	}
	// Java reads the mapping section only from 5.0.0 senders. Be lenient
	// with a 5.x sender whose stream simply ends here.
	if senderVersion < VersionV500 || len(r.b) == 0 {
		return nil
	}
	n, err = r.count()
	if err != nil {
		return fail("mapping count", err)
	}
	tw.TopicQueueMappingInfoMap = make(map[string]fastjson.Value, n)
	for i := range n {
		c, err := r.chunk()
		if err != nil {
			return fail(fmt.Sprintf("mapping %d", i), err)
		}
		v, err := fastjson.Parse(c)
		if err != nil {
			return fail(fmt.Sprintf("mapping %d", i), err)
		}
		topic, err := v.Get("topic").AsString()
		if err != nil {
			return fail(fmt.Sprintf("mapping %d", i), err)
		}
		tw.TopicQueueMappingInfoMap[topic] = *v
	}
	return nil
}
