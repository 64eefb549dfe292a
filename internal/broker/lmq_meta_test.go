package broker

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// sendToLMQs sends one message to parent, multi-dispatched to lmqs, and
// fails the test unless it is stored.
func sendToLMQs(t *testing.T, b *Broker, cli *remoting.Client, parent string, lmqs ...string) {
	t.Helper()
	resp := sendV1(t, b, cli, sendHeader(parent, 0, message.Properties{
		message.PropertyInnerMultiDispatch: strings.Join(lmqs, ","),
	}), []byte("m"))
	checkSendResponse(t, resp)
}

func runtimeInfo(t *testing.T, b *Broker, cli *remoting.Client) map[string]string {
	t.Helper()
	resp := call(t, b, cli, protocol.GetBrokerRuntimeInfo, nil, nil)
	if resp.Code != int32(protocol.Success) {
		t.Fatalf("runtime info: code %d %s", resp.Code, resp.Remark)
	}
	var kv body.KVTable
	if err := kv.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	return kv.Table
}

func infoInt(t *testing.T, info map[string]string, key string) int64 {
	t.Helper()
	v, ok := info[key]
	if !ok {
		t.Fatalf("runtime info has no %s: %v", key, info)
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("runtime info %s=%q: %v", key, v, err)
	}
	return i
}

func TestBrokerRuntimeInfo(t *testing.T) {
	start := time.Now().UnixMilli()
	b, cli := startBroker(t, nil)
	createTopic(t, b, "Parent", 1)

	before := runtimeInfo(t, b, cli)
	if before["brokerVersionDesc"] != "V5_3_3" || before["brokerVersion"] != "479" {
		t.Errorf("version: %q %q", before["brokerVersionDesc"], before["brokerVersion"])
	}
	if boot := infoInt(t, before, "bootTimestamp"); boot < start || boot > time.Now().UnixMilli() {
		t.Errorf("bootTimestamp %d, test started at %d", boot, start)
	}
	if !strings.HasPrefix(before["runtime"], "[ 0 days, 0 hours, ") {
		t.Errorf("runtime %q", before["runtime"])
	}
	if infoInt(t, before, "lmqCount") != 0 || infoInt(t, before, "commitLogMaxOffset") != 0 {
		t.Errorf("fresh broker: %v", before)
	}
	if infoInt(t, before, "maxLmqConsumeQueueNum") != int64(b.bc.MaxLmqConsumeQueueNum) {
		t.Errorf("maxLmqConsumeQueueNum %s", before["maxLmqConsumeQueueNum"])
	}

	sendToLMQs(t, b, cli, "Parent", "%LMQ%x", "%LMQ%y")
	sendToLMQs(t, b, cli, "Parent", "%LMQ%y", "%LMQ%z")
	sendToLMQs(t, b, cli, "Parent")
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	info := runtimeInfo(t, b, cli)
	st := b.store.Stats()
	maxOff := infoInt(t, info, "commitLogMaxOffset")
	if maxOff <= 0 || maxOff != st.CommitLogWriteOffset {
		t.Errorf("commitLogMaxOffset %d, store write offset %d", maxOff, st.CommitLogWriteOffset)
	}
	if got := infoInt(t, info, "commitLogMinOffset"); got != 0 {
		t.Errorf("commitLogMinOffset %d", got)
	}
	if got := infoInt(t, info, "commitLogFlushedOffset"); got != maxOff {
		t.Errorf("commitLogFlushedOffset %d after Flush, max %d", got, maxOff)
	}
	if got := infoInt(t, info, "dispatchBehindBytes"); got != 0 {
		t.Errorf("dispatchBehindBytes %d after Flush", got)
	}
	if info["remainHowManyDataToFlush"] != "0 B" {
		t.Errorf("remainHowManyDataToFlush %q", info["remainHowManyDataToFlush"])
	}
	if got := infoInt(t, info, "lmqCount"); got != 3 {
		t.Errorf("lmqCount %d, want 3", got)
	}
	if runtime.GOOS == "linux" {
		if rss := infoInt(t, info, "residentMemoryBytes"); rss < 1<<20 {
			t.Errorf("residentMemoryBytes %d", rss)
		}
	}
	if info["bootTimestamp"] != before["bootTimestamp"] {
		t.Errorf("bootTimestamp moved: %s -> %s", before["bootTimestamp"], info["bootTimestamp"])
	}
}

func TestHumanReadableBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 30: "5.0 GiB"} {
		if got := humanReadableBytes(n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
	if got := formatRuntime(26*time.Hour + 3*time.Minute + 4*time.Second); got != "[ 1 days, 2 hours, 3 minutes, 4 seconds ]" {
		t.Errorf("runtime %q", got)
	}
}

func listLMQs(t *testing.T, b *Broker, cli *remoting.Client, prefix, after string, limit *int32) body.LMQList {
	t.Helper()
	resp := call(t, b, cli, protocol.BolideGetLMQList, &protocol.GetLMQListRequestHeader{Prefix: prefix, After: after, Limit: limit}, nil)
	if resp.Code != int32(protocol.Success) {
		t.Fatalf("list %q after %q: code %d %s", prefix, after, resp.Code, resp.Remark)
	}
	var l body.LMQList
	if err := l.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	return l
}

func lmqNames(l body.LMQList) string {
	names := make([]string, len(l.LMQList))
	for i, e := range l.LMQList {
		names[i] = e.Name
	}
	return strings.Join(names, ",")
}

func TestLMQListPaging(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "Parent", 1)
	if l := listLMQs(t, b, cli, "", "", nil); l.Count != 0 || len(l.LMQList) != 0 || l.Next != "" {
		t.Errorf("empty broker: %+v", l)
	}
	start := time.Now().UnixMilli()
	sendToLMQs(t, b, cli, "Parent", "%LMQ%a3", "%LMQ%a1", "%LMQ%b1")
	sendToLMQs(t, b, cli, "Parent", "%LMQ%a2", "%LMQ%a5", "%LMQ%a4")
	sendToLMQs(t, b, cli, "Parent", "%LMQ%b2", "%LMQ%a1")
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	lim := func(n int32) *int32 { return &n }

	var pages []string
	after := ""
	for i := 0; ; i++ {
		l := listLMQs(t, b, cli, "%LMQ%a", after, lim(2))
		if l.Count != 7 {
			t.Errorf("page %d: count %d, want 7", i, l.Count)
		}
		for _, e := range l.LMQList {
			if e.FirstSeen < start || e.FirstSeen > time.Now().UnixMilli() {
				t.Errorf("%s firstSeen %d", e.Name, e.FirstSeen)
			}
		}
		pages = append(pages, lmqNames(l)+" next="+l.Next)
		if l.Next == "" || i > 5 {
			break
		}
		after = l.Next
	}
	want := "%LMQ%a1,%LMQ%a2 next=%LMQ%a2|%LMQ%a3,%LMQ%a4 next=%LMQ%a4|%LMQ%a5 next="
	if got := strings.Join(pages, "|"); got != want {
		t.Errorf("pages:\ngot  %s\nwant %s", got, want)
	}

	for _, tc := range []struct {
		prefix, after string
		limit         *int32
		want, next    string
	}{
		{"", "", nil, "%LMQ%a1,%LMQ%a2,%LMQ%a3,%LMQ%a4,%LMQ%a5,%LMQ%b1,%LMQ%b2", ""},
		{"%LMQ%b", "", lim(2), "%LMQ%b1,%LMQ%b2", ""}, // exactly one full page: no next
		{"%LMQ%", "%LMQ%a5", nil, "%LMQ%b1,%LMQ%b2", ""},
		{"%LMQ%a", "%LMQ%a5", nil, "", ""},
		{"%LMQ%zz", "", nil, "", ""},
		{"", "", lim(0), "%LMQ%a1", "%LMQ%a1"},                                                // clamped up to 1
		{"", "", lim(-7), "%LMQ%a1", "%LMQ%a1"},                                               // clamped up to 1
		{"", "", lim(1 << 30), "%LMQ%a1,%LMQ%a2,%LMQ%a3,%LMQ%a4,%LMQ%a5,%LMQ%b1,%LMQ%b2", ""}, // clamped to 1000
	} {
		l := listLMQs(t, b, cli, tc.prefix, tc.after, tc.limit)
		if got := lmqNames(l); got != tc.want || l.Next != tc.next || l.Count != 7 {
			t.Errorf("prefix %q after %q: %s next %q count %d, want %s next %q", tc.prefix, tc.after, got, l.Next, l.Count, tc.want, tc.next)
		}
	}

	resp := call(t, b, cli, protocol.BolideGetLMQList, &protocol.GetLMQListRequestHeader{Prefix: strings.Repeat("x", 256)}, nil)
	if resp.Code != int32(protocol.InvalidParameter) {
		t.Errorf("long prefix: code %d %s", resp.Code, resp.Remark)
	}
	resp = call(t, b, cli, protocol.BolideGetLMQList, nil, nil)
	if resp.Code != int32(protocol.Success) {
		t.Errorf("no header: code %d %s", resp.Code, resp.Remark)
	}
}

func TestMultiDispatchValidation(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "Parent", 1)
	many := make([]string, maxLMQsPerMessage+1)
	for i := range many {
		many[i] = fmt.Sprintf("%%LMQ%%m%d", i)
	}
	long := "%LMQ%" + strings.Repeat("l", maxLMQNameLength-len("%LMQ%"))

	for _, tc := range []struct {
		name, value, remark string
	}{
		{"slash", "%LMQ%ok,%LMQ%a/b/c", "rocketmq-mqtt encodes the '/'"},
		{"empty entry", "%LMQ%a,,%LMQ%b", "entry 1 is empty"},
		{"trailing empty entry", "%LMQ%a,", "entry 1 is empty"},
		{"leading empty entry", ",%LMQ%a", "entry 0 is empty"},
		{"duplicate", "%LMQ%a,%LMQ%b,%LMQ%a", "twice"},
		{"not an LMQ", "%LMQ%a,PlainTopic", "not a light message queue"},
		{"bare prefix", "%LMQ%", "no name after it"},
		{"too long", long + "x", "max 255"},
		{"illegal character", "%LMQ%a b", "illegal character"},
		{"too many", strings.Join(many, ","), "at most 100 per message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := b.store.Stats()
			props := message.Properties{message.PropertyInnerMultiDispatch: tc.value}
			resp := sendV1(t, b, cli, sendHeader("Parent", 0, props), []byte("m"))
			if resp.Code != int32(protocol.InvalidParameter) || !strings.Contains(resp.Remark, tc.remark) {
				t.Errorf("send: code %d %q, want INVALID_PARAMETER with %q", resp.Code, resp.Remark, tc.remark)
			}
			// The same in the second message of a batch refuses the batch.
			payload, err := message.EncodeBatch([]*message.Message{
				{Body: []byte("b0"), Properties: message.Properties{message.PropertyInnerMultiDispatch: "%LMQ%fine"}},
				{Body: []byte("b1"), Properties: props},
			})
			if err != nil {
				t.Fatal(err)
			}
			yes := true
			h := sendHeader("Parent", 0, nil)
			h.Batch = &yes
			v2 := h.V2()
			resp = call(t, b, cli, protocol.SendBatchMessage, &v2, payload)
			if resp.Code != int32(protocol.InvalidParameter) || !strings.Contains(resp.Remark, "message 1 of the batch") ||
				!strings.Contains(resp.Remark, tc.remark) {
				t.Errorf("batch: code %d %q", resp.Code, resp.Remark)
			}
			if after := b.store.Stats(); after.CommitLogWriteOffset != st.CommitLogWriteOffset || after.LMQCount != st.LMQCount {
				t.Errorf("refused sends stored something: write offset %d -> %d, LMQs %d -> %d",
					st.CommitLogWriteOffset, after.CommitLogWriteOffset, st.LMQCount, after.LMQCount)
			}
		})
	}

	// The limits themselves are accepted.
	sendToLMQs(t, b, cli, "Parent", many[:maxLMQsPerMessage]...)
	sendToLMQs(t, b, cli, "Parent", long, "%LMQ%a|b_c-D%9")
	if got := b.store.LMQCount(); got != maxLMQsPerMessage+2 {
		t.Errorf("%d LMQs, want %d", got, maxLMQsPerMessage+2)
	}

	// Where the store does not dispatch, the property is stored as sent,
	// unchecked (a message sent back for retry keeps its original one).
	st := b.store.Stats()
	resp := sendV1(t, b, cli, sendHeader(message.RetryTopic("CG"), 0, message.Properties{
		message.PropertyInnerMultiDispatch: "a/b,,a/b"}), []byte("retry"))
	checkSendResponse(t, resp)
	if b.store.Stats().CommitLogWriteOffset == st.CommitLogWriteOffset {
		t.Error("retry send stored nothing")
	}
}

func TestMultiDispatchUncheckedWhenDisabled(t *testing.T) {
	b, cli := startBroker(t, func(bc *config.Broker) { bc.EnableMultiDispatch = false })
	createTopic(t, b, "Parent", 1)
	resp := sendV1(t, b, cli, sendHeader("Parent", 0, message.Properties{
		message.PropertyInnerMultiDispatch: "PlainTopic,%LMQ%a/b"}), []byte("m"))
	checkSendResponse(t, resp)
	if n := b.store.LMQCount(); n != 0 {
		t.Errorf("%d LMQs with multi-dispatch off", n)
	}
}
