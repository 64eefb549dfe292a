package broker

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// putKeyed stores one message with the given KEYS and UNIQ_KEY (either may
// be empty), multi-dispatched to lmqs, and returns its commit-log offset
// and store time once dispatched.
func putKeyed(t *testing.T, b *Broker, topic, payload, keys, uniq string, lmqs ...string) (phy, storeTime int64) {
	t.Helper()
	m := &message.Message{Topic: topic, Body: []byte(payload), BornHost: testBornHost, BornTimestamp: time.Now().UnixMilli()}
	if keys != "" {
		m.Properties.Set(message.PropertyKeys, keys)
	}
	if uniq != "" {
		m.Properties.Set(message.PropertyUniqKey, uniq)
	}
	if len(lmqs) > 0 {
		m.Properties.Set(message.PropertyInnerMultiDispatch, strings.Join(lmqs, ","))
	}
	res, err := b.store.Put(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.Flush(); err != nil {
		t.Fatal(err)
	}
	return res.PhyOffsets[0], res.StoreTime
}

// queried is a decoded QUERY_MESSAGE answer.
type queried struct {
	resp     *remoting.Command
	bodies   []string
	header   protocol.QueryMessageResponseHeader
	topics   []string
	lastTime int64
}

func queryMsgs(t *testing.T, b *Broker, cli *remoting.Client, topic, key string, maxNum int32, unique bool) queried {
	t.Helper()
	h := &protocol.QueryMessageRequestHeader{Topic: topic, Key: key, MaxNum: maxNum, EndTimestamp: math.MaxInt64}
	if unique {
		h.UniqueKey = "true"
	}
	resp := call(t, b, cli, protocol.QueryMessage, h, nil)
	q := queried{resp: resp}
	if err := protocol.DecodeHeader(resp.ExtFields, &q.header); err != nil {
		t.Fatalf("query answer header (code %d): %v", resp.Code, err)
	}
	for rest := resp.Body; len(rest) > 0; {
		n := int(binary.BigEndian.Uint32(rest))
		m, err := message.Decode(rest[:n])
		if err != nil {
			t.Fatalf("decode record: %v", err)
		}
		q.bodies = append(q.bodies, string(m.Body))
		q.topics = append(q.topics, m.Topic)
		q.lastTime = max(q.lastTime, m.StoreTimestamp)
		rest = rest[n:]
	}
	return q
}

// sorted returns the bodies in order (hits come newest first, and store
// times may tie within a millisecond).
func (q queried) sorted() string { return fmt.Sprint(slices.Sorted(slices.Values(q.bodies))) }

func TestQueryMessageByKey(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	createTopic(t, b, "T2", 1)
	putKeyed(t, b, "T", "m1", "k1 k2", "U1")
	putKeyed(t, b, "T", "m2", "k2", "U2")
	putKeyed(t, b, "T", "m3", "k3", "")
	putKeyed(t, b, "T2", "other", "k2", "U1")

	q := queryMsgs(t, b, cli, "T", "k2", 64, false)
	wantCode(t, "key", q.resp, protocol.Success, "")
	if q.sorted() != "[m1 m2]" || fmt.Sprint(q.topics) != "[T T]" {
		t.Errorf("k2 in T: %v %v", q.bodies, q.topics)
	}
	if q.header.IndexLastUpdatePhyoffset <= 0 || q.header.IndexLastUpdateTimestamp != q.lastTime {
		t.Errorf("index header %+v, newest hit %d", q.header, q.lastTime)
	}
	if q := queryMsgs(t, b, cli, "T", "k1 k2", 64, false); q.resp.Code != int32(protocol.QueryNotFound) {
		t.Errorf("KEYS is split on spaces; the whole string is no key: code %d", q.resp.Code)
	}
	// Unique keys: exact, per topic.
	q = queryMsgs(t, b, cli, "T", "U1", 1, true)
	if fmt.Sprint(q.bodies) != "[m1]" {
		t.Errorf("U1 in T: %v", q.bodies)
	}
	q = queryMsgs(t, b, cli, "T2", "U1", 1, true)
	if fmt.Sprint(q.bodies) != "[other]" {
		t.Errorf("U1 in T2: %v", q.bodies)
	}
	// A key that is only a unique key is not found by key, and vice versa.
	if q := queryMsgs(t, b, cli, "T", "U2", 64, false); q.resp.Code != int32(protocol.QueryNotFound) {
		t.Errorf("unique key found as key: %d", q.resp.Code)
	}
	q = queryMsgs(t, b, cli, "T", "nothing", 64, false)
	wantCode(t, "no hit", q.resp, protocol.QueryNotFound, "can not find message, maybe time range not correct")
	if q.header.IndexLastUpdatePhyoffset <= 0 || len(q.resp.Body) != 0 {
		t.Errorf("not-found answer: header %+v body %d bytes", q.header, len(q.resp.Body))
	}
	// Time range.
	h := &protocol.QueryMessageRequestHeader{Topic: "T", Key: "k2", MaxNum: 64, BeginTimestamp: time.Now().Add(time.Hour).UnixMilli(), EndTimestamp: math.MaxInt64}
	wantCode(t, "future range", call(t, b, cli, protocol.QueryMessage, h, nil), protocol.QueryNotFound, "")
	wantCode(t, "no header", call(t, b, cli, protocol.QueryMessage, nil, nil), protocol.InvalidParameter, "")
}

func TestQueryMessageMaxNum(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	for i := range protocol.MaxQueryMessageNum + 6 {
		putKeyed(t, b, "T", fmt.Sprint(i), "many", "dup")
	}
	for _, c := range []struct {
		maxNum int32
		unique bool
		want   int
	}{
		{math.MaxInt32, false, protocol.MaxQueryMessageNum},
		{65, false, protocol.MaxQueryMessageNum},
		{3, false, 3},
		{0, false, 1},
		{-7, false, 1},
		{math.MinInt32, false, 1},
		// Unique-key queries always use 32, whatever maxNum says.
		{1, true, protocol.DefaultUniqueKeyQueryNum},
		{math.MaxInt32, true, protocol.DefaultUniqueKeyQueryNum},
	} {
		key := "many"
		if c.unique {
			key = "dup"
		}
		q := queryMsgs(t, b, cli, "T", key, c.maxNum, c.unique)
		if len(q.bodies) != c.want {
			t.Errorf("maxNum %d unique %v: %d hits, want %d", c.maxNum, c.unique, len(q.bodies), c.want)
		}
		// Newest first.
		if len(q.bodies) > 0 && q.bodies[0] != fmt.Sprint(protocol.MaxQueryMessageNum+5) {
			t.Errorf("maxNum %d: first hit %s, want the newest", c.maxNum, q.bodies[0])
		}
	}
}

func TestQueryMessageLMQ(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "P", 1)
	putKeyed(t, b, "P", "a", "kx", "ua", "%LMQ%a")
	putKeyed(t, b, "P", "b", "kx", "ub", "%LMQ%b")
	putKeyed(t, b, "P", "ab", "kx ky", "uab", "%LMQ%a", "%LMQ%b")
	putKeyed(t, b, "P", "parent-only", "kx", "up")

	for _, c := range []struct {
		topic, key string
		unique     bool
		want       string // sorted bodies; "" for not found
	}{
		{"%LMQ%a", "kx", false, "[a ab]"},
		{"%LMQ%b", "kx", false, "[ab b]"},
		{"%LMQ%b", "ky", false, "[ab]"},
		{"%LMQ%none", "kx", false, ""},
		// The parent topic (what Java's mqadmin sends with -c) finds every
		// message stored to it.
		{"P", "kx", false, "[a ab b parent-only]"},
		{"%LMQ%a", "ua", true, "[a]"},
		{"%LMQ%a", "uab", true, "[ab]"},
		{"%LMQ%b", "ua", true, ""},
		{"%LMQ%a", "up", true, ""},
		{"P", "ua", true, "[a]"},
		{"P", "up", true, "[parent-only]"},
	} {
		q := queryMsgs(t, b, cli, c.topic, c.key, 64, c.unique)
		switch {
		case c.want == "" && q.resp.Code != int32(protocol.QueryNotFound):
			t.Errorf("%s %s unique=%v: code %d bodies %v, want not found", c.topic, c.key, c.unique, q.resp.Code, q.bodies)
		case c.want != "" && (q.resp.Code != 0 || q.sorted() != c.want):
			t.Errorf("%s %s unique=%v: code %d bodies %s, want %s", c.topic, c.key, c.unique, q.resp.Code, q.sorted(), c.want)
		}
		for _, topic := range q.topics {
			if topic != "P" {
				t.Errorf("%s %s: record topic %s, want the parent", c.topic, c.key, topic)
			}
		}
	}
}

func TestViewMessageByID(t *testing.T) {
	b, cli := startBroker(t, nil)
	createTopic(t, b, "T", 1)
	first, _ := putKeyed(t, b, "T", "first", "", "")
	second, _ := putKeyed(t, b, "T", "second", "", "")
	view := func(off int64) *remoting.Command {
		t.Helper()
		return call(t, b, cli, protocol.ViewMessageByID, &protocol.ViewMessageRequestHeader{Topic: "T", Offset: off}, nil)
	}
	for off, want := range map[int64]string{first: "first", second: "second"} {
		resp := view(off)
		wantCode(t, "view", resp, protocol.Success, "")
		stored, err := b.store.ReadRecord(off)
		if err != nil {
			t.Fatal(err)
		}
		m, err := message.Decode(resp.Body)
		if err != nil || string(m.Body) != want || string(resp.Body) != string(stored) {
			t.Errorf("view %d: %q (%v), want the stored record of %q", off, resp.Body, err, want)
		}
	}
	end := b.store.Stats().CommitLogWriteOffset
	for _, off := range []int64{-1, math.MinInt64, first + 1, first + 4, second - 1, second + 20, end, end + 1,
		1 << 40, math.MaxInt64 - 3, math.MaxInt64} {
		wantCode(t, fmt.Sprintf("offset %d", off), view(off), protocol.SystemError, fmt.Sprintf("can not find message by the offset, %d", off))
	}
	wantCode(t, "no offset", call(t, b, cli, protocol.ViewMessageByID, nil, nil), protocol.InvalidParameter, "")
}
