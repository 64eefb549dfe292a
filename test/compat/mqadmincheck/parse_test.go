package mqadmincheck

import (
	"slices"
	"strings"
	"testing"
)

// Outputs as printed by the Java mqadmin 5.3.3 and Bolide's mqadmin
// (trimmed to a few rows).
const (
	javaTopicStatus = `#Broker Name                      #QID  #Min Offset           #Max Offset             #Last Updated
broker-a                          0     0                     3                       2026-11-26 15:16:40,001
broker-a                          5     0                     0                       
broker-b                          2     1                     5                       2026-11-26 15:16:40,011

Topic Put TPS: 0.0
`
	javaProgress = `#Topic                                                            #Broker Name                      #QID  #Broker Offset        #Consumer Offset      #Diff                #Inflight           #LastTime
XC_java                                                           broker-a                          1     4                     3                     1                    0                    2026-11-26 15:16:39
XC_java                                                           broker-b                          5     2                     0                     2                    0                    N/A

Consume TPS: 0.00
Consume Diff Total: 3
Consume Inflight Total: 0
`
	javaReset = `start reset consumer offset by specified, group[g], topic[T], force[true], timestamp(string)[1], timestamp(long)[1]
#brokerName                               #queueId                                  #offset                                 
broker-b                                  0                                         1                                       
broker-a                                  7                                         2                                       
`
	// Bolide's reset: extra columns, a free-text reason with a colon, and
	// a summary line right after the rows.
	bolideReset = `start reset consumer offset by specified, group[g], topic[T], force[true], timestamp(string)[1], timestamp(long)[1]
#brokerName                               #queueId                                  #offset                                   #old                  #status     #reason
broker-a                                  7                                         2                                         -                     applied     Apache RocketMQ broker: reset with INVOKE_BROKER_TO_RESET_OFFSET, old offset not reported
broker-b                                  0                                         1                                         1                     unchanged   
operation id: 20261126T151934.330Z-21f783a4 (undo with --undo 20261126T151934.330Z-21f783a4)
`
	javaOldReset = `#brokerName #queueId #brokerOffset #consumerOffset #timestampOffset #resetOffset
broker-a     3        9             4               6                6
`
	javaKeyQuery = `#Message ID                                        #QID                                  #Offset
7F000001FFFF24C0FC85840637C5001C                      7                                        1
7F000001FFFF24C0FC858406375B0001                      0                                        1
`
	javaByID = `OffsetID:            7F0000010000907D0000000000000000
Topic:               XC_java
Tags:                [TagB]
Keys:                [k11_java lmqkey_java]
Queue ID:            1
Queue Offset:        1
CommitLog Offset:    2042
Reconsume Times:     0
Born Timestamp:      2026-11-26 15:16:39,929
Store Timestamp:     2026-11-26 15:16:39,929
Born Host:           127.0.0.1:58840
Store Host:          127.0.0.1:36989
System Flag:         0
Properties:          {CLUSTER=DefaultCluster, UNIQ_KEY=7F000001FFFF24C0FC8584063778000A, INNER_MULTI_QUEUE_OFFSET=2,0, TAGS=TagB, KEYS=k11_java lmqkey_java, INNER_MULTI_DISPATCH=%LMQ%a,%LMQ%b}
Message Body Path:   /tmp/rocketmq/msgbodys/7F000001FFFF24C0FC8584063778000A


MessageTrack [consumerGroup=xc_java, trackType=UNKNOWN, exceptionDesc=org.apache.rocketmq.client.exception.MQClientException: CODE: 17  DESC: No topic route info
For more information, please visit the url, https://rocketmq.apache.org/docs/bestPractice/06FAQ]
`
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind Kind
		out  string
		want []string
	}{
		{"topicStatus", TopicStatus, javaTopicStatus, []string{
			"broker-a q0 min=0 max=3", "broker-a q5 min=0 max=0", "broker-b q2 min=1 max=5"}},
		{"consumerProgress", ConsumerProgress, javaProgress, []string{
			"XC_java broker-a q1 broker=4 consumer=3 diff=1 inflight=0",
			"XC_java broker-b q5 broker=2 consumer=0 diff=2 inflight=0"}},
		{"java reset", ResetOffset, javaReset, []string{"broker-a q7 offset=2", "broker-b q0 offset=1"}},
		{"bolide reset", ResetOffset, bolideReset, []string{"broker-a q7 offset=2", "broker-b q0 offset=1"}},
		{"old reset", ResetOffset, javaOldReset, []string{"broker-a q3 offset=6"}},
		{"key query", KeyQuery, javaKeyQuery, []string{
			"7F000001FFFF24C0FC858406375B0001 q0 offset=1", "7F000001FFFF24C0FC85840637C5001C q7 offset=1"}},
		{"by id", MessageByID, javaByID, []string{
			"topic=XC_java q1 offset=1 phy=2042 uniq=7F000001FFFF24C0FC8584063778000A keys=k11_java lmqkey_java tags=TagB" +
				" lmq=%LMQ%a,%LMQ%b@2,0 id=7F0000010000907D0000000000000000"}},
		{"by unique key", UniqueKeyQuery, strings.Replace(javaByID, "OffsetID:", "Other:", 1), []string{
			"topic=XC_java q1 offset=1 phy=2042 uniq=7F000001FFFF24C0FC8584063778000A keys=k11_java lmqkey_java tags=TagB" +
				" lmq=%LMQ%a,%LMQ%b@2,0"}},
		{"two messages", UniqueKeyQuery, javaByID + javaByID, nil},
		{"not found", MessageByID, "\nMessage not found!", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.kind, tc.out)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "two messages" {
				if len(got) != 2 || got[0] != got[1] {
					t.Fatalf("got %q, want the same message twice", got)
				}
				return
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
	if _, err := Parse(TopicStatus, "no table here\n"); err == nil {
		t.Error("Parse without a table header: no error")
	}
	if _, err := Parse(KeyQuery, "#Message ID #QID #Offset\nonly-one-value\n"); err == nil {
		t.Error("Parse of a short row: no error")
	}
}

func TestParseBatch(t *testing.T) {
	out := `@@bolide-batch begin 1 topicStatus
#Broker Name #QID
@@bolide-batch stderr
java.lang.Exception: swallowed
@@bolide-batch rpc 127.0.0.1:9876 105 0 -
@@bolide-batch rpc 127.0.0.1:10911 202 3  request type 202 not supported
@@bolide-batch rpc 127.0.0.1:10911 12 none -
@@bolide-batch end 1 fail 760 SubCommandException: failed | caused by MQBrokerException(code=3): x
@@bolide-batch begin 2 queryMsgById
no newline at the end
@@bolide-batch stderr
@@bolide-batch end 2 ok 12
`
	rs, err := parseBatch(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2", len(rs))
	}
	r := rs[0]
	if r.Stdout != "#Broker Name #QID\n" || r.Stderr != "java.lang.Exception: swallowed\n" || r.Status != "fail" || r.Millis != 760 ||
		r.Error != "SubCommandException: failed | caused by MQBrokerException(code=3): x" {
		t.Errorf("first result %+v", r)
	}
	wantRPC := []RPC{
		{Addr: "127.0.0.1:9876", Request: 105, Response: 0, Remark: "-"},
		{Addr: "127.0.0.1:10911", Request: 202, Response: 3, Remark: "request type 202 not supported"},
		{Addr: "127.0.0.1:10911", Request: 12, Response: -1, Remark: "-"},
	}
	if !slices.Equal(r.RPCs, wantRPC) {
		t.Errorf("rpcs %+v, want %+v", r.RPCs, wantRPC)
	}
	if !rs[1].OK() || rs[1].Stdout != "no newline at the end\n" || rs[0].OK() {
		t.Errorf("second result %+v", rs[1])
	}
	for _, bad := range []string{
		"@@bolide-batch begin 1 x\n",   // unterminated
		"@@bolide-batch rpc a 1 0 -\n", // outside a command
		"@@bolide-batch begin 1 x\n@@bolide-batch timeout\n",
		"@@bolide-batch begin 1 x\n@@bolide-batch what\n",
	} {
		if _, err := parseBatch(bad); err == nil {
			t.Errorf("parseBatch(%q): no error", bad)
		}
	}
}

func TestDiff(t *testing.T) {
	if d := Diff([]string{"a", "b"}, []string{"a", "b"}); d != "" {
		t.Errorf("equal: %q", d)
	}
	d := Diff([]string{"a", "b"}, []string{"a", "c"})
	if !strings.Contains(d, "- b") || !strings.Contains(d, "+ c") {
		t.Errorf("diff %q", d)
	}
	if d := Diff([]string{"a"}, []string{"a", "a"}); d == "" {
		t.Error("a duplicated row went unnoticed")
	}
}
