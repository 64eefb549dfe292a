package admin_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/admin"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Names of the fixture's cluster.
const (
	topic     = "TopicTest"
	sendTopic = "SendTopic"
	lmq1      = "%LMQ%room1" // on broker-a only (m1, m2)
	lmq2      = "%LMQ%room2" // on both brokers (m2 on a, m3 on b)
	groupA    = "GroupA"     // online push consumer of TopicTest
	groupLMQ  = "GroupLMQ"   // offline, consumes lmq1 on broker-a
	cluster   = "DefaultCluster"
)

// sentMsg is one message the fixture sent.
type sentMsg struct {
	client.SendResult
	broker string // broker name
}

// fixture is a two-broker cluster with LMQs on, holding four messages of
// TopicTest:
//
//	m1  broker-a q0  keys "k1 shared"  tags TagA  -> lmq1
//	m2  broker-a q1  keys "k2 shared"  tags TagB  -> lmq1, lmq2
//	m3  broker-b q0  keys "k3 shared"  tags TagA  -> lmq2
//	m4  broker-b q1  keys "shared"     tags TagB
//
// GroupA has consumed m1 and m4 and has a push consumer online on both
// brokers; GroupLMQ has consumed m1 in lmq1 and is offline.
type fixture struct {
	t       *testing.T
	cl      *clienttest.Cluster
	c       *client.Client
	addrs   map[string]string // broker name -> address
	msgs    []sentMsg
	tmp     string
	replace []replacement
	// lastOp is the last reset operation id a run printed ({lastop}).
	lastOp string
	// now is the clock of every run: an hour after the fixture was set
	// up, so "now" resets to the end, lags are positive and the last three
	// days (queryMsgById's unique-key window) hold every message.
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	cl := clienttest.StartCluster(t, 2, func(c *config.Broker) {
		c.EnableLmq = true
		c.EnableMultiDispatch = true
		// No lag sampling during the run: #Status stays "-" whatever the
		// run's duration (lagadvice_test.go covers the evaluator).
		c.LagSampleIntervalSeconds = 3600
	})
	f := &fixture{t: t, cl: cl, addrs: map[string]string{}, now: time.Now().Add(time.Hour).UTC()}
	for _, b := range cl.Brokers {
		f.addrs[b.Broker.Name()] = b.BrokerAddr
	}
	f.c = client.New(client.Config{NamesrvAddrs: []string{cl.NamesrvAddr}})
	t.Cleanup(func() { _ = f.c.Close() })
	f.tmp = t.TempDir()
	t.Setenv("TMPDIR", f.tmp) // message bodies are written under os.TempDir()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tp := range []string{topic, sendTopic} {
		for _, b := range cl.Brokers {
			if err := f.c.CreateTopic(ctx, b.BrokerAddr, tp, 2); err != nil {
				t.Fatal(err)
			}
		}
		clienttest.Poll(t, 10*time.Second, func() bool {
			r, err := f.c.RefreshRoute(ctx, tp)
			return err == nil && len(r.Masters) == 2
		})
	}

	type spec struct {
		broker   string
		queue    int32
		keys     string
		tags     string
		dispatch string
	}
	for i, s := range []spec{
		{"broker-a", 0, "k1 shared", "TagA", lmq1},
		{"broker-a", 1, "k2 shared", "TagB", lmq1 + "," + lmq2},
		{"broker-b", 0, "k3 shared", "TagA", lmq2},
		{"broker-b", 1, "shared", "TagB", ""},
	} {
		props := message.Properties{message.PropertyKeys: s.keys, message.PropertyTags: s.tags}
		if s.dispatch != "" {
			props[message.PropertyInnerMultiDispatch] = s.dispatch
		}
		res, err := f.c.SendTo(ctx, f.addrs[s.broker], topic, s.queue, fmt.Appendf(nil, "body-%d", i+1), props)
		if err != nil {
			t.Fatalf("send m%d: %v", i+1, err)
		}
		f.msgs = append(f.msgs, sentMsg{SendResult: res, broker: s.broker})
	}
	// Wait for dispatch: consume queues, LMQs and the key index.
	clienttest.Poll(t, 10*time.Second, func() bool {
		for _, q := range []struct {
			broker, topic string
			queue         int32
			want          int64
		}{
			{"broker-a", lmq1, 0, 2}, {"broker-a", lmq2, 0, 1}, {"broker-b", lmq2, 0, 1},
			{"broker-a", topic, 1, 1}, {"broker-b", topic, 1, 1},
		} {
			if n, err := f.c.MaxOffset(ctx, f.addrs[q.broker], q.topic, q.queue); err != nil || n != q.want {
				return false
			}
		}
		for _, b := range []string{"broker-a", "broker-b"} {
			h := protocol.QueryMessageRequestHeader{Topic: topic, Key: "shared", MaxNum: 64, EndTimestamp: 1 << 62, UniqueKey: "false"}
			if ms, err := f.c.QueryMessage(ctx, f.addrs[b], h); err != nil || len(ms) != 2 {
				return false
			}
		}
		return true
	})

	for _, off := range []struct {
		broker, group, topic string
		queue                int32
		offset               int64
	}{
		{"broker-a", groupA, topic, 0, 1},
		{"broker-a", groupA, topic, 1, 0},
		{"broker-b", groupA, topic, 0, 0},
		{"broker-b", groupA, topic, 1, 1},
		{"broker-a", groupLMQ, lmq1, 0, 1},
	} {
		if err := f.c.UpdateConsumerOffset(ctx, f.addrs[off.broker], off.group, off.topic, off.queue, off.offset); err != nil {
			t.Fatalf("commit %+v: %v", off, err)
		}
	}
	f.heartbeat(ctx)

	f.replace = append(f.replace,
		replacement{regexp.QuoteMeta(cl.NamesrvAddr), "<namesrv>"},
		replacement{regexp.QuoteMeta(f.addrs["broker-a"]), "<broker-a>"},
		replacement{regexp.QuoteMeta(f.addrs["broker-b"]), "<broker-b>"},
		replacement{regexp.QuoteMeta(f.tmp), "<tmp>"},
		replacement{fmt.Sprint(f.now.UnixMilli()), "<now-ms>"},
	)
	for i, m := range f.msgs {
		f.replace = append(f.replace,
			replacement{m.UniqKey, fmt.Sprintf("<uniq-m%d>", i+1)},
			replacement{m.MsgID, fmt.Sprintf("<offset-m%d>", i+1)})
	}
	return f
}

// heartbeat registers an online push consumer of GroupA (subscribed to
// TopicTest) on every broker, through a connection kept until the test
// ends.
func (f *fixture) heartbeat(ctx context.Context) {
	rc := remoting.NewClient(remoting.ClientConfig{})
	f.t.Cleanup(func() { _ = rc.Close() })
	hb := body.HeartbeatData{
		ClientID: "127.0.0.1@fixture",
		ConsumerDataSet: []body.ConsumerData{{
			GroupName: groupA, ConsumeType: body.ConsumePassively, MessageModel: body.Clustering,
			ConsumeFromWhere: body.ConsumeFromLastOffset,
			SubscriptionDataSet: []body.SubscriptionData{{
				Topic: topic, SubString: "*", ExpressionType: body.ExpressionTag, SubVersion: 1,
			}},
		}},
	}
	for _, b := range f.cl.Brokers {
		resp, err := rc.Invoke(ctx, b.BrokerAddr, remoting.NewRequest(int32(protocol.HeartBeat), nil, hb.Encode()))
		if err != nil || resp.Code != int32(protocol.Success) {
			f.t.Fatalf("heartbeat to %s: %v %v", b.BrokerAddr, err, resp)
		}
	}
}

// run runs one command line against the fixture's name server, with the
// fixed clock and UTC.
func (f *fixture) run(args ...string) (stdout, stderr string, code int) {
	f.t.Helper()
	full := append([]string{args[0], "-n", f.cl.NamesrvAddr}, args[1:]...)
	stdout, stderr, code = runAdmin(f.now, full...)
	if ops := opIDPattern.FindAllString(stdout, -1); len(ops) > 0 {
		f.lastOp = ops[len(ops)-1]
	}
	return stdout, stderr, code
}

var opIDPattern = regexp.MustCompile(`\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}`)

func runAdmin(now time.Time, args ...string) (stdout, stderr string, code int) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code = admin.Run(ctx, args, admin.IO{
		Stdout: &out, Stderr: &errOut,
		Getenv:   func(string) string { return "" },
		Now:      func() time.Time { return now },
		Location: time.UTC,
	})
	return out.String(), errOut.String(), code
}

// expand replaces {m1}..{m4} (unique keys), {offset-m1}.. (offset ids),
// {broker-a}/{broker-b} (addresses) and {lastop} (the last reset
// operation id printed) in args.
func (f *fixture) expand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for j, m := range f.msgs {
			a = strings.ReplaceAll(a, fmt.Sprintf("{offset-m%d}", j+1), m.MsgID)
			a = strings.ReplaceAll(a, fmt.Sprintf("{m%d}", j+1), m.UniqKey)
		}
		a = strings.ReplaceAll(a, "{lastop}", f.lastOp)
		for name, addr := range f.addrs {
			a = strings.ReplaceAll(a, "{"+name+"}", addr)
		}
		out[i] = a
	}
	return out
}

// replacement is one normalisation: a regular expression and what
// replaces it.
type replacement struct{ pattern, with string }

// Generic normalisations, applied after the fixture's exact ones.
var genericReplacements = []replacement{
	{`127\.0\.0\.1:\d+`, "<client>"},                           // born hosts, client addresses
	{`\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{8}`, "<opid>"},              // reset operation ids
	{`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(,\d{3})?`, "<time>"}, // printed times
	{`\b(\d+h)?(\d+m)?\d+(\.\d+)?s\b`, "<lag>"},                // lags (but see below)
	{`\b[0-9A-F]{32}\b`, "<id>"},                               // ids made during the run
	{`"(storeTimestamp|bornTimestamp|lastUpdated|lastTimestamp|firstSeen)": \d+`, `"$1": <ms>`},
	// brokerStatus values that change with time and memory
	{`((?:bootTimestamp|runtime|residentMemoryBytes|commitLogFlushedOffset|dispatchBehindBytes|remainHowManyDataToFlush|query(?:Cache|RateLimited|PoolRejected)\w*|storeBlockCache\w*) *: ).*`, "$1<v>"},
}

// normalize makes output comparable between runs: addresses, ids, times
// and paths become names. Where a replaced token ends a padded column
// (the token, possibly followed by more of its word, then two or more
// spaces), the column keeps its width, so tables stay aligned whatever the
// port numbers.
func (f *fixture) normalize(s string) string {
	for _, r := range append(append([]replacement(nil), f.replace...), genericReplacements...) {
		re := regexp.MustCompile(r.pattern)
		ms := re.FindAllStringSubmatchIndex(s, -1)
		for x := len(ms) - 1; x >= 0; x-- { // right to left: indexes stay valid
			i, j := ms[x][0], ms[x][1]
			tok := s[i:j]
			if r.with == "<lag>" && tok == "0s" {
				continue // "caught up" is stable and meaningful
			}
			with := string(re.ExpandString(nil, r.with, s, ms[x]))
			k := j
			for k < len(s) && s[k] != ' ' && s[k] != '\n' {
				k++
			}
			sp := k
			for sp < len(s) && s[sp] == ' ' {
				sp++
			}
			word := with + s[j:k]
			if sp-k >= 2 {
				width := sp - i
				word += strings.Repeat(" ", max(width-len(word), 1))
			} else {
				word += s[k:sp]
			}
			s = s[:i] + word + s[sp:]
		}
	}
	return s
}
