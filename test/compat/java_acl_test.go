package compat

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runJavaACL runs the Java round trip signing with the rocketmq-client
// jar's AclClientRPCHook (ACL 1.0) as accessKey/secretKey, and returns its
// output and error.
func runJavaACL(t *testing.T, java, jar, nsAddr, topic, accessKey, secretKey string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), javaDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, java,
		"-Drocketmq.log.root="+t.TempDir(),
		"-Dbolide.accessKey="+accessKey, "-Dbolide.secretKey="+secretKey,
		"-jar", jar, nsAddr, topic, strconv.Itoa(javaMessages), strconv.Itoa(javaInnerTimeout))
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestJavaClientACL runs the official Java client (producer and push
// consumer built with AclClientRPCHook) against a broker with
// aclEnable=true: with the right secret the round trip passes; with a
// wrong one the first send is refused with the broker's remark.
func TestJavaClientACL(t *testing.T) {
	java, jar := javaCmd(t)
	c := startACLCluster(t, `{"users": [{"accessKey": "javauser1", "secretKey": "javasecret1", "policies": [
	  {"resource": "topic:JavaACL*", "actions": ["Pub", "Sub"]},
	  {"resource": "group:bolide_java_*", "actions": ["Sub"]}]}]}`)

	topic := fmt.Sprintf("JavaACL_%d", time.Now().UnixNano())
	if out, err := runJavaACL(t, java, jar, c.ns, topic, "javauser1", "javasecret1"); err != nil {
		t.Fatalf("signed java round trip failed: %v; output:\n%s", err, out)
	}
	out, err := runJavaACL(t, java, jar, c.ns, topic+"_wrong", "javauser1", "not-the-secret")
	if err == nil {
		t.Fatalf("java round trip with a wrong secret passed; output:\n%s", out)
	}
	if !strings.Contains(out, "check signature failed") {
		t.Errorf("wrong secret: output does not carry the broker's remark:\n%s", out)
	}
}
