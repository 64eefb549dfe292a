package protocol

// Headers of the broker's topic and subscription-group administration
// (reference remoting-protocol 4.8). Java marks more fields @CFNotNull than
// it enforces; the ones tagged required here are those without which the
// request cannot mean anything.

// CreateTopicRequestHeader is the header of UPDATE_AND_CREATE_TOPIC (17).
type CreateTopicRequestHeader struct {
	Topic           string `ext:"topic,required"`
	DefaultTopic    string `ext:"defaultTopic"` // sent by every client, unused by brokers
	ReadQueueNums   int32  `ext:"readQueueNums,required"`
	WriteQueueNums  int32  `ext:"writeQueueNums,required"`
	Perm            int32  `ext:"perm,required"`   // PermName bits
	TopicFilterType string `ext:"topicFilterType"` // SINGLE_TAG (default) or MULTI_TAG
	TopicSysFlag    *int32 `ext:"topicSysFlag"`    // TopicSysFlag bits
	Order           bool   `ext:"order"`           // ordered topic
	Attributes      string `ext:"attributes"`      // "+k=v,+k2=v2" sets, "-k" deletes
	Force           *bool  `ext:"force"`           // 5.x: allow changing queue.type
	BrokerName      string `ext:"bname"`           // inherited RpcRequestHeader field
}

// DeleteTopicRequestHeader is the header of DELETE_TOPIC_IN_BROKER (215).
type DeleteTopicRequestHeader struct {
	Topic string `ext:"topic,required"`
}

// GetTopicConfigRequestHeader is the header of GET_TOPIC_CONFIG (351).
type GetTopicConfigRequestHeader struct {
	Topic string `ext:"topic,required"`
}

// GetAllTopicConfigRequestHeader is the (5.x, optional) paging header of
// GET_ALL_TOPIC_CONFIG (21). A broker that answers with every topic at once
// ignores it and omits totalTopicNum from the response, which makes 5.x
// clients stop after one round.
type GetAllTopicConfigRequestHeader struct {
	TopicSeq    *int32 `ext:"topicSeq"`
	MaxTopicNum *int32 `ext:"maxTopicNum"`
	DataVersion string `ext:"dataVersion"` // DataVersion JSON
}

// DeleteSubscriptionGroupRequestHeader is the header of
// DELETE_SUBSCRIPTIONGROUP (207).
type DeleteSubscriptionGroupRequestHeader struct {
	GroupName   string `ext:"groupName,required"`
	CleanOffset bool   `ext:"cleanOffset"` // also drop the group's consumer offsets
}

// GetSubscriptionGroupConfigRequestHeader is the header of
// GET_SUBSCRIPTIONGROUP_CONFIG (352).
type GetSubscriptionGroupConfigRequestHeader struct {
	Group string `ext:"group,required"`
}
