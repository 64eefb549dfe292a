package protocol

// Headers of the operational commands: topic and consume stats, offset
// resets, message queries and the consumer calls an admin makes through
// the broker (reference remoting-protocol 4.3, 4.4, 4.8, 4.9).

// GetTopicStatsInfoRequestHeader is the header of GET_TOPIC_STATS_INFO (202).
type GetTopicStatsInfoRequestHeader struct {
	Topic string `ext:"topic,required"`
}

// LMQAbsentField is the ext field of a Bolide broker's GET_TOPIC_STATS_INFO
// answer ("true") when the LMQ asked for is not on that broker: the body is
// then upstream's one row of zeros, which Java tools print as is.
const LMQAbsentField = "bolideLmqAbsent"

// GetConsumeStatsRequestHeader is the header of GET_CONSUME_STATS (208).
// Topics are TopicList (";"-separated) if given, else Topic, else every
// topic the group has offsets for.
type GetConsumeStatsRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup,required"`
	Topic         string `ext:"topic"`
	TopicList     string `ext:"topicList"`
}

// GetConsumerConnectionListRequestHeader is the header of
// GET_CONSUMER_CONNECTION_LIST (203).
type GetConsumerConnectionListRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup,required"`
}

// QueryTopicConsumeByWhoRequestHeader is the header of
// QUERY_TOPIC_CONSUME_BY_WHO (300).
type QueryTopicConsumeByWhoRequestHeader struct {
	Topic string `ext:"topic,required"`
}

// GetConsumerRunningInfoRequestHeader is the header of
// GET_CONSUMER_RUNNING_INFO (307); the broker forwards it unchanged to the
// client named by ClientID.
type GetConsumerRunningInfoRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup,required"`
	ClientID      string `ext:"clientId,required"`
	JstackEnable  bool   `ext:"jstackEnable"`
}

// UniqueKeyQueryFlag is the ext field (not a header field in Java) that
// turns QUERY_MESSAGE into a unique-key (UNIQ_KEY) query.
const UniqueKeyQueryFlag = "_UNIQUE_KEY_QUERY"

// Result bounds of QUERY_MESSAGE: Java caps a key query at maxMsgsNumBatch
// and forces unique-key queries to defaultQueryMaxNum.
const (
	MaxQueryMessageNum       = 64
	DefaultUniqueKeyQueryNum = 32
)

// QueryMessageRequestHeader is the header of QUERY_MESSAGE (12): messages
// of Topic whose KEYS (or, with UniqueKeyQueryFlag, UNIQ_KEY) holds Key,
// stored in [BeginTimestamp, EndTimestamp].
type QueryMessageRequestHeader struct {
	Topic          string `ext:"topic,required"`
	Key            string `ext:"key,required"`
	MaxNum         int32  `ext:"maxNum,required"`
	BeginTimestamp int64  `ext:"beginTimestamp,required"`
	EndTimestamp   int64  `ext:"endTimestamp,required"`
	// UniqueKey is UniqueKeyQueryFlag ("true" or "false").
	UniqueKey string `ext:"_UNIQUE_KEY_QUERY"`
}

// QueryMessageResponseHeader is the reply header of QUERY_MESSAGE.
type QueryMessageResponseHeader struct {
	IndexLastUpdateTimestamp int64 `ext:"indexLastUpdateTimestamp,required"`
	IndexLastUpdatePhyoffset int64 `ext:"indexLastUpdatePhyoffset,required"`
}

// ViewMessageRequestHeader is the header of VIEW_MESSAGE_BY_ID (33): one
// stored record by commit-log offset.
type ViewMessageRequestHeader struct {
	Topic  string `ext:"topic"`
	Offset int64  `ext:"offset,required"`
}

// ResetOffsetRequestHeader is the header of INVOKE_BROKER_TO_RESET_OFFSET
// (222). Timestamp < 0 means the queue's max offset; Offset (with QueueID
// >= 0) overrides the timestamp for that one queue.
type ResetOffsetRequestHeader struct {
	Topic     string `ext:"topic,required"`
	Group     string `ext:"group,required"`
	Timestamp int64  `ext:"timestamp,required"`
	IsForce   bool   `ext:"isForce"` // ignored, as by server-side resets upstream
	QueueID   *int32 `ext:"queueId"` // absent or -1: every queue
	Offset    *int64 `ext:"offset"`  // absent or -1: by timestamp
}

// ResetClientOffsetRequestHeader is the header of the oneway
// RESET_CONSUMER_CLIENT_OFFSET (220) a broker sends to a group's clients.
type ResetClientOffsetRequestHeader struct {
	Topic     string `ext:"topic,required"`
	Group     string `ext:"group,required"`
	Timestamp int64  `ext:"timestamp,required"`
	IsForce   bool   `ext:"isForce"`
	QueueID   int32  `ext:"queueId"`
}

// BolideResetOffsetRequestHeader is the header of BOLIDE_RESET_OFFSET
// (10002), the reset Bolide's mqadmin uses: the fields of
// ResetOffsetRequestHeader plus an operation id the admin chooses (the same
// on every broker of one reset), a dry run, and undo. The reply body is a
// body.ResetOffsetResult saying, per queue, old -> new and what was done.
type BolideResetOffsetRequestHeader struct {
	Topic     string `ext:"topic"` // required unless Undo is set
	Group     string `ext:"group"` // required unless Undo is set
	Timestamp int64  `ext:"timestamp"`
	QueueID   *int32 `ext:"queueId"`
	Offset    *int64 `ext:"offset"`
	OpID      string `ext:"opId,required"`
	DryRun    bool   `ext:"dryRun"`
	// Undo names an earlier operation whose old offsets are restored (as
	// operation OpID); Topic, Group and the rest are then ignored.
	Undo string `ext:"undo"`
}
