package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/namesrv"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/remoting/tlstest"
)

// TestOfficialClientTLS runs the official Go client with WithTls(true)
// against a name server in permissive mode (TLS and plain on one port: the
// broker registers over plain TCP) and a broker enforcing TLS, and checks
// that messages go through end to end.
//
// WithTls mutates the client's global remoting config (see
// client-go-compat.md): every client of this process dials TLS until it
// is switched back, which the first cleanup does once the others ran.
// The client dials with InsecureSkipVerify, so any certificate works.
func TestOfficialClientTLS(t *testing.T) {
	t.Cleanup(func() {
		// Switch the global back for the tests that follow. NewProducer
		// applies the option; the producer is never started.
		if _, err := rocketmq.NewProducer(producer.WithTls(false), producer.WithInstanceName(uniqueName(t, "reset")),
			producer.WithNsResolver(primitive.NewPassthroughResolver([]string{"127.0.0.1:1"}))); err != nil {
			t.Errorf("reset WithTls: %v", err)
		}
	})
	pki := tlstest.New(t)
	files := pki.WriteFiles(t, t.TempDir())

	ns := namesrv.New(namesrv.Config{Settings: namesrv.DefaultSettings(),
		Remoting: remoting.ServerConfig{TLSMode: remoting.TLSPermissive, TLS: pki.ServerConfig()}})
	nsAddr, err := ns.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = ns.Shutdown(ctx)
	})
	c := startBrokerOn(t, nsAddr.String(), func(bc *config.Broker) {
		bc.TLS.ServerMode = "enforcing"
		bc.TLS.ServerCertPath, bc.TLS.ServerKeyPath = files.ServerCert, files.ServerKey
	})
	c.waitRoute(t, "TBW102") // plain TCP to the permissive name server

	topic := uniqueName(t, "tls")
	p := newProducer(t, c, producer.WithTls(true))

	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	const n = 5
	want := make(map[string]bool, n)
	for i := range n {
		body := fmt.Sprintf("over tls %d", i)
		r, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(body)))
		if err != nil || r.Status != primitive.SendOK {
			t.Fatalf("SendSync over TLS: %v, %v", r, err)
		}
		if r.MessageQueue.BrokerName != c.broker.Name() {
			t.Fatalf("sent to %q", r.MessageQueue.BrokerName)
		}
		want[body] = true
	}

	var mu sync.Mutex
	got := make(map[string]bool)
	pc, err := rocketmq.NewPushConsumer(
		consumer.WithTls(true),
		consumer.WithGroupName(uniqueName(t, "cg")),
		consumer.WithInstance(uniqueName(t, "c")),
		consumer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.ns})),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = pc.Subscribe(topic, consumer.MessageSelector{}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			got[string(m.Body)] = true
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		t.Fatalf("consumer start: %v", err)
	}
	t.Cleanup(func() { _ = shutdownConsumer(t, pc) })
	poll(t, 30*time.Second, "messages consumed over TLS", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		for body := range want {
			if !got[body] {
				return false, fmt.Sprintf("%d of %d consumed", len(got), n)
			}
		}
		return true, ""
	})

	// The broker refuses plain TCP: Bolide's plain client gets no answer.
	if _, err := c.committedOffset("any", topic, 0); err == nil {
		t.Fatal("broker enforcing TLS answered a plain request")
	}
}

// TestBolideNamesrvCommandTLS runs `bolide namesrv --tls-config` with an
// enforcing properties file: a TLS client that verifies the certificate is
// answered, a plain one is not.
func TestBolideNamesrvCommandTLS(t *testing.T) {
	dir := t.TempDir()
	pki := tlstest.New(t)
	files := pki.WriteFiles(t, dir)
	props := filepath.Join(dir, "tls.properties")
	if err := os.WriteFile(props, []byte("tls.server.mode=enforcing\ntls.server.certPath="+files.ServerCert+
		"\ntls.server.keyPath="+files.ServerKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := runBolideNamesrv(t, "--metrics-addr", "", "--tls-config", props)

	ask := func(cli *remoting.Client) (*remoting.Command, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return cli.Invoke(ctx, addr, remoting.NewRequest(int32(protocol.GetNamesrvConfig), nil, nil))
	}
	tlsCli := remoting.NewClient(remoting.ClientConfig{TLS: pki.ClientConfig(false)})
	defer tlsCli.Close()
	resp, err := ask(tlsCli)
	if err != nil || resp.Code != int32(protocol.Success) || !strings.Contains(string(resp.Body), "enableAllTopicList=") {
		t.Fatalf("GET_NAMESRV_CONFIG over TLS: %+v, %v", resp, err)
	}
	plain := remoting.NewClient(remoting.ClientConfig{})
	defer plain.Close()
	if resp, err := ask(plain); err == nil {
		t.Fatalf("plain request answered by an enforcing name server: code %d", resp.Code)
	}
}
