package protocol

import "testing"

// The send-back header as the official Go client sends it (reference
// client-go-compat 4.7) decodes; a missing offset is an error naming it.
func TestSemanticsHeaders(t *testing.T) {
	ext := map[string]string{"bname": "broker-a", "delayLevel": "0", "group": "cg", "maxReconsumeTimes": "16",
		"offset": "600", "originMsgId": "AC11000100002A9F0000000000000258", "originTopic": "t-probe", "unitMode": "false"}
	var h ConsumerSendMsgBackRequestHeader
	if err := DecodeHeader(ext, &h); err != nil {
		t.Fatal(err)
	}
	if h.Offset != 600 || h.Group != "cg" || h.DelayLevel != 0 || h.MaxReconsumeTimes == nil || *h.MaxReconsumeTimes != 16 || h.OriginTopic != "t-probe" {
		t.Fatalf("decoded %+v", h)
	}
	delete(ext, "offset")
	if err := DecodeHeader(ext, &h); err == nil {
		t.Fatal("missing offset accepted")
	}
	end := map[string]string{"producerGroup": "pg", "tranStateTableOffset": "3", "commitLogOffset": "1200",
		"commitOrRollback": "8", "fromTransactionCheck": "true", "msgId": "U1", "transactionId": "U1", "bname": ""}
	var e EndTransactionRequestHeader
	if err := DecodeHeader(end, &e); err != nil {
		t.Fatal(err)
	}
	if e.CommitOrRollback != TransactionCommit || e.CommitLogOffset != 1200 || !e.FromTransactionCheck || e.TranStateTableOffset != 3 {
		t.Fatalf("decoded %+v", e)
	}
	c := EncodeHeader(&CheckTransactionStateRequestHeader{Topic: "T", TranStateTableOffset: 3, CommitLogOffset: 1200, MsgID: "U1", OffsetMsgID: "X"})
	if c["commitLogOffset"] != "1200" || c["tranStateTableOffset"] != "3" || c["msgId"] != "U1" || c["offsetMsgId"] != "X" {
		t.Fatalf("encoded %v", c)
	}
}
