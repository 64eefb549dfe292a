package remoting

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/protocol"
)

var (
	// ErrConnClosed is returned for requests on, or pending on, a closed
	// connection.
	ErrConnClosed = errors.New("remoting: connection closed")
	// ErrTimeout is returned when no response arrived before the
	// request's deadline.
	ErrTimeout = errors.New("remoting: request timed out")
	// ErrSlowPeer closes a connection whose peer stopped reading while
	// responses kept piling up.
	ErrSlowPeer = errors.New("remoting: peer not reading, write queue full")
)

// Response codes the transport itself answers with, from the one table.
const (
	codeSuccess                 = int32(protocol.Success)
	codeSystemError             = int32(protocol.SystemError)
	codeSystemBusy              = int32(protocol.SystemBusy)
	codeRequestCodeNotSupported = int32(protocol.RequestCodeNotSupported)
	codeGoAway                  = int32(protocol.GoAway)
)

// Processor handles inbound requests. It is the one interface every
// handler implements, whatever the protocol or role (name server, broker,
// client callbacks).
//
// Process returns the response to send, or an error: an *Error becomes a
// response with its code and remark, any other error a SYSTEM_ERROR with the
// error's text. Returning (nil, nil) means the processor keeps the request
// and answers later: with Conn.Reply (long polling: the request no longer
// counts as in flight), or, after Conn.Later, with Pending.Finish (it
// stays in flight until then). Responses to oneway requests are
// discarded. ctx is cancelled when the connection closes.
type Processor interface {
	Process(ctx context.Context, conn *Conn, req *Command) (*Command, error)
}

// ProcessorFunc adapts a function to Processor.
type ProcessorFunc func(ctx context.Context, conn *Conn, req *Command) (*Command, error)

// Process calls f.
func (f ProcessorFunc) Process(ctx context.Context, conn *Conn, req *Command) (*Command, error) {
	return f(ctx, conn, req)
}

// Error is an error a processor returns to answer with a specific
// response code and remark.
type Error struct {
	Code   int32
	Remark string
}

func (e *Error) Error() string { return fmt.Sprintf("remoting: code %d: %s", e.Code, e.Remark) }

// Errorf builds an *Error with a formatted remark.
func Errorf(code int32, format string, args ...any) error {
	return &Error{Code: code, Remark: fmt.Sprintf(format, args...)}
}

// connConfig is what a Conn needs from its owner (Server or Client).
type connConfig struct {
	maxFrame      int
	maxInFlight   int
	maxWriteQueue int
	idleTimeout   time.Duration
	writeTimeout  time.Duration
	log           *slog.Logger
	proc          Processor
	// admit, when set, is asked before each inbound request runs: it may
	// refuse it with a response (shutdown), or count it as running; every
	// admitted request is matched by one call to release.
	admit   func(req *Command) (reject *Command)
	release func()
	// route, if set, says how each request code is served
	// (Server.RegisterRoute); without it, or for RouteMap, on a worker with
	// ExtFields. Every response gets ExtFields.
	route func(code int32) Route
	// observe, if set, is told of every request answered through a
	// Pending (Server.Process reports the others).
	observe func(requestCode, responseCode int32, elapsed time.Duration)
	onClose func(*Conn)
}

// Conn is one remoting connection. Both ends may send requests on it; the
// reader routes responses to waiting callers by opaque and hands requests
// to the owner's Processor, each in its own goroutine.
type Conn struct {
	nc     net.Conn
	cfg    connConfig
	remote netip.AddrPort

	ctx    context.Context
	cancel context.CancelFunc

	nextOpaque atomic.Int32
	sem        chan struct{} // bounds concurrently running inbound requests
	work       chan *Command // requests handed to idle workers (see worker)
	idle       atomic.Int32

	mu      sync.Mutex
	pending map[int32]chan *Command
	async   map[int32]*asyncCall // InvokeAsync calls (async.go)
	closed  bool

	wmu     sync.Mutex
	wq      [][]byte
	wqBytes int
	writing bool // the writer holds a batch not yet on the socket
	wsignal chan struct{}

	done      chan struct{}
	closeOnce sync.Once
	loops     sync.WaitGroup

	values sync.Map
}

func newConn(nc net.Conn, cfg connConfig) *Conn {
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		nc:      nc,
		cfg:     cfg,
		ctx:     ctx,
		cancel:  cancel,
		sem:     make(chan struct{}, cfg.maxInFlight),
		work:    make(chan *Command, cfg.maxInFlight),
		pending: make(map[int32]chan *Command),
		wsignal: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	c.cfg.log = cfg.log.With("remote", nc.RemoteAddr().String())
	if tcp, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.remote = tcp.AddrPort()
	} else {
		c.remote, _ = netip.ParseAddrPort(nc.RemoteAddr().String())
	}
	c.remote = netip.AddrPortFrom(c.remote.Addr().Unmap(), c.remote.Port())
	c.loops.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return c
}

// RemoteAddr is the peer's address as ip:port.
func (c *Conn) RemoteAddr() string { return c.nc.RemoteAddr().String() }

// RemoteAddrPort is the peer's address, parsed once (senders need it per
// message as the born host), IPv4-mapped addresses unmapped; zero if it
// is not an IP address.
func (c *Conn) RemoteAddrPort() netip.AddrPort { return c.remote }

// LocalAddr is this end's address as ip:port.
func (c *Conn) LocalAddr() string { return c.nc.LocalAddr().String() }

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// SetValue attaches per-connection state owned by a protocol layer (for
// example the client id a heartbeat announced).
func (c *Conn) SetValue(key, value any) { c.values.Store(key, value) }

// Value returns state attached with SetValue.
func (c *Conn) Value(key any) (any, bool) { return c.values.Load(key) }

// Close closes the connection. Pending requests fail with ErrConnClosed.
// It is idempotent and safe to call from any goroutine.
func (c *Conn) Close() error {
	c.closeWith(nil)
	return nil
}

func (c *Conn) closeWith(cause error) {
	c.closeOnce.Do(func() {
		if cause != nil {
			c.cfg.log.Warn("closing connection", "err", cause)
		}
		c.mu.Lock()
		c.closed = true
		pending := c.pending
		c.pending = nil
		c.mu.Unlock()
		for _, ch := range pending {
			close(ch)
		}
		c.failAsync()
		c.cancel()
		close(c.done)
		_ = c.nc.Close()
		if c.cfg.onClose != nil {
			c.cfg.onClose(c)
		}
	})
}

// wait blocks until both connection goroutines have exited.
func (c *Conn) wait() { c.loops.Wait() }

// Invoke sends req and waits for its response until ctx is done. The
// opaque is assigned here; req must not be reused concurrently.
func (c *Conn) Invoke(ctx context.Context, req *Command) (*Command, error) {
	req.Flag &^= FlagResponse | FlagOneway
	req.Opaque = c.nextOpaque.Add(1)
	ch := make(chan *Command, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrConnClosed
	}
	c.pending[req.Opaque] = ch
	c.mu.Unlock()

	if err := c.send(req, false); err != nil {
		c.forget(req.Opaque)
		return nil, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, ErrConnClosed
		}
		return resp, nil
	case <-ctx.Done():
		c.forget(req.Opaque)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: code %d to %s", ErrTimeout, req.Code, c.RemoteAddr())
		}
		return nil, ctx.Err()
	}
}

// InvokeOneway sends req with the oneway flag; no response is expected.
func (c *Conn) InvokeOneway(req *Command) error {
	req.Flag = (req.Flag &^ FlagResponse) | FlagOneway
	req.Opaque = c.nextOpaque.Add(1)
	return c.send(req, false)
}

// Reply sends a response built with NewResponse. Processors that keep a
// request (long polling) use it to answer later.
func (c *Conn) Reply(resp *Command) error {
	resp.Flag |= FlagResponse
	return c.send(resp, true)
}

func (c *Conn) forget(opaque int32) {
	c.mu.Lock()
	if c.pending != nil {
		delete(c.pending, opaque)
	}
	c.mu.Unlock()
}

// bodyByRef is the body size from which a frame's body is written from
// the command's own buffer (its own iovec in the writer's writev) instead
// of being copied behind the header: pull responses carry up to hundreds
// of KiB of records.
const bodyByRef = 8 << 10

// send encodes cmd and queues it for the writer. With byRef (responses,
// which processors hand over) a large body is queued by reference instead
// of copied; requests are always copied, since their callers may reuse
// the body once Invoke times out or InvokeOneway returns.
func (c *Conn) send(cmd *Command, byRef bool) error {
	inline := !byRef || len(cmd.Body) < bodyByRef
	capacity := 256
	if inline {
		capacity += len(cmd.Body)
	}
	head, err := appendFrameHead(make([]byte, 0, capacity), cmd)
	if err != nil {
		return err
	}
	size := len(head) + len(cmd.Body)
	if size > c.cfg.maxFrame {
		return fmt.Errorf("%w: %d-byte %s exceeds %d", ErrFrameTooLarge, size, cmd, c.cfg.maxFrame)
	}
	var body []byte
	if inline {
		head = append(head, cmd.Body...)
	} else {
		body = cmd.Body
	}
	c.wmu.Lock()
	select {
	case <-c.done:
		c.wmu.Unlock()
		return ErrConnClosed
	default:
	}
	if c.wqBytes+size > c.cfg.maxWriteQueue && c.wqBytes > 0 {
		c.wmu.Unlock()
		c.closeWith(ErrSlowPeer)
		return ErrSlowPeer
	}
	c.wq = append(c.wq, head)
	if body != nil {
		c.wq = append(c.wq, body)
	}
	c.wqBytes += size
	c.wmu.Unlock()
	select {
	case c.wsignal <- struct{}{}:
	default:
	}
	return nil
}

// writeLoop writes queued frames. Everything queued while a write is in
// progress goes out in the next single writev, which batches responses
// under load without delaying a lone one.
func (c *Conn) writeLoop() {
	defer c.loops.Done()
	var batch [][]byte
	for {
		select {
		case <-c.done:
			return
		case <-c.wsignal:
		}
		c.wmu.Lock()
		batch, c.wq = c.wq, batch[:0]
		c.wqBytes = 0
		c.writing = len(batch) > 0
		c.wmu.Unlock()
		if len(batch) == 0 {
			continue
		}
		if c.cfg.writeTimeout > 0 {
			_ = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.writeTimeout))
		}
		bufs := net.Buffers(batch)
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.closeWith(fmt.Errorf("remoting: write: %w", err))
			return
		}
		clear(batch)
		c.wmu.Lock()
		c.writing = false
		c.wmu.Unlock()
	}
}

// flushed reports whether everything queued so far is on the socket.
func (c *Conn) flushed() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return len(c.wq) == 0 && !c.writing
}

// CloseGracefully waits (until ctx ends) for queued frames to be written,
// then closes the connection, so that responses to drained requests
// reach their peers.
func (c *Conn) CloseGracefully(ctx context.Context) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !c.flushed() {
		select {
		case <-ctx.Done():
			c.closeWith(nil)
			return
		case <-c.done:
			return
		case <-tick.C:
		}
	}
	c.closeWith(nil)
}

func (c *Conn) readLoop() {
	defer c.loops.Done()
	r := bufio.NewReaderSize(c.nc, 64<<10)
	for {
		if c.cfg.idleTimeout > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.cfg.idleTimeout))
		}
		cmd, err := readFrame(r, c.cfg.maxFrame)
		if err != nil {
			c.closeWith(readError(err, c.done))
			return
		}
		if cmd.IsResponse() {
			cmd.extToMap()
			c.deliver(cmd)
			continue
		}
		r := RouteMap
		if c.cfg.route != nil {
			r = c.cfg.route(cmd.Code)
		}
		if r == RouteMap {
			cmd.extToMap()
		}
		c.dispatch(cmd, r == RouteInline)
	}
}

// readError decides whether a read failure is worth a log line: a peer
// hanging up or our own Close is normal; a bad frame or idle timeout is not.
func readError(err error, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	default:
	}
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("remoting: idle timeout: %w", err)
	}
	return err
}

func (c *Conn) deliver(resp *Command) {
	c.mu.Lock()
	ch, ok := c.pending[resp.Opaque]
	if ok {
		delete(c.pending, resp.Opaque)
	}
	c.mu.Unlock()
	if ok {
		ch <- resp // buffered, never blocks
		return
	}
	c.deliverAsync(resp)
	// A response nobody waits for (timed out, or a peer answering a
	// oneway) is dropped, as Java and client-go do.
}

// dispatch runs one inbound request in its own goroutine, or on the
// reader's if inline, unless the per-connection bound is reached, in which
// case it answers SYSTEM_BUSY at once (queueing without limit is how a
// broker runs out of memory), or, for a oneway request, waits for a slot
// without reading further.
func (c *Conn) dispatch(req *Command, inline bool) {
	select {
	case c.sem <- struct{}{}:
	default:
		if !req.IsOneway() {
			c.answer(req, NewResponse(req, codeSystemBusy,
				fmt.Sprintf("[OVERLOAD]system busy, %d requests in flight on this connection", c.cfg.maxInFlight)))
			return
		}
		// A oneway request cannot be refused (no answer may be sent), and
		// dropping it loses a message the sender believes sent. Stop
		// reading until a slot frees: TCP then slows the sender down.
		select {
		case c.sem <- struct{}{}:
		case <-c.done:
			return
		}
	}
	if c.cfg.admit != nil {
		if resp := c.cfg.admit(req); resp != nil {
			<-c.sem
			c.answer(req, resp)
			return
		}
	}
	if inline {
		// Handing the request to a worker cost more than serving it: a
		// processor registered inline answers slow work through Later.
		c.serve(req)
		return
	}
	if c.idle.Add(-1) >= 0 { // claimed an idle worker: it takes the request
		c.work <- req // never blocks: the channel holds maxInFlight
		return
	}
	c.idle.Add(1)
	go c.worker(req)
}

// workerIdle is how long a request goroutine waits for the next request
// of its connection before it exits.
const workerIdle = 2 * time.Second

// worker serves req, then further requests of the connection until it has
// been idle for workerIdle or the connection closes. Reusing goroutines
// keeps their grown stacks: a fresh goroutine per request spent a tenth of
// the broker's CPU growing (copying) its stack on the send path.
//
// c.idle counts waiting workers minus the requests dispatch has claimed
// them for: dispatch hands a request over only after claiming a waiting
// worker, so a worker that leaves while the count says a claim is
// outstanding stays for the request instead.
func (c *Conn) worker(req *Command) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		c.serve(req)
		c.idle.Add(1)
		var ok bool
		if req, ok = c.awaitWork(idle); !ok {
			return
		}
	}
}

// workerStackReserve is the stack a waiting worker keeps in use. The
// garbage collector halves the stack of a goroutine that uses less than a
// quarter of it, and a worker waits for its next request with almost no
// stack: without the reserve, every collection shrank the idle workers'
// stacks and the next send grew them again, copying (6 % of the broker's
// CPU on the send path). With it, stacks up to four times the reserve stay.
const workerStackReserve = 4 << 10

// awaitWork waits for the worker's next request; ok is false when the
// worker should exit. It holds workerStackReserve bytes of stack while it
// waits (see there).
//
//go:noinline
func (c *Conn) awaitWork(idle *time.Timer) (req *Command, ok bool) {
	var reserve [workerStackReserve]byte
	touchStack(&reserve)
	for {
		idle.Reset(workerIdle)
		select {
		case req = <-c.work:
			return req, true
		case <-c.done:
		case <-idle.C:
		}
		if c.idle.Add(-1) >= 0 {
			return nil, false
		}
		// A request was claimed for a waiting worker and is on its
		// way: wait for it (or until the count says another took it).
		c.idle.Add(1)
		runtime.Gosched()
	}
}

// touchStack keeps the compiler from dropping the reserve.
//
//go:noinline
func touchStack(b *[workerStackReserve]byte) { b[len(b)-1] = 1 }

// serve runs one admitted request and answers it, then frees its slot.
func (c *Conn) serve(req *Command) {
	resp := c.run(req)
	if req.later != nil {
		// Its Pending answers and frees the slot (maybe already has). A
		// response here is a panic after Later (run answers it with
		// SYSTEM_ERROR) or a processor bug: answer through the Pending,
		// which does nothing if it was finished, so that the slot is not
		// lost (an inline oneway request waits for a free slot).
		if resp != nil {
			if resp.Code != codeSystemError {
				c.cfg.log.Error("processor returned a response for a request it answers later", "code", req.Code)
			}
			req.later.Finish(resp, nil)
		}
		return
	}
	if resp != nil {
		c.answer(req, resp)
	}
	c.releaseSlot()
}

func (c *Conn) releaseSlot() {
	<-c.sem
	if c.cfg.release != nil {
		c.cfg.release()
	}
}

// Pending is a request its processor answers later, from any goroutine,
// with Finish. Unlike a request the processor merely keeps (a held pull,
// answered with Reply), it stays in flight until then: it holds its slot
// of the connection's in-flight bound and graceful shutdown waits for it.
// Sends use it so that a message waiting for the store costs no goroutine.
type Pending struct {
	c     *Conn
	req   *Command
	start time.Time
	done  atomic.Bool
}

// Later marks req, which the calling processor is running, as answered
// later: the processor must return (nil, nil) and call Finish exactly
// once, possibly before it returns.
func (c *Conn) Later(req *Command) *Pending {
	req.later = &Pending{c: c, req: req, start: time.Now()}
	return req.later
}

// Finish answers the request with resp, or with err as a processor's
// error is answered (an *Error's code and remark, else SYSTEM_ERROR), and
// frees its slot. Later calls do nothing.
func (p *Pending) Finish(resp *Command, err error) {
	if p.done.Swap(true) {
		return
	}
	c := p.c
	if err != nil {
		resp = errorResponse(p.req, err)
	}
	if c.cfg.observe != nil && resp != nil {
		c.cfg.observe(p.req.Code, resp.Code, time.Since(p.start))
	}
	if resp != nil {
		c.answer(p.req, resp)
	}
	c.releaseSlot()
}

func errorResponse(req *Command, err error) *Command {
	var re *Error
	if errors.As(err, &re) {
		return NewResponse(req, re.Code, re.Remark)
	}
	return NewResponse(req, codeSystemError, err.Error())
}

// run calls the processor, turning errors and panics into responses.
func (c *Conn) run(req *Command) (resp *Command) {
	defer func() {
		if p := recover(); p != nil {
			c.cfg.log.Error("request handler panicked", "code", req.Code, "panic", p, "stack", string(debug.Stack()))
			resp = NewResponse(req, codeSystemError, fmt.Sprintf("internal error handling request code %d", req.Code))
		}
	}()
	if c.cfg.proc == nil {
		return NewResponse(req, codeRequestCodeNotSupported, fmt.Sprintf(" request type %d not supported", req.Code))
	}
	resp, err := c.cfg.proc.Process(c.ctx, c, req)
	if err != nil {
		return errorResponse(req, err)
	}
	return resp
}

func (c *Conn) answer(req, resp *Command) {
	if req.IsOneway() {
		return
	}
	resp.Opaque = req.Opaque
	resp.Flag |= FlagResponse
	resp.Serialize = req.Serialize
	err := c.send(resp, true)
	if errors.Is(err, ErrFrameTooLarge) {
		// Tell the requester instead of leaving it to time out.
		err = c.send(NewResponse(req, codeSystemError, "response exceeds the frame limit"), true)
	}
	if err != nil && !errors.Is(err, ErrConnClosed) && !errors.Is(err, ErrSlowPeer) {
		c.cfg.log.Warn("cannot send response", "code", req.Code, "err", err)
	}
}
