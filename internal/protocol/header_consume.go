package protocol

// Consume-side request and response headers: pull, consumer offsets, queue
// offset/time lookups and client management (RocketMQ P/header). Field tags
// are the Java field names, which are the ext keys on the wire; pointers
// stand for Java's boxed optional fields.

// Pull request sysFlag bits (PullSysFlag).
const (
	PullFlagCommitOffset int32 = 0x1  // commit commitOffset for (group, topic, queue)
	PullFlagSuspend      int32 = 0x2  // the broker may hold the request (long polling)
	PullFlagSubscription int32 = 0x4  // the expression is in this request
	PullFlagClassFilter  int32 = 0x8  // obsolete class filter
	PullFlagLitePull     int32 = 0x10 // sent by lite-pull consumers (code 361)
)

// PullMessageRequestHeader is the header of PULL_MESSAGE (11) and
// LITE_PULL_MESSAGE (361). Java marks most fields @CFNotNull but
// rocketmq-client-go and old clients do not always send them all, so only
// the queue coordinates are required here; the rest default to zero.
type PullMessageRequestHeader struct {
	ConsumerGroup        string `ext:"consumerGroup,required"`
	Topic                string `ext:"topic,required"`
	QueueID              int32  `ext:"queueId,required"`
	QueueOffset          int64  `ext:"queueOffset,required"`
	MaxMsgNums           int32  `ext:"maxMsgNums"` // client-go sends "0": treat <= 0 as 1
	SysFlag              int32  `ext:"sysFlag"`
	CommitOffset         int64  `ext:"commitOffset"` // -1 until the consumer knows an offset
	SuspendTimeoutMillis int64  `ext:"suspendTimeoutMillis"`
	Subscription         string `ext:"subscription"` // expression, used with PullFlagSubscription
	SubVersion           int64  `ext:"subVersion"`
	ExpressionType       string `ext:"expressionType"` // TAG (default) or SQL92
	MaxMsgBytes          *int32 `ext:"maxMsgBytes"`
	RequestSource        *int32 `ext:"requestSource"`
	ProxyForwardClientID string `ext:"proxyFrowardClientId"` // (sic)
	BrokerName           string `ext:"bname"`
}

// HasFlag reports whether sysFlag has every bit of f.
func (h *PullMessageRequestHeader) HasFlag(f int32) bool { return h.SysFlag&f == f }

// PullMessageResponseHeader is the header of pull responses with codes
// SUCCESS, PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY and PULL_OFFSET_MOVED:
// Java clients unbox the four required fields unconditionally and Go
// clients rewind to 0 when nextBeginOffset is missing.
type PullMessageResponseHeader struct {
	SuggestWhichBrokerID int64  `ext:"suggestWhichBrokerId,required"`
	NextBeginOffset      int64  `ext:"nextBeginOffset,required"`
	MinOffset            int64  `ext:"minOffset,required"`
	MaxOffset            int64  `ext:"maxOffset,required"`
	OffsetDelta          *int64 `ext:"offsetDelta"`
	TopicSysFlag         *int32 `ext:"topicSysFlag"`
	GroupSysFlag         *int32 `ext:"groupSysFlag"`
	ForbiddenType        *int32 `ext:"forbiddenType"`
}

// QueryConsumerOffsetRequestHeader is the QUERY_CONSUMER_OFFSET (14)
// request header.
type QueryConsumerOffsetRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup,required"`
	Topic         string `ext:"topic,required"`
	QueueID       int32  `ext:"queueId,required"`
	// SetZeroIfNotFound, when false, turns off the "young queue reads from
	// 0" rule; absent means true. Java clients never send it.
	SetZeroIfNotFound *bool  `ext:"setZeroIfNotFound"`
	BrokerName        string `ext:"bname"`
}

// QueryConsumerOffsetResponseHeader is the QUERY_CONSUMER_OFFSET reply.
type QueryConsumerOffsetResponseHeader struct {
	Offset int64 `ext:"offset,required"`
}

// UpdateConsumerOffsetRequestHeader is the UPDATE_CONSUMER_OFFSET (15)
// request header.
type UpdateConsumerOffsetRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup,required"`
	Topic         string `ext:"topic,required"`
	QueueID       int32  `ext:"queueId,required"`
	CommitOffset  int64  `ext:"commitOffset,required"`
	BrokerName    string `ext:"bname"`
}

// GetMaxOffsetRequestHeader is the GET_MAX_OFFSET (30) request header.
type GetMaxOffsetRequestHeader struct {
	Topic      string `ext:"topic,required"`
	QueueID    int32  `ext:"queueId,required"`
	Committed  *bool  `ext:"committed"` // default true; always sent by Java
	BrokerName string `ext:"bname"`
}

// GetMinOffsetRequestHeader is the GET_MIN_OFFSET (31) request header.
type GetMinOffsetRequestHeader struct {
	Topic      string `ext:"topic,required"`
	QueueID    int32  `ext:"queueId,required"`
	BrokerName string `ext:"bname"`
}

// GetEarliestMsgStoretimeRequestHeader is the GET_EARLIEST_MSG_STORETIME
// (32) request header.
type GetEarliestMsgStoretimeRequestHeader struct {
	Topic      string `ext:"topic,required"`
	QueueID    int32  `ext:"queueId,required"`
	BrokerName string `ext:"bname"`
}

// GetEarliestMsgStoretimeResponseHeader is its reply.
type GetEarliestMsgStoretimeResponseHeader struct {
	Timestamp int64 `ext:"timestamp,required"`
}

// Boundary types of SEARCH_OFFSET_BY_TIMESTAMP (BoundaryType).
const (
	BoundaryLower = "LOWER" // first offset stored at or after the time (default)
	BoundaryUpper = "UPPER" // last offset stored at or before the time
)

// SearchOffsetRequestHeader is the SEARCH_OFFSET_BY_TIMESTAMP (29) request
// header.
type SearchOffsetRequestHeader struct {
	Topic        string `ext:"topic,required"`
	QueueID      int32  `ext:"queueId,required"`
	Timestamp    int64  `ext:"timestamp,required"` // ms
	BoundaryType string `ext:"boundaryType"`       // BoundaryLower (default) or BoundaryUpper
	BrokerName   string `ext:"bname"`
}

// OffsetResponseHeader is the reply of GET_MAX_OFFSET, GET_MIN_OFFSET and
// SEARCH_OFFSET_BY_TIMESTAMP (all carry just "offset").
type OffsetResponseHeader struct {
	Offset int64 `ext:"offset,required"`
}

// UnregisterClientRequestHeader is the UNREGISTER_CLIENT (35) request
// header. Note the capital ID in "clientID".
type UnregisterClientRequestHeader struct {
	ClientID      string `ext:"clientID,required"`
	ProducerGroup string `ext:"producerGroup"`
	ConsumerGroup string `ext:"consumerGroup"`
}

// GetConsumerListByGroupRequestHeader is the GET_CONSUMER_LIST_BY_GROUP
// (38) request header.
type GetConsumerListByGroupRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup,required"`
}

// NotifyConsumerIDsChangedRequestHeader is the header of the oneway
// NOTIFY_CONSUMER_IDS_CHANGED (40) the broker sends to consumers.
type NotifyConsumerIDsChangedRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup,required"`
}
