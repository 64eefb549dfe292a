package remoting

import (
	"context"
	"fmt"
	"time"
)

// asyncCall is a request sent with InvokeAsync, waiting for its answer.
type asyncCall struct {
	cb    func(*Command, error)
	timer *time.Timer
	code  int32
}

// InvokeAsync sends req and returns once it is queued; cb then runs
// exactly once, with the response, with ErrTimeout (wrapped) after
// timeout, or with ErrConnClosed. It runs on the connection's reader (or a
// timer's) goroutine and must not block. If InvokeAsync returns an error,
// cb is never called. A load generator keeps hundreds of requests in flight
// this way without a goroutine blocked on each.
func (c *Conn) InvokeAsync(req *Command, timeout time.Duration, cb func(*Command, error)) error {
	req.Flag &^= FlagResponse | FlagOneway
	opaque := c.nextOpaque.Add(1)
	req.Opaque = opaque
	call := &asyncCall{cb: cb, code: req.Code}
	call.timer = time.AfterFunc(timeout, func() {
		if c.takeAsync(opaque) != nil {
			cb(nil, fmt.Errorf("%w: code %d to %s", ErrTimeout, call.code, c.RemoteAddr()))
		}
	})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		call.timer.Stop()
		return ErrConnClosed
	}
	if c.async == nil {
		c.async = make(map[int32]*asyncCall)
	}
	c.async[opaque] = call
	c.mu.Unlock()
	if err := c.send(req, false); err != nil {
		if c.takeAsync(opaque) != nil {
			call.timer.Stop()
			return err
		}
		// Already answered (closed meanwhile): cb ran or runs.
	}
	return nil
}

// takeAsync removes and returns the call waiting on opaque, if any; the
// one that takes it answers it.
func (c *Conn) takeAsync(opaque int32) *asyncCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	call := c.async[opaque]
	if call != nil {
		delete(c.async, opaque)
	}
	return call
}

// deliverAsync answers an asynchronous call with resp; false if no call
// waits on its opaque.
func (c *Conn) deliverAsync(resp *Command) bool {
	call := c.takeAsync(resp.Opaque)
	if call == nil {
		return false
	}
	call.timer.Stop()
	call.cb(resp, nil)
	return true
}

// failAsync answers every waiting asynchronous call with ErrConnClosed.
func (c *Conn) failAsync() {
	c.mu.Lock()
	calls := c.async
	c.async = nil
	c.mu.Unlock()
	for _, call := range calls {
		call.timer.Stop()
		call.cb(nil, ErrConnClosed)
	}
}

// InvokeAsync sends req to addr (connecting if needed) like Conn.InvokeAsync,
// with ctx's deadline as the timeout, or the client's RequestTimeout.
func (c *Client) InvokeAsync(ctx context.Context, addr string, req *Command, cb func(*Command, error)) error {
	conn, err := c.Conn(ctx, addr)
	if err != nil {
		return err
	}
	timeout := c.cfg.RequestTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	return conn.InvokeAsync(req, timeout, cb)
}
