package remoting

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestPendingHoldsSlotAndDrains checks a request answered later through
// a Pending: its slot stays taken until Finish (a second request on the
// connection, with a bound of one, is refused), the observer sees it
// once, an error answers with its code, and shutdown waits for it.
func TestPendingHoldsSlotAndDrains(t *testing.T) {
	type observed struct {
		req, resp int32
	}
	var mu sync.Mutex
	var seen []observed
	srv := NewServer(ServerConfig{MaxInFlightPerConn: 1, Observer: func(req, resp int32, _ time.Duration) {
		mu.Lock()
		seen = append(seen, observed{req, resp})
		mu.Unlock()
	}})
	pending := make(chan *Pending, 4)
	srv.Register(codeAsync, ProcessorFunc(func(_ context.Context, conn *Conn, req *Command) (*Command, error) {
		pending <- conn.Later(req)
		return nil, nil
	}))
	srv.Register(codeEcho, ProcessorFunc(func(_ context.Context, _ *Conn, req *Command) (*Command, error) {
		return NewResponse(req, codeSuccess, ""), nil
	}))
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cli := testClient(t, ClientConfig{})
	conn, err := cli.Conn(ctxTimeout(t, 5*time.Second), addr.String())
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan *Command, 2)
	go func() {
		resp, _ := conn.Invoke(ctxTimeout(t, 10*time.Second), NewRequest(codeAsync, nil, nil))
		results <- resp
	}()
	p := <-pending
	resp, err := conn.Invoke(ctxTimeout(t, 5*time.Second), NewRequest(codeEcho, nil, nil))
	if err != nil || resp.Code != codeSystemBusy {
		t.Fatalf("with the only slot pending: %v %v, want SYSTEM_BUSY", resp, err)
	}
	p.Finish(nil, Errorf(17, "later failure"))
	p.Finish(NewResponse(p.req, codeSuccess, "twice"), nil) // ignored
	if resp := <-results; resp == nil || resp.Code != 17 || resp.Remark != "later failure" {
		t.Fatalf("pending answered %v", resp)
	}
	// The slot is free again.
	if resp, err := conn.Invoke(ctxTimeout(t, 5*time.Second), NewRequest(codeEcho, nil, nil)); err != nil || resp.Code != codeSuccess {
		t.Fatalf("after Finish: %v %v", resp, err)
	}

	// Shutdown waits for a pending request.
	go func() {
		resp, _ := conn.Invoke(ctxTimeout(t, 10*time.Second), NewRequest(codeAsync, nil, nil))
		results <- resp
	}()
	p = <-pending
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctxTimeout(t, 10*time.Second)) }()
	select {
	case err := <-shut:
		t.Fatalf("shutdown returned (%v) with a request pending", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.Finish(NewResponse(p.req, codeSuccess, "done"), nil)
	if resp := <-results; resp == nil || resp.Remark != "done" {
		t.Fatalf("pending answered %v during shutdown", resp)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var async []int32
	for _, o := range seen {
		if o.req == codeAsync {
			async = append(async, o.resp)
		}
	}
	if len(async) != 2 || async[0] != 17 || async[1] != codeSuccess {
		t.Fatalf("observer saw the pending requests as %v, want [17 %d]", async, codeSuccess)
	}
}
