package remoting

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestLargeBodiesConcurrently echoes bodies on both sides of the by-
// reference threshold, many at once on one connection, so that frames
// whose bodies go out as their own iovec interleave with copied ones in
// the writer's batches.
func TestLargeBodiesConcurrently(t *testing.T) {
	_, addr, _ := testServer(t, ServerConfig{})
	cli := testClient(t, ClientConfig{})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			size := []int{10, bodyByRef - 1, bodyByRef, 200 << 10}[i%4]
			body := bytes.Repeat([]byte{byte('a' + i%26)}, size)
			copy(body, fmt.Sprintf("req-%d", i))
			resp, err := cli.Invoke(ctxTimeout(t, 10*time.Second), addr, NewRequest(codeEcho, nil, body))
			if err != nil {
				t.Error(err)
				return
			}
			if !bytes.Equal(resp.Body, body) {
				t.Errorf("request %d (%d bytes): echoed %d bytes, different", i, size, len(resp.Body))
			}
		})
	}
	wg.Wait()
}
