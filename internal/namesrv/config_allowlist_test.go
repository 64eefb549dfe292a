package namesrv

import (
	"strings"
	"testing"

	"github.com/bolidemq/bolide/internal/protocol"
)

// TestNamesrvConfigRefusesExploitKeys replays the keys of the public
// CVE-2023-37582 and CVE-2023-33246 exploits, and the keys upstream later
// blacklisted, against UPDATE_NAMESRV_CONFIG: every one is refused with
// NO_PERMISSION naming it, and nothing changes.
func TestNamesrvConfigRefusesExploitKeys(t *testing.T) {
	ts := startServer(t, Config{Settings: DefaultSettings()})
	before := string(ts.ok(t, protocol.GetNamesrvConfig, nil, nil).Body)
	for _, c := range []struct{ body, key string }{
		{"configStorePath=/etc/cron.d/evil\n", "configStorePath"},
		{"kvConfigPath=/root/.ssh/authorized_keys\n", "kvConfigPath"},
		{"rocketmqHome=-c $@|sh . echo id;\n", "rocketmqHome"},
		{"configBlackList=\n", "configBlackList"},
		{"productEnvName=x\n", "productEnvName"},
		{"enableAllTopicList=false\nfilterServerNums=1\n", "filterServerNums"},
	} {
		resp := ts.call(t, protocol.UpdateNamesrvConfig, nil, []byte(c.body))
		expectCode(t, resp, protocol.NoPermission)
		if !strings.Contains(resp.Remark, `"`+c.key+`"`) {
			t.Errorf("%q: remark %q does not name %s", c.body, resp.Remark, c.key)
		}
		if after := string(ts.ok(t, protocol.GetNamesrvConfig, nil, nil).Body); after != before {
			t.Fatalf("%q changed the config to %q", c.body, after)
		}
	}
}

// TestNamesrvSettingNamesHarmless guards the allow-list: only boolean
// switches, nothing naming a path, file, home or command.
func TestNamesrvSettingNamesHarmless(t *testing.T) {
	for _, k := range settingNames {
		lk := strings.ToLower(k)
		for _, bad := range []string{"path", "dir", "file", "home", "command", "filterserver", "blacklist", "env"} {
			if strings.Contains(lk, bad) {
				t.Errorf("runtime setting %s looks like a %s setting", k, bad)
			}
		}
	}
}
