package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/acl"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Defaults of Config.
const (
	DefaultProducerGroup = "BOLIDE_CLIENT_PRODUCER"
	DefaultRouteTTL      = 30 * time.Second
	// DefaultTopic is the auto-create template topic named in sends.
	DefaultTopic = "TBW102"
	// DefaultTopicQueueNums is the queue count asked for when a send
	// auto-creates its topic.
	DefaultTopicQueueNums = 4
)

// Permission bits of a topic (PermName).
const (
	PermRead  int32 = 1 << 2
	PermWrite int32 = 1 << 1
)

var (
	// ErrNoNamesrv is returned by route lookups when Config has no name
	// server address.
	ErrNoNamesrv = errors.New("client: no name server address")
	// ErrNoQueue is returned by Send when the topic's route has no
	// writable queue with the requested id.
	ErrNoQueue = errors.New("client: no writable queue")
	// ErrClosed is returned by calls after Close.
	ErrClosed = errors.New("client: closed")
)

// ResponseError is a failure answered by a broker or name server: the
// response code and its remark. Callers branch on Code.
type ResponseError struct {
	Code   protocol.ResponseCode
	Remark string
}

func (e *ResponseError) Error() string {
	if e.Remark == "" {
		return fmt.Sprintf("client: %v (%d)", e.Code, int32(e.Code))
	}
	return fmt.Sprintf("client: %v (%d): %s", e.Code, int32(e.Code), e.Remark)
}

// IsCode reports whether err is (or wraps) a *ResponseError with code.
func IsCode(err error, code protocol.ResponseCode) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.Code == code
}

func responseError(resp *remoting.Command) error {
	return &ResponseError{Code: protocol.ResponseCode(resp.Code), Remark: resp.Remark}
}

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// NamesrvAddrs are the name servers, tried in order (rotating after a
	// transport failure).
	NamesrvAddrs []string
	// ProducerGroup is sent with every message (default
	// DefaultProducerGroup).
	ProducerGroup string
	// RouteTTL is how long a route stays cached (default DefaultRouteTTL).
	RouteTTL time.Duration
	// Remoting tunes the transport.
	Remoting remoting.ClientConfig
	// Credentials, when valid, sign every request as ACL 1.0 clients do
	// (see internal/acl); zero sends unsigned requests.
	Credentials acl.Credentials
	// Now is the clock (default time.Now): born timestamps, UNIQ_KEY,
	// route expiry.
	Now func() time.Time
}

// MessageQueue names one queue of a topic on one broker.
type MessageQueue struct {
	Topic      string
	BrokerName string
	BrokerAddr string // the master's address
	QueueID    int32
}

// Route is a topic's route resolved to master addresses.
type Route struct {
	Topic string
	Data  body.TopicRouteData
	// Masters maps broker name to the master's address, for brokers that
	// have a master.
	Masters map[string]string
	// WriteQueues and ReadQueues list the queues on brokers with a master
	// and the matching permission, sorted by broker name, then queue id.
	WriteQueues []MessageQueue
	ReadQueues  []MessageQueue
}

func newRoute(topic string, rd body.TopicRouteData) *Route {
	r := &Route{Topic: topic, Data: rd, Masters: make(map[string]string)}
	for _, bd := range rd.BrokerDatas {
		if addr, ok := bd.BrokerAddrs[body.MasterID]; ok && addr != "" {
			r.Masters[bd.BrokerName] = addr
		}
	}
	qds := slices.Clone(rd.QueueDatas)
	slices.SortFunc(qds, func(a, b body.QueueData) int {
		if a.BrokerName < b.BrokerName {
			return -1
		}
		if a.BrokerName > b.BrokerName {
			return 1
		}
		return 0
	})
	for _, qd := range qds {
		addr, ok := r.Masters[qd.BrokerName]
		if !ok {
			continue
		}
		if qd.Perm&PermWrite != 0 {
			for i := range qd.WriteQueueNums {
				r.WriteQueues = append(r.WriteQueues, MessageQueue{topic, qd.BrokerName, addr, i})
			}
		}
		if qd.Perm&PermRead != 0 {
			for i := range qd.ReadQueueNums {
				r.ReadQueues = append(r.ReadQueues, MessageQueue{topic, qd.BrokerName, addr, i})
			}
		}
	}
	return r
}

// MasterAddrs returns the master addresses of the route, sorted.
func (r *Route) MasterAddrs() []string {
	out := make([]string, 0, len(r.Masters))
	for _, a := range r.Masters {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

type cachedRoute struct {
	route   *Route
	expires time.Time
}

// Client is the internal client. It is safe for concurrent use.
type Client struct {
	cfg  Config
	rc   *remoting.Client
	uniq *message.UniqIDGenerator

	nsNext atomic.Uint32 // index of the name server to try first
	rr     atomic.Uint32 // round-robin over write queues

	mu     sync.Mutex
	routes map[string]cachedRoute

	oneway sync.Map // broker addr -> a MessageQueue sent to oneway, for Flush

	closed atomic.Bool
}

// New returns a client; it connects lazily.
func New(cfg Config) *Client {
	if cfg.ProducerGroup == "" {
		cfg.ProducerGroup = DefaultProducerGroup
	}
	if cfg.RouteTTL <= 0 {
		cfg.RouteTTL = DefaultRouteTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.NamesrvAddrs = slices.Clone(cfg.NamesrvAddrs)
	return &Client{
		cfg:    cfg,
		rc:     remoting.NewClient(cfg.Remoting),
		uniq:   message.NewUniqIDGenerator(message.UniqIDConfig{Now: cfg.Now}),
		routes: make(map[string]cachedRoute),
	}
}

// Close closes every connection. It is idempotent.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	return c.rc.Close()
}

// invoke sends a request and fails on transport errors only.
func (c *Client) invoke(ctx context.Context, addr string, req *remoting.Command) (*remoting.Command, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	c.sign(req)
	resp, err := c.rc.Invoke(ctx, addr, req)
	if err != nil {
		return nil, fmt.Errorf("client: %v to %s: %w", protocol.RequestCode(req.Code), addr, err)
	}
	return resp, nil
}

// sign adds the ACL signature to req when the client has credentials.
func (c *Client) sign(req *remoting.Command) {
	if !c.cfg.Credentials.Valid() {
		return
	}
	if req.ExtFields == nil {
		req.ExtFields = make(map[string]string, len(req.ExtList)+3)
	}
	// The signature covers every field: move a list (sends) into the map.
	for _, f := range req.ExtList {
		req.ExtFields[f.Key] = f.Value
	}
	req.ExtList = nil
	c.cfg.Credentials.Sign(req.ExtFields, req.Body)
}

// invokeNamesrv sends req to the name servers in turn until one answers.
func (c *Client) invokeNamesrv(ctx context.Context, code protocol.RequestCode, ext map[string]string) (*remoting.Command, error) {
	n := len(c.cfg.NamesrvAddrs)
	if n == 0 {
		return nil, ErrNoNamesrv
	}
	start := int(c.nsNext.Load())
	var errs []error
	for i := range n {
		idx := (start + i) % n
		resp, err := c.invoke(ctx, c.cfg.NamesrvAddrs[idx], remoting.NewRequest(int32(code), ext, nil))
		if err == nil {
			c.nsNext.Store(uint32(idx))
			return resp, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	c.nsNext.Store(uint32((start + 1) % n))
	return nil, errors.Join(errs...)
}

// Route returns the route of topic, from the cache when fresh. A topic the
// name servers do not know yields a *ResponseError with TopicNotExist.
func (c *Client) Route(ctx context.Context, topic string) (*Route, error) {
	now := c.cfg.Now()
	c.mu.Lock()
	e, ok := c.routes[topic]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.route, nil
	}
	return c.RefreshRoute(ctx, topic)
}

// RefreshRoute asks the name servers for the route of topic and caches it.
func (c *Client) RefreshRoute(ctx context.Context, topic string) (*Route, error) {
	yes := true
	ext := protocol.EncodeHeader(&protocol.GetRouteInfoRequestHeader{Topic: topic, AcceptStandardJSONOnly: &yes})
	resp, err := c.invokeNamesrv(ctx, protocol.GetRouteInfoByTopic, ext)
	if err != nil {
		return nil, err
	}
	if resp.Code != int32(protocol.Success) {
		return nil, responseError(resp)
	}
	var rd body.TopicRouteData
	if err := rd.Decode(resp.Body); err != nil {
		return nil, fmt.Errorf("client: route of %s: %w", topic, err)
	}
	r := newRoute(topic, rd)
	c.mu.Lock()
	c.routes[topic] = cachedRoute{route: r, expires: c.cfg.Now().Add(c.cfg.RouteTTL)}
	c.mu.Unlock()
	return r, nil
}

// InvalidateRoute drops the cached route of topic.
func (c *Client) InvalidateRoute(topic string) {
	c.mu.Lock()
	delete(c.routes, topic)
	c.mu.Unlock()
}

// ClusterInfo returns the clusters and brokers the name servers know.
func (c *Client) ClusterInfo(ctx context.Context) (*body.ClusterInfo, error) {
	resp, err := c.invokeNamesrv(ctx, protocol.GetBrokerClusterInfo, nil)
	if err != nil {
		return nil, err
	}
	if resp.Code != int32(protocol.Success) {
		return nil, responseError(resp)
	}
	ci := new(body.ClusterInfo)
	if err := ci.Decode(resp.Body); err != nil {
		return nil, fmt.Errorf("client: cluster info: %w", err)
	}
	return ci, nil
}

// CreateTopic creates (or updates) topic on the broker at brokerAddr with
// queues read and write queues, readable and writable
// (UPDATE_AND_CREATE_TOPIC). The broker then re-registers with its name
// servers; routes appear there shortly after.
func (c *Client) CreateTopic(ctx context.Context, brokerAddr, topic string, queues int) error {
	if queues <= 0 {
		return fmt.Errorf("client: create topic %s: queues must be > 0, got %d", topic, queues)
	}
	h := protocol.CreateTopicRequestHeader{
		Topic:           topic,
		DefaultTopic:    DefaultTopic,
		ReadQueueNums:   int32(queues),
		WriteQueueNums:  int32(queues),
		Perm:            PermRead | PermWrite,
		TopicFilterType: body.SingleTag,
	}
	resp, err := c.invoke(ctx, brokerAddr, remoting.NewRequest(int32(protocol.UpdateAndCreateTopic), protocol.EncodeHeader(&h), nil))
	if err != nil {
		return err
	}
	if resp.Code != int32(protocol.Success) {
		return responseError(resp)
	}
	c.InvalidateRoute(topic)
	return nil
}

// MaxOffset returns the next offset to be written in a queue
// (GET_MAX_OFFSET).
func (c *Client) MaxOffset(ctx context.Context, brokerAddr, topic string, queueID int32) (int64, error) {
	yes := true
	h := protocol.GetMaxOffsetRequestHeader{Topic: topic, QueueID: queueID, Committed: &yes}
	resp, err := c.invoke(ctx, brokerAddr, remoting.NewRequest(int32(protocol.GetMaxOffset), protocol.EncodeHeader(&h), nil))
	if err != nil {
		return 0, err
	}
	if resp.Code != int32(protocol.Success) {
		return 0, responseError(resp)
	}
	var out protocol.OffsetResponseHeader
	if err := protocol.DecodeHeader(resp.ExtFields, &out); err != nil {
		return 0, fmt.Errorf("client: max offset reply: %w", err)
	}
	return out.Offset, nil
}
