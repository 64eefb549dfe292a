package compat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// The Java oracle: test/java, a program built against the official RocketMQ
// Java remoting client (org.apache.rocketmq:rocketmq-client 5.x).
const (
	javaJar          = "../java/target/bolide-java-roundtrip.jar"
	javaBuildHint    = "build it with: (cd test/java && mvn -q -B -DskipTests package) (.ci/run and scripts/test.sh do this), or set BOLIDE_SKIP_JAVA=1 to skip"
	javaDeadline     = 120 * time.Second // whole process, JVM start included
	javaInnerTimeout = 90                // seconds, RoundTrip's own watchdog
	javaMessages     = 10                // per kind: sync, async, batch
)

// javaCmd returns the path of java and of the jar, failing the test (not
// skipping it) when either is missing: CI builds the jar before testing.
func javaCmd(t *testing.T) (java, jar string) {
	t.Helper()
	if os.Getenv("BOLIDE_SKIP_JAVA") == "1" {
		t.Skip("BOLIDE_SKIP_JAVA=1")
	}
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatalf("java (JDK 17+) not found on PATH: %v; %s", err, javaBuildHint)
	}
	jar, err = filepath.Abs(javaJar)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(jar); err != nil {
		t.Fatalf("Java round-trip jar missing (%v); %s", err, javaBuildHint)
	}
	return java, jar
}

// startJavaCluster runs a name server and a broker registered with it in
// process and waits until the broker's TBW102 route (the one topic
// auto-creation relies on) is served. It returns the name server's and the
// broker's addresses.
func startJavaCluster(t *testing.T) (nsAddr, brokerAddr string) {
	t.Helper()
	nsAddr = startNamesrv(t)
	bc := config.DefaultBroker()
	bc.StorePathRootDir = t.TempDir()
	bc.ListenPort = 0
	bc.NamesrvAddr = []string{nsAddr}
	bc.MappedFileSizeCommitLog = 64 << 20
	b, err := broker.New(broker.Config{Broker: bc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("broker shutdown: %v", err)
		}
	})
	waitJavaRoute(t, nsAddr, "TBW102")
	return nsAddr, b.Addr()
}

// javaInvoke sends one request with Bolide's own client.
func javaInvoke(t *testing.T, addr string, code protocol.RequestCode, header any) *remoting.Command {
	t.Helper()
	cli := remoting.NewClient(remoting.ClientConfig{})
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Invoke(ctx, addr, remoting.NewRequest(int32(code), protocol.EncodeHeader(header), nil))
	if err != nil {
		t.Fatalf("request %d to %s: %v", code, addr, err)
	}
	return resp
}

// waitJavaRoute waits until the name server serves a route for topic.
func waitJavaRoute(t *testing.T, nsAddr, topic string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp := javaInvoke(t, nsAddr, protocol.GetRouteInfoByTopic, &protocol.GetRouteInfoRequestHeader{Topic: topic})
		if resp.Code == int32(protocol.Success) && len(resp.Body) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("route of %s not served within 15 s: code %d %s", topic, resp.Code, resp.Remark)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runJavaRoundTrip runs the Java program against nsAddr and topic, failing
// the test with its output unless it exits 0.
func runJavaRoundTrip(t *testing.T, java, jar, nsAddr, topic string) {
	t.Helper()
	logs := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), javaDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, java,
		"-Drocketmq.log.root="+logs, // the client's own log file, shown on failure
		"-Drocketmq.log.level=INFO",
		"-jar", jar, nsAddr, topic, strconv.Itoa(javaMessages), strconv.Itoa(javaInnerTimeout))
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start).Round(time.Millisecond)
	if err != nil {
		var why string
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			why = fmt.Sprintf("killed after %v", javaDeadline)
		default:
			why = err.Error()
		}
		clientLog, _ := os.ReadFile(filepath.Join(logs, "rocketmq_client.log"))
		if len(clientLog) > 64<<10 {
			clientLog = clientLog[len(clientLog)-64<<10:]
		}
		t.Fatalf("java round trip failed (%s, after %v); output:\n%s\nclient log (tail):\n%s", why, elapsed, out.String(), clientLog)
	}
	t.Logf("java round trip passed in %v; output:\n%s", elapsed, out.String())
}

// TestJavaClientRoundTrip drives Bolide with the official Java client on a
// topic created beforehand with UPDATE_AND_CREATE_TOPIC: sync, async and
// batch sends, then a clustering push consumer from the first offset.
func TestJavaClientRoundTrip(t *testing.T) {
	java, jar := javaCmd(t)
	nsAddr, brokerAddr := startJavaCluster(t)
	topic := fmt.Sprintf("JavaRoundTrip_%d", time.Now().UnixNano())
	resp := javaInvoke(t, brokerAddr, protocol.UpdateAndCreateTopic, &protocol.CreateTopicRequestHeader{
		Topic: topic, DefaultTopic: "TBW102", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6,
	})
	if resp.Code != int32(protocol.Success) {
		t.Fatalf("UPDATE_AND_CREATE_TOPIC: code %d %s", resp.Code, resp.Remark)
	}
	waitJavaRoute(t, nsAddr, topic)
	runJavaRoundTrip(t, java, jar, nsAddr, topic)
}

// TestJavaClientAutoCreateTopic is the same round trip on a topic nobody
// created: the Java producer sends through the TBW102 route and the broker
// creates the topic and registers it with the name server.
func TestJavaClientAutoCreateTopic(t *testing.T) {
	java, jar := javaCmd(t)
	nsAddr, _ := startJavaCluster(t)
	runJavaRoundTrip(t, java, jar, nsAddr, fmt.Sprintf("JavaAutoCreate_%d", time.Now().UnixNano()))
}
