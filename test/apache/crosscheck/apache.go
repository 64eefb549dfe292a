package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bolidemq/bolide/internal/client"
)

// apache is a running Apache RocketMQ name server and broker (child
// processes).
type apache struct {
	namesrv, broker string
	cmds            []*exec.Cmd     // name server, broker
	done            []chan struct{} // closed when the process has exited
	pids            [2]int
	dir             string
}

// Small heaps and a fast-starting JIT: both processes idle most of the
// time on a shared 2-core machine.
var apacheJVM = []string{
	"-Xms128m", "-Xmx512m", "-XX:MaxDirectMemorySize=512m",
	"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
}

// brokerConf is broker.conf: one master with LMQ on, advertising loopback
// (message ids carry the store host, and queryMsgById dials it), with small
// commit-log and index files and no timer wheel, so the store stays a few
// MB.
const brokerConf = `brokerClusterName=DefaultCluster
brokerName=broker-a
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
listenPort=%d
brokerIP1=127.0.0.1
namesrvAddr=%s
storePathRootDir=%s
enableLmq=true
enableMultiDispatch=true
autoCreateTopicEnable=true
autoCreateSubscriptionGroup=true
mappedFileSizeCommitLog=67108864
maxHashSlotNum=100000
maxIndexNum=400000
timerWheelEnable=false
`

// startApache starts a name server and a broker from the class path in
// cpFile, on free loopback ports, with every file under dir, and waits
// until the broker is registered.
func startApache(ctx context.Context, cpFile, dir string) (*apache, error) {
	cp, err := os.ReadFile(cpFile)
	if err != nil {
		return nil, fmt.Errorf("apache class path: %w", err)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java (JDK 17+) not found: %w", err)
	}
	home := filepath.Join(dir, "home") // user.home and rocketmq.home.dir: logs land here
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	nsPort, err := freePort(0)
	if err != nil {
		return nil, err
	}
	// The broker also listens on port-2 (VIP channel) and port+1 (HA).
	brokerPort, err := freePort(2, -2, 1)
	if err != nil {
		return nil, err
	}
	a := &apache{
		namesrv: "127.0.0.1:" + strconv.Itoa(nsPort),
		broker:  "127.0.0.1:" + strconv.Itoa(brokerPort),
		dir:     dir,
	}
	nsConf := filepath.Join(dir, "namesrv.properties")
	if err := os.WriteFile(nsConf, fmt.Appendf(nil, "listenPort=%d\n", nsPort), 0o644); err != nil {
		return nil, err
	}
	bConf := filepath.Join(dir, "broker.conf")
	conf := fmt.Sprintf(brokerConf, brokerPort, a.namesrv, filepath.Join(dir, "store"))
	if err := os.WriteFile(bConf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	base := append([]string{}, apacheJVM...)
	base = append(base, "-Duser.home="+home, "-Drocketmq.home.dir="+home, "-cp", strings.TrimSpace(string(cp)))
	for i, main := range []struct{ class, conf, out string }{
		{"org.apache.rocketmq.namesrv.NamesrvStartup", nsConf, "namesrv.out"},
		{"org.apache.rocketmq.broker.BrokerStartup", bConf, "broker.out"},
	} {
		out, err := os.Create(filepath.Join(dir, main.out))
		if err != nil {
			a.stop()
			return nil, err
		}
		cmd := exec.Command(java, append(append([]string{}, base...), main.class, "-c", main.conf)...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			out.Close()
			a.stop()
			return nil, fmt.Errorf("start %s: %w", main.class, err)
		}
		out.Close() // the child holds its own descriptor
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		a.cmds = append(a.cmds, cmd)
		a.done = append(a.done, done)
		a.pids[i] = cmd.Process.Pid
	}
	if err := a.waitRegistered(ctx, 120*time.Second); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

// waitRegistered polls the name server until it lists the broker.
func (a *apache) waitRegistered(ctx context.Context, timeout time.Duration) error {
	c := client.New(client.Config{NamesrvAddrs: []string{a.namesrv}})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		ci, err := c.ClusterInfo(cctx)
		cancel()
		if err == nil && ci.BrokerAddrTable["broker-a"].BrokerAddrs[0] == a.broker {
			return nil
		}
		for i := range a.cmds {
			if exited(a.done[i]) {
				return fmt.Errorf("apache %s exited during start; see %s", []string{"name server", "broker"}[i],
					filepath.Join(a.dir, []string{"namesrv.out", "broker.out"}[i]))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("apache broker not registered with %s within %v (last: %v); see %s", a.namesrv, timeout, err, a.dir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop ends the broker, then the name server: SIGTERM (their shutdown hooks
// flush), then SIGKILL after 20 s.
func (a *apache) stop() {
	for i := len(a.cmds) - 1; i >= 0; i-- {
		_ = a.cmds[i].Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done[i]:
		case <-time.After(20 * time.Second):
			_ = a.cmds[i].Process.Kill()
			<-a.done[i]
		}
	}
}

func exited(done chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// freePort returns a loopback port the kernel says is free, such that
// port+d is free too for every d in also. tries bounds the attempts
// (0: one).
func freePort(tries int, also ...int) (int, error) {
	for range tries + 1 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ok := true
		for _, d := range also {
			l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+d))
			if err != nil {
				ok = false
				break
			}
			l2.Close()
		}
		ln.Close()
		if ok {
			return p, nil
		}
	}
	return 0, errors.New("no free port with free neighbours")
}
