// Package mqadmincheck cross-checks admin tools against a RocketMQ
// cluster: it seeds a known state (a topic on every broker, messages with
// keys and tags, messages dispatched to two LMQs, committed consumer
// offsets), runs the six operational commands (topicStatus,
// consumerProgress, resetOffsetByTime, queryMsgByKey, queryMsgByUniqueKey,
// queryMsgById) with the upstream Java mqadmin and with Bolide's, parses
// both outputs into canonical answers and compares them with each other and
// with what the seeded state says they must be.
//
// The same code serves test/compat (the Java mqadmin against Bolide
// brokers, in CI) and test/apache (Bolide's mqadmin against an Apache
// RocketMQ broker, by hand).
package mqadmincheck

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Java is how to start the upstream mqadmin batch runner
// (test/java/mqadmin, built by scripts/java-oracle.sh).
type Java struct {
	Java      string // the java executable
	ClassPath string // bolide-mqadmin.jar and its dependencies
	LogDir    string // where the tool's log goes (rocketmq.log.root); required
}

// Paths of the build output, relative to the test/java directory.
const (
	adminJar       = "target/mqadmin/bolide-mqadmin.jar"
	adminClassPath = "target/mqadmin/classpath.txt"
)

// BuildHint says how to get the Java mqadmin built.
const BuildHint = "build it with: bash scripts/java-oracle.sh (.ci/run and scripts/test.sh do this), or set BOLIDE_SKIP_JAVA=1 to skip"

// FindJava locates java and the built batch runner under javaDir (the
// repository's test/java). Its errors say what is missing and how to build
// it.
func FindJava(javaDir, logDir string) (Java, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return Java{}, fmt.Errorf("mqadmincheck: java (JDK 17+) not found on PATH: %w; %s", err, BuildHint)
	}
	jar, err := filepath.Abs(filepath.Join(javaDir, adminJar))
	if err != nil {
		return Java{}, fmt.Errorf("mqadmincheck: %w", err)
	}
	if _, err := os.Stat(jar); err != nil {
		return Java{}, fmt.Errorf("mqadmincheck: Java mqadmin jar missing (%w); %s", err, BuildHint)
	}
	cp, err := os.ReadFile(filepath.Join(javaDir, adminClassPath))
	if err != nil {
		return Java{}, fmt.Errorf("mqadmincheck: Java mqadmin class path missing (%w); %s", err, BuildHint)
	}
	deps := strings.TrimSpace(string(cp))
	for _, p := range strings.Split(deps, string(os.PathListSeparator)) {
		if _, err := os.Stat(p); err != nil {
			return Java{}, fmt.Errorf("mqadmincheck: a jar of the Java mqadmin's class path is gone (%w); %s", err, BuildHint)
		}
	}
	return Java{Java: java, ClassPath: jar + string(os.PathListSeparator) + deps, LogDir: logDir}, nil
}

// jvmFlags start a small, fast JVM: the tool runs for seconds on a shared
// 2-core machine, so the C1 compiler alone and a serial collector win.
var jvmFlags = []string{"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}

// Result is one mqadmin invocation: what it printed and how it ended.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	// Status is "ok", "fail" (the command threw), "usage" (bad flags) or
	// "timeout" for the Java tool; "exit N" for Bolide's.
	Status string
	// Error is the failure: Java's exception chain with response codes,
	// or Bolide's stderr.
	Error string
	// RPCs are the requests the Java tool made, in order (none for
	// Bolide's tool).
	RPCs   []RPC
	Millis int64
}

// OK reports whether the command succeeded.
func (r Result) OK() bool { return r.Status == "ok" || r.Status == "exit 0" }

// RPC is one request the Java tool sent and the response code it got
// (-1 when no response came).
type RPC struct {
	Addr     string
	Request  int
	Response int
	Remark   string
}

func (r RPC) String() string {
	resp := strconv.Itoa(r.Response)
	if r.Response < 0 {
		resp = "none"
	}
	return fmt.Sprintf("request %d to %s -> %s %s", r.Request, r.Addr, resp, r.Remark)
}

// Batch runs each invocation (command name first, then its flags) with
// the Java mqadmin, all in one JVM, in order.
func (j Java) Batch(ctx context.Context, invocations [][]string) ([]Result, error) {
	if j.LogDir == "" {
		return nil, errors.New("mqadmincheck: Java.LogDir is required")
	}
	args := append([]string{}, jvmFlags...)
	args = append(args,
		"-Drocketmq.log.root="+j.LogDir,
		"-Drocketmq.log.level=INFO",
		"-Dbolide.batch.timeoutSeconds=240",
		"-cp", j.ClassPath, "bolide.AdminBatch")
	for i, inv := range invocations {
		if i > 0 {
			args = append(args, batchSeparator)
		}
		args = append(args, inv...)
	}
	cmd := exec.CommandContext(ctx, j.Java, args...)
	cmd.WaitDelay = 5 * time.Second
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr := cmd.Run()
	results, parseErr := parseBatch(out.String())
	for i := range results {
		if i < len(invocations) {
			results[i].Args = invocations[i]
		}
	}
	if runErr != nil {
		return results, fmt.Errorf("mqadmincheck: java mqadmin batch: %w; stderr:\n%s\nstdout:\n%s", runErr, errOut.String(), out.String())
	}
	if parseErr != nil {
		return results, fmt.Errorf("mqadmincheck: java mqadmin batch output: %w; stderr:\n%s", parseErr, errOut.String())
	}
	if len(results) != len(invocations) {
		return results, fmt.Errorf("mqadmincheck: java mqadmin batch ran %d of %d commands; stderr:\n%s", len(results), len(invocations), errOut.String())
	}
	return results, nil
}

// LogTail returns the end of the Java tool's log, for failure messages.
func (j Java) LogTail(max int) string {
	b, err := os.ReadFile(filepath.Join(j.LogDir, "mqadmin.log"))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// The framing bolide.AdminBatch prints (see its Javadoc).
const (
	batchMark      = "@@bolide-batch "
	batchSeparator = "---"
)

// parseBatch splits AdminBatch's output into results.
func parseBatch(out string) ([]Result, error) {
	var (
		results []Result
		cur     *Result
		section string // "stdout" or "stderr"
		body    strings.Builder
	)
	flush := func() {
		if cur == nil {
			return
		}
		if section == "stdout" {
			cur.Stdout = body.String()
		} else if section == "stderr" {
			cur.Stderr = body.String()
		}
		body.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, marked := strings.CutPrefix(line, batchMark)
		if !marked {
			if cur != nil && section != "" {
				body.WriteString(line)
				body.WriteByte('\n')
			}
			continue
		}
		word, arg, _ := strings.Cut(rest, " ")
		switch word {
		case "begin":
			results = append(results, Result{})
			cur = &results[len(results)-1]
			section = "stdout"
		case "stderr":
			flush()
			section = "stderr"
		case "rpc":
			if cur == nil {
				return results, fmt.Errorf("rpc line outside a command: %q", line)
			}
			flush()
			section = ""
			rpc, err := parseRPC(arg)
			if err != nil {
				return results, err
			}
			cur.RPCs = append(cur.RPCs, rpc)
		case "end":
			if cur == nil {
				return results, fmt.Errorf("end line outside a command: %q", line)
			}
			flush()
			section = ""
			// end N STATUS MILLIS [ERROR]
			f := strings.SplitN(arg, " ", 4)
			if len(f) < 3 {
				return results, fmt.Errorf("bad end line %q", line)
			}
			cur.Status = f[1]
			cur.Millis, _ = strconv.ParseInt(f[2], 10, 64)
			if len(f) == 4 {
				cur.Error = f[3]
			}
			cur = nil
		case "timeout":
			return results, errors.New("the batch's watchdog fired")
		default:
			return results, fmt.Errorf("unknown batch line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		return results, err
	}
	if cur != nil {
		return results, errors.New("output ends inside a command")
	}
	return results, nil
}

// parseRPC reads "ADDR REQUEST RESPONSE REMARK".
func parseRPC(s string) (RPC, error) {
	f := strings.SplitN(s, " ", 4)
	if len(f) < 3 {
		return RPC{}, fmt.Errorf("bad rpc line %q", s)
	}
	req, err := strconv.Atoi(f[1])
	if err != nil {
		return RPC{}, fmt.Errorf("bad rpc line %q: %w", s, err)
	}
	resp := -1
	if f[2] != "none" {
		if resp, err = strconv.Atoi(f[2]); err != nil {
			return RPC{}, fmt.Errorf("bad rpc line %q: %w", s, err)
		}
	}
	r := RPC{Addr: f[0], Request: req, Response: resp}
	if len(f) == 4 {
		r.Remark = strings.TrimSpace(f[3])
	}
	return r, nil
}
