package remoting

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	codeEcho  = 1000
	codeBlock = 1001
	codeOpen  = 1002
	codePanic = 1003
	codeFail  = 1004
	codeAsync = 1005
)

// testServer starts a server on a random loopback port with a few
// processors used across tests.
func testServer(t *testing.T, cfg ServerConfig) (*Server, string, chan struct{}) {
	t.Helper()
	srv := NewServer(cfg)
	gate := make(chan struct{})
	var gateOnce sync.Once
	srv.Register(codeEcho, ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		resp := NewResponse(req, codeSuccess, "")
		resp.ExtFields = req.ExtFields
		resp.Body = req.Body
		return resp, nil
	}))
	srv.Register(codeBlock, ProcessorFunc(func(ctx context.Context, _ *Conn, req *Command) (*Command, error) {
		select {
		case <-gate:
			return NewResponse(req, codeSuccess, "released"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	srv.Register(codeOpen, ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		gateOnce.Do(func() { close(gate) })
		return NewResponse(req, codeSuccess, "opened"), nil
	}))
	srv.Register(codePanic, ProcessorFunc(func(context.Context, *Conn, *Command) (*Command, error) {
		panic("boom")
	}))
	srv.Register(codeFail, ProcessorFunc(func(context.Context, *Conn, *Command) (*Command, error) {
		return nil, Errorf(17, "No topic route info for %s", "x")
	}))
	srv.Register(codeAsync, ProcessorFunc(func(_ context.Context, conn *Conn, req *Command) (*Command, error) {
		go func() { // answers later, as a long poll does
			_ = conn.Reply(NewResponse(req, codeSuccess, "later"))
		}()
		return nil, nil
	}))
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv, addr.String(), gate
}

func testClient(t *testing.T, cfg ClientConfig) *Client {
	t.Helper()
	c := NewClient(cfg)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestEchoBothSerializations(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	for _, ser := range []SerializeType{JSON, RocketMQ} {
		req := NewRequest(codeEcho, map[string]string{"k": "v"}, []byte("payload"))
		req.Serialize = ser
		resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != codeSuccess || resp.Ext("k") != "v" || string(resp.Body) != "payload" || resp.Opaque != req.Opaque {
			t.Fatalf("%v: resp %v", ser, resp)
		}
		if resp.Serialize != ser {
			t.Errorf("answered in %v to a %v request", resp.Serialize, ser)
		}
	}
}

func TestUnknownCodeAndErrors(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(4242, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != codeRequestCodeNotSupported || resp.Remark != " request type 4242 not supported" {
		t.Errorf("unknown code: %v", resp)
	}
	resp, err = cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeFail, nil, nil))
	if err != nil || resp.Code != 17 || resp.Remark != "No topic route info for x" {
		t.Errorf("coded error: %v %v", resp, err)
	}
	// A panicking handler answers SYSTEM_ERROR and the server lives on.
	resp, err = cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codePanic, nil, nil))
	if err != nil || resp.Code != codeSystemError {
		t.Errorf("panic: %v %v", resp, err)
	}
	resp, err = cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeAsync, nil, nil))
	if err != nil || resp.Code != codeSuccess || resp.Remark != "later" {
		t.Errorf("async: %v %v", resp, err)
	}
}

// A request held by its processor must not block later requests on the
// same connection: they are answered out of order.
func TestOutOfOrderOnOneConnection(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	blocked := make(chan *Command, 1)
	go func() {
		resp, err := cli.Invoke(ctxTimeout(t, 10*time.Second), addr, NewRequest(codeBlock, nil, nil))
		if err != nil {
			t.Error(err)
		}
		blocked <- resp
	}()
	// Wait until the blocking request reached the server, then open it
	// with a second request on the same connection.
	resp, err := cli.Invoke(ctxTimeout(t, 10*time.Second), addr, NewRequest(codeOpen, nil, nil))
	if err != nil || resp.Remark != "opened" {
		t.Fatalf("open: %v %v", resp, err)
	}
	if r := <-blocked; r == nil || r.Remark != "released" {
		t.Fatalf("blocked request: %v", r)
	}
}

func TestInFlightBound(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{MaxInFlightPerConn: 2})
	cli := testClient(t, ClientConfig{})
	conn, err := cli.Conn(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The poller below may hold a slot when a blocker arrives;
			// retry until the blocker is admitted.
			for {
				resp, err := conn.Invoke(ctxTimeout(t, 10*time.Second), NewRequest(codeBlock, nil, nil))
				if err != nil || resp.Code != codeSystemBusy {
					return
				}
			}
		}()
	}
	// Poll until a request is refused: the two blockers hold both slots.
	deadline := time.Now().Add(10 * time.Second)
	var busy *Command
	for time.Now().Before(deadline) {
		resp, err := conn.Invoke(ctxTimeout(t, 5*time.Second), NewRequest(codeEcho, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code == codeSystemBusy {
			busy = resp
			break
		}
		time.Sleep(time.Millisecond)
	}
	if busy == nil {
		t.Fatal("no SYSTEM_BUSY with both slots held")
	}
	// The bound is per connection: another connection is served and
	// releases the blockers.
	other := testClient(t, ClientConfig{})
	resp, err := other.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeOpen, nil, nil))
	if err != nil || resp.Code != codeSuccess {
		t.Fatalf("second connection: %v %v", resp, err)
	}
	wg.Wait()
}

func TestRequestTimeout(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	start := time.Now()
	_, err := cli.Invoke(ctxTimeout(t, 100*time.Millisecond), addr, NewRequest(codeBlock, nil, nil))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("timeout not honoured")
	}
	// The connection is still usable.
	if resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeEcho, nil, nil)); err != nil || resp.Code != 0 {
		t.Fatalf("after timeout: %v %v", resp, err)
	}
}

func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

// A malformed frame closes that connection only.
func TestMalformedFrameClosesOnlyThatConnection(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	if _, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeEcho, nil, nil)); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name  string
		bytes []byte
	}{
		{"oversized", []byte{0x7F, 0xFF, 0xFF, 0xFF}},
		{"bad serializer", []byte{0, 0, 0, 6, 9, 0, 0, 2, '{', '}'}},
		{"garbage json", []byte{0, 0, 0, 7, 0, 0, 0, 3, '{', '{', '{'}},
	}
	for _, b := range bad {
		nc := rawDial(t, addr)
		if _, err := nc.Write(b.bytes); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := nc.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s: connection still open, read %d bytes", b.name, n)
		}
	}
	resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeEcho, nil, nil))
	if err != nil || resp.Code != codeSuccess {
		t.Fatalf("healthy connection affected: %v %v", resp, err)
	}
}

// Oneway requests are never answered, not even with an error.
func TestOnewayNotAnswered(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{})
	nc := rawDial(t, addr)
	w := bufio.NewWriter(nc)
	oneway := NewRequest(4242, nil, nil)
	oneway.Flag = FlagOneway
	oneway.Opaque = 1
	normal := NewRequest(codeEcho, nil, nil)
	normal.Opaque = 2
	for _, c := range []*Command{oneway, normal} {
		f, _ := AppendFrame(nil, c)
		_, _ = w.Write(f)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := ReadCommand(bufio.NewReader(nc), DefaultMaxFrame)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Opaque != 2 {
		t.Fatalf("first response has opaque %d: the oneway request was answered", resp.Opaque)
	}
}

// The server can send requests to a client over the connection the client
// opened, and the client's processor answers them.
func TestServerToClientRequest(t *testing.T) {
	srv := NewServer(ServerConfig{})
	got := make(chan *Command, 1)
	srv.Register(codeEcho, ProcessorFunc(func(ctx context.Context, conn *Conn, req *Command) (*Command, error) {
		back, err := conn.Invoke(ctx, NewRequest(40, map[string]string{"consumerGroup": "g"}, nil))
		if err != nil {
			return nil, err
		}
		got <- back
		return NewResponse(req, codeSuccess, ""), nil
	}))
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Shutdown(context.Background()) }()
	cli := testClient(t, ClientConfig{Processor: ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		return NewResponse(req, codeSuccess, "client saw "+req.Ext("consumerGroup")), nil
	})})
	if _, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr.String(), NewRequest(codeEcho, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if back := <-got; back.Remark != "client saw g" {
		t.Fatalf("client answer: %v", back)
	}
}

func TestClientReconnects(t *testing.T) {
	srv, addr, _ := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	if _, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeEcho, nil, nil)); err != nil {
		t.Fatal(err)
	}
	// Break the connection from the server side; the next request redials.
	srv.mu.Lock()
	var conns []*Conn
	for c := range srv.conns {
		conns = append(conns, c)
	}
	srv.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(codeEcho, nil, nil))
		if err == nil && resp.Code == codeSuccess {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Shutdown lets a running request finish and refuses new ones.
func TestGracefulShutdownDrains(t *testing.T) {
	srv := NewServer(ServerConfig{})
	started := make(chan struct{})
	finish := make(chan struct{})
	srv.Register(codeBlock, ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		close(started)
		<-finish
		return NewResponse(req, codeSuccess, "drained"), nil
	}))
	srv.Register(codeEcho, ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		return NewResponse(req, codeSuccess, ""), nil
	}))
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cli := testClient(t, ClientConfig{})
	result := make(chan *Command, 1)
	go func() {
		resp, _ := cli.Invoke(ctxTimeout(t, 10*time.Second), addr.String(), NewRequest(codeBlock, nil, nil))
		result <- resp
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctxTimeout(t, 10*time.Second)) }()
	// While draining, new requests are refused with GO_AWAY (new
	// clients) or SYSTEM_BUSY (older ones).
	for _, v := range []int32{479, 317} {
		for {
			req := NewRequest(codeEcho, nil, nil)
			req.Version = v
			resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr.String(), req)
			if err != nil {
				t.Fatal(err)
			}
			want := int32(codeGoAway)
			if v <= 475 {
				want = codeSystemBusy
			}
			if resp.Code == want {
				break
			}
			if resp.Code != codeSuccess {
				t.Fatalf("version %d: code %d", v, resp.Code)
			}
			time.Sleep(time.Millisecond) // shutdown not yet begun
		}
	}
	close(finish)
	if resp := <-result; resp == nil || resp.Remark != "drained" {
		t.Fatalf("in-flight request not drained: %v", resp)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		t.Error("still accepting after shutdown")
	}
}

// A frame just under the limit is accepted; one byte over closes the
// connection without the server allocating it.
func TestFrameLimit(t *testing.T) {
	const limit = 1 << 16
	_, addr, _ := testServer(t, ServerConfig{MaxFrame: limit})
	cli := testClient(t, ClientConfig{})
	req := NewRequest(codeEcho, nil, nil)
	probe, _ := AppendFrame(nil, req)
	req.Body = make([]byte, limit-len(probe))
	resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, req)
	if err != nil || resp.Code != codeSuccess {
		// The echo response has the same size plus a slightly longer
		// header, so it may itself exceed the limit: then the server
		// must say so instead of dropping it.
		if err != nil || resp.Code != codeSystemError {
			t.Fatalf("at limit: %v %v", resp, err)
		}
	}
	nc := rawDial(t, addr)
	_, _ = nc.Write(binary.BigEndian.AppendUint32(nil, limit-3))
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("oversized frame did not close the connection")
	}
}

// Oneway requests beyond the in-flight bound are not dropped: the server
// stops reading until a slot frees, and every one is processed.
func TestOnewayBackpressure(t *testing.T) {
	srv := NewServer(ServerConfig{MaxInFlightPerConn: 1})
	release := make(chan struct{})
	var mu sync.Mutex
	seen := 0
	srv.Register(codeBlock, ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		<-release
		mu.Lock()
		seen++
		mu.Unlock()
		return nil, nil
	}))
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Shutdown(ctxTimeout(t, 10*time.Second)) }()
	cli := testClient(t, ClientConfig{})
	conn, err := cli.Conn(context.Background(), addr.String())
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for range n {
		if err := conn.InvokeOneway(NewRequest(codeBlock, nil, nil)); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := seen
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d oneway requests processed", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// onReader reports whether the calling goroutine is a connection's reader.
func onReader() bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), "(*Conn).readLoop")
}

// TestRegisterRoute checks the routes end to end: a RouteInline code runs
// on the connection's reader goroutine, a RouteList code on a worker, both
// with a JSON request's fields in ExtList (no map) and a binary request's
// in ExtFields; a response carrying both ExtFields and ExtList reaches the
// client as one map, in both serializations; Register takes a code back
// to a worker and a map.
func TestRegisterRoute(t *testing.T) {
	srv, addr, _ := testServer(t, ServerConfig{})
	const code = 1100
	type seen struct {
		mapNil   bool
		listLen  int
		fields   map[string]string
		ext      string
		onReader bool
	}
	got := make(chan seen, 1)
	proc := ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		s := seen{mapNil: req.ExtFields == nil, listLen: len(req.ExtList), fields: map[string]string{},
			ext: req.Ext("b"), onReader: onReader()}
		req.EachExt(func(k, v string) { s.fields[k] = v })
		got <- s
		resp := NewResponse(req, codeSuccess, "")
		resp.ExtFields = map[string]string{"m": "1"}
		resp.ExtList = []ExtField{{"x", "2"}, {"y", "\"q\""}}
		return resp, nil
	})
	cli := testClient(t, ClientConfig{})
	for _, route := range []Route{RouteInline, RouteList} {
		srv.RegisterRoute(code, proc, route)
		for _, ser := range []SerializeType{JSON, RocketMQ} {
			req := NewRequest(code, map[string]string{"a": "1", "b": "two"}, nil)
			req.Serialize = ser
			resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, req)
			if err != nil {
				t.Fatal(err)
			}
			s := <-got
			if len(s.fields) != 2 || s.fields["a"] != "1" || s.fields["b"] != "two" || s.ext != "two" {
				t.Errorf("route %d, %v: processor saw %q (Ext(b)=%q)", route, ser, s.fields, s.ext)
			}
			if s.onReader != (route == RouteInline) {
				t.Errorf("route %d, %v: ran on the reader: %v", route, ser, s.onReader)
			}
			switch {
			case ser == JSON && (!s.mapNil || s.listLen != 2):
				t.Errorf("route %d, JSON: ExtFields nil %v, ExtList len %d; want nil map and 2 entries", route, s.mapNil, s.listLen)
			case ser == RocketMQ && (s.mapNil || s.listLen != 0):
				t.Errorf("route %d, binary: ExtFields nil %v, ExtList len %d; want the map only", route, s.mapNil, s.listLen)
			}
			if resp.ExtList != nil || len(resp.ExtFields) != 3 || resp.ExtFields["m"] != "1" || resp.ExtFields["x"] != "2" || resp.ExtFields["y"] != "\"q\"" {
				t.Errorf("route %d, %v: client got ExtFields %q ExtList %q", route, ser, resp.ExtFields, resp.ExtList)
			}
		}
	}
	srv.Register(code, proc)
	if _, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(code, map[string]string{"a": "1", "b": "two"}, nil)); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s.mapNil || s.listLen != 0 || s.onReader {
		t.Errorf("after Register: ExtFields nil %v, ExtList len %d, on the reader %v; want a map on a worker", s.mapNil, s.listLen, s.onReader)
	}
}

// TestInlineLaterPanicAndOneway checks the slot accounting of inline codes
// with one request slot per connection: a processor that panics after
// Later is answered SYSTEM_ERROR and frees its slot, and oneway requests
// run inline, unanswered, each freeing its slot through its Pending.
func TestInlineLaterPanicAndOneway(t *testing.T) {
	srv, addr, _ := testServer(t, ServerConfig{MaxInFlightPerConn: 1})
	const code = 1101
	oneways := make(chan string, 3)
	srv.RegisterRoute(code, ProcessorFunc(func(_ context.Context, conn *Conn, req *Command) (*Command, error) {
		p := conn.Later(req)
		switch req.Ext("do") {
		case "panic":
			panic("after Later")
		case "oneway":
			oneways <- req.Ext("n")
		}
		p.Finish(NewResponse(req, codeSuccess, "done"), nil)
		return nil, nil
	}), RouteInline)
	cli := testClient(t, ClientConfig{})
	resp, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(code, map[string]string{"do": "panic"}, nil))
	if err != nil || resp.Code != codeSystemError {
		t.Fatalf("panic after Later: %v, %v; want SYSTEM_ERROR", resp, err)
	}
	for i := range 3 {
		req := NewRequest(code, map[string]string{"do": "oneway", "n": strconv.Itoa(i)}, nil)
		if err := cli.InvokeOneway(ctxTimeout(t, 5*time.Second), addr, req); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		select {
		case n := <-oneways:
			if n != strconv.Itoa(i) {
				t.Errorf("oneway %d ran as %s: out of order", i, n)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("oneway %d never ran (a slot was lost)", i)
		}
	}
	// The one slot is free: a request is served, not refused as busy.
	resp, err = cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(code, nil, nil))
	if err != nil || resp.Code != codeSuccess {
		t.Fatalf("after the panic and the oneways: %v, %v", resp, err)
	}
}
