package remoting

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestInvokeAsync(t *testing.T) {
	_, addr, gate := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	conn, err := cli.Conn(ctxTimeout(t, 5*time.Second), addr)
	if err != nil {
		t.Fatal(err)
	}

	// Many in flight from one goroutine, each answered once with its own
	// response.
	var wg sync.WaitGroup
	const n = 200
	wg.Add(n)
	for i := range n {
		body := []byte(fmt.Sprintf("req-%d", i))
		err := conn.InvokeAsync(NewRequest(codeEcho, nil, body), 10*time.Second, func(resp *Command, err error) {
			defer wg.Done()
			if err != nil || !bytes.Equal(resp.Body, body) {
				t.Errorf("request %d: %v %v", i, resp, err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()

	// A request nobody answers in time times out; the late answer is
	// dropped.
	timedOut := make(chan error, 2)
	if err := conn.InvokeAsync(NewRequest(codeBlock, nil, nil), 30*time.Millisecond, func(_ *Command, err error) { timedOut <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-timedOut; !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}

	// Pending calls fail when the connection closes.
	closed := make(chan error, 1)
	if err := conn.InvokeAsync(NewRequest(codeBlock, nil, nil), 10*time.Second, func(_ *Command, err error) { closed <- err }); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close()
	if err := <-closed; !errors.Is(err, ErrConnClosed) {
		t.Fatalf("err = %v, want ErrConnClosed", err)
	}
	select {
	case err := <-timedOut:
		t.Fatalf("the timed-out call was answered again: %v", err)
	default:
	}
	if err := conn.InvokeAsync(NewRequest(codeEcho, nil, nil), time.Second, func(*Command, error) {
		t.Error("callback of a refused call ran")
	}); !errors.Is(err, ErrConnClosed) {
		t.Fatalf("on a closed connection: %v", err)
	}
	close(gate) // release the blocked processors
}
