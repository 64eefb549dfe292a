package compat

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/bolidemq/bolide/internal/namesrv"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

func TestMain(m *testing.M) {
	rlog.SetLogLevel("error")
	os.Exit(m.Run())
}

// startNamesrv runs a name server in process on a random loopback port.
func startNamesrv(t *testing.T) string {
	t.Helper()
	srv := namesrv.New(namesrv.Config{Settings: namesrv.DefaultSettings()})
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return addr.String()
}

// registerBroker registers a broker the way a Java broker does: a
// REGISTER_BROKER with a RegisterBrokerBody holding its topic table.
func registerBroker(t *testing.T, nsAddr, cluster, brokerName, brokerAddr string, topics map[string]int32) {
	t.Helper()
	table := make(map[string]body.TopicConfig, len(topics))
	for name, queues := range topics {
		table[name] = body.TopicConfig{TopicName: name, ReadQueueNums: queues, WriteQueueNums: queues, Perm: 6}
	}
	rb := body.RegisterBrokerBody{}
	rb.TopicConfigSerializeWrapper.TopicConfigTable = table
	rb.TopicConfigSerializeWrapper.DataVersion = body.DataVersion{Timestamp: time.Now().UnixMilli(), Counter: 1}
	req := remoting.NewRequest(int32(protocol.RegisterBroker), protocol.EncodeHeader(&protocol.RegisterBrokerRequestHeader{
		BrokerName: brokerName, BrokerAddr: brokerAddr, ClusterName: cluster,
		HAServerAddr: "127.0.0.1:10912", BrokerID: 0,
	}), rb.Encode())
	cli := remoting.NewClient(remoting.ClientConfig{})
	t.Cleanup(func() { _ = cli.Close() }) // closing the connection unregisters: keep it open for the test
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Invoke(ctx, nsAddr, req)
	if err != nil {
		t.Fatalf("register broker: %v", err)
	}
	if resp.Code != int32(protocol.Success) {
		t.Fatalf("register broker: code %d remark %q", resp.Code, resp.Remark)
	}
}

func newAdmin(t *testing.T, nsAddr string) admin.Admin {
	t.Helper()
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver([]string{nsAddr})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = adm.Close() })
	return adm
}

// checkRoutes drives the official client's admin against a name server
// that has broker-a registered with CompatTopic (4 queues) and Other (2).
func checkRoutes(t *testing.T, nsAddr string) {
	t.Helper()
	adm := newAdmin(t, nsAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	list, err := adm.FetchAllTopicList(ctx)
	if err != nil {
		t.Fatalf("FetchAllTopicList: %v", err)
	}
	for _, want := range []string{"CompatTopic", "Other"} {
		if !slices.Contains(list.TopicList, want) {
			t.Errorf("FetchAllTopicList = %v, missing %s", list.TopicList, want)
		}
	}

	// A route lookup: the client parses the fastjson route (bare integer
	// broker ids) and turns it into publishable queues.
	mqs, err := adm.FetchPublishMessageQueues(ctx, "CompatTopic")
	if err != nil {
		t.Fatalf("FetchPublishMessageQueues: %v", err)
	}
	if len(mqs) != 4 {
		t.Fatalf("got %d queues, want 4: %v", len(mqs), mqs)
	}
	for i, mq := range mqs {
		if mq.Topic != "CompatTopic" || mq.BrokerName != "broker-a" || mq.QueueId != i {
			t.Errorf("queue %d = %+v", i, mq)
		}
	}
	clusters, err := adm.FetchClusterList("CompatTopic")
	if err != nil || len(clusters) != 1 || clusters[0] != "DefaultCluster" {
		t.Errorf("FetchClusterList = %v, %v", clusters, err)
	}

	// A topic nobody registered is reported as such.
	if _, err := adm.FetchPublishMessageQueues(ctx, "NoSuchTopic"); err == nil {
		t.Error("route of an unknown topic: no error")
	}
}

func TestOfficialClientResolvesRegisteredRoute(t *testing.T) {
	ns := startNamesrv(t)
	registerBroker(t, ns, "DefaultCluster", "broker-a", "127.0.0.1:10911", map[string]int32{"CompatTopic": 4, "Other": 2})
	checkRoutes(t, ns)
}

// TestBolideNamesrvCommand runs the real `bolide namesrv` binary, the way a
// newcomer does, and resolves a route through it with the official client.
func TestBolideNamesrvCommand(t *testing.T) {
	addr := runBolideNamesrv(t, "--metrics-addr", "127.0.0.1:0")

	registerBroker(t, addr, "DefaultCluster", "broker-a", "127.0.0.1:10911", map[string]int32{"CompatTopic": 4, "Other": 2})
	checkRoutes(t, addr)
}

// runBolideNamesrv builds the real `bolide` binary and runs `bolide namesrv`
// on a random port with extra args, stopping it (SIGINT) at the end of the
// test; it returns the address the name server printed.
func runBolideNamesrv(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bolide")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bolide")
	build.Dir = filepath.Join("..", "..") // the main module, with its own go.sum
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"namesrv", "--port", "0", "--log-level", "warn"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	var addr string
	select {
	case line := <-lines:
		const prefix = "name server listening on "
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("unexpected first line %q", line)
		}
		addr = strings.TrimPrefix(line, prefix)
	case err := <-exited:
		t.Fatalf("bolide namesrv exited: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("bolide namesrv did not report its address")
	}
	return addr
}
