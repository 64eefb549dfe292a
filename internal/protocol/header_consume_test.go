package protocol

import (
	"errors"
	"testing"
)

var consumeHeaders = []any{
	&PullMessageRequestHeader{}, &PullMessageResponseHeader{},
	&QueryConsumerOffsetRequestHeader{}, &QueryConsumerOffsetResponseHeader{},
	&UpdateConsumerOffsetRequestHeader{}, &GetMaxOffsetRequestHeader{}, &GetMinOffsetRequestHeader{},
	&GetEarliestMsgStoretimeRequestHeader{}, &GetEarliestMsgStoretimeResponseHeader{},
	&SearchOffsetRequestHeader{}, &OffsetResponseHeader{}, &UnregisterClientRequestHeader{},
	&GetConsumerListByGroupRequestHeader{}, &NotifyConsumerIDsChangedRequestHeader{},
}

func TestConsumeHeadersSupported(t *testing.T) {
	for _, h := range consumeHeaders {
		ext := EncodeHeader(h)
		if err := DecodeHeader(ext, h); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) || he.Reason != "missing" {
				t.Errorf("%T: %v", h, err)
			}
		}
	}
}

// TestPullHeaderClientGo decodes the ext fields rocketmq-client-go's push
// consumer sends (client-go-compat 4.4): maxMsgNums may be "0", the
// subscription empty.
func TestPullHeaderClientGo(t *testing.T) {
	ext := map[string]string{
		"consumerGroup": "cg", "topic": "t", "queueId": "3", "queueOffset": "17", "maxMsgNums": "32",
		"sysFlag": "3", "commitOffset": "-1", "suspendTimeoutMillis": "20000", "subscription": "",
		"subVersion": "0", "expressionType": "TAG",
	}
	var h PullMessageRequestHeader
	if err := DecodeHeader(ext, &h); err != nil {
		t.Fatal(err)
	}
	if h.ConsumerGroup != "cg" || h.QueueID != 3 || h.QueueOffset != 17 || h.MaxMsgNums != 32 ||
		h.CommitOffset != -1 || h.SuspendTimeoutMillis != 20000 || h.Subscription != "" || h.MaxMsgBytes != nil {
		t.Fatalf("decoded %+v", h)
	}
	if !h.HasFlag(PullFlagCommitOffset) || !h.HasFlag(PullFlagSuspend) || h.HasFlag(PullFlagSubscription) {
		t.Fatalf("flags of %d", h.SysFlag)
	}
	delete(ext, "queueOffset")
	if err := DecodeHeader(ext, &h); !errors.Is(err, ErrInvalidHeader) {
		t.Fatalf("missing queueOffset: %v", err)
	}
}

func TestPullResponseHeaderAlwaysHasOffsets(t *testing.T) {
	ext := EncodeHeader(&PullMessageResponseHeader{})
	for _, k := range []string{"suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset"} {
		if ext[k] != "0" {
			t.Errorf("%s = %q, want \"0\"", k, ext[k])
		}
	}
}

func TestUnregisterClientKey(t *testing.T) {
	ext := EncodeHeader(&UnregisterClientRequestHeader{ClientID: "1.2.3.4@x", ConsumerGroup: "cg"})
	if ext["clientID"] != "1.2.3.4@x" || ext["consumerGroup"] != "cg" {
		t.Fatalf("ext %v", ext)
	}
	if _, ok := ext["producerGroup"]; ok {
		t.Fatalf("empty producerGroup sent: %v", ext)
	}
}
