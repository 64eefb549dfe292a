// Package clienttest starts an in-process name server and broker for tests
// of the client and of the load generators.
package clienttest

import (
	"context"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/namesrv"
)

// Env is a running name server and broker (cluster DefaultCluster, broker
// broker-a).
type Env struct {
	NamesrvAddr string
	BrokerAddr  string
	Broker      *broker.Broker
}

// Cluster is a running name server and several brokers of one cluster
// (DefaultCluster), named broker-a, broker-b, ... in order.
type Cluster struct {
	NamesrvAddr string
	Brokers     []*Env // each with the cluster's NamesrvAddr
}

// Start runs a name server and a broker registered with it on loopback
// ports, with the store in t.TempDir(), and waits until the name server
// knows the broker. Both are shut down in t.Cleanup. Each mut, if any,
// adjusts the broker config first (for example to enable LMQs).
func Start(t testing.TB, mut ...func(*config.Broker)) *Env {
	t.Helper()
	return StartCluster(t, 1, mut...).Brokers[0]
}

// StartCluster is Start with n brokers (broker-a, broker-b, ...) sharing
// one name server; it returns once the name server knows all of them.
func StartCluster(t testing.TB, n int, mut ...func(*config.Broker)) *Cluster {
	t.Helper()
	return StartClusterWith(t, n, nil, mut...)
}

// StartClusterWith is StartCluster with a hook that adjusts each broker's
// broker.Config (for example to set a metrics exporter) before it starts.
func StartClusterWith(t testing.TB, n int, setup func(*broker.Config), mut ...func(*config.Broker)) *Cluster {
	t.Helper()
	ns := namesrv.New(namesrv.Config{Settings: namesrv.DefaultSettings()})
	nsAddr, err := ns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ns.Shutdown(ctx); err != nil {
			t.Errorf("name server shutdown: %v", err)
		}
	})
	cl := &Cluster{NamesrvAddr: nsAddr.String()}
	for i := range n {
		bc := config.DefaultBroker()
		bc.BrokerName = "broker-" + string(rune('a'+i))
		bc.StorePathRootDir = t.TempDir()
		bc.ListenPort = 0
		bc.NamesrvAddr = []string{cl.NamesrvAddr}
		bc.MappedFileSizeCommitLog = 64 << 20
		bc.AutoCreateTopicEnable = true
		for _, m := range mut {
			m(&bc)
		}
		cfg := broker.Config{Broker: bc}
		if setup != nil {
			setup(&cfg)
		}
		b, err := broker.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := b.Listen()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := b.Shutdown(ctx); err != nil {
				t.Errorf("broker %s shutdown: %v", bc.BrokerName, err)
			}
		})
		cl.Brokers = append(cl.Brokers, &Env{NamesrvAddr: cl.NamesrvAddr, BrokerAddr: addr, Broker: b})
	}
	c := client.New(client.Config{NamesrvAddrs: []string{cl.NamesrvAddr}})
	defer c.Close()
	Poll(t, 10*time.Second, func() bool {
		ci, err := c.ClusterInfo(context.Background())
		if err != nil {
			return false
		}
		for _, e := range cl.Brokers {
			if ci.BrokerAddrTable[e.Broker.Name()].BrokerAddrs[0] != e.BrokerAddr {
				return false
			}
		}
		return true
	})
	return cl
}

// WaitRoute polls the name server (bypassing the cache) until topic has a
// route with a writable queue, and returns it.
func WaitRoute(t testing.TB, c *client.Client, topic string) *client.Route {
	t.Helper()
	var r *client.Route
	Poll(t, 10*time.Second, func() bool {
		var err error
		r, err = c.RefreshRoute(context.Background(), topic)
		return err == nil && len(r.WriteQueues) > 0
	})
	return r
}

// Poll calls cond until it returns true, failing t after timeout.
func Poll(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
