package protocol

// Headers of retries and transactions (reference remoting-protocol 4.7).

// ConsumerSendMsgBackRequestHeader is the header of CONSUMER_SEND_MSG_BACK
// (36): a consumer returns a message it failed to consume. Offset is the
// original record's commit-log offset.
type ConsumerSendMsgBackRequestHeader struct {
	Offset            int64  `ext:"offset,required"`
	Group             string `ext:"group,required"`
	DelayLevel        int32  `ext:"delayLevel,required"` // 0: the broker picks 3+reconsumeTimes; <0: straight to the DLQ
	OriginMsgID       string `ext:"originMsgId"`
	OriginTopic       string `ext:"originTopic"`
	UnitMode          bool   `ext:"unitMode"`
	MaxReconsumeTimes *int32 `ext:"maxReconsumeTimes"`
}

// Transaction states of END_TRANSACTION's commitOrRollback (the sysFlag
// transaction bits: MessageSysFlag TRANSACTION_*_TYPE).
const (
	TransactionNotType  = 0
	TransactionCommit   = 0x2 << 2
	TransactionRollback = 0x3 << 2
)

// EndTransactionRequestHeader is the header of END_TRANSACTION (37), sent
// oneway by the producer after its local transaction or when answering a
// check. CommitLogOffset comes from the offset msgId the send returned.
type EndTransactionRequestHeader struct {
	ProducerGroup        string `ext:"producerGroup,required"`
	TranStateTableOffset int64  `ext:"tranStateTableOffset,required"`
	CommitLogOffset      int64  `ext:"commitLogOffset,required"`
	CommitOrRollback     int32  `ext:"commitOrRollback,required"`
	FromTransactionCheck bool   `ext:"fromTransactionCheck"`
	MsgID                string `ext:"msgId"`
	TransactionID        string `ext:"transactionId"`
	Topic                string `ext:"topic"`
}

// CheckTransactionStateRequestHeader is the header of
// CHECK_TRANSACTION_STATE (39), broker to producer, oneway; the body is the
// half message as a stored record with its real topic and queue.
type CheckTransactionStateRequestHeader struct {
	Topic                string `ext:"topic"`
	TranStateTableOffset int64  `ext:"tranStateTableOffset,required"`
	CommitLogOffset      int64  `ext:"commitLogOffset,required"`
	MsgID                string `ext:"msgId"`
	TransactionID        string `ext:"transactionId"`
	OffsetMsgID          string `ext:"offsetMsgId"`
}
