package admin_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/acl"
	"github.com/bolidemq/bolide/internal/admin"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
)

// TestAdminCredentials runs topicStatus against a broker with ACL on:
// signed with keys or a credentials file it works, unsigned or with a
// wrong secret it fails with the broker's NO_PERMISSION remark, and
// half-given credentials are a usage error.
func TestAdminCredentials(t *testing.T) {
	dir := t.TempDir()
	aclFile := filepath.Join(dir, "acl.json")
	users := `{"users": [{"accessKey": "opsuser1", "secretKey": "opssecret", "policies": [
	  {"resource": "topic:ops-*", "actions": ["Get"]}]},
	  {"accessKey": "rootuser", "secretKey": "rootsecret", "super": true}]}`
	if err := os.WriteFile(aclFile, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	env := clienttest.Start(t, func(b *config.Broker) { b.AclEnable, b.AclFile = true, aclFile })
	root := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}, Credentials: acl.Credentials{AccessKey: "rootuser", SecretKey: "rootsecret"}})
	defer root.Close()
	if err := root.CreateTopic(context.Background(), env.BrokerAddr, "ops-t", 1); err != nil {
		t.Fatal(err)
	}
	clienttest.WaitRoute(t, root, "ops-t")

	credFile := filepath.Join(dir, "tools.yml")
	if err := os.WriteFile(credFile, []byte("# as conf/tools.yml\naccessKey: opsuser1\nsecretKey: \"opssecret\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(badFile, []byte("accessKey=opsuser1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	base := []string{"topicStatus", "-n", env.NamesrvAddr}
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"keys", []string{"-t", "ops-t", "--accessKey", "opsuser1", "--secretKey", "opssecret"}, admin.ExitOK, ""},
		{"file", []string{"-t", "ops-t", "--credentials", credFile}, admin.ExitOK, ""},
		{"unsigned", []string{"-t", "ops-t"}, admin.ExitFailure, "NO_PERMISSION"},
		{"wrong secret", []string{"-t", "ops-t", "--accessKey", "opsuser1", "--secretKey", "nope-nope"}, admin.ExitFailure, "check signature failed"},
		{"super user", []string{"-t", "ops-t", "--accessKey", "rootuser", "--secretKey", "rootsecret"}, admin.ExitOK, ""},
		{"half keys", []string{"-t", "ops-t", "--accessKey", "opsuser1"}, admin.ExitUsage, "--accessKey and --secretKey go together"},
		{"both", []string{"-t", "ops-t", "--credentials", credFile, "--accessKey", "a", "--secretKey", "b"}, admin.ExitUsage, "not both"},
		{"incomplete file", []string{"-t", "ops-t", "--credentials", badFile}, admin.ExitUsage, "needs both accessKey and secretKey"},
		{"missing file", []string{"-t", "ops-t", "--credentials", filepath.Join(dir, "none")}, admin.ExitFailure, "read credentials"},
	} {
		stdout, stderr, code := runAdmin(now, append(base, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: exit %d stderr %q, want exit %d and %q (stdout %q)", tc.name, code, stderr, tc.code, tc.stderr, stdout)
		}
		if tc.code == admin.ExitOK && !strings.Contains(stdout, "ops-t") && !strings.Contains(stdout, "#Broker") {
			t.Errorf("%s: stdout %q lacks the table", tc.name, stdout)
		}
	}
}
