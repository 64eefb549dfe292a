// Package namesrv is Bolide's name server: brokers register their topics
// with it, and clients and admin tools ask it for routes (which brokers
// serve a topic, with how many queues) and for the cluster layout.
//
// The state lives in RouteTable, which has no network code; Server binds
// it and the KV configuration store to remoting request codes. Nothing a
// request carries can change a path on the host or run a command (the
// lesson of CVE-2023-33246): runtime settings are an allow-list of
// booleans, and the KV store is memory only.
package namesrv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Config tunes a name server.
type Config struct {
	// Logger receives registrations, expiries and connection events.
	Logger *slog.Logger
	// Now is the clock (tests inject one); default time.Now.
	Now func() time.Time
	// ScanInterval is how often expired brokers are dropped (Java: 5 s).
	ScanInterval time.Duration
	// Settings are the initial values of the runtime settings.
	Settings Settings
	// Remoting tunes the transport.
	Remoting remoting.ServerConfig
}

// Settings are the name server switches that UPDATE_NAMESRV_CONFIG may
// change at runtime. They carry upstream's property names.
type Settings struct {
	// OrderMessageEnable adds the KV ORDER_TOPIC_CONFIG entry of a topic to
	// its route (orderTopicConf).
	OrderMessageEnable bool
	// EnableAllTopicList allows GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
	EnableAllTopicList bool
	// DeleteTopicWithBrokerRegistration drops a broker's topics missing
	// from its registration.
	DeleteTopicWithBrokerRegistration bool
}

// DefaultSettings are upstream's defaults.
func DefaultSettings() Settings {
	return Settings{EnableAllTopicList: true}
}

// Server is a running name server.
type Server struct {
	log    *slog.Logger
	routes *RouteTable
	kv     *KVStore
	rs     *remoting.Server
	scan   *lifecycle.Loop

	orderMessageEnable atomic.Bool
	enableAllTopicList atomic.Bool
}

// New builds a name server; call Listen to serve.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ScanInterval <= 0 {
		cfg.ScanInterval = 5 * time.Second
	}
	if cfg.Remoting.Logger == nil {
		cfg.Remoting.Logger = cfg.Logger
	}
	s := &Server{
		log:    cfg.Logger,
		routes: NewRouteTable(cfg.Now),
		kv:     NewKVStore(),
		rs:     remoting.NewServer(cfg.Remoting),
	}
	s.applySettings(cfg.Settings)
	s.scan = lifecycle.NewLoop("namesrv-expiry-scan", cfg.ScanInterval, func(context.Context) { s.ScanExpired() })
	s.rs.OnConnClose(func(c *remoting.Conn) {
		for _, e := range s.routes.ConnClosed(c) {
			s.log.Info("broker connection closed, broker removed", "cluster", e.Cluster, "broker", e.BrokerName, "addr", e.Addr, "id", e.BrokerID)
		}
	})
	s.registerProcessors()
	return s
}

func (s *Server) applySettings(st Settings) {
	s.orderMessageEnable.Store(st.OrderMessageEnable)
	s.enableAllTopicList.Store(st.EnableAllTopicList)
	s.routes.mu.Lock()
	s.routes.deleteTopicWithRegistration = st.DeleteTopicWithBrokerRegistration
	s.routes.mu.Unlock()
}

func (s *Server) settings() Settings {
	s.routes.mu.RLock()
	del := s.routes.deleteTopicWithRegistration
	s.routes.mu.RUnlock()
	return Settings{
		OrderMessageEnable:                s.orderMessageEnable.Load(),
		EnableAllTopicList:                s.enableAllTopicList.Load(),
		DeleteTopicWithBrokerRegistration: del,
	}
}

// Routes exposes the route table (for embedding and tests).
func (s *Server) Routes() *RouteTable { return s.routes }

// KV exposes the KV configuration store.
func (s *Server) KV() *KVStore { return s.kv }

// Listen serves on addr (host:port; port 0 picks one) and starts the
// expiry scan. It returns the bound address.
func (s *Server) Listen(addr string) (net.Addr, error) {
	a, err := s.rs.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("namesrv: %w", err)
	}
	s.scan.Start()
	s.log.Info("name server listening", "addr", a.String())
	return a, nil
}

// Shutdown stops the scan, drains in-flight requests and closes every
// connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.scan.Stop()
	if err := s.rs.Shutdown(ctx); err != nil {
		return fmt.Errorf("namesrv: %w", err)
	}
	return nil
}

// ScanExpired drops brokers whose registration timed out.
func (s *Server) ScanExpired() {
	for _, e := range s.routes.ScanExpired() {
		s.log.Warn("broker registration expired, broker removed", "cluster", e.Cluster, "broker", e.BrokerName, "addr", e.Addr, "id", e.BrokerID)
	}
}

type handler func(ctx context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error)

func (s *Server) registerProcessors() {
	for code, h := range map[protocol.RequestCode]handler{
		protocol.RegisterBroker:                s.registerBroker,
		protocol.UnregisterBroker:              s.unregisterBroker,
		protocol.BrokerHeartbeat:               s.brokerHeartbeat,
		protocol.QueryDataVersion:              s.queryDataVersion,
		protocol.GetRouteInfoByTopic:           s.getRouteInfo,
		protocol.GetBrokerClusterInfo:          s.getClusterInfo,
		protocol.GetAllTopicListFromNameServer: s.getAllTopicList,
		protocol.GetTopicsByCluster:            s.getTopicsByCluster,
		protocol.GetSystemTopicListFromNS:      s.getSystemTopicList,
		protocol.GetUnitTopicList:              s.emptyTopicList,
		protocol.GetHasUnitSubTopicList:        s.emptyTopicList,
		protocol.GetHasUnitSubUnunitTopicList:  s.emptyTopicList,
		protocol.DeleteTopicInNamesrv:          s.deleteTopic,
		protocol.RegisterTopicInNamesrv:        s.registerTopic,
		protocol.WipeWritePermOfBroker:         s.wipeWritePerm,
		protocol.AddWritePermOfBroker:          s.addWritePerm,
		protocol.PutKVConfig:                   s.putKV,
		protocol.GetKVConfig:                   s.getKV,
		protocol.DeleteKVConfig:                s.deleteKV,
		protocol.GetKVListByNamespace:          s.getKVList,
		protocol.UpdateNamesrvConfig:           s.updateConfig,
		protocol.GetNamesrvConfig:              s.getConfig,
	} {
		s.rs.Register(int32(code), remoting.ProcessorFunc(h))
	}
}

// Shorthands for handlers (see remoting's handler helpers).
var (
	fail   = remoting.Fail
	ok     = remoting.Success
	decode = remoting.DecodeHeader
)

func (s *Server) registerBroker(_ context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.RegisterBrokerRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	if h.BodyCrc32 != 0 {
		if crc := int32(crc32IEEE(req.Body) & 0x7FFFFFFF); crc != h.BodyCrc32 {
			return nil, fail(protocol.SystemError, "crc32 not match")
		}
	}
	var topics *body.TopicConfigAndMappingSerializeWrapper
	if len(req.Body) > 0 {
		rb, err := body.DecodeRegisterBrokerBody(req.Body, h.Compressed, req.Version)
		if err != nil {
			return nil, fail(protocol.InvalidParameter, "cannot decode register broker body: %v", err)
		}
		topics = &rb.TopicConfigSerializeWrapper
	} else {
		topics = &body.TopicConfigAndMappingSerializeWrapper{}
	}
	r := Registration{
		Cluster: h.ClusterName, BrokerName: h.BrokerName, BrokerAddr: h.BrokerAddr,
		HAServerAddr: h.HAServerAddr, BrokerID: h.BrokerID, ZoneName: h.ZoneName,
		Topics: topics, Conn: conn,
	}
	if h.HeartbeatTimeoutMillis != nil && *h.HeartbeatTimeoutMillis > 0 {
		r.Timeout = time.Duration(*h.HeartbeatTimeoutMillis) * time.Millisecond
	}
	if h.EnableActingMaster != nil {
		r.EnableActingMaster = *h.EnableActingMaster
	}
	res := s.routes.Register(r)
	s.log.Debug("broker registered", "cluster", h.ClusterName, "broker", h.BrokerName, "addr", h.BrokerAddr,
		"id", h.BrokerID, "topics", len(topics.TopicConfigTable))
	resp := ok(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.RegisterBrokerResponseHeader{
		HAServerAddr: res.HAServerAddr, MasterAddr: res.MasterAddr,
	})
	return resp, nil
}

func (s *Server) unregisterBroker(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.UnregisterBrokerRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	s.routes.Unregister(h.ClusterName, h.BrokerName, h.BrokerAddr, h.BrokerID)
	s.log.Info("broker unregistered", "cluster", h.ClusterName, "broker", h.BrokerName, "addr", h.BrokerAddr, "id", h.BrokerID)
	return ok(req), nil
}

func (s *Server) brokerHeartbeat(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.BrokerHeartbeatRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	s.routes.Touch(h.ClusterName, h.BrokerAddr)
	return ok(req), nil
}

func (s *Server) queryDataVersion(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.QueryDataVersionRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	var dv body.DataVersion
	if len(req.Body) > 0 {
		if err := dv.Decode(req.Body); err != nil {
			return nil, fail(protocol.InvalidParameter, "cannot decode data version: %v", err)
		}
	}
	changed, known := s.routes.QueryDataVersion(h.ClusterName, h.BrokerAddr, dv)
	resp := ok(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.QueryDataVersionResponseHeader{Changed: changed})
	if known != nil {
		resp.Body = known.Encode()
	}
	return resp, nil
}

func (s *Server) getRouteInfo(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetRouteInfoRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	route, found := s.routes.TopicRoute(h.Topic)
	if !found {
		return nil, fail(protocol.TopicNotExist, "No topic route info in name server for the topic: %s", h.Topic)
	}
	if s.orderMessageEnable.Load() {
		if conf, ok := s.kv.Get(namespaceOrderTopicConfig, h.Topic); ok {
			route.OrderTopicConf = conf
		}
	}
	standard := h.AcceptStandardJSONOnly != nil && *h.AcceptStandardJSONOnly
	resp := ok(req)
	resp.Body = route.Encode(body.RouteStyle(req.Version, standard))
	return resp, nil
}

func (s *Server) getClusterInfo(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	resp := ok(req)
	resp.Body = s.routes.ClusterInfo().Encode()
	return resp, nil
}

func (s *Server) getAllTopicList(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	if !s.enableAllTopicList.Load() {
		return nil, fail(protocol.SystemError, "disable")
	}
	resp := ok(req)
	resp.Body = (&body.TopicList{TopicList: s.routes.Topics()}).Encode()
	return resp, nil
}

func (s *Server) getTopicsByCluster(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetTopicsByClusterRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	topics, _ := s.routes.TopicsByCluster(h.Cluster)
	resp := ok(req)
	resp.Body = (&body.TopicList{TopicList: nonNil(topics)}).Encode()
	return resp, nil
}

func (s *Server) getSystemTopicList(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	topics, addr := s.routes.SystemTopics()
	resp := ok(req)
	resp.Body = (&body.TopicList{TopicList: nonNil(topics), BrokerAddr: addr}).Encode()
	return resp, nil
}

// emptyTopicList answers the unit-topic queries: Bolide has no unit mode.
func (s *Server) emptyTopicList(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	resp := ok(req)
	resp.Body = (&body.TopicList{TopicList: []string{}}).Encode()
	return resp, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) deleteTopic(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.DeleteTopicFromNamesrvRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	s.routes.DeleteTopic(h.Topic, h.ClusterName)
	s.log.Info("topic route deleted", "topic", h.Topic, "cluster", h.ClusterName)
	return ok(req), nil
}

func (s *Server) registerTopic(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	topic := req.Ext("topic")
	if topic == "" {
		return nil, fail(protocol.InvalidParameter, "topic is required")
	}
	if len(req.Body) > 0 {
		var route body.TopicRouteData
		if err := route.Decode(req.Body); err != nil {
			return nil, fail(protocol.InvalidParameter, "cannot decode topic route: %v", err)
		}
		s.routes.RegisterTopic(topic, route.QueueDatas)
	}
	return ok(req), nil
}

func (s *Server) wipeWritePerm(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.WipeWritePermOfBrokerRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	n := s.routes.SetWritePerm(h.BrokerName, false)
	s.log.Info("write permission wiped", "broker", h.BrokerName, "topics", n)
	resp := ok(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.WipeWritePermOfBrokerResponseHeader{WipeTopicCount: int32(n)})
	return resp, nil
}

func (s *Server) addWritePerm(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.AddWritePermOfBrokerRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	n := s.routes.SetWritePerm(h.BrokerName, true)
	s.log.Info("write permission restored", "broker", h.BrokerName, "topics", n)
	resp := ok(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.AddWritePermOfBrokerResponseHeader{AddTopicCount: int32(n)})
	return resp, nil
}

func (s *Server) putKV(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.PutKVConfigRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	s.kv.Put(h.Namespace, h.Key, h.Value)
	return ok(req), nil
}

func (s *Server) getKV(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetKVConfigRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	v, found := s.kv.Get(h.Namespace, h.Key)
	if !found {
		return nil, fail(protocol.QueryNotFound, "No config item, Namespace: %s Key: %s", h.Namespace, h.Key)
	}
	resp := ok(req)
	resp.ExtFields = protocol.EncodeHeader(&protocol.GetKVConfigResponseHeader{Value: v})
	return resp, nil
}

func (s *Server) deleteKV(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.DeleteKVConfigRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	s.kv.Delete(h.Namespace, h.Key)
	return ok(req), nil
}

func (s *Server) getKVList(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetKVListByNamespaceRequestHeader
	if err := decode(req, &h); err != nil {
		return nil, err
	}
	table := s.kv.List(h.Namespace)
	if len(table) == 0 {
		return nil, fail(protocol.QueryNotFound, "No config item, Namespace: %s", h.Namespace)
	}
	resp := ok(req)
	resp.Body = (&body.KVTable{Table: table}).Encode()
	return resp, nil
}

// settingNames are the properties UPDATE_NAMESRV_CONFIG may change. Every
// other key, in particular any path (kvConfigPath, configStorePath, ...),
// is refused: a remote request must never redirect where the server writes.
var settingNames = []string{"deleteTopicWithBrokerRegistration", "enableAllTopicList", "orderMessageEnable"}

func (s *Server) updateConfig(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	props, err := parseProperties(string(req.Body))
	if err != nil {
		return nil, fail(protocol.InvalidParameter, "%v", err)
	}
	st := s.settings()
	for k, v := range props {
		if !slices.Contains(settingNames, k) {
			return nil, fail(protocol.NoPermission, "can not update config %q at runtime; allowed: %s", k, strings.Join(settingNames, ", "))
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fail(protocol.InvalidParameter, "config %q: %q is not a boolean", k, v)
		}
		switch k {
		case "deleteTopicWithBrokerRegistration":
			st.DeleteTopicWithBrokerRegistration = b
		case "enableAllTopicList":
			st.EnableAllTopicList = b
		case "orderMessageEnable":
			st.OrderMessageEnable = b
		}
	}
	s.applySettings(st)
	s.log.Info("name server settings updated", "settings", fmt.Sprintf("%+v", st))
	return ok(req), nil
}

func (s *Server) getConfig(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	st := s.settings()
	var b strings.Builder
	fmt.Fprintf(&b, "deleteTopicWithBrokerRegistration=%t\n", st.DeleteTopicWithBrokerRegistration)
	fmt.Fprintf(&b, "enableAllTopicList=%t\n", st.EnableAllTopicList)
	fmt.Fprintf(&b, "orderMessageEnable=%t\n", st.OrderMessageEnable)
	resp := ok(req)
	resp.Body = []byte(b.String())
	return resp, nil
}

// parseProperties reads the key=value (or key:value) lines of a Java
// properties text; # and ! start comments. Escapes and continuation lines
// are not supported and are reported rather than misread.
func parseProperties(text string) (map[string]string, error) {
	out := make(map[string]string)
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			return nil, fmt.Errorf("properties line %d: continuation lines are not supported", i+1)
		}
		sep := strings.IndexAny(line, "=:")
		if sep <= 0 {
			return nil, fmt.Errorf("properties line %d: want key=value, got %q", i+1, line)
		}
		out[strings.TrimSpace(line[:sep])] = strings.TrimSpace(line[sep+1:])
	}
	return out, nil
}
