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
	s := ext[key]
	if s == "" && required {
		return "", &HeaderError{Field: key, Reason: "missing"}
	}
	return s, nil
}

// extInt reads an integer field of the given size; ok is false when it is
// absent (or "").
func extInt(ext map[string]string, key string, bits int, required bool) (n int64, ok bool, err error) {
	s := ext[key]
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
	n, ok, err := extInt(ext, key, 32, required)
	if ok {
		*dst = int32(n)
	}
	return err
}

func extInt32Ptr(ext map[string]string, key string, dst **int32) error {
	n, ok, err := extInt(ext, key, 32, false)
	if ok {
		v := int32(n)
		*dst = &v
	}
	return err
}

// extBoolPtr reads an optional bool: present (even "") means a value, as
// Boolean.parseBoolean.
func extBoolPtr(ext map[string]string, key string, dst **bool) {
	if s, ok := ext[key]; ok {
		v := strings.EqualFold(s, "true")
		*dst = &v
	}
}

// decodeSendHeader decodes the send header with the given ext keys, in
// the field order of SendMessageRequestHeader.
func decodeSendHeader(ext map[string]string, k *[14]string) (SendMessageRequestHeader, error) {
	var h SendMessageRequestHeader
	var err error
	if h.ProducerGroup, err = extStr(ext, k[0], true); err != nil {
		return SendMessageRequestHeader{}, err
	}
	if h.Topic, err = extStr(ext, k[1], true); err != nil {
		return SendMessageRequestHeader{}, err
	}
	if h.DefaultTopic, err = extStr(ext, k[2], true); err != nil {
		return SendMessageRequestHeader{}, err
	}
	for i, dst := range [...]*int32{&h.DefaultTopicQueueNums, &h.QueueID, &h.SysFlag} {
		if err := extInt32(ext, k[3+i], true, dst); err != nil {
			return SendMessageRequestHeader{}, err
		}
	}
	n, ok, err := extInt(ext, k[6], 64, true)
	if err != nil {
		return SendMessageRequestHeader{}, err
	}
	if ok {
		h.BornTimestamp = n
	}
	if err := extInt32(ext, k[7], true, &h.Flag); err != nil {
		return SendMessageRequestHeader{}, err
	}
	h.Properties = ext[k[8]]
	if err := extInt32Ptr(ext, k[9], &h.ReconsumeTimes); err != nil {
		return SendMessageRequestHeader{}, err
	}
	extBoolPtr(ext, k[10], &h.UnitMode)
	if err := extInt32Ptr(ext, k[11], &h.MaxReconsumeTimes); err != nil {
		return SendMessageRequestHeader{}, err
	}
	extBoolPtr(ext, k[12], &h.Batch)
	h.BrokerName = ext[k[13]]
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
	putStr := func(k, v string) {
		if v != "" {
			ext[k] = v
		}
	}
	putStr("a", h.A)
	putStr("b", h.B)
	putStr("c", h.C)
	ext["d"] = strconv.FormatInt(int64(h.D), 10)
	ext["e"] = strconv.FormatInt(int64(h.E), 10)
	ext["f"] = strconv.FormatInt(int64(h.F), 10)
	ext["g"] = strconv.FormatInt(h.G, 10)
	ext["h"] = strconv.FormatInt(int64(h.H), 10)
	putStr("i", h.I)
	if h.J != nil {
		ext["j"] = strconv.FormatInt(int64(*h.J), 10)
	}
	if h.K != nil {
		ext["k"] = strconv.FormatBool(*h.K)
	}
	if h.L != nil {
		ext["l"] = strconv.FormatInt(int64(*h.L), 10)
	}
	if h.M != nil {
		ext["m"] = strconv.FormatBool(*h.M)
	}
	putStr("n", h.N)
	return ext
}

// encodeSendResponse is EncodeHeader of a SendMessageResponseHeader.
func encodeSendResponse(h *SendMessageResponseHeader) map[string]string {
	ext := make(map[string]string, 8)
	if h.MsgID != "" {
		ext["msgId"] = h.MsgID
	}
	ext["queueId"] = strconv.FormatInt(int64(h.QueueID), 10)
	ext["queueOffset"] = strconv.FormatInt(h.QueueOffset, 10)
	for _, kv := range [...][2]string{
		{"transactionId", h.TransactionID}, {"batchUniqId", h.BatchUniqID},
		{"recallHandle", h.RecallHandle}, {"MSG_REGION", h.MsgRegion},
	} {
		if kv[1] != "" {
			ext[kv[0]] = kv[1]
		}
	}
	ext["TRACE_ON"] = strconv.FormatBool(h.TraceOn)
	return ext
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
