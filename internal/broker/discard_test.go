package broker

import (
	"strings"
	"testing"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
)

// A broker that discards sends answers each as stored, with fresh offsets
// and ids, stores nothing, and still refuses a malformed request.
func TestDiscardSends(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopicConfig(t, b, newTopicConfig("D", 2, permRead|permWrite))
	b.DiscardSends()
	logEnd := b.store.Stats().CommitLogWriteOffset

	uniq := "C0A800010000000000000000000000AB"
	h := sendHeader("D", 1, message.Properties{message.PropertyUniqKey: uniq})
	first := sendV2(t, b, cli, h, []byte("one"))
	checkSendResponse(t, first)
	if first.ExtFields["queueId"] != "1" || first.ExtFields["transactionId"] != uniq {
		t.Errorf("first answer: %v", first.ExtFields)
	}
	second := sendV1(t, b, cli, h, []byte("two"))
	checkSendResponse(t, second)
	if first.ExtFields["queueOffset"] == second.ExtFields["queueOffset"] || first.ExtFields["msgId"] == second.ExtFields["msgId"] {
		t.Errorf("two sends, same offset or id: %v, %v", first.ExtFields, second.ExtFields)
	}

	payload, err := message.EncodeBatch([]*message.Message{{Body: []byte("b0")}, {Body: []byte("b1")}, {Body: []byte("b2")}})
	if err != nil {
		t.Fatal(err)
	}
	bh := sendHeader("D", 0, nil)
	yes := true
	bh.Batch = &yes
	v2 := bh.V2()
	batch := call(t, b, cli, protocol.SendBatchMessage, &v2, payload)
	checkSendResponse(t, batch)
	if ids := strings.Split(batch.ExtFields["msgId"], ","); len(ids) != 3 {
		t.Errorf("batch of 3, msgId %q", batch.ExtFields["msgId"])
	}

	// A send is answered after its record is written: nothing was.
	if end := b.store.Stats().CommitLogWriteOffset; end != logEnd {
		t.Errorf("the commit log grew from %d to %d bytes: a discarded send was stored", logEnd, end)
	}

	bad := sendHeader("", 0, nil)
	bad.ProducerGroup = ""
	if resp := sendV1(t, b, cli, bad, []byte("x")); resp.Code == int32(protocol.Success) {
		t.Errorf("a header without producer group or topic was answered %d", resp.Code)
	}
	badBatch := call(t, b, cli, protocol.SendBatchMessage, &v2, []byte("not a batch"))
	wantResp(t, badBatch, protocol.MessageIllegal, "bad batch body")
	wantResp(t, call(t, b, cli, protocol.SendBatchMessage, &v2, nil), protocol.MessageIllegal, "empty batch")

	// A send that leaves the queue to the broker gets a real queue id.
	if resp := sendV2(t, b, cli, sendHeader("D", -1, nil), []byte("any")); resp.ExtFields["queueId"] != "0" {
		t.Errorf("queue -1 answered with queueId %q", resp.ExtFields["queueId"])
	}
}
