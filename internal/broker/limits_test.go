package broker

import (
	"bufio"
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// busyCode extracts the response code of a guard refusal.
func busyCode(t *testing.T, err error) *remoting.Error {
	t.Helper()
	var re *remoting.Error
	if !errors.As(err, &re) {
		t.Fatalf("want a remoting error, got %v", err)
	}
	return re
}

func TestGuardRateLimitPerClientIsPerIdentity(t *testing.T) {
	g := newQueryGuard(config.QueryLimits{RateLimitPerClient: 3, PoolSize: 1})
	now := time.Unix(1000, 0)
	for i := range 3 {
		if err := g.admit(protocol.QueryMessage, "10.0.0.1", now); err != nil {
			t.Fatalf("request %d within the burst refused: %v", i, err)
		}
	}
	re := busyCode(t, g.admit(protocol.QueryMessage, "10.0.0.1", now))
	if re.Code != int32(protocol.SystemBusy) ||
		re.Remark != "rate limited: queryRateLimitPerClient 3/s for 10.0.0.1, retry in 334 ms" {
		t.Fatalf("refusal = %d %q", re.Code, re.Remark)
	}
	// Another client is unaffected.
	if err := g.admit(protocol.QueryMessage, "10.0.0.2", now); err != nil {
		t.Fatalf("second client refused: %v", err)
	}
	// The bucket refills with time.
	if err := g.admit(protocol.QueryMessage, "10.0.0.1", now.Add(400*time.Millisecond)); err != nil {
		t.Fatalf("refilled bucket refused: %v", err)
	}
}

func TestGuardRateLimitPerCode(t *testing.T) {
	g := newQueryGuard(config.QueryLimits{RateLimitPerCode: 2, PoolSize: 1})
	now := time.Unix(1000, 0)
	for _, c := range []string{"a", "b"} {
		if err := g.admit(protocol.GetTopicStatsInfo, c, now); err != nil {
			t.Fatal(err)
		}
	}
	re := busyCode(t, g.admit(protocol.GetTopicStatsInfo, "c", now))
	if !strings.HasPrefix(re.Remark, "rate limited: queryRateLimitPerCode 2/s for request code 202, retry in ") {
		t.Fatalf("remark %q", re.Remark)
	}
	if err := g.admit(protocol.QueryMessage, "c", now); err != nil {
		t.Fatalf("other code refused: %v", err)
	}
}

func TestGuardPoolQueueFull(t *testing.T) {
	g := newQueryGuard(config.QueryLimits{PoolSize: 1, QueueSize: 1})
	ctx := context.Background()
	if err := g.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- g.acquire(ctx) }()
	pollUntil(t, "condition", func() bool {
		g.poolMu.Lock()
		defer g.poolMu.Unlock()
		return g.waiting == 1
	})
	re := busyCode(t, g.acquire(ctx))
	if re.Code != int32(protocol.SystemBusy) || !strings.Contains(re.Remark, "queryPoolSize 1") {
		t.Fatalf("refusal = %d %q", re.Code, re.Remark)
	}
	g.release()
	if err := <-got; err != nil {
		t.Fatalf("queued request: %v", err)
	}
	g.release()
	if g.poolBusy.Load() != 1 {
		t.Fatalf("poolBusy = %d", g.poolBusy.Load())
	}
}

func TestGuardPoolWaiterLeavesWithItsConnection(t *testing.T) {
	g := newQueryGuard(config.QueryLimits{PoolSize: 1, QueueSize: 4})
	if err := g.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- g.acquire(ctx) }()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	g.release()
}

// TestRateLimitedClientDoesNotSlowProduce floods QUERY_MESSAGE from one
// client until it is refused, and checks that the refusal is SYSTEM_BUSY
// with the limit named while sends and pulls of another client succeed.
func TestRateLimitedClientDoesNotSlowProduce(t *testing.T) {
	b, flooder := startBroker(t, func(bc *config.Broker) { bc.QueryLimits.RateLimitPerClient = 1 })
	h := &protocol.QueryMessageRequestHeader{Topic: "T", Key: "k", MaxNum: 8, EndTimestamp: math.MaxInt64}
	busySeen := 0
	for range 5 {
		resp := call(t, b, flooder, protocol.QueryMessage, h, nil)
		switch resp.Code {
		case int32(protocol.SystemBusy):
			busySeen++
			if !strings.HasPrefix(resp.Remark, "rate limited: queryRateLimitPerClient 1/s for 127.0.0.1, retry in ") {
				t.Fatalf("busy remark %q", resp.Remark)
			}
		case int32(protocol.QueryNotFound), int32(protocol.Success):
		default:
			t.Fatalf("flood answer %d %q: want SYSTEM_BUSY or an answer", resp.Code, resp.Remark)
		}
	}
	if busySeen == 0 {
		t.Fatal("5 queries at 1/s were all answered")
	}
	// A query from another host (127.0.0.2 on the loopback) is answered.
	if code := rawQueryFrom(t, "127.0.0.2", b.Addr(), h); code != int32(protocol.QueryNotFound) {
		t.Fatalf("query from another host during the flood: code %d", code)
	}
	other := remoting.NewClient(remoting.ClientConfig{})
	defer other.Close()
	for i := range 20 {
		resp := sendV2(t, b, other, sendHeader("T", 0, message.Properties{}), []byte("m"))
		if resp.Code != int32(protocol.Success) {
			t.Fatalf("send %d during the flood: %d %q", i, resp.Code, resp.Remark)
		}
	}
	pollUntil(t, "condition", func() bool {
		off, err := b.store.MaxOffset("T", 0)
		return err == nil && off == 20
	})
	if got := pull(t, b, other, pullHeader("G", "T", 0, 0, "*")); got.code != int32(protocol.Success) || len(got.bodies) != 20 {
		t.Fatalf("pull during the flood: %d %q, %d messages", got.code, got.remark, len(got.bodies))
	}
}

// rawQueryFrom sends one QUERY_MESSAGE over a connection from localIP and
// returns the answer's code.
func rawQueryFrom(t *testing.T, localIP, addr string, h *protocol.QueryMessageRequestHeader) int32 {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", localIP, err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	req := remoting.NewRequest(int32(protocol.QueryMessage), protocol.EncodeHeader(h), nil)
	req.Opaque = 7
	frame, err := remoting.AppendFrame(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	resp, err := remoting.ReadCommand(bufio.NewReader(nc), remoting.DefaultMaxFrame)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp.Code
}
