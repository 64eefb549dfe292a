package broker

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store/index"
	"github.com/bolidemq/bolide/internal/store/parked"
)

// shiftClock is real time plus an offset the test moves forward, so that
// delays of hours fall due at once without waiting.
type shiftClock struct{ off atomic.Int64 }

func (c *shiftClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *shiftClock) advance(d time.Duration) { c.off.Add(int64(d)) }
func (c *shiftClock) ms(d time.Duration) string {
	return strconv.FormatInt(c.now().Add(d).UnixMilli(), 10)
}

// startSemanticsBroker runs a broker on a shifted clock with hour-long
// delay levels (nothing falls due by itself during a test).
func startSemanticsBroker(t *testing.T, dir string, clock *shiftClock, mut func(*config.Broker)) (*Broker, *remoting.Client) {
	t.Helper()
	bc := testBrokerConfig(t, func(bc *config.Broker) {
		if dir != "" {
			bc.StorePathRootDir = dir
		}
		if err := config.SetBrokerKey(bc, "messageDelayLevel", "1h 2h 3h 4h"); err != nil {
			t.Fatal(err)
		}
		if mut != nil {
			mut(bc)
		}
	})
	return startBrokerConfig(t, Config{Broker: bc, Now: clock.now})
}

// allDispatched reports whether dispatch has caught up with the commit log.
func allDispatched(b *Broker) bool {
	st := b.store.Stats()
	return st.Dispatched == st.CommitLogWriteOffset
}

func maxOffset(t *testing.T, b *Broker, topic string, queue int32) int64 {
	t.Helper()
	n, err := b.store.MaxOffset(topic, queue)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// lastMessage reads the newest message of a queue.
func lastMessage(t *testing.T, b *Broker, topic string, queue int32) *message.Message {
	t.Helper()
	n := maxOffset(t, b, topic, queue)
	res, err := b.store.GetMessages(topic, queue, n-1, 1, 0, nil)
	if err != nil || len(res.Records) != 1 {
		t.Fatalf("read %s-%d at %d: %v (%d records)", topic, queue, n-1, err, len(res.Records))
	}
	m, err := message.Decode(res.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func parkedRows(t *testing.T, b *Broker, kind byte) int {
	t.Helper()
	n := 0
	if err := b.store.ScanParked(kind, parked.Ref{}, 1<<62, func(parked.Ref) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Delay levels and the three TIMER_* properties: nothing reaches the real
// topic before it is due, each message arrives in its own queue when due,
// without its delay properties and with its body and UNIQ_KEY.
func TestDelayedDelivery(t *testing.T) {
	clock := &shiftClock{}
	b, cli := startSemanticsBroker(t, "", clock, nil)
	createTopic(t, b, "D", 4)
	sends := []struct {
		queue int32
		props message.Properties
		due   time.Duration
	}{
		{0, message.Properties{message.PropertyDelayTimeLevel: "1"}, time.Hour}, // level 1 = 1h
		{1, message.Properties{message.PropertyTimerDeliverMS: clock.ms(30 * time.Minute)}, 30 * time.Minute},
		{2, message.Properties{message.PropertyTimerDelaySec: "5400"}, 90 * time.Minute},
		{3, message.Properties{message.PropertyTimerDelayMS: "600000", message.PropertyKeys: "k3"}, 10 * time.Minute},
		{0, message.Properties{message.PropertyDelayTimeLevel: "9"}, 4 * time.Hour}, // clamped to the last level
	}
	uniq := make([]string, len(sends))
	for i, s := range sends {
		resp := sendV1(t, b, cli, sendHeader("D", s.queue, s.props), []byte("body"+strconv.Itoa(i)))
		checkSendResponse(t, resp)
		if resp.ExtFields["queueId"] != strconv.Itoa(int(s.queue)) {
			t.Fatalf("send %d answered queueId %s", i, resp.ExtFields["queueId"])
		}
		parkedMsg := storedAt(t, b, resp.ExtFields["msgId"])
		if parkedMsg.Topic != message.TopicSchedule && parkedMsg.Topic != message.TopicTimer ||
			parkedMsg.Properties.Get(message.PropertyRealTopic) != "D" {
			t.Fatalf("send %d parked as %s %v", i, parkedMsg.Topic, parkedMsg.Properties)
		}
		uniq[i] = parkedMsg.UniqKey()
	}
	waitFor(t, "parked rows", func() bool { return parkedRows(t, b, parked.KindTimer) == len(sends) })
	for q := range int32(4) {
		if n := maxOffset(t, b, "D", q); n != 0 {
			t.Fatalf("queue %d shows %d messages before anything is due", q, n)
		}
	}
	order := []int{3, 1, 0, 2, 4} // by due time
	delivered := 0
	for _, i := range order {
		clock.off.Store(int64(sends[i].due + time.Second))
		b.sched.poke()
		delivered++
		q := sends[i].queue
		want := int64(1)
		if i == 4 {
			want = 2 // queue 0 also got send 0
		}
		waitFor(t, "delivery of send "+strconv.Itoa(i), func() bool { return maxOffset(t, b, "D", q) == want })
		m := lastMessage(t, b, "D", q)
		if string(m.Body) != "body"+strconv.Itoa(i) || m.UniqKey() != uniq[i] {
			t.Fatalf("delivered %q %s, want body%d %s", m.Body, m.UniqKey(), i, uniq[i])
		}
		for _, p := range []string{message.PropertyDelayTimeLevel, message.PropertyTimerDeliverMS, message.PropertyTimerDelaySec, message.PropertyTimerDelayMS} {
			if v := m.Properties.Get(p); v != "" {
				t.Errorf("delivered message keeps %s=%s", p, v)
			}
		}
		if m.Properties.Get(message.PropertyParked) == "" || m.Properties.Get(message.PropertyRealTopic) != "D" {
			t.Errorf("delivered properties %v", m.Properties)
		}
		// Nothing due later came early.
		total := int64(0)
		for q := range int32(4) {
			total += maxOffset(t, b, "D", q)
		}
		if total != int64(delivered) {
			t.Fatalf("%d messages in D after %d deliveries", total, delivered)
		}
	}
	waitFor(t, "released rows", func() bool { return parkedRows(t, b, parked.KindTimer) == 0 })
	if got := b.DelayStats().Delivered; got != int64(len(sends)) {
		t.Fatalf("DelayStats.Delivered %d", got)
	}
}

// A delayed message survives a restart and is delivered once.
func TestDelaySurvivesRestart(t *testing.T) {
	clock := &shiftClock{}
	dir := t.TempDir()
	b, cli := startSemanticsBroker(t, dir, clock, nil)
	createTopic(t, b, "R", 1)
	checkSendResponse(t, sendV1(t, b, cli, sendHeader("R", 0, message.Properties{message.PropertyDelayTimeLevel: "2"}), []byte("later")))
	waitFor(t, "parked row", func() bool { return parkedRows(t, b, parked.KindTimer) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	b2, _ := startSemanticsBroker(t, dir, clock, nil)
	if n := maxOffset(t, b2, "R", 0); n != 0 {
		t.Fatalf("delivered early after restart: %d", n)
	}
	clock.advance(2*time.Hour + time.Second)
	b2.sched.poke()
	waitFor(t, "delivery after restart", func() bool { return maxOffset(t, b2, "R", 0) == 1 })
	waitFor(t, "release", func() bool { return parkedRows(t, b2, parked.KindTimer) == 0 })
	// Once released the row is gone, so only a delivery made before the
	// release could be a second one: the counter would show it.
	if n, d := maxOffset(t, b2, "R", 0), b2.DelayStats().Delivered; n != 1 || d != 1 {
		t.Fatalf("%d messages in R, %d deliveries, want 1 and 1", n, d)
	}
	if string(lastMessage(t, b2, "R", 0).Body) != "later" {
		t.Fatal("wrong body")
	}
}

func sendBack(t *testing.T, b *Broker, cli *remoting.Client, h protocol.ConsumerSendMsgBackRequestHeader) *remoting.Command {
	t.Helper()
	return call(t, b, cli, protocol.ConsumerSendMsgBack, &h, nil)
}

// CONSUMER_SEND_MSG_BACK: a retry copy parked at level 3 + reconsumeTimes
// in %RETRY%<group>, delivered there when due with RETRY_TOPIC,
// ORIGIN_MESSAGE_ID and the count one higher; past maxReconsumeTimes (or
// with delayLevel -1) the copy goes to %DLQ%<group> at once.
func TestSendMsgBackRetryAndDLQ(t *testing.T) {
	clock := &shiftClock{}
	b, cli := startSemanticsBroker(t, "", clock, func(bc *config.Broker) {
		_ = config.SetBrokerKey(bc, "messageDelayLevel", "1h 1h 1h 1h 1h")
	})
	createTopic(t, b, "O", 1)
	resp := sendV1(t, b, cli, sendHeader("O", 0, message.Properties{message.PropertyKeys: "order-1"}), []byte("payload"))
	checkSendResponse(t, resp)
	orig := storedAt(t, b, resp.ExtFields["msgId"])

	max2 := int32(2)
	wantResp(t, sendBack(t, b, cli, protocol.ConsumerSendMsgBackRequestHeader{Offset: orig.CommitLogOffset, Group: "G", MaxReconsumeTimes: &max2}),
		protocol.Success, "")
	if _, ok := b.topics.Get("%RETRY%G"); !ok {
		t.Fatal("no retry topic")
	}
	waitFor(t, "parked retry", func() bool { return parkedRows(t, b, parked.KindTimer) == 1 })
	if n := maxOffset(t, b, "%RETRY%G", 0); n != 0 {
		t.Fatalf("retry visible before due: %d", n)
	}
	clock.advance(time.Hour + time.Second)
	b.sched.poke()
	waitFor(t, "retry delivery", func() bool { return maxOffset(t, b, "%RETRY%G", 0) == 1 })
	r1 := lastMessage(t, b, "%RETRY%G", 0)
	if r1.ReconsumeTimes != 1 || string(r1.Body) != "payload" || r1.Properties.Get(message.PropertyRetryTopic) != "O" ||
		r1.Properties.Get(message.PropertyOriginMessageID) != orig.UniqKey() || r1.UniqKey() != orig.UniqKey() ||
		r1.Properties.Get(message.PropertyKeys) != "order-1" {
		t.Fatalf("retry copy: reconsume %d body %q props %v", r1.ReconsumeTimes, r1.Body, r1.Properties)
	}

	// Second failure: the copy (reconsume 1) comes back again.
	wantResp(t, sendBack(t, b, cli, protocol.ConsumerSendMsgBackRequestHeader{Offset: r1.CommitLogOffset, Group: "G", MaxReconsumeTimes: &max2}),
		protocol.Success, "")
	clock.advance(time.Hour + time.Second)
	b.sched.poke()
	waitFor(t, "second retry", func() bool { return maxOffset(t, b, "%RETRY%G", 0) == 2 })
	r2 := lastMessage(t, b, "%RETRY%G", 0)
	if r2.ReconsumeTimes != 2 || r2.Properties.Get(message.PropertyRetryTopic) != "O" {
		t.Fatalf("second retry: %d %v", r2.ReconsumeTimes, r2.Properties)
	}
	// Third failure: reconsume 2 reached maxReconsumeTimes 2: dead letter, no delay.
	wantResp(t, sendBack(t, b, cli, protocol.ConsumerSendMsgBackRequestHeader{Offset: r2.CommitLogOffset, Group: "G", MaxReconsumeTimes: &max2}),
		protocol.Success, "")
	waitFor(t, "dead letter", func() bool { return maxOffset(t, b, "%DLQ%G", 0) == 1 })
	d := lastMessage(t, b, "%DLQ%G", 0)
	if d.ReconsumeTimes != 3 || string(d.Body) != "payload" || d.Properties.Get(message.PropertyDLQOriginTopic) != "O" ||
		d.Properties.Get(message.PropertyDLQOriginMessageID) != orig.UniqKey() {
		t.Fatalf("dead letter: %d %q %v", d.ReconsumeTimes, d.Body, d.Properties)
	}
	if tc, ok := b.topics.Get("%DLQ%G"); !ok || tc.Perm&permRead == 0 {
		t.Fatalf("DLQ topic %+v", tc)
	}
	// The DLQ is found by key, like any topic.
	hits, err := b.store.Query(index.KindKey, "%DLQ%G", "order-1", 0, 1<<62, 8)
	if err != nil || len(hits) != 1 {
		t.Fatalf("key query on the DLQ: %d hits, %v", len(hits), err)
	}

	// delayLevel -1: straight to the DLQ.
	wantResp(t, sendBack(t, b, cli, protocol.ConsumerSendMsgBackRequestHeader{Offset: orig.CommitLogOffset, Group: "G", DelayLevel: -1}),
		protocol.Success, "")
	waitFor(t, "direct dead letter", func() bool { return maxOffset(t, b, "%DLQ%G", 0) == 2 })
	// A garbage offset is an error, and nothing is stored.
	wantResp(t, sendBack(t, b, cli, protocol.ConsumerSendMsgBackRequestHeader{Offset: 1 << 40, Group: "G"}),
		protocol.SystemError, "look message by offset failed")
}

// A client whose send-back failed sends to the retry topic itself; past
// the limit that send lands in the DLQ.
func TestRetrySendFallsBackToDLQ(t *testing.T) {
	clock := &shiftClock{}
	b, cli := startSemanticsBroker(t, "", clock, nil)
	h := sendHeader("%RETRY%F", 0, message.Properties{message.PropertyDelayTimeLevel: "3"})
	n := int32(16)
	h.ReconsumeTimes, h.MaxReconsumeTimes = &n, &n
	checkSendResponse(t, sendV1(t, b, cli, h, []byte("dead")))
	waitFor(t, "DLQ", func() bool { return maxOffset(t, b, "%DLQ%F", 0) == 1 })
	if got := lastMessage(t, b, "%DLQ%F", 0); string(got.Body) != "dead" || got.Properties.Get(message.PropertyDelayTimeLevel) != "" {
		t.Fatalf("DLQ message %q %v", got.Body, got.Properties)
	}
	// Below the limit it is a delayed retry.
	low := int32(3)
	h.ReconsumeTimes = &low
	checkSendResponse(t, sendV1(t, b, cli, h, []byte("again")))
	waitFor(t, "parked retry", func() bool { return parkedRows(t, b, parked.KindTimer) == 1 })
	if n := maxOffset(t, b, "%RETRY%F", 0); n != 0 {
		t.Fatalf("retry visible before due")
	}
}

func halfHeader(topic string) protocol.SendMessageRequestHeader {
	h := sendHeader(topic, 0, message.Properties{message.PropertyTransactionPrepared: "true", message.PropertyProducerGroup: "PG"})
	h.SysFlag = int32(message.SysTransactionPrepared)
	return h
}

func endTx(t *testing.T, b *Broker, cli *remoting.Client, resp *remoting.Command, state int32, group string) *remoting.Command {
	t.Helper()
	_, phy, err := message.ParseOffsetID(resp.ExtFields["msgId"])
	if err != nil {
		t.Fatal(err)
	}
	off, _ := strconv.ParseInt(resp.ExtFields["queueOffset"], 10, 64)
	return call(t, b, cli, protocol.EndTransaction, &protocol.EndTransactionRequestHeader{
		ProducerGroup: group, TranStateTableOffset: off, CommitLogOffset: phy, CommitOrRollback: state,
		MsgID: resp.ExtFields["transactionId"], TransactionID: resp.ExtFields["transactionId"],
	}, nil)
}

// A half message is invisible until committed; a commit is applied once
// however often it is repeated; a rollback is never visible; checks are
// made for a half left unknown and it is discarded after the maximum.
func TestTransactions(t *testing.T) {
	clock := &shiftClock{}
	b, cli := startSemanticsBroker(t, "", clock, func(bc *config.Broker) {
		bc.Semantics.TransactionCheckIntervalMs = 3_600_000 // passes are run by the test
		bc.Semantics.TransactionCheckMax = 2
	})
	createTopic(t, b, "X", 1)
	commit := sendV1(t, b, cli, halfHeader("X"), []byte("commit-me"))
	checkSendResponse(t, commit)
	if commit.ExtFields["transactionId"] == "" {
		t.Fatal("no transactionId")
	}
	rollback := sendV1(t, b, cli, halfHeader("X"), []byte("roll-me-back"))
	checkSendResponse(t, rollback)
	waitFor(t, "half rows", func() bool { return parkedRows(t, b, parked.KindHalf) == 2 })
	if n := maxOffset(t, b, "X", 0); n != 0 {
		t.Fatalf("half message visible: %d", n)
	}
	wantResp(t, endTx(t, b, cli, commit, protocol.TransactionNotType, "PG"), protocol.Success, "") // unknown: answered, nothing done
	wantResp(t, endTx(t, b, cli, commit, protocol.TransactionCommit, "OTHER"), protocol.SystemError, "producer group")
	for range 3 { // retries apply once
		wantResp(t, endTx(t, b, cli, commit, protocol.TransactionCommit, "PG"), protocol.Success, "")
	}
	wantResp(t, endTx(t, b, cli, rollback, protocol.TransactionRollback, "PG"), protocol.Success, "")
	wantResp(t, endTx(t, b, cli, rollback, protocol.TransactionCommit, "PG"), protocol.Success, "") // too late: rolled back
	waitFor(t, "releases", func() bool { return parkedRows(t, b, parked.KindHalf) == 0 })
	if n := maxOffset(t, b, "X", 0); n != 1 {
		t.Fatalf("%d messages in X, want the committed one", n)
	}
	m := lastMessage(t, b, "X", 0)
	if string(m.Body) != "commit-me" || m.SysFlag.TransactionType() != message.SysTransactionCommit ||
		m.Properties.Get(message.PropertyTransactionPrepared) != "" || m.Properties.Get(message.PropertyProducerGroup) != "PG" {
		t.Fatalf("committed message %q sysFlag %d %v", m.Body, m.SysFlag, m.Properties)
	}
	// After the releases are dispatched, a late commit finds nothing to do
	// (decided before it answers: a commit would have been stored by then).
	before := b.store.Stats().CommitLogWriteOffset
	wantResp(t, endTx(t, b, cli, rollback, protocol.TransactionCommit, "PG"), protocol.Success, "")
	if after := b.store.Stats().CommitLogWriteOffset; after != before {
		t.Fatalf("late commit after rollback stored a record (write offset %d -> %d)", before, after)
	}
	if n := maxOffset(t, b, "X", 0); n != 1 {
		t.Fatalf("late commit after rollback stored a message")
	}

	// Check-back: a producer of PG online answers the check with a commit.
	checks := make(chan *remoting.Command, 8)
	prod := remoting.NewClient(remoting.ClientConfig{Processor: remoting.ProcessorFunc(
		func(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
			if req.Code == int32(protocol.CheckTransactionState) {
				checks <- req
			}
			return nil, nil
		})})
	defer prod.Close()
	hb := (&body.HeartbeatData{ClientID: "127.0.0.1@p1", ProducerDataSet: []body.ProducerData{{GroupName: "PG"}}}).Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if resp, err := prod.Invoke(ctx, b.Addr(), remoting.NewRequest(int32(protocol.HeartBeat), nil, hb)); err != nil || resp.Code != 0 {
		t.Fatalf("heartbeat: %v %v", resp, err)
	}
	unknown := sendV1(t, b, cli, halfHeader("X"), []byte("decided-later"))
	checkSendResponse(t, unknown)
	waitFor(t, "half row", func() bool { return parkedRows(t, b, parked.KindHalf) == 1 })
	if err := b.checkHalves(); err != nil { // too young: no check
		t.Fatal(err)
	}
	if len(checks) != 0 {
		t.Fatal("checked a half younger than transactionTimeOut")
	}
	clock.advance(time.Minute)
	if err := b.checkHalves(); err != nil {
		t.Fatal(err)
	}
	var req *remoting.Command
	select {
	case req = <-checks:
	case <-time.After(10 * time.Second):
		t.Fatal("no CHECK_TRANSACTION_STATE")
	}
	var ch protocol.CheckTransactionStateRequestHeader
	if err := protocol.DecodeHeader(req.ExtFields, &ch); err != nil {
		t.Fatal(err)
	}
	checked, err := message.Decode(req.Body)
	if err != nil || checked.Topic != "X" || string(checked.Body) != "decided-later" || checked.Properties.Get(message.PropertyProducerGroup) != "PG" ||
		ch.MsgID != unknown.ExtFields["transactionId"] || ch.OffsetMsgID != unknown.ExtFields["msgId"] {
		t.Fatalf("check: %+v body %v %v", ch, checked, err)
	}
	// The producer answers as the official clients do: offsets echoed.
	wantResp(t, call(t, b, cli, protocol.EndTransaction, &protocol.EndTransactionRequestHeader{
		ProducerGroup: "PG", TranStateTableOffset: ch.TranStateTableOffset, CommitLogOffset: ch.CommitLogOffset,
		CommitOrRollback: protocol.TransactionCommit, FromTransactionCheck: true, MsgID: ch.MsgID,
	}, nil), protocol.Success, "")
	// A pulled queue shows a message before dispatch: wait for dispatch
	// too, which releases the half's row.
	waitFor(t, "checked commit", func() bool { return maxOffset(t, b, "X", 0) == 2 && allDispatched(b) })

	// Unknown forever: checked transactionCheckMax times, then discarded.
	forever := sendV1(t, b, cli, halfHeader("X"), []byte("never"))
	checkSendResponse(t, forever)
	waitFor(t, "half row", func() bool { return parkedRows(t, b, parked.KindHalf) == 1 })
	clock.advance(time.Minute)
	for range 3 {
		if err := b.checkHalves(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "discard", func() bool { return parkedRows(t, b, parked.KindHalf) == 0 })
	waitFor(t, "two checks", func() bool { return len(checks) == 2 })
	if n := maxOffset(t, b, message.TopicTransCheckMaxTime, 0); n != 1 {
		t.Fatalf("discarded half not kept in %s", message.TopicTransCheckMaxTime)
	}
	if n := maxOffset(t, b, "X", 0); n != 2 {
		t.Fatalf("discarded half delivered")
	}
}
