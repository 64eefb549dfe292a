package message

import (
	"fmt"
	"strings"
)

// Topic naming (TopicValidator, MixAll).
const (
	MaxTopicLength      = 127 // ordinary topics: fits a V1 record's topic length byte
	MaxRetryTopicLength = 255 // %RETRY%/%DLQ% names embed a group name, so get more room

	RetryTopicPrefix = "%RETRY%"
	DLQTopicPrefix   = "%DLQ%"

	// System topics and prefixes users cannot send to directly.
	TopicAutoCreateTemplate = "TBW102"
	TopicSchedule           = "SCHEDULE_TOPIC_XXXX"
	TopicTransHalf          = "RMQ_SYS_TRANS_HALF_TOPIC"
	TopicTransOpHalf        = "RMQ_SYS_TRANS_OP_HALF_TOPIC"
	TopicTransCheckMaxTime  = "TRANS_CHECK_MAX_TIME_TOPIC"
	TopicTrace              = "RMQ_SYS_TRACE_TOPIC"
	TopicSelfTest           = "SELF_TEST_TOPIC"
	TopicOffsetMovedEvent   = "OFFSET_MOVED_EVENT"
	TopicBenchmark          = "BenchmarkTest"
	TopicCheckpoint         = "CHECKPOINT_TOPIC"
	SystemTopicPrefix       = "rmq_sys_"
)

var systemTopics = map[string]bool{
	TopicAutoCreateTemplate: true, TopicSchedule: true, TopicTransHalf: true,
	TopicTransOpHalf: true, TopicTransCheckMaxTime: true, TopicTrace: true,
	TopicSelfTest: true, TopicOffsetMovedEvent: true, TopicBenchmark: true,
	TopicCheckpoint: true,
}

// IsSystemTopic reports whether topic is reserved for the broker itself.
func IsSystemTopic(topic string) bool {
	return systemTopics[topic] || strings.HasPrefix(topic, SystemTopicPrefix)
}

func validTopicChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '%' || c == '|' || c == '_' || c == '-'
}

// ValidateTopic applies the broker's send-time rules: non-empty, only
// [%|a-zA-Z0-9_-], at most 127 bytes (255 for %RETRY%/%DLQ% topics).
// Errors wrap ErrInvalidTopic.
func ValidateTopic(topic string) error {
	if topic == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidTopic)
	}
	for i := 0; i < len(topic); i++ {
		if !validTopicChar(topic[i]) {
			return fmt.Errorf("%w: %q has illegal character %q at byte %d, allowed are [%%|a-zA-Z0-9_-]",
				ErrInvalidTopic, topic, topic[i], i)
		}
	}
	limit := MaxTopicLength
	if IsRetryTopic(topic) || IsDLQTopic(topic) {
		limit = MaxRetryTopicLength
	}
	if len(topic) > limit {
		return fmt.Errorf("%w: %d bytes, max %d", ErrInvalidTopic, len(topic), limit)
	}
	return nil
}

// RetryTopic returns the retry topic of a consumer group.
func RetryTopic(group string) string { return RetryTopicPrefix + group }

// DLQTopic returns the dead-letter topic of a consumer group.
func DLQTopic(group string) string { return DLQTopicPrefix + group }

// IsRetryTopic reports whether topic is a %RETRY% topic.
func IsRetryTopic(topic string) bool { return strings.HasPrefix(topic, RetryTopicPrefix) }

// IsDLQTopic reports whether topic is a %DLQ% topic.
func IsDLQTopic(topic string) bool { return strings.HasPrefix(topic, DLQTopicPrefix) }

// GroupOfRetryTopic returns the group a %RETRY% or %DLQ% topic belongs to.
// POP retry topics (%RETRY%group_topic, %RETRY%group+topic) are returned
// whole, since '_' is also legal inside group names.
func GroupOfRetryTopic(topic string) (string, bool) {
	if g, ok := strings.CutPrefix(topic, RetryTopicPrefix); ok {
		return g, true
	}
	return strings.CutPrefix(topic, DLQTopicPrefix)
}
