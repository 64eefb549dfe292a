package remoting

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("remoting: server closed")

// ServerConfig tunes a Server. Zero values take the defaults noted.
type ServerConfig struct {
	// MaxFrame bounds an inbound or outbound frame, prefix included
	// (default DefaultMaxFrame).
	MaxFrame int
	// MaxInFlightPerConn bounds requests running concurrently for one
	// connection; beyond it requests get SYSTEM_BUSY (default 512).
	MaxInFlightPerConn int
	// MaxWriteQueue bounds bytes queued for a peer that stopped reading;
	// beyond it the connection is closed (default 64 MiB).
	MaxWriteQueue int
	// IdleTimeout closes a connection that sent nothing for this long
	// (default 120 s, as Java's serverChannelMaxIdleTimeSeconds).
	IdleTimeout time.Duration
	// WriteTimeout bounds one socket write (default 30 s).
	WriteTimeout time.Duration
	// Logger receives connection-level events (default: discard).
	Logger *slog.Logger
	// Observer, if set, is told of every request a registered or unknown
	// code answered: the request code, the response code and the time
	// from dispatch to the processor's return. A request the processor
	// keeps to answer later (a held pull returns no response and no error)
	// is not reported; whoever answers it reports it. A request answered
	// through a Pending (Conn.Later) is reported when it is finished.
	// Observer runs on the request's goroutine (or Finish's): it must be
	// fast and safe for concurrent use.
	// Metrics hang here so that the transport needs no metrics library.
	Observer func(requestCode, responseCode int32, elapsed time.Duration)
	// TLSMode and TLS enable TLS on accepted connections (see tls.go);
	// TLS nil or TLSDisabled serves plain TCP.
	TLSMode TLSMode
	TLS     *tls.Config
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.MaxFrame <= 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.MaxInFlightPerConn <= 0 {
		c.MaxInFlightPerConn = 512
	}
	if c.MaxWriteQueue <= 0 {
		c.MaxWriteQueue = 64 << 20
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 120 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Server accepts remoting connections and dispatches their requests to
// the Processor registered for each request code.
type Server struct {
	cfg ServerConfig
	log *slog.Logger

	regMu    sync.RWMutex
	registry map[int32]Processor
	// routes maps the codes registered with RegisterRoute to how they are
	// served; it is replaced whole on change, so that readers look codes
	// up without a lock.
	routes atomic.Pointer[map[int32]Route]

	draining atomic.Bool

	// running counts admitted requests; drained is closed once shutting
	// is set and running is zero. (A WaitGroup does not fit: requests
	// keep arriving, to be refused, while shutdown waits.)
	runMu     sync.Mutex
	running   int
	shutting  bool
	drained   chan struct{}
	drainOnce sync.Once

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	onClose   []func(*Conn)
	closed    bool

	accepting sync.WaitGroup
}

// NewServer returns a server with no processors registered.
func NewServer(cfg ServerConfig) *Server {
	cfg = cfg.withDefaults()
	return &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		registry:  make(map[int32]Processor),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*Conn]struct{}),
		drained:   make(chan struct{}),
	}
}

// Register routes requests with the given code to p, replacing any
// earlier registration.
func (s *Server) Register(code int32, p Processor) {
	s.regMu.Lock()
	s.registry[code] = p
	s.setRouteLocked(code, RouteMap)
	s.regMu.Unlock()
}

// Route says how a request code is served.
type Route uint8

const (
	// RouteMap: on a worker goroutine, ext fields in ExtFields (Register).
	RouteMap Route = iota
	// RouteList: on a worker goroutine, a JSON header's ext fields left in
	// ExtList and ExtFields nil (binary headers still fill ExtFields): the
	// processor reads them with Command.Ext or by walking both, and no map
	// is built per request.
	RouteList
	// RouteInline: as RouteList, on the connection's reader goroutine, as
	// NATS serves publishes: handing each request to another goroutine
	// cost more than the processor itself. The processor must return
	// promptly, answering anything slow later through Conn.Later; the
	// connection reads its next frame when it returns.
	RouteInline
)

// RegisterRoute is Register with a Route other than RouteMap for the
// hottest codes (sends, pulls).
func (s *Server) RegisterRoute(code int32, p Processor, r Route) {
	s.regMu.Lock()
	s.registry[code] = p
	s.setRouteLocked(code, r)
	s.regMu.Unlock()
}

func (s *Server) setRouteLocked(code int32, r Route) {
	old := s.routes.Load()
	if r == RouteMap && (old == nil || (*old)[code] == RouteMap) {
		return // the default: nothing to copy (Register of most codes)
	}
	next := make(map[int32]Route)
	if old != nil {
		maps.Copy(next, *old)
	}
	if r == RouteMap {
		delete(next, code)
	} else {
		next[code] = r
	}
	s.routes.Store(&next)
}

func (s *Server) route(code int32) Route {
	if m := s.routes.Load(); m != nil {
		return (*m)[code]
	}
	return RouteMap
}

// OnConnClose registers a callback run once for every connection that
// closes (name servers drop the brokers registered over it, brokers the
// clients). Register callbacks before serving.
func (s *Server) OnConnClose(fn func(*Conn)) {
	s.mu.Lock()
	s.onClose = append(s.onClose, fn)
	s.mu.Unlock()
}

// Process implements Processor by routing on the request code. An
// unregistered code gets REQUEST_CODE_NOT_SUPPORTED, with Java's remark.
func (s *Server) Process(ctx context.Context, conn *Conn, req *Command) (resp *Command, err error) {
	if obs := s.cfg.Observer; obs != nil {
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				// Conn.run answers a panic with SYSTEM_ERROR.
				obs(req.Code, codeSystemError, time.Since(start))
				panic(p)
			}
			observe(obs, req.Code, resp, err, time.Since(start))
		}()
	}
	s.regMu.RLock()
	p := s.registry[req.Code]
	s.regMu.RUnlock()
	if p == nil {
		return nil, Errorf(codeRequestCodeNotSupported, " request type %d not supported", req.Code)
	}
	return p.Process(ctx, conn, req)
}

// observe reports one answered request to obs with the response code the
// connection will send (see Conn.run).
func observe(obs func(int32, int32, time.Duration), code int32, resp *Command, err error, d time.Duration) {
	var re *Error
	switch {
	case err != nil && errors.As(err, &re):
		obs(code, re.Code, d)
	case err != nil:
		obs(code, codeSystemError, d)
	case resp != nil:
		obs(code, resp.Code, d)
	}
}

// Listen binds addr and serves it in the background until Shutdown.
// It returns the bound address (useful with port 0).
func (s *Server) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("remoting: listen %s: %w", addr, err)
	}
	s.accepting.Add(1)
	go func() {
		defer s.accepting.Done()
		if err := s.Serve(ln); err != nil && !errors.Is(err, ErrServerClosed) {
			s.log.Error("accept loop stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Serve accepts connections on ln until Shutdown; it closes ln on return.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.draining.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off
				// rather than spin, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed, retrying", "err", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("remoting: accept: %w", err)
		}
		backoff = 0
		s.track(s.wrapAccepted(nc))
	}
}

func (s *Server) track(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = nc.Close()
		return
	}
	c := newConn(nc, connConfig{
		maxFrame:      s.cfg.MaxFrame,
		maxInFlight:   s.cfg.MaxInFlightPerConn,
		maxWriteQueue: s.cfg.MaxWriteQueue,
		idleTimeout:   s.cfg.IdleTimeout,
		writeTimeout:  s.cfg.WriteTimeout,
		log:           s.log,
		proc:          s,
		admit:         s.admit,
		route:         s.route,
		release:       s.release,
		observe:       s.cfg.Observer,
		onClose:       s.connClosed,
	})
	s.conns[c] = struct{}{}
}

func (s *Server) connClosed(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	hooks := s.onClose
	s.mu.Unlock()
	for _, fn := range hooks {
		fn(c)
	}
}

// admit refuses new requests once shutdown has begun. Clients newer than
// 5.3.1 understand GO_AWAY and reconnect elsewhere; older ones get
// SYSTEM_BUSY, which they retry.
func (s *Server) admit(req *Command) *Command {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.shutting {
		if req.Version > 475 {
			return NewResponse(req, codeGoAway, "server is shutting down")
		}
		return NewResponse(req, codeSystemBusy, "[REJECTREQUEST]server is shutting down")
	}
	s.running++
	return nil
}

func (s *Server) release() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	s.running--
	if s.shutting && s.running == 0 {
		s.drainOnce.Do(func() { close(s.drained) })
	}
}

// Shutdown stops accepting, refuses new requests, waits for running
// requests to finish (or ctx to end), then closes every connection. It
// returns ctx's error if the drain was cut short.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		_ = ln.Close()
	}
	s.mu.Unlock()
	s.accepting.Wait()

	s.runMu.Lock()
	s.shutting = true
	if s.running == 0 {
		s.drainOnce.Do(func() { close(s.drained) })
	}
	s.runMu.Unlock()
	var err error
	select {
	case <-s.drained:
	case <-ctx.Done():
		err = fmt.Errorf("remoting: shutdown before in-flight requests finished: %w", ctx.Err())
	}

	s.mu.Lock()
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.CloseGracefully(ctx)
	}
	for _, c := range conns {
		c.wait()
	}
	return err
}

// ConnCount reports the number of open connections.
func (s *Server) ConnCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
