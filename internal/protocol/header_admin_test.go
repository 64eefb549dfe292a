package protocol

import (
	"errors"
	"maps"
	"reflect"
	"testing"
)

var adminHeaders = []any{
	&CreateTopicRequestHeader{}, &DeleteTopicRequestHeader{}, &GetTopicConfigRequestHeader{},
	&GetAllTopicConfigRequestHeader{}, &DeleteSubscriptionGroupRequestHeader{},
	&GetSubscriptionGroupConfigRequestHeader{},
}

func TestAdminHeadersSupported(t *testing.T) {
	for _, h := range adminHeaders {
		ext := EncodeHeader(h)
		if err := DecodeHeader(ext, h); err != nil {
			var he *HeaderError
			if !errors.As(err, &he) || he.Reason != "missing" {
				t.Errorf("%T: %v", h, err)
			}
		}
	}
}

// goCreateTopic is what rocketmq-client-go's admin CreateTopic sends
// (client-go-compat section 6).
var goCreateTopic = map[string]string{"defaultTopic": "defaultTopic", "order": "false", "perm": "6", "readQueueNums": "8",
	"topic": "t-new", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "writeQueueNums": "8"}

func TestCreateTopicHeader(t *testing.T) {
	var h CreateTopicRequestHeader
	if err := DecodeHeader(goCreateTopic, &h); err != nil {
		t.Fatal(err)
	}
	zero := int32(0)
	want := CreateTopicRequestHeader{Topic: "t-new", DefaultTopic: "defaultTopic", ReadQueueNums: 8, WriteQueueNums: 8,
		Perm: 6, TopicFilterType: "SINGLE_TAG", TopicSysFlag: &zero}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("decode: %+v", h)
	}
	if got := EncodeHeader(&h); !maps.Equal(got, goCreateTopic) {
		t.Errorf("re-encode:\ngot  %v\nwant %v", got, goCreateTopic)
	}
	bad := maps.Clone(goCreateTopic)
	delete(bad, "perm")
	var he *HeaderError
	if err := DecodeHeader(bad, &h); !errors.As(err, &he) || he.Field != "perm" {
		t.Errorf("missing perm: %v", err)
	}
}

func TestDeleteSubscriptionGroupHeader(t *testing.T) {
	var h DeleteSubscriptionGroupRequestHeader
	if err := DecodeHeader(map[string]string{"groupName": "CG", "cleanOffset": "TRUE"}, &h); err != nil {
		t.Fatal(err)
	}
	if h.GroupName != "CG" || !h.CleanOffset {
		t.Errorf("decode: %+v", h)
	}
}
