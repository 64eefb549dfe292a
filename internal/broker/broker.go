// Package broker is Bolide's broker: the remoting request processors that
// put messages into the store and read them out (send, pull with long
// polling), the metadata a broker keeps (topics, subscription groups,
// consumer offsets, connected clients) and its registration with name
// servers.
//
// Files by concern:
//
//	broker.go    wiring: config, store, managers, server, lifecycle
//	register.go  REGISTER_BROKER to every name server, every 30 s
//	topics.go    topic configs (persisted), auto-creation, LMQ synthesis
//	groups.go    subscription group configs (persisted)
//	send.go      SEND_MESSAGE(_V2), SEND_BATCH_MESSAGE
//	delay.go     delayed delivery: parking, the scheduler that delivers when due
//	retry.go     CONSUMER_SEND_MSG_BACK, %RETRY% and %DLQ% routing
//	transaction.go  half messages, END_TRANSACTION, the check pass
//	clients.go   heartbeats, producer/consumer registry, expiry, notify
//	offsets.go   consumer offsets (durable, batched)
//	pull.go      PULL_MESSAGE and long polling woken by store arrivals
//	queries.go   offset and time lookups (GET_MAX/MIN_OFFSET, ...)
//	lmq.go       GET_BROKER_RUNTIME_INFO, BOLIDE_GET_LMQ_LIST, INNER_MULTI_DISPATCH checks
//	stats.go     GET_TOPIC_STATS_INFO, GET_CONSUME_STATS (from consume-queue rows only)
//	connections.go  consumer/producer connections, QUERY_TOPIC_CONSUME_BY_WHO, running info forwarding
//	query_msg.go QUERY_MESSAGE (key, unique key), VIEW_MESSAGE_BY_ID
//	pull_offsets.go  last pull offset per group and queue (in-flight figures)
//	offsets_groups.go  listings over the offset index (groups of a topic, topics of a group)
//	reset.go     offset resets as logged operations: plan, apply, fences, undo
//	offsets_reset.go  the reset log in the offset database
//	metrics.go   traffic counters and the MetricsExporter hook (no metrics library here)
//	metrics_snapshot.go  MetricsSnapshot: the plain figures internal/metrics exports
//	lag.go       lag sampling for internal/lag, BOLIDE_GET_LAG_ADVICE, LagReport
//	limits.go    rate limits and the query worker pool in front of query/admin codes
//	querycache.go  TTL/LRU cache of query answers, invalidated by dispatch
//	runtimeconfig.go  UPDATE_BROKER_CONFIG (allow-listed keys), GET_BROKER_CONFIG
//	locks.go     LOCK_BATCH_MQ / UNLOCK_BATCH_MQ: orderly consumers' queue locks
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store"
	"github.com/bolidemq/bolide/internal/store/commitlog"
)

// Config configures a broker.
type Config struct {
	Broker config.Broker
	// Host is the address to listen on (default 127.0.0.1).
	Host string
	// Logger receives the broker's events (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// LockExpiry is how long an orderly consumer's queue lock lasts without renewal (default 60 s, see locks.go).
	LockExpiry time.Duration
	// RegisterInterval is the name-server registration period (default
	// 30 s, as upstream).
	RegisterInterval time.Duration
	// Remoting tunes the transport.
	Remoting remoting.ServerConfig
	// Lag tunes the lag evaluator (see lag.go).
	Lag LagConfig
	// Metrics, if set, exports the broker's metrics when the broker
	// config says metricsExporterType=PROM (see metrics.go); nil exports
	// nothing.
	Metrics MetricsExporter
}

// Broker is a running broker.
type Broker struct {
	cfg  Config
	bc   config.Broker
	log  *slog.Logger
	now  func() time.Time
	addr string // ip:port clients are told to use

	store   *store.Store
	topics  *TopicManager
	groups  *GroupManager
	offsets *OffsetManager
	clients *ClientManager
	holds   *PullHolds

	resetLocks groupLocks // see reset.go
	lags       lagState   // see lag.go
	fences     fences
	queryState // query limits, cache, runtime config: see limits.go

	runtimeCfg runtimeConfigState // see runtimeconfig.go

	acl aclState // see acl.go

	sched *scheduler // delayed delivery: see delay.go
	tx    txState    // transactions: see transaction.go

	rs *remoting.Server
	ns *remoting.Client

	traffic     traffic         // see metrics.go
	metrics     MetricsExporter // nil: metrics off
	metricsAddr net.Addr

	regMu     sync.Mutex
	stopOnce  sync.Once
	stopFuncs []func() error
	bg        sync.WaitGroup
	done      chan struct{}
}

// New opens the broker's store and metadata. Call Listen to serve.
func New(cfg Config) (*Broker, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RegisterInterval <= 0 {
		cfg.RegisterInterval = 30 * time.Second
	}
	if cfg.Remoting.Logger == nil {
		cfg.Remoting.Logger = cfg.Logger
	}
	b := &Broker{cfg: cfg, bc: cfg.Broker, log: cfg.Logger.With("component", "broker"), now: cfg.Now, done: make(chan struct{})}
	b.initQueryState(cfg.Broker.QueryLimits)
	if cfg.Metrics != nil && cfg.Broker.MetricsAddr() != "" {
		b.metrics = cfg.Metrics
		prev := cfg.Remoting.Observer
		cfg.Remoting.Observer = func(code, resp int32, d time.Duration) {
			if prev != nil {
				prev(code, resp, d)
			}
			b.metrics.ObserveRPC(code, resp, d, false)
		}
	}
	nsTLS, err := applyTLS(&cfg) // tls.go
	if err != nil {
		return nil, err
	}
	if err := b.initACL(); err != nil {
		return nil, err
	}
	b.rs = remoting.NewServer(cfg.Remoting)
	b.ns = remoting.NewClient(remoting.ClientConfig{Logger: cfg.Logger, TLS: nsTLS})
	return b, nil
}

// Listen binds the remoting port (listenPort; 0 picks a free one), opens
// the store with the resulting address as its store host, starts the
// background work and registers with the name servers. It returns the
// advertised address.
func (b *Broker) Listen() (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(b.cfg.Host, strconv.Itoa(b.bc.ListenPort)))
	if err != nil {
		return "", fmt.Errorf("broker: listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ip := b.bc.BrokerIP1
	if ip == "" {
		ip = ln.Addr().(*net.TCPAddr).IP.String()
	}
	b.addr = net.JoinHostPort(ip, strconv.Itoa(port))
	storeHost, err := netip.ParseAddrPort(b.addr)
	if err != nil {
		_ = ln.Close()
		return "", fmt.Errorf("broker: advertised address %q must be ip:port (set brokerIP1): %w", b.addr, err)
	}
	if err := b.open(storeHost); err != nil {
		_ = ln.Close()
		b.closeAll()
		return "", err
	}
	if err := b.startMetrics(); err != nil {
		_ = ln.Close()
		b.closeAll()
		return "", err
	}
	b.registerProcessors()
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		if err := b.rs.Serve(ln); err != nil && !errors.Is(err, remoting.ErrServerClosed) {
			b.log.Error("accept loop stopped", "err", err)
		}
	}()
	b.startRegistration()
	b.log.Info("broker listening", "addr", b.addr, "cluster", b.bc.BrokerClusterName, "broker", b.bc.BrokerName,
		"data", b.bc.StorePathRootDir)
	return b.addr, nil
}

// Addr is the address clients use.
func (b *Broker) Addr() string { return b.addr }

// HeldPulls is the number of pulls waiting for messages (long polling).
func (b *Broker) HeldPulls() int { return b.holds.Held() }

// Name is the broker's brokerName.
func (b *Broker) Name() string { return b.cfg.Broker.BrokerName }

// Store exposes the message store (for embedding and tests).
func (b *Broker) Store() *store.Store { return b.store }

func (b *Broker) open(storeHost netip.AddrPort) error {
	root := b.bc.StorePathRootDir
	flush := commitlog.AsyncFlush
	if b.bc.FlushDiskType == "SYNC_FLUSH" {
		flush = commitlog.SyncFlush
	}
	// Offsets open before the store, and so close after it: the store's
	// retention calls back into them (OnLMQsRemoved), also while opening.
	var err error
	if b.offsets, err = newOffsetManager(b, filepath.Join(root, "offsets")); err != nil {
		return err
	}
	b.stopFuncs = append(b.stopFuncs, b.offsets.Close)
	dir := root
	b.sched = newScheduler(b)
	b.tx.resolved, b.tx.checks = make(map[int64]int64), make(map[int64]int)
	st, err := store.Open(store.Config{
		Dir:              dir,
		SegmentSize:      b.bc.MappedFileSizeCommitLog,
		Flush:            flush,
		FlushInterval:    b.bc.FlushInterval(),
		SyncFlushTimeout: b.bc.SyncFlushTimeout(),
		StoreHost:        storeHost,
		MaxMessageSize:   b.bc.MaxMessageSize,
		EnableLMQ:        b.bc.EnableLmq && b.bc.EnableMultiDispatch,
		MaxLMQs:          b.bc.MaxLmqConsumeQueueNum,
		KVMemTableSize:   uint64(b.bc.KVMemTableSizeMB) << 20,
		DisableIndex:     !b.bc.MessageIndexEnable,
		FileReservedTime: b.bc.FileReservedTime(),
		DiskMaxUsedRatio: float64(b.bc.DiskSpaceCleanForciblyRatio) / 100,
		Now:              b.now,
		Logger:           b.cfg.Logger,
		OnLMQsRemoved:    b.lmqsRemoved,
		OnParked:         b.sched.parked,
	})
	if err != nil {
		return fmt.Errorf("broker: open store: %w", err)
	}
	b.store = st
	b.stopFuncs = append(b.stopFuncs, st.Close)
	meta := filepath.Join(root, "config")
	if b.topics, err = newTopicManager(b, meta); err != nil {
		return err
	}
	if b.groups, err = newGroupManager(b, meta); err != nil {
		return err
	}
	b.clients = newClientManager(b)
	b.stopFuncs = append(b.stopFuncs, b.clients.Close)
	b.holds = newPullHolds(b)
	b.stopFuncs = append(b.stopFuncs, b.holds.Close)
	st.SetArrivalListener(func(topic string, queueID int32, next int64) {
		b.holds.Arrived(topic, queueID, next)
		b.sched.arrived(topic)
	})
	b.openLag()
	b.sched.start()
	b.stopFuncs = append(b.stopFuncs, b.sched.Close)
	b.startTransactionChecker()
	return nil
}

// lmqsRemoved drops the consumer offsets (of every group) of LMQs the
// store's retention removed: a later message to the same name starts a new
// LMQ at offset 0, which must not inherit the old offsets.
func (b *Broker) lmqsRemoved(names []string) {
	n, err := b.offsets.DeleteTopics(names)
	if err != nil {
		b.log.Error("cannot delete consumer offsets of removed LMQs", "lmqs", len(names), "err", err)
		return
	}
	b.log.Info("deleted consumer offsets of removed LMQs", "lmqs", len(names), "offsets", n)
}

// registerProcessors binds every request code the broker serves.
func (b *Broker) registerProcessors() {
	b.registerTopicProcessors()
	b.registerSendProcessors()
	b.registerClientProcessors()
	b.registerOffsetProcessors()
	b.registerPullProcessors()
	b.registerQueryProcessors()
	b.registerLMQProcessors()
	b.registerOpsProcessors()
	b.registerResetProcessors()
	b.registerLagProcessors()
	b.registerRuntimeConfigProcessors()
	b.registerRetryProcessors()
	b.registerTransactionProcessors()
	b.registerLockProcessors()
}

// handle registers fn for code.
func (b *Broker) handle(code protocol.RequestCode, fn func(ctx context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error)) {
	b.rs.Register(int32(code), b.withACL(code, b.guarded(code, fn))) // withACL: acl.go; guarded: limits.go
}

// handleRoute is handle for the hottest codes, served by route (see
// remoting.Route): fn reads the request's ext fields through Command.Ext
// or by walking ExtList and ExtFields, and with RouteInline returns
// promptly, answering slow work through Conn.Later. The ACL check reads
// the map and the guarded codes may wait for a pool slot, so for those it
// is plain handle.
func (b *Broker) handleRoute(code protocol.RequestCode, r remoting.Route, fn func(ctx context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error)) {
	if _, guarded := guardedCodes[code]; b.acl.auth != nil || guarded {
		b.handle(code, fn)
		return
	}
	b.rs.RegisterRoute(int32(code), remoting.ProcessorFunc(fn), r)
}

// Shutdown unregisters from the name servers, stops serving (draining
// in-flight requests until ctx ends) and closes the store.
func (b *Broker) Shutdown(ctx context.Context) error {
	var errs []error
	b.stopOnce.Do(func() {
		close(b.done)
		b.unregisterAll(ctx)
		if err := b.rs.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		b.bg.Wait()
		errs = append(errs, b.closeAll())
		errs = append(errs, b.ns.Close())
	})
	return errors.Join(errs...)
}

// closeAll closes what open opened, newest first.
func (b *Broker) closeAll() error {
	var errs []error
	for i := len(b.stopFuncs) - 1; i >= 0; i-- {
		errs = append(errs, b.stopFuncs[i]())
	}
	b.stopFuncs = nil
	return errors.Join(errs...)
}

// Shorthands for processors (see remoting's handler helpers).
var (
	fail         = remoting.Fail
	success      = remoting.Success
	decodeHeader = remoting.DecodeHeader
)
