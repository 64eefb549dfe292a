package remoting

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// observed is one call of ServerConfig.Observer.
type observed struct {
	code, resp int32
	elapsed    time.Duration
}

// The observer sees every answered request with the code the client got,
// errors and panics included, and not the requests kept to answer later.
func TestServerObserver(t *testing.T) {
	var mu sync.Mutex
	var got []observed
	_, addr, _ := testServer(t, ServerConfig{Observer: func(code, resp int32, d time.Duration) {
		mu.Lock()
		got = append(got, observed{code, resp, d})
		mu.Unlock()
	}})
	cli := testClient(t, ClientConfig{})
	for _, code := range []int32{codeEcho, 4242, codeFail, codePanic, codeAsync} {
		if _, err := cli.Invoke(ctxTimeout(t, 5*time.Second), addr, NewRequest(code, nil, nil)); err != nil {
			t.Fatalf("code %d: %v", code, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []observed{{codeEcho, codeSuccess, 0}, {4242, codeRequestCodeNotSupported, 0},
		{codeFail, 17, 0}, {codePanic, codeSystemError, 0}}
	// Each request was answered before the next was sent, so the order is
	// the sending order.
	if !slices.EqualFunc(got, want, func(a, b observed) bool { return a.code == b.code && a.resp == b.resp }) {
		t.Fatalf("observed %v, want %v", got, want)
	}
	for _, o := range got {
		if o.elapsed < 0 || o.elapsed > 5*time.Second {
			t.Errorf("code %d: elapsed %v", o.code, o.elapsed)
		}
	}
}
