package protocol

// SendMessageRequestHeader is the header of SEND_MESSAGE (10) and
// SEND_REPLY_MESSAGE (324), with the V1 (full name) ext keys.
type SendMessageRequestHeader struct {
	ProducerGroup         string `ext:"producerGroup,required"`
	Topic                 string `ext:"topic,required"`
	DefaultTopic          string `ext:"defaultTopic,required"`          // auto-create template, normally TBW102
	DefaultTopicQueueNums int32  `ext:"defaultTopicQueueNums,required"` // queues for auto-create
	QueueID               int32  `ext:"queueId,required"`               // < 0: broker picks a writable queue
	SysFlag               int32  `ext:"sysFlag,required"`               // message sysflag bits
	BornTimestamp         int64  `ext:"bornTimestamp,required"`         // ms
	Flag                  int32  `ext:"flag,required"`                  // user flag, stored verbatim
	Properties            string `ext:"properties"`                     // name\x01value\x02 pairs
	ReconsumeTimes        *int32 `ext:"reconsumeTimes"`
	UnitMode              *bool  `ext:"unitMode"`
	MaxReconsumeTimes     *int32 `ext:"maxReconsumeTimes"`
	Batch                 *bool  `ext:"batch"` // true: the body is a batch
	BrokerName            string `ext:"bname"` // destination broker (inherited RpcRequestHeader field)
}

// SendMessageRequestHeaderV2 is the same header with the one-letter keys
// used by SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320) and
// SEND_REPLY_MESSAGE_V2 (325), which shrink every send request.
type SendMessageRequestHeaderV2 struct {
	A string `ext:"a,required"` // producerGroup
	B string `ext:"b,required"` // topic
	C string `ext:"c,required"` // defaultTopic
	D int32  `ext:"d,required"` // defaultTopicQueueNums
	E int32  `ext:"e,required"` // queueId
	F int32  `ext:"f,required"` // sysFlag
	G int64  `ext:"g,required"` // bornTimestamp
	H int32  `ext:"h,required"` // flag
	I string `ext:"i"`          // properties
	J *int32 `ext:"j"`          // reconsumeTimes
	K *bool  `ext:"k"`          // unitMode
	L *int32 `ext:"l"`          // maxReconsumeTimes
	M *bool  `ext:"m"`          // batch
	N string `ext:"n"`          // bname
}

// V1 converts the header to its full-name form, as the Java broker does
// before processing.
func (h *SendMessageRequestHeaderV2) V1() SendMessageRequestHeader {
	return SendMessageRequestHeader{
		ProducerGroup:         h.A,
		Topic:                 h.B,
		DefaultTopic:          h.C,
		DefaultTopicQueueNums: h.D,
		QueueID:               h.E,
		SysFlag:               h.F,
		BornTimestamp:         h.G,
		Flag:                  h.H,
		Properties:            h.I,
		ReconsumeTimes:        h.J,
		UnitMode:              h.K,
		MaxReconsumeTimes:     h.L,
		Batch:                 h.M,
		BrokerName:            h.N,
	}
}

// V2 converts the header to its one-letter form.
func (h *SendMessageRequestHeader) V2() SendMessageRequestHeaderV2 {
	return SendMessageRequestHeaderV2{
		A: h.ProducerGroup,
		B: h.Topic,
		C: h.DefaultTopic,
		D: h.DefaultTopicQueueNums,
		E: h.QueueID,
		F: h.SysFlag,
		G: h.BornTimestamp,
		H: h.Flag,
		I: h.Properties,
		J: h.ReconsumeTimes,
		K: h.UnitMode,
		L: h.MaxReconsumeTimes,
		M: h.Batch,
		N: h.BrokerName,
	}
}

// IsBatch reports whether the body is a batch; the broker branches on this
// flag, not on the request code.
func (h *SendMessageRequestHeader) IsBatch() bool { return h.Batch != nil && *h.Batch }

// DecodeSendMessageRequestHeader decodes the send header of any send code:
// one-letter keys for SEND_MESSAGE_V2, SEND_BATCH_MESSAGE and
// SEND_REPLY_MESSAGE_V2, full names otherwise.
func DecodeSendMessageRequestHeader(code RequestCode, ext map[string]string) (SendMessageRequestHeader, error) {
	var f SendHeaderFields
	f.Reset(code)
	for k, v := range ext {
		f.Set(k, v)
	}
	return f.Decode()
}

// sendKeys is the ext key set of a send code.
func sendKeys(code RequestCode) *[14]string {
	switch code {
	case SendMessageV2, SendBatchMessage, SendReplyMessageV2:
		return &sendKeysV2
	}
	return &sendKeysV1
}

// DefaultMsgRegion is what Java brokers put in MSG_REGION unless configured.
const DefaultMsgRegion = "DefaultRegion"

// SendMessageResponseHeader is the header of a successful send response
// (codes 0, 10, 11, 12).
type SendMessageResponseHeader struct {
	// MsgID is the offset message id of the stored record (32 or 56 upper
	// hex chars); for batches a comma-separated list, one per message.
	MsgID         string `ext:"msgId,required"`
	QueueID       int32  `ext:"queueId,required"`
	QueueOffset   int64  `ext:"queueOffset,required"` // batch: offset of the first message
	TransactionID string `ext:"transactionId"`        // the message's UNIQ_KEY
	BatchUniqID   string `ext:"batchUniqId"`
	RecallHandle  string `ext:"recallHandle"`
	// MsgRegion and TraceOn are not header fields in Java but extra ext
	// keys the broker always adds: Java clients read them unconditionally.
	// Set MsgRegion (DefaultMsgRegion) on every response.
	MsgRegion string `ext:"MSG_REGION"`
	TraceOn   bool   `ext:"TRACE_ON"`
}
