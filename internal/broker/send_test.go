package broker

import (
	"context"
	"fmt"
	"net/netip"
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

func sendHeader(topic string, queue int32, props message.Properties) protocol.SendMessageRequestHeader {
	s, err := props.Encode()
	if err != nil {
		panic(err)
	}
	zero := int32(0)
	return protocol.SendMessageRequestHeader{
		ProducerGroup: "PG", Topic: topic, DefaultTopic: "TBW102", DefaultTopicQueueNums: 4, QueueID: queue,
		BornTimestamp: 1700000000123, Properties: s, ReconsumeTimes: &zero,
	}
}

func sendV1(t *testing.T, b *Broker, cli *remoting.Client, h protocol.SendMessageRequestHeader, payload []byte) *remoting.Command {
	t.Helper()
	return call(t, b, cli, protocol.SendMessage, &h, payload)
}

func sendV2(t *testing.T, b *Broker, cli *remoting.Client, h protocol.SendMessageRequestHeader, payload []byte) *remoting.Command {
	t.Helper()
	v2 := h.V2()
	return call(t, b, cli, protocol.SendMessageV2, &v2, payload)
}

// storedAt decodes the send response's msgId (or one of a batch) and reads
// the record it names.
func storedAt(t *testing.T, b *Broker, id string) *message.Message {
	t.Helper()
	host, phy, err := message.ParseOffsetID(id)
	if err != nil {
		t.Fatalf("msgId %q: %v", id, err)
	}
	if host.String() != b.Addr() {
		t.Fatalf("msgId host %s, broker is %s", host, b.Addr())
	}
	rec, err := b.store.ReadRecord(phy)
	if err != nil {
		t.Fatal(err)
	}
	m, err := message.Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	if m.CommitLogOffset != phy {
		t.Fatalf("record at %d says PHYSICALOFFSET %d", phy, m.CommitLogOffset)
	}
	return m
}

func clientAddr(t *testing.T, b *Broker, cli *remoting.Client) string {
	t.Helper()
	conn, err := cli.Conn(context.Background(), b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return conn.LocalAddr()
}

// checkSendResponse checks the ext fields every successful send carries.
func checkSendResponse(t *testing.T, resp *remoting.Command) {
	t.Helper()
	wantResp(t, resp, protocol.Success, "")
	for _, k := range []string{"msgId", "queueId", "queueOffset"} {
		if resp.ExtFields[k] == "" {
			t.Errorf("response lacks %s: %v", k, resp.ExtFields)
		}
	}
	if resp.ExtFields["MSG_REGION"] != "DefaultRegion" || resp.ExtFields["TRACE_ON"] != "true" {
		t.Errorf("MSG_REGION/TRACE_ON: %v", resp.ExtFields)
	}
}

func TestSendV1(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopicConfig(t, b, newTopicConfig("S", 4, permRead|permWrite))
	props := message.Properties{"TAGS": "TagA", "KEYS": "k1 k2"}
	h := sendHeader("S", 2, props)
	h.Flag = 7
	h.SysFlag = int32(message.SysCompressed) // kept as sent
	three := int32(3)
	h.ReconsumeTimes = &three
	resp := sendV1(t, b, cli, h, []byte("hello"))
	checkSendResponse(t, resp)
	if resp.ExtFields["queueId"] != "2" || resp.ExtFields["queueOffset"] != "0" {
		t.Errorf("queue: %v", resp.ExtFields)
	}
	m := storedAt(t, b, resp.ExtFields["msgId"])
	if string(m.Body) != "hello" || m.Topic != "S" || m.QueueID != 2 || m.QueueOffset != 0 || m.Flag != 7 ||
		m.ReconsumeTimes != 3 || m.BornTimestamp != 1700000000123 || !m.SysFlag.Has(message.SysCompressed) {
		t.Errorf("stored %+v", m)
	}
	if m.Tags() != "TagA" || m.Property("KEYS") != "k1 k2" || m.Property(message.PropertyCluster) != "DefaultCluster" {
		t.Errorf("properties %v", m.Properties)
	}
	uniq := m.UniqKey()
	if len(uniq) != message.IDLenV4 || resp.ExtFields["transactionId"] != uniq {
		t.Errorf("UNIQ_KEY %q, transactionId %q", uniq, resp.ExtFields["transactionId"])
	}
	if got := m.BornHost.String(); got != clientAddr(t, b, cli) {
		t.Errorf("born host %s, client is %s", got, clientAddr(t, b, cli))
	}

	// The next message of the queue gets the next offset.
	resp = sendV1(t, b, cli, h, []byte("again"))
	checkSendResponse(t, resp)
	if resp.ExtFields["queueOffset"] != "1" {
		t.Errorf("second offset: %v", resp.ExtFields)
	}
}

func TestSendV2KeepsUniqKeyAndMultiTag(t *testing.T) {
	b, cli := startBroker(t, nil)
	tc := newTopicConfig("M", 2, permRead|permWrite)
	tc.TopicFilterType = body.MultiTag
	createTopicConfig(t, b, tc)
	const uniq = "C0A800010000000000000000000000AB"
	resp := sendV2(t, b, cli, sendHeader("M", 1, message.Properties{message.PropertyUniqKey: uniq, "__RMQ.TRANSIENT.x": "y"}), []byte("v2"))
	checkSendResponse(t, resp)
	if resp.ExtFields["transactionId"] != uniq {
		t.Errorf("transactionId %q", resp.ExtFields["transactionId"])
	}
	m := storedAt(t, b, resp.ExtFields["msgId"])
	if m.UniqKey() != uniq || !m.SysFlag.Has(message.SysMultiTags) || string(m.Body) != "v2" || m.QueueID != 1 {
		t.Errorf("stored %+v", m)
	}
	if _, ok := m.Properties.Lookup("__RMQ.TRANSIENT.x"); ok {
		t.Error("transient property stored")
	}
}

func mustAddrPort(t *testing.T, s string) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func createTopicConfig(t *testing.T, b *Broker, tc body.TopicConfig) {
	t.Helper()
	if err := b.topics.CreateOrUpdate(tc); err != nil {
		t.Fatal(err)
	}
}

func TestSendRandomQueue(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopicConfig(t, b, newTopicConfig("R", 8, permRead|permWrite))
	seen := map[string]bool{}
	for range 64 {
		resp := sendV1(t, b, cli, sendHeader("R", -1, nil), []byte("x"))
		checkSendResponse(t, resp)
		q, err := strconv.Atoi(resp.ExtFields["queueId"])
		if err != nil || q < 0 || q >= 8 {
			t.Fatalf("queueId %q", resp.ExtFields["queueId"])
		}
		seen[resp.ExtFields["queueId"]] = true
	}
	if len(seen) < 2 {
		t.Errorf("64 sends all went to queue %v", seen)
	}
}

func TestSendBatch(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopicConfig(t, b, newTopicConfig("B", 2, permRead|permWrite))
	sendV1(t, b, cli, sendHeader("B", 1, nil), []byte("first")) // queue 1 now holds offset 0
	msgs := []*message.Message{
		{Body: []byte("b0"), Flag: 1, Properties: message.Properties{"KEYS": "k0"}},
		{Body: []byte("b1"), Properties: message.Properties{message.PropertyUniqKey: "C0A800010000000000000000000000CD"}},
		{Body: []byte("b2")},
	}
	payload, err := message.EncodeBatch(msgs)
	if err != nil {
		t.Fatal(err)
	}
	h := sendHeader("B", 1, message.Properties{"TAGS": "batchTag"})
	yes := true
	h.Batch = &yes
	v2 := h.V2()
	resp := call(t, b, cli, protocol.SendBatchMessage, &v2, payload)
	checkSendResponse(t, resp)
	if resp.ExtFields["queueId"] != "1" || resp.ExtFields["queueOffset"] != "1" {
		t.Errorf("queue: %v", resp.ExtFields)
	}
	if _, ok := resp.ExtFields["transactionId"]; ok {
		t.Errorf("batch without a batch-level UNIQ_KEY has transactionId %q", resp.ExtFields["transactionId"])
	}
	ids := strings.Split(resp.ExtFields["msgId"], ",")
	if len(ids) != 3 {
		t.Fatalf("msgId %q", resp.ExtFields["msgId"])
	}
	uniqs := map[string]bool{}
	for i, id := range ids {
		m := storedAt(t, b, id)
		if string(m.Body) != fmt.Sprintf("b%d", i) || m.QueueID != 1 || m.QueueOffset != int64(1+i) || m.Topic != "B" {
			t.Errorf("message %d: %+v", i, m)
		}
		if m.Property(message.PropertyCluster) != "DefaultCluster" || m.Tags() != "batchTag" || len(m.UniqKey()) != 32 {
			t.Errorf("message %d properties %v", i, m.Properties)
		}
		uniqs[m.UniqKey()] = true
	}
	if len(uniqs) != 3 || !uniqs["C0A800010000000000000000000000CD"] {
		t.Errorf("UNIQ_KEYs %v", uniqs)
	}
	if m := storedAt(t, b, ids[0]); m.Flag != 1 || m.Property("KEYS") != "k0" {
		t.Errorf("inner flag/properties lost: %+v", m)
	}

	// V1 code with the batch flag is a batch too.
	resp = sendV1(t, b, cli, h, payload)
	checkSendResponse(t, resp)
	if n := len(strings.Split(resp.ExtFields["msgId"], ",")); n != 3 {
		t.Errorf("V1 batch: %d ids", n)
	}
}

func TestSendErrors(t *testing.T) {
	b, cli := startBroker(t, func(bc *config.Broker) { bc.MaxMessageSize = 1024 })
	createTopicConfig(t, b, newTopicConfig("E", 4, permRead|permWrite))
	createTopicConfig(t, b, newTopicConfig("RO", 4, permRead))
	createTopicConfig(t, b, newTopicConfig("Shrunk", 2, permRead|permWrite))
	tc := newTopicConfig("Shrinking", 8, permRead|permWrite)
	tc.WriteQueueNums = 4
	createTopicConfig(t, b, tc)
	yes := true
	batch := func(h protocol.SendMessageRequestHeader) protocol.SendMessageRequestHeader { h.Batch = &yes; return h }
	withSys := func(h protocol.SendMessageRequestHeader, sys int32) protocol.SendMessageRequestHeader {
		h.SysFlag = sys
		return h
	}
	before := b.store.Stats().CommitLogWriteOffset
	for _, tc := range []struct {
		name    string
		h       protocol.SendMessageRequestHeader
		payload []byte
		code    protocol.ResponseCode
		remark  string
	}{
		{"bad topic", sendHeader("a b", 0, nil), nil, protocol.InvalidParameter, "illegal character"},
		{"too large", sendHeader("E", 0, nil), make([]byte, 1025), protocol.MessageIllegal, "MAX: 1024"},
		{"system topic", sendHeader("SELF_TEST_TOPIC", 0, nil), nil, protocol.NoPermission, "forbidden"},
		{"schedule topic", sendHeader("SCHEDULE_TOPIC_XXXX", 0, nil), nil, protocol.NoPermission, "forbidden"},
		{"read-only topic", sendHeader("RO", 0, nil), nil, protocol.NoPermission, "RO"},
		{"queue out of range", sendHeader("Shrunk", 2, nil), nil, protocol.InvalidParameter, "queueId[2]"},
		{"queue beyond read queues", sendHeader("Shrinking", 8, nil), nil, protocol.InvalidParameter, "queueId[8]"},
		{"lmq topic", sendHeader("%LMQ%x", 0, nil), nil, protocol.InvalidParameter, "INNER_MULTI_DISPATCH"},
		{"commit sysFlag from a producer", withSys(sendHeader("E", 0, nil), 8), nil, protocol.InvalidParameter, "sysFlag 8"},
		{"transactional batch", batch(sendHeader("E", 0, message.Properties{"TRAN_MSG": "true"})), nil, protocol.MessageIllegal, "transaction"},
		{"bad delay level", sendHeader("E", 0, message.Properties{"DELAY": "x"}), nil, protocol.MessageIllegal, "DELAY"},
		{"delay beyond timerMaxDelaySec", sendHeader("E", 0, message.Properties{"TIMER_DELAY_SEC": "999999999"}), nil, protocol.MessageIllegal, "timerMaxDelaySec"},
		{"bad timer", sendHeader("E", 0, message.Properties{"TIMER_DELIVER_MS": "soon"}), nil, protocol.MessageIllegal, "TIMER_DELIVER_MS"},
		{"batch to retry topic", batch(sendHeader("%RETRY%g", 0, nil)), nil, protocol.MessageIllegal, "retry"},
		{"bad batch body", batch(sendHeader("E", 0, nil)), []byte{1, 2, 3}, protocol.MessageIllegal, "batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantResp(t, sendV1(t, b, cli, tc.h, tc.payload), tc.code, tc.remark)
		})
	}
	// A message within the old write queues but below max(read, write) is
	// accepted, as upstream.
	checkSendResponse(t, sendV1(t, b, cli, sendHeader("Shrinking", 6, nil), []byte("x")))
	after := b.store.Stats().CommitLogWriteOffset
	m := storedAt(t, b, message.MakeOffsetID(mustAddrPort(t, b.Addr()), before))
	if m.Topic != "Shrinking" || after <= before {
		t.Errorf("refused sends stored something: %+v", m)
	}

	// A missing required header field.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Invoke(ctx, b.Addr(), remoting.NewRequest(int32(protocol.SendMessage), map[string]string{"topic": "E"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	wantResp(t, resp, protocol.InvalidParameter, "producerGroup")
}

func TestSendBrokerNotWritable(t *testing.T) {
	b, cli := startBroker(t, func(bc *config.Broker) { bc.BrokerPermission = permRead })
	createTopicConfig(t, b, newTopicConfig("E", 4, permRead|permWrite))
	wantResp(t, sendV1(t, b, cli, sendHeader("E", 0, nil), []byte("x")), protocol.NoPermission, "broker")
}

func TestSendAutoCreate(t *testing.T) {
	b, cli := startBroker(t, nil)
	h := sendHeader("New1", -1, nil)
	h.DefaultTopicQueueNums = 3
	checkSendResponse(t, sendV1(t, b, cli, h, []byte("x")))
	tc, ok := b.topics.Get("New1")
	if !ok || tc.WriteQueueNums != 3 || tc.Perm != permRead|permWrite {
		t.Errorf("auto-created %+v, %v", tc, ok)
	}

	// A retry topic is created for its (auto-created) group.
	checkSendResponse(t, sendV1(t, b, cli, sendHeader("%RETRY%cg1", 0, nil), []byte("r")))
	if tc, ok := b.topics.Get("%RETRY%cg1"); !ok || tc.WriteQueueNums != 1 {
		t.Errorf("retry topic %+v, %v", tc, ok)
	}
	if _, ok := b.groups.Get("cg1"); !ok {
		t.Error("group cg1 not created")
	}

	b2, cli2 := startBroker(t, func(bc *config.Broker) {
		bc.AutoCreateTopicEnable = false
		bc.AutoCreateSubscriptionGroup = false
	})
	wantResp(t, sendV1(t, b2, cli2, sendHeader("New1", -1, nil), []byte("x")), protocol.TopicNotExist, "autoCreateTopicEnable")
	wantResp(t, sendV1(t, b2, cli2, sendHeader("%RETRY%cg1", 0, nil), []byte("x")), protocol.SubscriptionGroupNotExist, "cg1")
	if _, ok := b2.topics.Get("New1"); ok {
		t.Error("topic created with autoCreateTopicEnable=false")
	}
}

func TestSendOneway(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopicConfig(t, b, newTopicConfig("O", 1, permRead|permWrite))
	h := sendHeader("O", 0, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := b.store.Stats().CommitLogWriteOffset
	if err := cli.InvokeOneway(ctx, b.Addr(), remoting.NewRequest(int32(protocol.SendMessage), protocol.EncodeHeader(&h), []byte("ow"))); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "oneway message stored", func() bool { return b.store.Stats().CommitLogWriteOffset > before })
	m := storedAt(t, b, message.MakeOffsetID(mustAddrPort(t, b.Addr()), before))
	if string(m.Body) != "ow" {
		t.Errorf("stored %+v", m)
	}
	// The connection still works (no stray response confused it).
	checkSendResponse(t, sendV1(t, b, cli, h, []byte("after")))
}

func TestSendLMQ(t *testing.T) {
	b, cli := startBroker(t, func(bc *config.Broker) { bc.MaxLmqConsumeQueueNum = 3 })
	createTopicConfig(t, b, newTopicConfig("Parent", 1, permRead|permWrite))
	dispatch := func(lmqs string) message.Properties {
		return message.Properties{message.PropertyInnerMultiDispatch: lmqs}
	}
	resp := sendV1(t, b, cli, sendHeader("Parent", 0, dispatch("%LMQ%a,%LMQ%b")), []byte("m0"))
	checkSendResponse(t, resp)
	if m := storedAt(t, b, resp.ExtFields["msgId"]); m.Property(message.PropertyInnerMultiQueueOffset) != "0,0" {
		t.Errorf("first: %v", m.Properties)
	}
	resp = sendV1(t, b, cli, sendHeader("Parent", 0, dispatch("%LMQ%b,%LMQ%c")), []byte("m1"))
	checkSendResponse(t, resp)
	if m := storedAt(t, b, resp.ExtFields["msgId"]); m.Property(message.PropertyInnerMultiQueueOffset) != "1,0" {
		t.Errorf("second: %v", m.Properties)
	}

	// A fourth LMQ exceeds maxLmqConsumeQueueNum=3: nothing is stored.
	before := b.store.Stats().CommitLogWriteOffset
	resp = sendV1(t, b, cli, sendHeader("Parent", 0, dispatch("%LMQ%a,%LMQ%d")), []byte("m2"))
	wantResp(t, resp, protocol.SystemError, "")
	if !strings.HasPrefix(resp.Remark, "[LMQ_CONSUME_QUEUE_NUM_EXCEEDED]") {
		t.Errorf("remark %q", resp.Remark)
	}
	if after := b.store.Stats().CommitLogWriteOffset; after != before {
		t.Errorf("commit log grew from %d to %d on a refused put", before, after)
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	if max, err := b.store.MaxOffset("Parent", 0); err != nil || max != 2 {
		t.Errorf("parent max offset %d, %v", max, err)
	}
	// Existing LMQs still take messages.
	resp = sendV1(t, b, cli, sendHeader("Parent", 0, dispatch("%LMQ%a")), []byte("m3"))
	checkSendResponse(t, resp)
	if m := storedAt(t, b, resp.ExtFields["msgId"]); m.Property(message.PropertyInnerMultiQueueOffset) != "1" {
		t.Errorf("after refusal: %v", m.Properties)
	}
}

// TestSendAndPullBothSerializations sends and pulls with JSON and binary
// (ROCKETMQ, what Java clients use with rocketmq.serialize.type) headers
// through the routes the broker registers them on: a JSON request's fields
// arrive as a list, a binary one's as a map, and both must decode alike,
// errors included; the responses must carry the same fields.
func TestSendAndPullBothSerializations(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopicConfig(t, b, newTopicConfig("SER", 1, permRead|permWrite))
	invoke := func(code protocol.RequestCode, ser remoting.SerializeType, ext map[string]string, body []byte) *remoting.Command {
		t.Helper()
		req := remoting.NewRequest(int32(code), ext, body)
		req.Serialize = ser
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := cli.Invoke(ctx, b.Addr(), req)
		if err != nil {
			t.Fatalf("%v %v: %v", ser, code, err)
		}
		return resp
	}
	for i, ser := range []remoting.SerializeType{remoting.JSON, remoting.RocketMQ} {
		h := sendHeader("SER", 0, message.Properties{"TAGS": "t"})
		v2 := h.V2()
		resp := invoke(protocol.SendMessageV2, ser, protocol.EncodeHeader(&v2), []byte(ser.String()))
		checkSendResponse(t, resp)
		if resp.ExtFields["queueOffset"] != strconv.Itoa(i) {
			t.Errorf("%v: queueOffset %q, want %d", ser, resp.ExtFields["queueOffset"], i)
		}
		if m := storedAt(t, b, resp.ExtFields["msgId"]); string(m.Body) != ser.String() || m.Tags() != "t" {
			t.Errorf("%v: stored %+v", ser, m)
		}
		// A bad field is named the same way from a list or a map.
		bad := protocol.EncodeHeader(&v2)
		bad["e"] = "x"
		wantResp(t, invoke(protocol.SendMessageV2, ser, bad, []byte("x")), protocol.InvalidParameter, "e")
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, ser := range []remoting.SerializeType{remoting.JSON, remoting.RocketMQ} {
		got := decodePull(t, invoke(protocol.PullMessage, ser, protocol.EncodeHeader(pullHeader("g", "SER", 0, 0, "*")), nil))
		wantPull(t, ser.String()+" pull", got, int32(protocol.Success), 2, 0, 2, "JSON", "ROCKETMQ")
		bad := protocol.EncodeHeader(pullHeader("g", "SER", 0, 0, "*"))
		delete(bad, "queueOffset")
		wantResp(t, invoke(protocol.PullMessage, ser, bad, nil), protocol.InvalidParameter, "queueOffset")
	}
}
