package remoting

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// ErrClientClosed is returned by a Client after Close.
var ErrClientClosed = errors.New("remoting: client closed")

// ClientConfig tunes a Client. Zero values take the defaults noted.
type ClientConfig struct {
	// DialTimeout bounds connection setup (default 3 s).
	DialTimeout time.Duration
	// RequestTimeout applies when the caller's ctx has no deadline
	// (default 3 s, the Java client's default).
	RequestTimeout time.Duration
	// MaxFrame bounds frames (default DefaultMaxFrame).
	MaxFrame int
	// MaxInFlightPerConn bounds server-originated requests handled at once.
	MaxInFlightPerConn int
	// Processor handles requests the server sends to us (nil: answered
	// with REQUEST_CODE_NOT_SUPPORTED).
	Processor Processor
	// Logger receives connection-level events (default: discard).
	Logger *slog.Logger
	// TLS, if set, wraps every connection in TLS (see tls.go).
	TLS *tls.Config
}

// Client keeps one connection per address, shared by every request to
// that address, and redials lazily after a connection breaks.
type Client struct {
	cfg ClientConfig

	mu     sync.Mutex
	slots  map[string]*connSlot
	closed bool
}

// connSlot serialises dialing one address so concurrent first requests
// share a single connection.
type connSlot struct {
	mu   sync.Mutex
	conn *Conn
}

// NewClient returns a client with no connections yet.
func NewClient(cfg ClientConfig) *Client {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 3 * time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 3 * time.Second
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	if cfg.MaxInFlightPerConn <= 0 {
		cfg.MaxInFlightPerConn = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, slots: make(map[string]*connSlot)}
}

// Conn returns the live connection to addr, dialing if there is none.
func (c *Client) Conn(ctx context.Context, addr string) (*Conn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClientClosed
	}
	slot := c.slots[addr]
	if slot == nil {
		slot = &connSlot{}
		c.slots[addr] = slot
	}
	c.mu.Unlock()

	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.conn != nil {
		select {
		case <-slot.conn.Done():
			slot.conn.wait()
			slot.conn = nil
		default:
			return slot.conn, nil
		}
	}
	dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("remoting: dial %s: %w", addr, err)
	}
	if c.cfg.TLS != nil {
		if nc, err = dialTLS(dctx, nc, c.cfg.TLS, addr); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		_ = nc.Close()
		return nil, ErrClientClosed
	}
	slot.conn = newConn(nc, connConfig{
		maxFrame:      c.cfg.MaxFrame,
		maxInFlight:   c.cfg.MaxInFlightPerConn,
		maxWriteQueue: 64 << 20,
		writeTimeout:  30 * time.Second,
		log:           c.cfg.Logger,
		proc:          c.cfg.Processor,
	})
	return slot.conn, nil
}

// Invoke sends req to addr and waits for the response. Without a deadline
// on ctx the client's RequestTimeout applies.
func (c *Client) Invoke(ctx context.Context, addr string, req *Command) (*Command, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.RequestTimeout)
		defer cancel()
	}
	conn, err := c.Conn(ctx, addr)
	if err != nil {
		return nil, err
	}
	return conn.Invoke(ctx, req)
}

// InvokeOneway sends req to addr without waiting for an answer.
func (c *Client) InvokeOneway(ctx context.Context, addr string, req *Command) error {
	conn, err := c.Conn(ctx, addr)
	if err != nil {
		return err
	}
	return conn.InvokeOneway(req)
}

// CloseConn drops the connection to addr, if any (for example after a
// name server stopped answering).
func (c *Client) CloseConn(addr string) {
	c.mu.Lock()
	slot := c.slots[addr]
	c.mu.Unlock()
	if slot == nil {
		return
	}
	slot.mu.Lock()
	if slot.conn != nil {
		_ = slot.conn.Close()
		slot.conn.wait()
		slot.conn = nil
	}
	slot.mu.Unlock()
}

// Close closes every connection and waits for their goroutines. It is
// idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	slots := c.slots
	c.slots = make(map[string]*connSlot)
	c.mu.Unlock()
	for addr := range slots {
		slot := slots[addr]
		slot.mu.Lock()
		if slot.conn != nil {
			_ = slot.conn.Close()
			slot.conn.wait()
			slot.conn = nil
		}
		slot.mu.Unlock()
	}
	return nil
}
