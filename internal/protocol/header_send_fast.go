package protocol

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Hand-written codecs of the send headers. Every message goes through
// them twice (request and response, in the broker and in the client), and
// the reflective EncodeHeader/DecodeHeader cost about a tenth of the
// broker's CPU per message. They follow DecodeHeader's and EncodeHeader's
// rules exactly (field order, what counts as absent, error texts); the
// tests compare them with the reflective codecs.

// extStr reads a string field: absent and "" are the same.
func extStr(ext map[string]string, key string, required bool) (string, error) {
	return valStr(ext[key], key, required)
}

func valStr(s, key string, required bool) (string, error) {
	if s == "" && required {
		return "", &HeaderError{Field: key, Reason: "missing"}
	}
	return s, nil
}

// extInt reads an integer field of the given size; ok is false when it is
// absent (or "").
func extInt(ext map[string]string, key string, bits int, required bool) (n int64, ok bool, err error) {
	return valInt(ext[key], key, bits, required)
}

func valInt(s, key string, bits int, required bool) (n int64, ok bool, err error) {
	if s == "" {
		if required {
			return 0, false, &HeaderError{Field: key, Reason: "missing"}
		}
		return 0, false, nil
	}
	n, err = strconv.ParseInt(s, 10, bits)
	if err != nil {
		reason := fmt.Sprintf("invalid int%d %q", bits, s)
		if errors.Is(err, strconv.ErrRange) {
			reason = fmt.Sprintf("%q out of int%d range", s, bits)
		}
		return 0, false, &HeaderError{Field: key, Reason: reason, Err: err}
	}
	return n, true, nil
}

func extInt32(ext map[string]string, key string, required bool, dst *int32) error {
	return valInt32(ext[key], key, required, dst)
}

func valInt32(s, key string, required bool, dst *int32) error {
	n, ok, err := valInt(s, key, 32, required)
	if ok {
		*dst = int32(n)
	}
	return err
}

func valInt32Ptr(s, key string, dst **int32) error {
	n, ok, err := valInt(s, key, 32, false)
	if ok {
		v := int32(n)
		*dst = &v
	}
	return err
}

// valBoolPtr reads an optional bool: present (even "") means a value, as
// Boolean.parseBoolean.
func valBoolPtr(s string, present bool, dst **bool) {
	if present {
		v := strings.EqualFold(s, "true")
		*dst = &v
	}
}

// sendVals holds a send header's ext values by field index: the field
// order of SendMessageRequestHeader, which is the order of sendKeysV1 and
// sendKeysV2.
type sendVals struct {
	v       [14]string
	present [14]bool
}

// SendHeaderFields collects a send request's ext fields one by one and
// decodes them as DecodeSendMessageRequestHeader decodes a map, so that
// the broker needs no map per send. The zero value is not ready: call
// Reset with the request code first. It lives on the caller's stack.
type SendHeaderFields struct {
	keys *[14]string
	vals sendVals
}

// Reset prepares f for a request of the given code.
func (f *SendHeaderFields) Reset(code RequestCode) {
	*f = SendHeaderFields{keys: sendKeys(code)}
}

// Set records one ext field; keys must be unique (a later Set of the same
// key overwrites, as in a map), and keys the header does not have are
// ignored, as DecodeHeader ignores them.
func (f *SendHeaderFields) Set(key, value string) {
	if i := sendKeyIndex(key, f.keys); i >= 0 {
		f.vals.v[i], f.vals.present[i] = value, true
	}
}

// Decode returns the header, with DecodeSendMessageRequestHeader's errors.
func (f *SendHeaderFields) Decode() (SendMessageRequestHeader, error) {
	return decodeSendHeader(&f.vals, f.keys)
}

// sendKeyIndex is the field index of key, or -1.
func sendKeyIndex(key string, k *[14]string) int {
	if k == &sendKeysV2 {
		if len(key) == 1 && key[0] >= 'a' && key[0] <= 'n' {
			return int(key[0] - 'a')
		}
		return -1
	}
	return fieldIndex(key, k[:])
}

// decodeSendHeader decodes the send header from its values, with the
// given ext keys (for error texts), in the field order of
// SendMessageRequestHeader.
func decodeSendHeader(sv *sendVals, k *[14]string) (SendMessageRequestHeader, error) {
	var h SendMessageRequestHeader
	var err error
	if h.ProducerGroup, err = valStr(sv.v[0], k[0], true); err != nil {
		return SendMessageRequestHeader{}, err
	}
	if h.Topic, err = valStr(sv.v[1], k[1], true); err != nil {
		return SendMessageRequestHeader{}, err
	}
	if h.DefaultTopic, err = valStr(sv.v[2], k[2], true); err != nil {
		return SendMessageRequestHeader{}, err
	}
	for i, dst := range [...]*int32{&h.DefaultTopicQueueNums, &h.QueueID, &h.SysFlag} {
		if err := valInt32(sv.v[3+i], k[3+i], true, dst); err != nil {
			return SendMessageRequestHeader{}, err
		}
	}
	n, ok, err := valInt(sv.v[6], k[6], 64, true)
	if err != nil {
		return SendMessageRequestHeader{}, err
	}
	if ok {
		h.BornTimestamp = n
	}
	if err := valInt32(sv.v[7], k[7], true, &h.Flag); err != nil {
		return SendMessageRequestHeader{}, err
	}
	h.Properties = sv.v[8]
	if err := valInt32Ptr(sv.v[9], k[9], &h.ReconsumeTimes); err != nil {
		return SendMessageRequestHeader{}, err
	}
	valBoolPtr(sv.v[10], sv.present[10], &h.UnitMode)
	if err := valInt32Ptr(sv.v[11], k[11], &h.MaxReconsumeTimes); err != nil {
		return SendMessageRequestHeader{}, err
	}
	valBoolPtr(sv.v[12], sv.present[12], &h.Batch)
	h.BrokerName = sv.v[13]
	return h, nil
}

var (
	sendKeysV1 = [14]string{"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag",
		"bornTimestamp", "flag", "properties", "reconsumeTimes", "unitMode", "maxReconsumeTimes", "batch", "bname"}
	sendKeysV2 = [14]string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"}
)

// encodeSendRequestV2 is EncodeHeader of a SendMessageRequestHeaderV2.
func encodeSendRequestV2(h *SendMessageRequestHeaderV2) map[string]string {
	ext := make(map[string]string, 14)
	h.EachField(func(k, v string) { ext[k] = v })
	return ext
}

// EachField calls fn with every ext field EncodeHeader would produce for
// h, in key order (a to n), without building a map: clients encode one per
// send.
func (h *SendMessageRequestHeaderV2) EachField(fn func(k, v string)) {
	fieldStr(fn, "a", h.A)
	fieldStr(fn, "b", h.B)
	fieldStr(fn, "c", h.C)
	fieldInt(fn, "d", int64(h.D))
	fieldInt(fn, "e", int64(h.E))
	fieldInt(fn, "f", int64(h.F))
	fieldInt(fn, "g", h.G)
	fieldInt(fn, "h", int64(h.H))
	fieldStr(fn, "i", h.I)
	if h.J != nil {
		fieldInt(fn, "j", int64(*h.J))
	}
	if h.K != nil {
		fn("k", strconv.FormatBool(*h.K))
	}
	if h.L != nil {
		fieldInt(fn, "l", int64(*h.L))
	}
	if h.M != nil {
		fn("m", strconv.FormatBool(*h.M))
	}
	fieldStr(fn, "n", h.N)
}

// encodeSendResponse is EncodeHeader of a SendMessageResponseHeader.
func encodeSendResponse(h *SendMessageResponseHeader) map[string]string {
	ext := make(map[string]string, 8)
	h.EachField(func(k, v string) { ext[k] = v })
	return ext
}

// EachField calls fn with every ext field EncodeHeader would produce for
// h, in byte order of the keys (the order Bolide's encoder writes a map
// in), without building a map: the broker answers every send with it.
func (h *SendMessageResponseHeader) EachField(fn func(k, v string)) {
	if h.MsgRegion != "" {
		fn("MSG_REGION", h.MsgRegion)
	}
	fn("TRACE_ON", strconv.FormatBool(h.TraceOn))
	for _, kv := range [...][2]string{{"batchUniqId", h.BatchUniqID}, {"msgId", h.MsgID}} {
		if kv[1] != "" {
			fn(kv[0], kv[1])
		}
	}
	fieldInt(fn, "queueId", int64(h.QueueID))
	fieldInt(fn, "queueOffset", h.QueueOffset)
	for _, kv := range [...][2]string{{"recallHandle", h.RecallHandle}, {"transactionId", h.TransactionID}} {
		if kv[1] != "" {
			fn(kv[0], kv[1])
		}
	}
}

// decodeSendResponse is DecodeHeader into a SendMessageResponseHeader:
// absent keys leave their fields as they are.
func decodeSendResponse(ext map[string]string, h *SendMessageResponseHeader) error {
	msgID, err := extStr(ext, "msgId", true)
	if err != nil {
		return err
	}
	h.MsgID = msgID
	if err := extInt32(ext, "queueId", true, &h.QueueID); err != nil {
		return err
	}
	n, ok, err := extInt(ext, "queueOffset", 64, true)
	if err != nil {
		return err
	}
	if ok {
		h.QueueOffset = n
	}
	for _, f := range [...]struct {
		key string
		dst *string
	}{{"transactionId", &h.TransactionID}, {"batchUniqId", &h.BatchUniqID}, {"recallHandle", &h.RecallHandle}, {"MSG_REGION", &h.MsgRegion}} {
		if s := ext[f.key]; s != "" {
			*f.dst = s
		}
	}
	if s, ok := ext["TRACE_ON"]; ok {
		h.TraceOn = strings.EqualFold(s, "true")
	}
	return nil
}
