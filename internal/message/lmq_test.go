package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestLMQ(t *testing.T) {
	if !IsLMQ("%LMQ%123") || IsLMQ("LMQ") || IsLMQ("%RETRY%g") {
		t.Fatalf("IsLMQ wrong")
	}
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"%LMQ%a", []string{"%LMQ%a"}},
		{"%LMQ%a,%LMQ%b", []string{"%LMQ%a", "%LMQ%b"}},
		{"%LMQ%a,,topic", []string{"%LMQ%a", "", "topic"}},
		{",%LMQ%a,,", []string{"", "%LMQ%a"}}, // Java drops trailing empties only
		{",,", []string{}},
	}
	for _, c := range cases {
		got := ParseMultiDispatch(c.in)
		if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("ParseMultiDispatch(%q) = %q, want %q", c.in, got, c.want)
		}
	}

	names := ParseMultiDispatch("%LMQ%a,parent,%LMQ%b")
	s, err := FormatMultiQueueOffset(names, []int64{5, 99, 0})
	if err != nil || s != "5,,0" {
		t.Fatalf("FormatMultiQueueOffset = %q, %v", s, err)
	}
	if _, err := FormatMultiQueueOffset(names, []int64{1}); !errors.Is(err, ErrInvalidLMQ) {
		t.Fatalf("length mismatch accepted")
	}
	offs, err := ParseMultiQueueOffset(s)
	if err != nil || !reflect.DeepEqual(offs, []int64{5, NoQueueOffset, 0}) {
		t.Fatalf("ParseMultiQueueOffset = %v, %v", offs, err)
	}
	for _, bad := range []string{"1,x", "-1", "1, 2", "99999999999999999999"} {
		if _, err := ParseMultiQueueOffset(bad); !errors.Is(err, ErrInvalidLMQ) {
			t.Errorf("ParseMultiQueueOffset(%q) = %v", bad, err)
		}
	}

	pairs, err := PairLMQOffsets("%LMQ%a,parent,%LMQ%b", "5,,0")
	want := []LMQOffset{{"%LMQ%a", 5}, {"%LMQ%b", 0}}
	if err != nil || !reflect.DeepEqual(pairs, want) {
		t.Fatalf("PairLMQOffsets = %v, %v", pairs, err)
	}
	// A trailing non-LMQ name may lack its (empty) offset entry.
	if pairs, err := PairLMQOffsets("%LMQ%a,parent", "7"); err != nil || len(pairs) != 1 || pairs[0].Offset != 7 {
		t.Fatalf("short offsets: %v, %v", pairs, err)
	}
	for _, c := range [][2]string{
		{"%LMQ%a,%LMQ%b", "1"},  // LMQ without offset
		{"%LMQ%a", "1,2"},       // too many offsets
		{"%LMQ%a,%LMQ%b", "1,"}, // empty offset for an LMQ
		{"%LMQ%a", "x"},         // not a number
	} {
		if _, err := PairLMQOffsets(c[0], c[1]); !errors.Is(err, ErrInvalidLMQ) {
			t.Errorf("PairLMQOffsets(%q, %q) = %v", c[0], c[1], err)
		}
	}
}

func TestValidateTopic(t *testing.T) {
	ok := []string{"TopicTest", "a", "%LMQ%123", "a|b_c-d%", strings.Repeat("t", 127),
		RetryTopic(strings.Repeat("g", 248)), DLQTopic(strings.Repeat("g", 250))}
	for _, s := range ok {
		if err := ValidateTopic(s); err != nil {
			t.Errorf("ValidateTopic(%q) = %v", s, err)
		}
	}
	bad := map[string]string{
		"":                                   "empty",
		"a b":                                "illegal character",
		"topic.name":                         "illegal character",
		"中文":                                 "illegal character",
		strings.Repeat("t", 128):             "max 127",
		RetryTopic(strings.Repeat("g", 249)): "max 255",
	}
	for s, why := range bad {
		err := ValidateTopic(s)
		if !errors.Is(err, ErrInvalidTopic) || !strings.Contains(err.Error(), why) {
			t.Errorf("ValidateTopic(%.20q) = %v, want %q", s, err, why)
		}
	}
	if RetryTopic("g") != "%RETRY%g" || DLQTopic("g") != "%DLQ%g" || !IsRetryTopic("%RETRY%g") || !IsDLQTopic("%DLQ%g") {
		t.Fatalf("retry/DLQ names wrong")
	}
	if g, ok := GroupOfRetryTopic("%DLQ%grp"); !ok || g != "grp" {
		t.Fatalf("GroupOfRetryTopic = %q, %v", g, ok)
	}
	if _, ok := GroupOfRetryTopic("plain"); ok {
		t.Fatalf("plain topic has a group")
	}
	if !IsSystemTopic(TopicSchedule) || !IsSystemTopic("rmq_sys_x") || IsSystemTopic("TopicTest") {
		t.Fatalf("IsSystemTopic wrong")
	}
}
