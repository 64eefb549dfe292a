package broker

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startBroker runs a broker on a random loopback port with its data in a
// temporary directory, and returns it with a client connected to it.
func startBroker(t *testing.T, mut func(*config.Broker)) (*Broker, *remoting.Client) {
	t.Helper()
	return startBrokerConfig(t, Config{Broker: testBrokerConfig(t, mut)})
}

// testBrokerConfig is the tests' broker config: data in a temporary
// directory, a random port, small commit-log segments, LMQ on; mut, if
// set, adjusts it.
func testBrokerConfig(t *testing.T, mut func(*config.Broker)) config.Broker {
	bc := config.DefaultBroker()
	bc.StorePathRootDir = t.TempDir()
	bc.ListenPort = 0
	bc.MappedFileSizeCommitLog = 1 << 20
	bc.EnableLmq = true
	bc.EnableMultiDispatch = true
	if mut != nil {
		mut(&bc)
	}
	return bc
}

// startBrokerConfig runs a broker with cfg (its data directory and port
// already set) and returns it with a client connected to it; both are
// closed at the end of the test.
func startBrokerConfig(t *testing.T, cfg Config) (*Broker, *remoting.Client) {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Listen(); err != nil {
		t.Fatal(err)
	}
	cli := remoting.NewClient(remoting.ClientConfig{})
	t.Cleanup(func() {
		_ = cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return b, cli
}

// call sends a request with a typed header (or nil) and body to the broker.
func call(t *testing.T, b *Broker, cli *remoting.Client, code protocol.RequestCode, header any, body []byte) *remoting.Command {
	t.Helper()
	var ext map[string]string
	if header != nil {
		ext = protocol.EncodeHeader(header)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Invoke(ctx, b.Addr(), remoting.NewRequest(int32(code), ext, body))
	if err != nil {
		t.Fatalf("%v: %v", code, err)
	}
	return resp
}

func TestStartAndShutdown(t *testing.T) {
	b, cli := startBroker(t, nil)
	resp := call(t, b, cli, 4242, nil, nil)
	if resp.Code != int32(protocol.RequestCodeNotSupported) {
		t.Fatalf("unknown code answered %d", resp.Code)
	}
}
