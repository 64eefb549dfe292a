package broker

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Runtime settings: UPDATE_BROKER_CONFIG (25) and GET_BROKER_CONFIG (26).
//
// Upstream's UPDATE_BROKER_CONFIG accepted any property, paths included,
// which is how CVE-2023-33246 and CVE-2023-37582 turned an exposed admin
// port into remote code execution (rocketmqHome plus filterServerNums made
// the broker run a shell command); upstream's fix was a blacklist. Bolide
// accepts only the keys of an allow-list: no path, home directory, plugin
// or command-like key is on it, and Bolide never builds commands from its
// config anyway. A request naming any other key changes nothing and is
// refused with NO_PERMISSION naming the key.
//
// Adding a key is one registerRuntimeKeys call: the key's parsing and
// validation are broker.conf's (config.SetBrokerKey), apply makes the
// running broker follow. Readers of a runtime-changeable field of b.bc
// must hold b.bcMu, or read the value from the component apply updates.

// runtimeKey is an allow-listed key: apply makes the running broker follow
// the (already updated) config. Keys registered together share one apply,
// run once per request.
type runtimeKey struct {
	group int
	apply func(b *Broker, bc *config.Broker)
}

var (
	runtimeKeysMu sync.RWMutex
	runtimeKeys   = map[string]runtimeKey{}
	runtimeGroups int
)

// registerRuntimeKeys adds keys to the allow-list, all applied by apply.
// Features call it from an init function.
func registerRuntimeKeys(apply func(b *Broker, bc *config.Broker), keys ...string) {
	runtimeKeysMu.Lock()
	defer runtimeKeysMu.Unlock()
	runtimeGroups++
	for _, k := range keys {
		runtimeKeys[k] = runtimeKey{group: runtimeGroups, apply: apply}
	}
}

func init() {
	registerRuntimeKeys(func(b *Broker, bc *config.Broker) {
		b.guard.setLimits(bc.QueryLimits)
		b.qcache.configure(bc.QueryLimits)
	}, "queryRateLimitPerClient", "queryRateLimitPerCode", "queryPoolSize", "queryQueueSize",
		"queryCacheSize", "queryCacheTTLMillis")
}

// runtimeConfigState is the version GET_BROKER_CONFIG reports, bumped by
// every applied update (guarded by b.bcMu).
type runtimeConfigState struct {
	version body.DataVersion
}

func (b *Broker) registerRuntimeConfigProcessors() {
	b.handle(protocol.UpdateBrokerConfig, b.updateBrokerConfig)
	b.handle(protocol.GetBrokerConfig, b.getBrokerConfig)
}

// allowedRuntimeKeys lists the allow-list, sorted, for error remarks.
func allowedRuntimeKeys() string {
	runtimeKeysMu.RLock()
	defer runtimeKeysMu.RUnlock()
	return strings.Join(slices.Sorted(maps.Keys(runtimeKeys)), ", ")
}

// updateBrokerConfig applies a properties body of allow-listed keys: all
// or nothing, in the running broker only (broker.conf is not rewritten).
func (b *Broker) updateBrokerConfig(_ context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	props, err := config.ParseProperties(strings.NewReader(string(req.Body)))
	if err != nil {
		return nil, fail(protocol.InvalidParameter, "update broker config: %v", err)
	}
	if len(props) == 0 {
		return nil, fail(protocol.InvalidParameter, "update broker config: no properties in the body")
	}
	keys := slices.Sorted(maps.Keys(props))
	runtimeKeysMu.RLock()
	var applies []runtimeKey
	var refused string
	for _, k := range keys {
		rk, ok := runtimeKeys[k]
		if !ok {
			refused = k
			break
		}
		if !slices.ContainsFunc(applies, func(a runtimeKey) bool { return a.group == rk.group }) {
			applies = append(applies, rk)
		}
	}
	runtimeKeysMu.RUnlock()
	if refused != "" {
		b.log.Warn("refused runtime config change", "key", refused, "keys", keys, "remote", remoteAddr(conn))
		return nil, fail(protocol.NoPermission, "broker config key %q cannot be changed at runtime (allowed: %s)",
			refused, allowedRuntimeKeys())
	}

	b.bcMu.Lock()
	defer b.bcMu.Unlock()
	// Validate every value on a copy first, so that one bad value leaves
	// the running config untouched.
	next := b.bc
	for _, k := range keys {
		if err := config.SetBrokerKey(&next, k, props[k]); err != nil {
			return nil, fail(protocol.InvalidParameter, "update broker config: %v", err)
		}
	}
	for _, k := range keys {
		_ = config.SetBrokerKey(&b.bc, k, props[k]) // validated above: cannot fail
	}
	for _, rk := range applies {
		rk.apply(b, &b.bc)
	}
	b.runtimeCfg.version.Counter++
	b.runtimeCfg.version.Timestamp = b.now().UnixMilli()
	b.log.Info("broker config changed at runtime", "keys", keys, "remote", remoteAddr(conn))
	return success(req), nil
}

// getBrokerConfig answers the effective config as properties text, with
// the config's data version in ext "version", as upstream does.
func (b *Broker) getBrokerConfig(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	b.bcMu.Lock()
	if b.runtimeCfg.version.Timestamp == 0 {
		b.runtimeCfg.version.Timestamp = b.now().UnixMilli()
	}
	text := b.bc.PropertiesText()
	version := b.runtimeCfg.version
	b.bcMu.Unlock()
	resp := success(req)
	resp.Body = []byte(text)
	resp.ExtFields = map[string]string{"version": string(version.Encode())}
	return resp, nil
}

func remoteAddr(conn *remoting.Conn) string {
	if conn == nil {
		return ""
	}
	return conn.RemoteAddr()
}
