package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/namesrv"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/remoting/tlstest"
)

// TestBrokerTLSEnforcing runs a name server and a broker that both enforce
// TLS, the broker registering over TLS (tls.enable, verifying the name
// server against the CA), and checks that Bolide's client creates a topic,
// routes, sends and pulls over TLS while a plain client is not served.
func TestBrokerTLSEnforcing(t *testing.T) {
	pki := tlstest.New(t)
	files := pki.WriteFiles(t, t.TempDir())
	ns := namesrv.New(namesrv.Config{Settings: namesrv.DefaultSettings(),
		Remoting: remoting.ServerConfig{TLSMode: remoting.TLSEnforcing, TLS: pki.ServerConfig()}})
	nsAddr, err := ns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ns.Shutdown(ctx)
	})
	bc := config.DefaultBroker()
	bc.StorePathRootDir = t.TempDir()
	bc.ListenPort = 0
	bc.NamesrvAddr = []string{nsAddr.String()}
	bc.MappedFileSizeCommitLog = 64 << 20
	bc.TLS = config.TLS{ServerMode: "enforcing", ServerCertPath: files.ServerCert, ServerKeyPath: files.ServerKey,
		Enable: true, ClientTrustPath: files.CA}
	b, err := broker.New(broker.Config{Broker: bc})
	if err != nil {
		t.Fatal(err)
	}
	brokerAddr, err := b.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("broker shutdown: %v", err)
		}
	})
	env := &clienttest.Env{NamesrvAddr: nsAddr.String(), BrokerAddr: brokerAddr, Broker: b}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr},
		Remoting: remoting.ClientConfig{TLS: pki.ClientConfig(false)}})
	defer c.Close()
	if err := c.CreateTopic(ctx, env.BrokerAddr, "TlsTopic", 1); err != nil {
		t.Fatalf("create topic over TLS: %v", err)
	}
	clienttest.WaitRoute(t, c, "TlsTopic")
	if _, err := c.Send(ctx, "TlsTopic", 0, []byte("secret"), nil); err != nil {
		t.Fatalf("send over TLS: %v", err)
	}
	// The send is answered before dispatch adds the queue entry.
	clienttest.Poll(t, 10*time.Second, func() bool {
		n, err := c.MaxOffset(ctx, env.BrokerAddr, "TlsTopic", 0)
		return err == nil && n == 1
	})
	res, err := c.Pull(ctx, env.BrokerAddr, "TlsGroup", "TlsTopic", 0, 0, 8, 0)
	if err != nil || res.Code != protocol.Success || len(res.Messages) != 1 || string(res.Messages[0].Body) != "secret" {
		t.Fatalf("pull over TLS: %+v, %v", res, err)
	}

	plain := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr},
		Remoting: remoting.ClientConfig{RequestTimeout: 2 * time.Second}})
	defer plain.Close()
	if _, err := plain.MaxOffset(ctx, env.BrokerAddr, "TlsTopic", 0); err == nil {
		t.Fatal("plain client served by a broker enforcing TLS")
	}
}
