package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/admin"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// runJSON runs a command with --json, checks its exit code and decodes
// its one JSON document into v.
func (f *fixture) runJSON(t *testing.T, v any, wantCode int, args ...string) {
	t.Helper()
	args = append(f.expand(args), "--json")
	stdout, stderr, code := f.run(args...)
	if code != wantCode {
		t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, stdout, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%v: decoding %q: %v", args, stdout, err)
	}
	if dec.More() {
		t.Fatalf("%v: more than one JSON document in %q", args, stdout)
	}
}

type jsonFailure struct {
	BrokerName string `json:"brokerName"`
	Addr       string `json:"addr"`
	Error      string `json:"error"`
}

type jsonTopicStatus struct {
	Topic   string `json:"topic"`
	Cluster string `json:"cluster"`
	Queues  []struct {
		Topic       string `json:"topic"`
		BrokerName  string `json:"brokerName"`
		QueueID     int32  `json:"queueId"`
		MinOffset   int64  `json:"minOffset"`
		MaxOffset   int64  `json:"maxOffset"`
		LastUpdated int64  `json:"lastUpdated"`
	} `json:"queues"`
	PutTps float64       `json:"putTps"`
	Errors []jsonFailure `json:"errors"`
}

type jsonProgress struct {
	Group   string `json:"group"`
	Topic   string `json:"topic"`
	Cluster string `json:"cluster"`
	Queues  []struct {
		Topic          string `json:"topic"`
		BrokerName     string `json:"brokerName"`
		QueueID        int32  `json:"queueId"`
		BrokerOffset   int64  `json:"brokerOffset"`
		ConsumerOffset int64  `json:"consumerOffset"`
		PullOffset     int64  `json:"pullOffset"`
		ClientIP       string `json:"clientIp"`
		Diff           int64  `json:"diff"`
		Inflight       int64  `json:"inflight"`
		LastTimestamp  int64  `json:"lastTimestamp"`
		LagMillis      *int64 `json:"lagMillis"`
	} `json:"queues"`
	ConsumeTps    float64       `json:"consumeTps"`
	DiffTotal     int64         `json:"diffTotal"`
	InflightTotal int64         `json:"inflightTotal"`
	Errors        []jsonFailure `json:"errors"`
}

type jsonMessage struct {
	MsgID           string            `json:"msgId"`
	OffsetID        string            `json:"offsetId"`
	BrokerName      string            `json:"brokerName"`
	Topic           string            `json:"topic"`
	Tags            string            `json:"tags"`
	Keys            string            `json:"keys"`
	QueueID         int32             `json:"queueId"`
	QueueOffset     int64             `json:"queueOffset"`
	CommitLogOffset int64             `json:"commitLogOffset"`
	ReconsumeTimes  int32             `json:"reconsumeTimes"`
	BornTimestamp   int64             `json:"bornTimestamp"`
	StoreTimestamp  int64             `json:"storeTimestamp"`
	BornHost        string            `json:"bornHost"`
	StoreHost       string            `json:"storeHost"`
	SysFlag         int32             `json:"sysFlag"`
	Properties      map[string]string `json:"properties"`
	LMQOffsets      []struct {
		Queue  string `json:"queue"`
		Offset int64  `json:"offset"`
	} `json:"lmqOffsets"`
	BodyPath string  `json:"bodyPath"`
	Body     *string `json:"body"`
	Tracks   []struct {
		ConsumerGroup string `json:"consumerGroup"`
		TrackType     string `json:"trackType"`
		ExceptionDesc string `json:"exceptionDesc"`
	} `json:"tracks"`
	TrackError string `json:"trackError"`
}

type jsonMessages struct {
	Messages []jsonMessage `json:"messages"`
	NotFound []string      `json:"notFound"`
	Errors   []jsonFailure `json:"errors"`
}

type jsonKeyQuery struct {
	Topic    string `json:"topic"`
	Key      string `json:"key"`
	Cluster  string `json:"cluster"`
	Messages []struct {
		MsgID          string `json:"msgId"`
		OffsetID       string `json:"offsetId"`
		BrokerName     string `json:"brokerName"`
		Topic          string `json:"topic"`
		QueueID        int32  `json:"queueId"`
		QueueOffset    int64  `json:"queueOffset"`
		StoreTimestamp int64  `json:"storeTimestamp"`
		LMQOffset      *int64 `json:"lmqOffset"`
	} `json:"messages"`
	Errors []jsonFailure `json:"errors"`
}

type jsonReset struct {
	OpID          string `json:"opId"`
	Group         string `json:"group"`
	Topic         string `json:"topic"`
	Timestamp     int64  `json:"timestamp"`
	TimestampText string `json:"timestampText"`
	Force         bool   `json:"force"`
	DryRun        bool   `json:"dryRun"`
	Undo          string `json:"undo"`
	Queues        []struct {
		Topic      string `json:"topic"`
		BrokerName string `json:"brokerName"`
		QueueID    int32  `json:"queueId"`
		Old        int64  `json:"old"`
		New        int64  `json:"new"`
		Status     string `json:"status"`
		Reason     string `json:"reason"`
	} `json:"queues"`
	Errors []jsonFailure `json:"errors"`
}

// TestJSON checks the --json document of every operational command
// against what the fixture holds.
func TestJSON(t *testing.T) {
	f := newFixture(t)
	nowMs := f.now.UnixMilli()

	// Store times, to check times and lags against.
	store := map[string]int64{}
	for i, m := range f.msgs {
		var ms jsonMessages
		f.runJSON(t, &ms, 0, "queryMsgByUniqueKey", "-t", topic, "-i", m.UniqKey)
		if len(ms.Messages) != 1 || ms.Messages[0].StoreTimestamp <= 0 || ms.Messages[0].StoreTimestamp > nowMs {
			t.Fatalf("m%d: %+v", i+1, ms)
		}
		store[m.UniqKey] = ms.Messages[0].StoreTimestamp
	}
	m1, m2, m3, m4 := f.msgs[0], f.msgs[1], f.msgs[2], f.msgs[3]

	t.Run("topicStatus", func(t *testing.T) {
		var ts jsonTopicStatus
		f.runJSON(t, &ts, 0, "topicStatus", "-t", topic)
		if ts.Topic != topic || len(ts.Queues) != 4 {
			t.Fatalf("%+v", ts)
		}
		for i, q := range ts.Queues {
			wantBroker := []string{"broker-a", "broker-a", "broker-b", "broker-b"}[i]
			if q.Topic != topic || q.BrokerName != wantBroker || q.QueueID != int32(i%2) || q.MinOffset != 0 || q.MaxOffset != 1 || q.LastUpdated <= 0 {
				t.Errorf("queue %d: %+v", i, q)
			}
		}
		if want := store[m2.UniqKey]; ts.Queues[1].LastUpdated != want {
			t.Errorf("broker-a q1 last updated %d, want m2's store time %d", ts.Queues[1].LastUpdated, want)
		}

		for _, args := range [][]string{{"-t", lmq2}, {"-t", lmq2, "-c", topic}, {"-t", lmq2, "-c", cluster}} {
			var ls jsonTopicStatus
			f.runJSON(t, &ls, 0, append([]string{"topicStatus"}, args...)...)
			if len(ls.Queues) != 2 || ls.Queues[0].BrokerName != "broker-a" || ls.Queues[1].BrokerName != "broker-b" {
				t.Fatalf("%v: %+v", args, ls)
			}
			for _, q := range ls.Queues {
				if q.Topic != lmq2 || q.QueueID != 0 || q.MaxOffset != 1 {
					t.Errorf("%v: %+v", args, q)
				}
			}
		}
		var l1 jsonTopicStatus
		f.runJSON(t, &l1, 0, "topicStatus", "-t", lmq1)
		if len(l1.Queues) != 1 || l1.Queues[0].BrokerName != "broker-a" || l1.Queues[0].MaxOffset != 2 || l1.Queues[0].LastUpdated != store[m2.UniqKey] {
			t.Fatalf("%+v", l1)
		}
	})

	t.Run("consumerProgress", func(t *testing.T) {
		var p jsonProgress
		f.runJSON(t, &p, 0, "consumerProgress", "-g", groupA, "-t", topic)
		if p.Group != groupA || len(p.Queues) != 4 || p.DiffTotal != 2 || p.InflightTotal != 0 {
			t.Fatalf("%+v", p)
		}
		wantConsumer := []int64{1, 0, 0, 1}
		wantFirst := []string{"", m2.UniqKey, m3.UniqKey, ""}
		for i, q := range p.Queues {
			if q.ConsumerOffset != wantConsumer[i] || q.BrokerOffset != 1 || q.Diff != 1-wantConsumer[i] {
				t.Errorf("queue %d: %+v", i, q)
			}
			if q.LagMillis == nil {
				t.Fatalf("queue %d: no lag", i)
			}
			wantLag := int64(0)
			if wantFirst[i] != "" {
				wantLag = nowMs - store[wantFirst[i]]
			}
			if *q.LagMillis != wantLag {
				t.Errorf("queue %d: lag %d, want %d", i, *q.LagMillis, wantLag)
			}
		}
		if p.Queues[0].LastTimestamp != store[m1.UniqKey] || p.Queues[1].LastTimestamp != 0 {
			t.Errorf("last timestamps %d %d", p.Queues[0].LastTimestamp, p.Queues[1].LastTimestamp)
		}

		for _, args := range [][]string{{"-t", lmq1}, {"-t", lmq1, "-c", topic}} {
			var lp jsonProgress
			f.runJSON(t, &lp, 0, append([]string{"consumerProgress", "-g", groupLMQ}, args...)...)
			if len(lp.Queues) != 1 {
				t.Fatalf("%v: %+v", args, lp)
			}
			q := lp.Queues[0]
			if q.Topic != lmq1 || q.BrokerName != "broker-a" || q.BrokerOffset != 2 || q.ConsumerOffset != 1 ||
				q.LagMillis == nil || *q.LagMillis != nowMs-store[m2.UniqKey] || q.LastTimestamp != store[m1.UniqKey] {
				t.Errorf("%v: %+v", args, q)
			}
		}

		var list struct {
			Groups []struct {
				Group     string `json:"group"`
				Count     int    `json:"count"`
				Version   string `json:"version"`
				Type      string `json:"type"`
				Model     string `json:"model"`
				Tps       int64  `json:"tps"`
				DiffTotal int64  `json:"diffTotal"`
			} `json:"groups"`
		}
		f.runJSON(t, &list, 0, "consumerProgress")
		if len(list.Groups) != 1 || list.Groups[0].Group != groupA || list.Groups[0].Count != 1 ||
			list.Groups[0].Type != "PUSH" || list.Groups[0].Model != "CLUSTERING" || list.Groups[0].DiffTotal != 2 {
			t.Fatalf("%+v", list)
		}
	})

	t.Run("queryMsgByKey", func(t *testing.T) {
		var k jsonKeyQuery
		f.runJSON(t, &k, 0, "queryMsgByKey", "-t", topic, "-k", "shared")
		if len(k.Messages) != 4 {
			t.Fatalf("%+v", k)
		}
		for i, m := range k.Messages {
			if m.MsgID != f.msgs[i].UniqKey || m.OffsetID != f.msgs[i].MsgID || m.BrokerName != f.msgs[i].broker || m.LMQOffset != nil {
				t.Errorf("message %d: %+v", i, m)
			}
		}
		var two jsonKeyQuery
		f.runJSON(t, &two, 0, "queryMsgByKey", "-t", topic, "-k", "shared", "-m", "2")
		if len(two.Messages) != 2 || two.Messages[0].MsgID != m1.UniqKey || two.Messages[1].MsgID != m2.UniqKey {
			t.Fatalf("-m 2: %+v", two)
		}
		for _, args := range [][]string{{"-t", lmq2}, {"-t", lmq2, "-c", topic}} {
			var l jsonKeyQuery
			f.runJSON(t, &l, 0, append([]string{"queryMsgByKey", "-k", "shared"}, args...)...)
			if len(l.Messages) != 2 || l.Messages[0].MsgID != m2.UniqKey || l.Messages[1].MsgID != m3.UniqKey {
				t.Fatalf("%v: %+v", args, l)
			}
			for _, m := range l.Messages {
				if m.Topic != topic || m.LMQOffset == nil || *m.LMQOffset != 0 {
					t.Errorf("%v: %+v", args, m)
				}
			}
		}
		stdout, _, code := f.run("queryMsgByKey", "-t", lmq1, "-k", "k4", "--json")
		if code != 3 || stdout != "" {
			t.Fatalf("key in no message of the LMQ: exit %d, stdout %q", code, stdout)
		}
	})

	t.Run("queryMsgByUniqueKey", func(t *testing.T) {
		var ms jsonMessages
		f.runJSON(t, &ms, 0, "queryMsgByUniqueKey", "-t", lmq1, "-i", m2.UniqKey)
		if len(ms.Messages) != 1 {
			t.Fatalf("%+v", ms)
		}
		m := ms.Messages[0]
		if m.MsgID != m2.UniqKey || m.OffsetID != m2.MsgID || m.Topic != topic || m.Tags != "TagB" || m.Keys != "k2 shared" ||
			m.QueueID != 1 || m.QueueOffset != 0 || m.BrokerName != "broker-a" || m.StoreHost != f.addrs["broker-a"] {
			t.Errorf("%+v", m)
		}
		if len(m.LMQOffsets) != 2 || m.LMQOffsets[0].Queue != lmq1 || m.LMQOffsets[0].Offset != 1 ||
			m.LMQOffsets[1].Queue != lmq2 || m.LMQOffsets[1].Offset != 0 {
			t.Errorf("LMQ offsets %+v", m.LMQOffsets)
		}
		body, err := os.ReadFile(m.BodyPath)
		if err != nil || string(body) != "body-2" || !strings.HasPrefix(m.BodyPath, f.tmp) {
			t.Errorf("body file %s: %q %v", m.BodyPath, body, err)
		}
		tracks := map[string]string{}
		for _, tr := range m.Tracks {
			tracks[tr.ConsumerGroup] = tr.TrackType
		}
		if tracks[groupA] != "NOT_CONSUME_YET" || tracks[groupLMQ] != "NOT_ONLINE" || len(tracks) != 2 {
			t.Errorf("tracks %+v", m.Tracks)
		}

		var c1 jsonMessages
		f.runJSON(t, &c1, 0, "queryMsgByUniqueKey", "-t", topic, "-i", m1.UniqKey)
		if len(c1.Messages) != 1 || len(c1.Messages[0].Tracks) != 1 || c1.Messages[0].Tracks[0].TrackType != "CONSUMED" {
			t.Errorf("m1 tracks: %+v", c1)
		}
	})

	t.Run("queryMsgById", func(t *testing.T) {
		var ms jsonMessages
		f.runJSON(t, &ms, 0, "queryMsgById", "-t", topic, "-i", m1.MsgID+","+m3.UniqKey, "-f", "UTF-8")
		if len(ms.Messages) != 2 || len(ms.NotFound) != 0 {
			t.Fatalf("%+v", ms)
		}
		if ms.Messages[0].MsgID != m1.UniqKey || ms.Messages[0].OffsetID != m1.MsgID || ms.Messages[0].Body == nil || *ms.Messages[0].Body != "body-1" {
			t.Errorf("by offset id: %+v", ms.Messages[0])
		}
		if ms.Messages[1].MsgID != m3.UniqKey || ms.Messages[1].BrokerName != "broker-b" || *ms.Messages[1].Body != "body-3" {
			t.Errorf("by unique key: %+v", ms.Messages[1])
		}

		var partial jsonMessages
		f.runJSON(t, &partial, 3, "queryMsgById", "-t", topic, "-i", m4.MsgID+",0A0000010000000000000000000000FF")
		if len(partial.Messages) != 1 || partial.Messages[0].MsgID != m4.UniqKey ||
			len(partial.NotFound) != 1 || partial.NotFound[0] != "0A0000010000000000000000000000FF" {
			t.Errorf("%+v", partial)
		}
	})

	t.Run("resetOffsetByTime", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		offsets := func() []int64 {
			var out []int64
			for _, q := range []struct {
				broker string
				queue  int32
			}{{"broker-a", 0}, {"broker-a", 1}, {"broker-b", 0}, {"broker-b", 1}} {
				off, err := f.c.QueryConsumerOffset(ctx, f.addrs[q.broker], groupA, topic, q.queue)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, off)
			}
			return out
		}
		equal := slices.Equal[[]int64]
		before := []int64{1, 0, 0, 1}
		if got := offsets(); !equal(got, before) {
			t.Fatalf("offsets before %v", got)
		}

		var dry jsonReset
		f.runJSON(t, &dry, 0, "resetOffsetByTime", "-g", groupA, "-t", topic, "-s", "0", "--dry-run")
		if !dry.DryRun || len(dry.Queues) != 4 || dry.Queues[0].Status != "planned" || dry.Queues[1].Status != "unchanged" {
			t.Fatalf("dry run: %+v", dry)
		}
		if got := offsets(); !equal(got, before) {
			t.Fatalf("dry run changed offsets: %v", got)
		}

		var r jsonReset
		f.runJSON(t, &r, 0, "resetOffsetByTime", "-g", groupA, "-t", topic, "-s", "0")
		if r.OpID == "" || r.Group != groupA || r.Topic != topic || r.Timestamp != 0 || r.TimestampText != "0" || !r.Force || len(r.Queues) != 4 {
			t.Fatalf("%+v", r)
		}
		for i, q := range r.Queues {
			if q.Old != before[i] || q.New != 0 {
				t.Errorf("queue %d: %+v", i, q)
			}
		}
		if got := offsets(); !equal(got, []int64{0, 0, 0, 0}) {
			t.Fatalf("offsets after reset %v", got)
		}

		var undo jsonReset
		f.runJSON(t, &undo, 0, "resetOffsetByTime", "--undo", r.OpID)
		if undo.Undo != r.OpID || undo.OpID == r.OpID || len(undo.Queues) == 0 {
			t.Fatalf("undo: %+v", undo)
		}
		for _, q := range undo.Queues {
			i := int(q.QueueID)
			if q.BrokerName == "broker-b" {
				i += 2
			}
			if q.Topic != topic || q.New != before[i] {
				t.Errorf("undo queue %+v, want new %d", q, before[i])
			}
		}
		if got := offsets(); !equal(got, before) {
			t.Fatalf("offsets after undo %v, want %v", got, before)
		}

		var lmq jsonReset
		f.runJSON(t, &lmq, 0, "resetOffsetByTime", "-g", groupLMQ, "-t", lmq1, "-s", "now")
		if len(lmq.Queues) != 1 || lmq.Queues[0].BrokerName != "broker-a" || lmq.Queues[0].Old != 1 || lmq.Queues[0].New != 2 {
			t.Fatalf("LMQ reset: %+v", lmq)
		}
		if off, err := f.c.QueryConsumerOffset(ctx, f.addrs["broker-a"], groupLMQ, lmq1, 0); err != nil || off != 2 {
			t.Fatalf("LMQ offset after reset: %d %v", off, err)
		}

		var one jsonReset
		f.runJSON(t, &one, 0, "resetOffsetByTime", "-g", groupA, "-t", topic, "-s", "now", "-b", "broker-b", "-q", "1", "-o", "0")
		if len(one.Queues) != 1 || one.Queues[0].BrokerName != "broker-b" || one.Queues[0].QueueID != 1 || one.Queues[0].New != 0 {
			t.Fatalf("one queue: %+v", one)
		}
	})

	t.Run("namesrv", func(t *testing.T) {
		// $NAMESRV_ADDR when -n is absent.
		var out bytes.Buffer
		code := admin.Run(context.Background(), []string{"topicList"}, admin.IO{
			Stdout: &out, Stderr: &out,
			Getenv: func(k string) string {
				if k == "NAMESRV_ADDR" {
					return f.cl.NamesrvAddr
				}
				return ""
			},
		})
		if code != 0 || !strings.Contains(out.String(), topic+"\n") {
			t.Fatalf("NAMESRV_ADDR: exit %d\n%s", code, out.String())
		}
		// A list: a dead name server first, then the live one.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		dead := ln.Addr().String()
		ln.Close()
		stdout, stderr, code := runAdmin(f.now, "topicStatus", "-n", dead+";"+f.cl.NamesrvAddr, "-t", lmq1)
		if code != 0 || !strings.Contains(stdout, "broker-a") {
			t.Fatalf("-n list: exit %d\n%s%s", code, stdout, stderr)
		}
	})

	t.Run("alongside", func(t *testing.T) {
		var st struct {
			Brokers []struct {
				BrokerName string            `json:"brokerName"`
				Addr       string            `json:"addr"`
				Runtime    map[string]string `json:"runtime"`
			} `json:"brokers"`
		}
		f.runJSON(t, &st, 0, "brokerStatus", "-b", f.addrs["broker-a"])
		if len(st.Brokers) != 1 || st.Brokers[0].Runtime["brokerVersionDesc"] != "V5_3_3" || st.Brokers[0].Runtime["lmqCount"] != "2" {
			t.Fatalf("%+v", st)
		}
		stdout, _, code := f.run("brokerStatus", "-c", cluster)
		if code != 0 || strings.Count(stdout, "lmqCount") != 2 || !strings.Contains(stdout, f.addrs["broker-b"]) {
			t.Fatalf("brokerStatus -c: exit %d\n%s", code, stdout)
		}

		var cl struct {
			Brokers []struct {
				Cluster    string            `json:"cluster"`
				BrokerName string            `json:"brokerName"`
				BrokerID   int64             `json:"brokerId"`
				Addr       string            `json:"addr"`
				Runtime    map[string]string `json:"runtime"`
			} `json:"brokers"`
		}
		f.runJSON(t, &cl, 0, "clusterList")
		if len(cl.Brokers) != 2 || cl.Brokers[1].BrokerName != "broker-b" || cl.Brokers[1].Addr != f.addrs["broker-b"] || cl.Brokers[1].Runtime == nil {
			t.Fatalf("%+v", cl)
		}

		var lmqs struct {
			Prefix  string `json:"prefix"`
			Brokers []struct {
				BrokerName string `json:"brokerName"`
				Addr       string `json:"addr"`
				Count      int64  `json:"count"`
				LMQs       []struct {
					Name      string `json:"name"`
					FirstSeen int64  `json:"firstSeen"`
				} `json:"lmqs"`
				More bool `json:"more"`
			} `json:"brokers"`
		}
		f.runJSON(t, &lmqs, 0, "lmqList", "-c", cluster, "-p", lmq2)
		if len(lmqs.Brokers) != 2 || len(lmqs.Brokers[0].LMQs) != 1 || lmqs.Brokers[0].LMQs[0].Name != lmq2 ||
			lmqs.Brokers[0].Count != 2 || lmqs.Brokers[1].Count != 1 || lmqs.Brokers[0].More {
			t.Fatalf("%+v", lmqs)
		}

		var sent struct {
			BrokerName  string `json:"brokerName"`
			QueueID     int32  `json:"queueId"`
			QueueOffset int64  `json:"queueOffset"`
			SendStatus  string `json:"sendStatus"`
			MsgID       string `json:"msgId"`
			OffsetID    string `json:"offsetId"`
		}
		f.runJSON(t, &sent, 0, "sendMessage", "-t", sendTopic, "-p", "hi", "-k", "sk1", "-c", "T", "-b", "broker-a", "-i", "1")
		if sent.BrokerName != "broker-a" || sent.QueueID != 1 || sent.QueueOffset != 0 || sent.SendStatus != "SEND_OK" {
			t.Fatalf("%+v", sent)
		}
		clienttest.Poll(t, 10*time.Second, func() bool {
			var ms jsonMessages
			stdout, _, code := f.run("queryMsgByUniqueKey", "-t", sendTopic, "-i", sent.MsgID, "--json")
			if code != 0 || json.Unmarshal([]byte(stdout), &ms) != nil || len(ms.Messages) != 1 {
				return false
			}
			m := ms.Messages[0]
			return m.Keys == "sk1" && m.Tags == "T" && m.OffsetID == sent.OffsetID && m.BornTimestamp == f.now.UnixMilli()
		})

		var ut struct {
			Brokers []string `json:"brokers"`
			Config  struct {
				TopicName      string            `json:"topicName"`
				ReadQueueNums  int32             `json:"readQueueNums"`
				WriteQueueNums int32             `json:"writeQueueNums"`
				Perm           int32             `json:"perm"`
				Filter         string            `json:"topicFilterType"`
				SysFlag        int32             `json:"topicSysFlag"`
				Order          bool              `json:"order"`
				Attributes     map[string]string `json:"attributes"`
			} `json:"topicConfig"`
		}
		f.runJSON(t, &ut, 0, "updateTopic", "-t", "JSONTopic", "-c", cluster, "-w", "3", "-r", "3")
		if len(ut.Brokers) != 2 || ut.Config.TopicName != "JSONTopic" || ut.Config.WriteQueueNums != 3 || ut.Config.Perm != 6 {
			t.Fatalf("%+v", ut)
		}
		var route struct {
			BrokerDatas []struct {
				BrokerAddrs        map[string]string `json:"brokerAddrs"`
				BrokerName         string            `json:"brokerName"`
				Cluster            string            `json:"cluster"`
				EnableActingMaster bool              `json:"enableActingMaster"`
			} `json:"brokerDatas"`
			FilterServerTable map[string]string `json:"filterServerTable"`
			QueueDatas        []struct {
				BrokerName     string `json:"brokerName"`
				Perm           int32  `json:"perm"`
				ReadQueueNums  int32  `json:"readQueueNums"`
				TopicSysFlag   int32  `json:"topicSysFlag"`
				WriteQueueNums int32  `json:"writeQueueNums"`
			} `json:"queueDatas"`
		}
		clienttest.Poll(t, 10*time.Second, func() bool {
			stdout, _, code := f.run("topicRoute", "-t", "JSONTopic", "--json")
			return code == 0 && json.Unmarshal([]byte(stdout), &route) == nil && len(route.QueueDatas) == 2
		})
		if route.BrokerDatas[0].BrokerAddrs["0"] != f.addrs["broker-a"] || route.QueueDatas[1].WriteQueueNums != 3 {
			t.Fatalf("%+v", route)
		}
		var tl struct {
			Topics []string `json:"topics"`
		}
		f.runJSON(t, &tl, 0, "topicList")
		if !slices.Contains(tl.Topics, "JSONTopic") || !slices.Contains(tl.Topics, topic) {
			t.Fatalf("%+v", tl)
		}
		var dt struct {
			Topic    string   `json:"topic"`
			Cluster  string   `json:"cluster"`
			Brokers  []string `json:"brokers"`
			Namesrvs []string `json:"namesrvs"`
		}
		f.runJSON(t, &dt, 0, "deleteTopic", "-t", "JSONTopic", "-c", cluster)
		if len(dt.Brokers) != 2 || len(dt.Namesrvs) != 1 || dt.Namesrvs[0] != f.cl.NamesrvAddr {
			t.Fatalf("%+v", dt)
		}
		clienttest.Poll(t, 10*time.Second, func() bool {
			_, _, code := f.run("topicRoute", "-t", "JSONTopic")
			return code == 3
		})

		var cc struct {
			Group  string `json:"group"`
			Broker struct {
				BrokerName string `json:"brokerName"`
				Cluster    string `json:"cluster"`
				Addr       string `json:"addr"`
			} `json:"broker"`
			Connections []struct {
				ClientID   string `json:"clientId"`
				ClientAddr string `json:"clientAddr"`
				Language   string `json:"language"`
				Version    string `json:"version"`
			} `json:"connections"`
			Subscriptions []struct {
				Topic         string `json:"topic"`
				SubExpression string `json:"subExpression"`
			} `json:"subscriptions"`
			ConsumeType      string `json:"consumeType"`
			MessageModel     string `json:"messageModel"`
			ConsumeFromWhere string `json:"consumeFromWhere"`
		}
		f.runJSON(t, &cc, 0, "consumerConnection", "-g", groupA)
		if len(cc.Connections) != 1 || cc.Connections[0].ClientID != "127.0.0.1@fixture" || cc.Connections[0].Version != "V5_3_3" ||
			len(cc.Subscriptions) != 1 || cc.Subscriptions[0].Topic != topic || cc.ConsumeType != "CONSUME_PASSIVELY" {
			t.Fatalf("%+v", cc)
		}

		var ug struct {
			Brokers []string       `json:"brokers"`
			Config  map[string]any `json:"groupConfig"`
		}
		f.runJSON(t, &ug, 0, "updateSubGroup", "-g", "JSONGroup", "-c", cluster, "-r", "5", "-o", "true")
		if len(ug.Brokers) != 2 || ug.Config["retryMaxTimes"] != 5.0 || ug.Config["consumeMessageOrderly"] != true || ug.Config["consumeBroadcastEnable"] != false {
			t.Fatalf("%+v", ug)
		}
		var dg struct {
			Group   string   `json:"group"`
			Cluster string   `json:"cluster"`
			Brokers []string `json:"brokers"`
		}
		f.runJSON(t, &dg, 0, "deleteSubGroup", "-g", "JSONGroup", "-b", f.addrs["broker-a"])
		if len(dg.Brokers) != 1 || dg.Brokers[0] != f.addrs["broker-a"] || dg.Cluster != "" {
			t.Fatalf("%+v", dg)
		}
	})
}

// TestExitCodes checks failure against not-found against bad usage
// without a cluster.
func TestExitCodes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	now := time.Now()
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"topicStatus", "-n", dead, "-t", "T"}, 1, "name server"},
		{[]string{"queryMsgByKey", "-n", dead, "-t", "%LMQ%x", "-k", "k"}, 1, "connection refused"},
		{[]string{"consumerProgress", "-n", dead}, 1, "name server"},
		{[]string{"brokerStatus", "-b", dead}, 1, dead},
		{[]string{"topicStatus", "-t", "T"}, 2, "NAMESRV_ADDR"},
		{[]string{"topicStatus", "-n", dead}, 2, "-t/--topic"},
		{[]string{"topicStatus", "-n", dead, "-t", "T", "--nope"}, 2, "unknown flag"},
		{[]string{"noSuchCommand"}, 2, "unknown command"},
		{[]string{"topicStatus", "-n", dead, "-t", "T", "extra"}, 2, "unknown command"},
		{[]string{"queryMsgByKey", "-n", dead, "-t", "T", "-k", "k", "-m", "x"}, 2, "maxNum"},
		{[]string{"resetOffsetByTime", "-n", dead, "-g", "G", "-t", "T", "-s", "now", "-q", "1"}, 2, "-b/--broker"},
		{[]string{"queryMsgById", "-n", dead, "-t", "T", "-i", "X", "-f", "GBK"}, 2, "UTF-8"},
		{[]string{"lmqList", "-n", dead, "-l", "-1"}, 2, "negative"},
	} {
		stdout, stderr, code := runAdmin(now, c.args...)
		if code != c.code || !strings.Contains(stderr, c.stderr) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q (stdout %q)", c.args, code, stderr, c.code, c.stderr, stdout)
		}
	}
	// Help is not an error.
	stdout, _, code := runAdmin(now, "resetOffsetByTime", "-h")
	if code != 0 || !strings.Contains(stdout, "--dry-run") || !strings.Contains(stdout, "-s, --timestamp") {
		t.Errorf("help: exit %d\n%s", code, stdout)
	}
}

// TestPartialFailure adds a busy broker to a one-broker cluster: the
// command prints what the healthy broker answered, names the busy one on
// stderr as rate limited, and exits 1.
func TestPartialFailure(t *testing.T) {
	cl := clienttest.StartCluster(t, 1)
	f := &fixture{t: t, cl: cl, now: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// broker-z answers every request SYSTEM_BUSY.
	const part = "PartTopic"
	busyFn := func(context.Context, *remoting.Conn, *remoting.Command) (*remoting.Command, error) {
		return nil, remoting.Fail(protocol.SystemBusy, "[TIMEOUT_CLEAN_QUEUE]broker busy, period in queue: 210ms")
	}
	busy := fakeBroker(t, ctx, cl.NamesrvAddr, "broker-z", part, map[protocol.RequestCode]remoting.ProcessorFunc{
		protocol.GetTopicStatsInfo: busyFn, protocol.QueryMessage: busyFn,
	})

	stdout, stderr, code := f.run("updateTopic", "-t", part, "-b", cl.Brokers[0].BrokerAddr, "-w", "1", "-r", "1")
	if code != 0 {
		t.Fatalf("updateTopic: %d %s %s", code, stdout, stderr)
	}
	clienttest.Poll(t, 10*time.Second, func() bool {
		stdout, _, code := f.run("topicRoute", "-t", part, "-l")
		return code == 0 && strings.Contains(stdout, "broker-a") && strings.Contains(stdout, "broker-z")
	})

	stdout, stderr, code = f.run("topicStatus", "-t", part)
	wantErr := "topicStatus: broker broker-z (" + busy + "): rate limited (SYSTEM_BUSY), try again later: [TIMEOUT_CLEAN_QUEUE]"
	if code != 1 || !strings.Contains(stdout, "broker-a") || strings.Contains(stdout, "broker-z") ||
		!strings.HasPrefix(stderr, wantErr) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	var ts jsonTopicStatus
	stdout, _, code = f.run("topicStatus", "-t", part, "--json")
	if code != 1 || json.Unmarshal([]byte(stdout), &ts) != nil || len(ts.Queues) != 1 || len(ts.Errors) != 1 ||
		ts.Errors[0].BrokerName != "broker-z" || ts.Errors[0].Addr != busy || !strings.HasPrefix(ts.Errors[0].Error, "rate limited") {
		t.Fatalf("json: exit %d %s", code, stdout)
	}

	// Only the busy broker could have the LMQ: a failure, not "not found".
	_, stderr, code = f.run("topicStatus", "-t", "%LMQ%gone")
	if code != 1 || !strings.Contains(stderr, "broker-z") {
		t.Fatalf("LMQ on a busy cluster: exit %d, stderr %q", code, stderr)
	}
}

// fakeBroker serves handlers on a loopback port, registered with the name
// server as broker name of DefaultCluster holding topic (one queue). Codes
// without a handler answer REQUEST_CODE_NOT_SUPPORTED, as an Apache
// RocketMQ broker answers Bolide's own codes.
func fakeBroker(t *testing.T, ctx context.Context, namesrv, name, topic string, handlers map[protocol.RequestCode]remoting.ProcessorFunc) string {
	t.Helper()
	srv := remoting.NewServer(remoting.ServerConfig{})
	for code, fn := range handlers {
		srv.Register(int32(code), fn)
	}
	ln, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
	})
	addr := ln.String()
	rb := body.RegisterBrokerBody{FilterServerList: []string{}}
	rb.TopicConfigSerializeWrapper.TopicConfigTable = map[string]body.TopicConfig{
		topic: {TopicName: topic, ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6},
	}
	payload := rb.Encode()
	h := protocol.RegisterBrokerRequestHeader{
		BrokerName: name, BrokerAddr: addr, ClusterName: cluster, HAServerAddr: addr,
		BodyCrc32: int32(crc32.ChecksumIEEE(payload) & 0x7FFFFFFF),
	}
	rc := remoting.NewClient(remoting.ClientConfig{})
	t.Cleanup(func() { _ = rc.Close() })
	resp, err := rc.Invoke(ctx, namesrv, remoting.NewRequest(int32(protocol.RegisterBroker), protocol.EncodeHeader(&h), payload))
	if err != nil || resp.Code != int32(protocol.Success) {
		t.Fatalf("register %s: %v %v", name, err, resp)
	}
	return addr
}

// TestApacheFallback resets on a broker that does not know
// BOLIDE_RESET_OFFSET (an Apache RocketMQ broker): the command falls back
// to INVOKE_BROKER_TO_RESET_OFFSET there, and refuses --dry-run.
func TestApacheFallback(t *testing.T) {
	cl := clienttest.StartCluster(t, 1)
	f := &fixture{t: t, cl: cl, now: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const apacheTopic = "ApacheTopic"
	var mu sync.Mutex // the handlers run on the server's goroutines
	var got protocol.ResetOffsetRequestHeader
	var queried []string // QUERY_MESSAGE topics, in order
	// Two messages of the parent topic with the key, one dispatched to the
	// LMQ: an Apache broker indexes both under the parent only.
	var records []byte
	for i, dispatch := range []string{"%LMQ%apache", ""} {
		m := &message.Message{
			Topic: apacheTopic, Body: []byte("b"), StoreTimestamp: 1700000000000 + int64(i),
			Properties: message.Properties{message.PropertyKeys: "ak", message.PropertyUniqKey: fmt.Sprintf("%032X", i+1)},
			BornHost:   netip.MustParseAddrPort("127.0.0.1:1"), StoreHost: netip.MustParseAddrPort("127.0.0.1:2"),
			QueueOffset: int64(i),
		}
		if dispatch != "" {
			m.Properties[message.PropertyInnerMultiDispatch] = dispatch
			m.Properties[message.PropertyInnerMultiQueueOffset] = "0"
		}
		rec, err := message.Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, rec...)
	}
	fakeBroker(t, ctx, cl.NamesrvAddr, "broker-apache", apacheTopic, map[protocol.RequestCode]remoting.ProcessorFunc{
		protocol.QueryMessage: func(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			var h protocol.QueryMessageRequestHeader
			if err := remoting.DecodeHeader(req, &h); err != nil {
				return nil, err
			}
			mu.Lock()
			queried = append(queried, h.Topic)
			mu.Unlock()
			if h.Topic != apacheTopic || h.Key != "ak" {
				return nil, remoting.Fail(protocol.QueryNotFound, "can not find message, maybe time range not correct")
			}
			resp := remoting.Success(req)
			resp.ExtFields = protocol.EncodeHeader(&protocol.QueryMessageResponseHeader{})
			resp.Body = records
			return resp, nil
		},
		protocol.InvokeBrokerToResetOffset: func(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			var h protocol.ResetOffsetRequestHeader
			if err := remoting.DecodeHeader(req, &h); err != nil {
				return nil, err
			}
			mu.Lock()
			got = h
			mu.Unlock()
			resp := remoting.Success(req)
			rb := body.ResetOffsetBody{OffsetTable: map[body.MessageQueue]int64{
				{Topic: h.Topic, BrokerName: "broker-apache", QueueID: 0}: 42,
			}}
			resp.Body = rb.Encode()
			return resp, nil
		},
	})
	clienttest.Poll(t, 10*time.Second, func() bool {
		_, _, code := f.run("topicRoute", "-t", apacheTopic)
		return code == 0
	})

	var r jsonReset
	f.runJSON(t, &r, 0, "resetOffsetByTime", "-g", "G", "-t", apacheTopic, "-s", "1700000000000", "-f", "false")
	mu.Lock()
	req := got
	mu.Unlock()
	if req.Topic != apacheTopic || req.Group != "G" || req.Timestamp != 1700000000000 || req.IsForce {
		t.Fatalf("request %+v", req)
	}
	if len(r.Queues) != 1 || r.Queues[0].BrokerName != "broker-apache" || r.Queues[0].New != 42 || r.Queues[0].Old != -1 ||
		r.Queues[0].Status != "applied" || !strings.Contains(r.Queues[0].Reason, "Apache RocketMQ") || r.Force {
		t.Fatalf("%+v", r)
	}
	_, stderr, code := f.run("resetOffsetByTime", "-g", "G", "-t", apacheTopic, "-s", "now", "--dry-run")
	if code != 1 || !strings.Contains(stderr, "broker broker-apache") || !strings.Contains(stderr, "--dry-run") {
		t.Fatalf("dry run on an Apache broker: exit %d, %q", code, stderr)
	}

	// An LMQ key query with -c <parent>: the Apache broker finds nothing
	// under the LMQ's name, so it is asked for the parent's messages, and
	// only the one dispatched to the LMQ is kept.
	var k jsonKeyQuery
	f.runJSON(t, &k, 0, "queryMsgByKey", "-t", "%LMQ%apache", "-k", "ak", "-c", apacheTopic)
	if len(k.Messages) != 1 || k.Messages[0].MsgID != fmt.Sprintf("%032X", 1) || k.Messages[0].LMQOffset == nil || *k.Messages[0].LMQOffset != 0 {
		t.Fatalf("%+v", k)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(queried, []string{"%LMQ%apache", apacheTopic}) {
		t.Fatalf("queried topics %q", queried)
	}
}
