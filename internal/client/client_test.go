package client_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSendPullRoundTrip(t *testing.T) {
	env := clienttest.Start(t)
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	ci, err := c.ClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := ci.BrokerAddrTable["broker-a"].BrokerAddrs[0]; got != env.BrokerAddr {
		t.Fatalf("cluster info master = %q, want %q", got, env.BrokerAddr)
	}

	const topic = "ClientTopic"
	if _, err := c.Route(ctx, topic); !client.IsCode(err, protocol.TopicNotExist) {
		t.Fatalf("route of unknown topic: %v, want TOPIC_NOT_EXIST", err)
	}
	if err := c.CreateTopic(ctx, env.BrokerAddr, topic, 2); err != nil {
		t.Fatal(err)
	}
	r := clienttest.WaitRoute(t, c, topic)
	if len(r.WriteQueues) != 2 || len(r.ReadQueues) != 2 || r.WriteQueues[0].BrokerAddr != env.BrokerAddr {
		t.Fatalf("route: %+v", r)
	}
	if got := r.MasterAddrs(); len(got) != 1 || got[0] != env.BrokerAddr {
		t.Fatalf("masters %v", got)
	}

	props := message.Properties{message.PropertyTags: "TagA", message.PropertyKeys: "k1"}
	var sent []client.SendResult
	for i := range 5 {
		res, err := c.Send(ctx, topic, 1, []byte{'m', byte('0' + i)}, props)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if res.QueueID != 1 || res.QueueOffset != int64(i) || !message.LooksLikeOffsetID(res.MsgID) || res.UniqKey == "" {
			t.Fatalf("send %d: %+v", i, res)
		}
		sent = append(sent, res)
	}
	if _, ok := props[message.PropertyUniqKey]; ok {
		t.Fatal("Send modified the caller's properties")
	}
	if err := c.SendOneway(ctx, topic, 1, []byte("oneway"), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Round-robin sends spread over both queues.
	for range 4 {
		if _, err := c.Send(ctx, topic, -1, []byte("rr"), nil); err != nil {
			t.Fatal(err)
		}
	}

	// The oneway message lands eventually.
	deadline := time.Now().Add(10 * time.Second)
	for {
		max, err := c.MaxOffset(ctx, env.BrokerAddr, topic, 1)
		if err != nil {
			t.Fatal(err)
		}
		if max == 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue 1 max offset %d, want 8", max)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if max, err := c.MaxOffset(ctx, env.BrokerAddr, topic, 0); err != nil || max != 2 {
		t.Fatalf("queue 0 max offset %d, %v; want 2", max, err)
	}

	res, err := c.Pull(ctx, env.BrokerAddr, "ClientGroup", topic, 1, 0, 32, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != protocol.Success || len(res.Messages) != 8 || res.NextBeginOffset != 8 || res.MaxOffset != 8 {
		t.Fatalf("pull: code %v, %d messages, next %d, max %d", res.Code, len(res.Messages), res.NextBeginOffset, res.MaxOffset)
	}
	for i, s := range sent {
		m := res.Messages[i]
		if !bytes.Equal(m.Body, []byte{'m', byte('0' + i)}) || m.UniqKey() != s.UniqKey || m.OffsetID() != s.MsgID ||
			m.Tags() != "TagA" || m.QueueOffset != int64(i) {
			t.Fatalf("message %d: %+v (sent %+v)", i, m, s)
		}
	}
	if string(res.Messages[5].Body) != "oneway" {
		t.Fatalf("message 5 body %q", res.Messages[5].Body)
	}

	// Nothing new: a short long poll returns PULL_NOT_FOUND after holding.
	start := time.Now()
	res, err = c.Pull(ctx, env.BrokerAddr, "ClientGroup", topic, 1, 8, 32, 200*time.Millisecond)
	if err != nil || res.Code != protocol.PullNotFound {
		t.Fatalf("empty pull: %+v, %v", res, err)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatalf("long poll answered after %v", time.Since(start))
	}
	// A held pull is answered when a message arrives.
	done := make(chan client.PullResult, 1)
	go func() {
		r, _ := c.Pull(ctx, env.BrokerAddr, "ClientGroup", topic, 1, 8, 32, 10*time.Second)
		done <- r
	}()
	clienttest.Poll(t, 10*time.Second, func() bool { return env.Broker.HeldPulls() == 1 })
	if _, err := c.Send(ctx, topic, 1, []byte("wake"), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.Code != protocol.Success || len(r.Messages) != 1 || string(r.Messages[0].Body) != "wake" {
			t.Fatalf("held pull: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("held pull not answered after a send")
	}
	// Offset beyond the end moves.
	res, err = c.Pull(ctx, env.BrokerAddr, "ClientGroup", topic, 1, 100, 32, 0)
	if err != nil || res.Code != protocol.PullOffsetMoved || res.NextBeginOffset != 9 {
		t.Fatalf("pull past the end: %+v, %v", res, err)
	}
}

func TestErrors(t *testing.T) {
	env := clienttest.Start(t)
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := c.Pull(ctx, env.BrokerAddr, "g", "NoSuchTopic", 0, 0, 1, 0)
	var re *client.ResponseError
	if !errors.As(err, &re) || re.Code != protocol.TopicNotExist || re.Remark == "" {
		t.Fatalf("pull of unknown topic: %v", err)
	}
	if err := c.CreateTopic(ctx, env.BrokerAddr, "bad topic!", 1); !client.IsCode(err, protocol.InvalidParameter) {
		t.Fatalf("create bad topic: %v", err)
	}
	if err := c.CreateTopic(ctx, env.BrokerAddr, "T", 0); err == nil {
		t.Fatal("create with 0 queues succeeded")
	}
	if _, err := c.Send(ctx, "bad topic!", -1, []byte("x"), nil); err == nil {
		t.Fatal("send to an invalid topic succeeded")
	}

	// A topic unknown to the name server is auto-created through TBW102.
	res, err := c.Send(ctx, "AutoTopic", -1, []byte("x"), nil)
	if err != nil {
		t.Fatalf("send to a new topic: %v", err)
	}
	if res.QueueOffset != 0 {
		t.Fatalf("auto-created send: %+v", res)
	}

	none := client.New(client.Config{})
	defer none.Close()
	if _, err := none.Route(ctx, "x"); !errors.Is(err, client.ErrNoNamesrv) {
		t.Fatalf("no name server: %v", err)
	}
	if err := none.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := none.MaxOffset(ctx, env.BrokerAddr, "x", 0); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}

	// A dead name server first in the list is skipped.
	c2 := client.New(client.Config{NamesrvAddrs: []string{"127.0.0.1:1", env.NamesrvAddr},
		Remoting: remotingFast()})
	defer c2.Close()
	if _, err := c2.ClusterInfo(ctx); err != nil {
		t.Fatalf("fail-over: %v", err)
	}
}

func TestRouteCache(t *testing.T) {
	env := clienttest.Start(t)
	now := time.Now()
	clock := func() time.Time { return now }
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}, RouteTTL: time.Minute, Now: clock})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.CreateTopic(ctx, env.BrokerAddr, "CacheTopic", 1); err != nil {
		t.Fatal(err)
	}
	r1 := clienttest.WaitRoute(t, c, "CacheTopic")
	r2, err := c.Route(ctx, "CacheTopic")
	if err != nil || r2 != r1 {
		t.Fatalf("cached route not reused: %p %p %v", r1, r2, err)
	}
	now = now.Add(2 * time.Minute)
	r3, err := c.Route(ctx, "CacheTopic")
	if err != nil || r3 == r1 {
		t.Fatalf("expired route reused: %v", err)
	}
}

func remotingFast() remoting.ClientConfig {
	return remoting.ClientConfig{DialTimeout: time.Second}
}
