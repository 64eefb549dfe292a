package broker

import (
	"context"
	"encoding/binary"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

var testBornHost = netip.MustParseAddrPort("127.0.0.1:4321")

// createTopic adds a read-write topic with n queues.
func createTopic(t *testing.T, b *Broker, name string, n int32) {
	t.Helper()
	if err := b.topics.CreateOrUpdate(newTopicConfig(name, n, permRead|permWrite)); err != nil {
		t.Fatal(err)
	}
}

// putMsgs stores messages (tags may be "") and waits until they are
// dispatched, so that pulls and arrivals see them.
func putMsgs(t *testing.T, b *Broker, topic string, queue int32, tags string, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		m := &message.Message{Topic: topic, QueueID: queue, Body: []byte(body), BornHost: testBornHost,
			BornTimestamp: time.Now().UnixMilli()}
		if tags != "" {
			m.Properties.Set(message.PropertyTags, tags)
		}
		if _, err := b.store.Put(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
}

// putLMQ stores one message of parent queue 0 dispatched to the LMQs.
func putLMQ(t *testing.T, b *Broker, parent, body string, lmqs ...string) {
	t.Helper()
	m := &message.Message{Topic: parent, Body: []byte(body), BornHost: testBornHost, BornTimestamp: time.Now().UnixMilli()}
	m.Properties.Set(message.PropertyInnerMultiDispatch, strings.Join(lmqs, ","))
	if _, err := b.store.Put(m); err != nil {
		t.Fatal(err)
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
}

func pullHeader(group, topic string, queue int32, offset int64, sub string) *protocol.PullMessageRequestHeader {
	h := &protocol.PullMessageRequestHeader{ConsumerGroup: group, Topic: topic, QueueID: queue, QueueOffset: offset,
		MaxMsgNums: 32, ExpressionType: "TAG", CommitOffset: -1}
	if sub != "" {
		h.SysFlag |= protocol.PullFlagSubscription
		h.Subscription = sub
	}
	return h
}

// pulled is a decoded pull response.
type pulled struct {
	code                 int32
	remark               string
	next, minOff, maxOff int64
	suggest              string
	bodies               []string
	offsets              []int64 // records' QUEUEOFFSET
	tags                 []string
}

func decodePull(t *testing.T, resp *remoting.Command) pulled {
	t.Helper()
	if resp == nil {
		t.Fatal("no pull response (request failed)")
	}
	p := pulled{code: resp.Code, remark: resp.Remark, suggest: resp.Ext("suggestWhichBrokerId")}
	switch resp.Code {
	case 0, 19, 20, 21:
		for _, k := range []string{"nextBeginOffset", "minOffset", "maxOffset", "suggestWhichBrokerId"} {
			if _, ok := resp.ExtFields[k]; !ok {
				t.Fatalf("code %d response lacks %s: %v", resp.Code, k, resp.ExtFields)
			}
		}
	}
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(resp.Ext(k), 10, 64)
		return n
	}
	p.next, p.minOff, p.maxOff = num("nextBeginOffset"), num("minOffset"), num("maxOffset")
	for rest := resp.Body; len(rest) > 0; {
		if len(rest) < 4 {
			t.Fatalf("truncated body")
		}
		n := int(binary.BigEndian.Uint32(rest))
		m, err := message.Decode(rest[:n])
		if err != nil {
			t.Fatalf("decode record: %v", err)
		}
		p.bodies = append(p.bodies, string(m.Body))
		p.offsets = append(p.offsets, m.QueueOffset)
		p.tags = append(p.tags, m.Tags())
		rest = rest[n:]
	}
	return p
}

func pull(t *testing.T, b *Broker, cli *remoting.Client, h *protocol.PullMessageRequestHeader) pulled {
	t.Helper()
	return decodePull(t, call(t, b, cli, protocol.PullMessage, h, nil))
}

func wantPull(t *testing.T, what string, got pulled, code int32, next, minOff, maxOff int64, bodies ...string) {
	t.Helper()
	if got.code != code || got.next != next || got.minOff != minOff || got.maxOff != maxOff || got.suggest != "0" ||
		strings.Join(got.bodies, ",") != strings.Join(bodies, ",") {
		t.Errorf("%s: got code %d (%s) next %d min %d max %d suggest %q bodies %q; want code %d next %d min %d max %d bodies %q",
			what, got.code, got.remark, got.next, got.minOff, got.maxOff, got.suggest, got.bodies, code, next, minOff, maxOff, bodies)
	}
}

func TestPullStatuses(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 2)

	wantPull(t, "empty queue at 0", pull(t, b, cli, pullHeader("g", "T", 0, 0, "*")), 19, 0, 0, 0)
	wantPull(t, "empty queue at 5", pull(t, b, cli, pullHeader("g", "T", 0, 5, "*")), 21, 0, 0, 0)

	putMsgs(t, b, "T", 0, "", "m0", "m1", "m2")
	got := pull(t, b, cli, pullHeader("g", "T", 0, 0, "*"))
	wantPull(t, "found", got, 0, 3, 0, 3, "m0", "m1", "m2")
	if got.remark != "FOUND" || got.offsets[2] != 2 {
		t.Errorf("remark %q offsets %v", got.remark, got.offsets)
	}
	h := pullHeader("g", "T", 0, 1, "*")
	h.MaxMsgNums = 0 // client-go's default: treated as 1
	wantPull(t, "maxMsgNums 0", pull(t, b, cli, h), 0, 2, 0, 3, "m1")
	h.MaxMsgNums = 1000 // capped, still all there is
	wantPull(t, "maxMsgNums 1000", pull(t, b, cli, h), 0, 3, 0, 3, "m1", "m2")
	wantPull(t, "at the end", pull(t, b, cli, pullHeader("g", "T", 0, 3, "*")), 19, 3, 0, 3)
	wantPull(t, "beyond the end", pull(t, b, cli, pullHeader("g", "T", 0, 10, "*")), 21, 3, 0, 3)
	// LITE_PULL_MESSAGE is served the same way.
	lite := pullHeader("g", "T", 0, 2, "*")
	lite.SysFlag |= protocol.PullFlagLitePull
	wantPull(t, "lite pull", decodePull(t, call(t, b, cli, protocol.LitePullMessage, lite, nil)), 0, 3, 0, 3, "m2")

	for _, tc := range []struct {
		name string
		h    *protocol.PullMessageRequestHeader
		code protocol.ResponseCode
	}{
		{"unknown topic", pullHeader("g", "Nope", 0, 0, "*"), protocol.TopicNotExist},
		{"queue beyond readQueueNums", pullHeader("g", "T", 2, 0, "*"), protocol.InvalidParameter},
		{"negative queue", pullHeader("g", "T", -1, 0, "*"), protocol.InvalidParameter},
		{"no heartbeat subscription", pullHeader("g", "T", 0, 0, ""), protocol.SubscriptionNotExist},
		{"sql92", func() *protocol.PullMessageRequestHeader {
			h := pullHeader("g", "T", 0, 0, "a > 1")
			h.ExpressionType = "SQL92"
			return h
		}(), protocol.SystemError},
	} {
		if resp := call(t, b, cli, protocol.PullMessage, tc.h, nil); resp.Code != int32(tc.code) {
			t.Errorf("%s: code %d (%s), want %d", tc.name, resp.Code, resp.Remark, tc.code)
		}
	}
	// A missing required field is INVALID_PARAMETER, not a crash.
	ext := protocol.EncodeHeader(pullHeader("g", "T", 0, 0, "*"))
	delete(ext, "queueOffset")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Invoke(ctx, b.Addr(), remoting.NewRequest(int32(protocol.PullMessage), ext, nil))
	if err != nil || resp.Code != int32(protocol.InvalidParameter) {
		t.Errorf("missing queueOffset: %v %v", resp, err)
	}
	// Retry topics are pulled with "*" when the group has no subscription.
	if _, err := b.topics.EnsureRetryTopic("g"); err != nil {
		t.Fatal(err)
	}
	putMsgs(t, b, "%RETRY%g", 0, "", "r0")
	wantPull(t, "retry topic", pull(t, b, cli, pullHeader("g", "%RETRY%g", 0, 0, "")), 0, 1, 0, 1, "r0")
}

func TestPullTagFilter(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	putMsgs(t, b, "T", 0, "A", "a0")
	putMsgs(t, b, "T", 0, "B", "b1")
	putMsgs(t, b, "T", 0, "A", "a2")
	putMsgs(t, b, "T", 0, "C", "c3")
	putMsgs(t, b, "T", 0, "", "none4")

	wantPull(t, "A || C", pull(t, b, cli, pullHeader("g", "T", 0, 0, "A || C")), 0, 5, 0, 5, "a0", "a2", "c3")
	wantPull(t, "*", pull(t, b, cli, pullHeader("g", "T", 0, 0, "*")), 0, 5, 0, 5, "a0", "b1", "a2", "c3", "none4")
	wantPull(t, "nothing matches", pull(t, b, cli, pullHeader("g", "T", 0, 0, "Z")), 20, 5, 0, 5)

	// Without the subscription flag the heartbeat's subscription applies.
	heartbeat(t, b, cli, "c1", "g", body2Sub("T", "B"))
	wantPull(t, "heartbeat B", pull(t, b, cli, pullHeader("g", "T", 0, 0, "")), 0, 5, 0, 5, "b1")
	heartbeat(t, b, cli, "c1", "g", body2Sub("T", "*"))
	got := pull(t, b, cli, pullHeader("g", "T", 0, 3, ""))
	wantPull(t, "heartbeat *", got, 0, 5, 0, 5, "c3", "none4")
	// A pull newer than the registered subscription is refused.
	h := pullHeader("g", "T", 0, 0, "")
	h.SubVersion = 1 << 62
	if resp := call(t, b, cli, protocol.PullMessage, h, nil); resp.Code != int32(protocol.SubscriptionNotLatest) {
		t.Errorf("newer subVersion: code %d", resp.Code)
	}
}

// pullAsync sends a pull on cli's shared connection and delivers the
// answer on the returned channel.
// (nil if the request failed, which tests of shutdown expect).
func pullAsync(t *testing.T, b *Broker, cli *remoting.Client, h *protocol.PullMessageRequestHeader) <-chan *remoting.Command {
	t.Helper()
	ch := make(chan *remoting.Command, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, _ := cli.Invoke(ctx, b.Addr(), remoting.NewRequest(int32(protocol.PullMessage), protocol.EncodeHeader(h), nil))
		ch <- resp
	}()
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func suspended(h *protocol.PullMessageRequestHeader, timeout time.Duration) *protocol.PullMessageRequestHeader {
	h.SysFlag |= protocol.PullFlagSuspend
	h.SuspendTimeoutMillis = timeout.Milliseconds()
	return h
}

func TestPullLongPollWakesOnArrival(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 2)
	putMsgs(t, b, "T", 0, "", "m0")

	ch := pullAsync(t, b, cli, suspended(pullHeader("g", "T", 0, 1, "*"), 15*time.Second))
	waitFor(t, "the pull to be held", func() bool { return b.holds.Held() == 1 })
	// The same connection keeps serving other requests meanwhile.
	resp := call(t, b, cli, protocol.GetMaxOffset, &protocol.GetMaxOffsetRequestHeader{Topic: "T", QueueID: 0}, nil)
	if resp.Ext("offset") != "1" {
		t.Fatalf("max offset answer %v", resp)
	}
	wantPull(t, "other queue", pull(t, b, cli, pullHeader("g", "T", 1, 0, "*")), 19, 0, 0, 0)
	// A message on another queue does not wake it.
	putMsgs(t, b, "T", 1, "", "other")
	select {
	case r := <-ch:
		t.Fatalf("answered before a message arrived: %v", r)
	default:
	}
	if b.holds.Held() != 1 {
		t.Fatalf("held %d", b.holds.Held())
	}
	putMsgs(t, b, "T", 0, "", "m1")
	select {
	case r := <-ch:
		wantPull(t, "woken", decodePull(t, r), 0, 2, 0, 2, "m1")
	case <-time.After(10 * time.Second):
		t.Fatal("held pull not answered after the message arrived")
	}
	if b.holds.Held() != 0 {
		t.Fatalf("still held: %d", b.holds.Held())
	}
}

func TestPullLongPollEmptyQueue(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	ch := pullAsync(t, b, cli, suspended(pullHeader("g", "T", 0, 0, "*"), 15*time.Second))
	waitFor(t, "the pull to be held", func() bool { return b.holds.Held() == 1 })
	putMsgs(t, b, "T", 0, "", "first")
	select {
	case r := <-ch:
		wantPull(t, "woken", decodePull(t, r), 0, 1, 0, 1, "first")
	case <-time.After(10 * time.Second):
		t.Fatal("held pull not answered")
	}
}

func TestPullHoldTimeout(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	putMsgs(t, b, "T", 0, "", "m0", "m1")
	start := time.Now()
	got := pull(t, b, cli, suspended(pullHeader("g", "T", 0, 2, "*"), 300*time.Millisecond))
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("answered after %v, before the 300 ms hold ended", el)
	}
	wantPull(t, "expired", got, 19, 2, 0, 2)
	if got.remark != "OFFSET_OVERFLOW_ONE" {
		t.Errorf("remark %q", got.remark)
	}
	if b.holds.Held() != 0 {
		t.Fatalf("still held: %d", b.holds.Held())
	}
	// The hold is capped at maxHold whatever the client asks.
	b.holds.maxHold.Store(int64(200 * time.Millisecond))
	wantPull(t, "capped", pull(t, b, cli, suspended(pullHeader("g", "T", 0, 2, "*"), time.Hour)), 19, 2, 0, 2)
}

// A held pull whose queue receives only filtered-out messages stays held,
// and is answered when a matching one comes, with the skipped range
// accounted for in nextBeginOffset.
func TestPullHoldSkipsFilteredArrivals(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	ch := pullAsync(t, b, cli, suspended(pullHeader("g", "T", 0, 0, "A"), 15*time.Second))
	waitFor(t, "the pull to be held", func() bool { return b.holds.Held() == 1 })
	putMsgs(t, b, "T", 0, "B", "b0", "b1")
	waitFor(t, "the pull to be held again", func() bool { return b.holds.Held() == 1 })
	select {
	case r := <-ch:
		t.Fatalf("answered for filtered-out messages: %v", decodePull(t, r))
	default:
	}
	putMsgs(t, b, "T", 0, "A", "a2")
	select {
	case r := <-ch:
		got := decodePull(t, r)
		wantPull(t, "woken", got, 0, 3, 0, 3, "a2")
		if got.offsets[0] != 2 {
			t.Errorf("offsets %v", got.offsets)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held pull not answered")
	}
}

func TestPullLMQ(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "Parent", 1)
	putLMQ(t, b, "Parent", "x0", "%LMQ%x", "%LMQ%y")
	putLMQ(t, b, "Parent", "x1", "%LMQ%x")

	// Any group, no subscription, no creation.
	got := pull(t, b, cli, pullHeader("anyGroup", "%LMQ%x", 0, 0, ""))
	wantPull(t, "lmq x", got, 0, 2, 0, 2, "x0", "x1")
	wantPull(t, "lmq y from 0", pull(t, b, cli, pullHeader("%LMQ%grp", "%LMQ%y", 0, 0, "")), 0, 1, 0, 1, "x0")
	wantPull(t, "lmq y at end", pull(t, b, cli, pullHeader("%LMQ%grp", "%LMQ%y", 0, 1, "")), 19, 1, 0, 1)
	wantPull(t, "unknown lmq", pull(t, b, cli, pullHeader("%LMQ%grp", "%LMQ%none", 0, 0, "")), 19, 0, 0, 0)
	if resp := call(t, b, cli, protocol.PullMessage, pullHeader("g", "%LMQ%x", 1, 0, ""), nil); resp.Code != int32(protocol.InvalidParameter) {
		t.Errorf("LMQ queue 1: code %d", resp.Code)
	}

	// Long polling on an LMQ is woken by a dispatch to it.
	ch := pullAsync(t, b, cli, suspended(pullHeader("%LMQ%grp", "%LMQ%y", 0, 1, ""), 15*time.Second))
	waitFor(t, "the LMQ pull to be held", func() bool { return b.holds.Held() == 1 })
	putLMQ(t, b, "Parent", "y1", "%LMQ%y")
	select {
	case r := <-ch:
		wantPull(t, "lmq woken", decodePull(t, r), 0, 2, 0, 2, "y1")
	case <-time.After(10 * time.Second):
		t.Fatal("held LMQ pull not answered")
	}
}

// Shutting down with a pull held neither hangs nor leaks.
func TestPullHeldAtShutdown(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	ch := pullAsync(t, b, cli, suspended(pullHeader("g", "T", 0, 0, "*"), 15*time.Second))
	waitFor(t, "the pull to be held", func() bool { return b.holds.Held() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch: // answered or failed with the connection
	case <-time.After(10 * time.Second):
		t.Fatal("held pull neither answered nor failed at shutdown")
	}
}
