package compat

import (
	"reflect"
	"sync"
	"testing"
	"unsafe"
)

// shutdownConsumer shuts an official-client consumer down without tripping
// the race detector on the client's own bug.
//
// In this client version rmqClient.Shutdown sets a plain bool (close) that
// every InvokeSync reads, while a rebalance may be running on another
// goroutine: the one pushConsumer.Start launches, the one a broker's
// NOTIFY_CONSUMER_IDS_CHANGED triggers, or the 20 s ticker. Every such
// rebalance holds the client's rbMutex; holding it across Shutdown waits
// for the one in flight, and the ones queued behind it find the consumer
// already unregistered and do nothing. The race is the client's, not
// Bolide's (it happens against Apache RocketMQ as well), but -race fails
// the whole suite on it, so the tests hold the lock the client should.
func shutdownConsumer(t testing.TB, c interface{ Shutdown() error }) error {
	mu := rebalanceMutex(reflect.ValueOf(c))
	if mu == nil {
		t.Fatalf("cannot find the rebalance mutex of %T (client version changed?)", c)
	}
	mu.Lock()
	defer mu.Unlock()
	return c.Shutdown()
}

// rebalanceMutex finds rbMutex in the rmqClient a consumer embeds:
// consumer → *defaultConsumer → client (internal.RMQClient) → *rmqClient.
func rebalanceMutex(v reflect.Value) *sync.Mutex {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	if f := v.FieldByName("rbMutex"); f.IsValid() && f.Type() == reflect.TypeFor[sync.Mutex]() {
		return (*sync.Mutex)(unsafe.Pointer(f.UnsafeAddr()))
	}
	for _, name := range []string{"defaultConsumer", "client"} {
		if f := v.FieldByName(name); f.IsValid() {
			if mu := rebalanceMutex(f); mu != nil {
				return mu
			}
		}
	}
	return nil
}
