package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/bolidemq/bolide/"

// rule forbids packages under from (a path prefix, relative to the module)
// to depend, even transitively, on any package under a forbidden prefix.
type rule struct {
	from      string
	forbidden []string
}

var rules = []rule{
	{"internal/store", []string{mod + "internal/remoting", mod + "internal/protocol", mod + "internal/broker"}},
	{"internal/broker", []string{mod + "internal/client"}},
	{"internal/namesrv", []string{mod + "internal/store", mod + "internal/admin"}},
	{"internal/protocol", []string{mod + "internal/remoting"}},
	{"internal/message", []string{mod + "internal/remoting", mod + "internal/protocol"}},
	{"internal/remoting", []string{mod + "internal/namesrv", mod + "internal/broker", mod + "internal/store"}},
	{"", []string{mod + "cmd/"}}, // nothing imports a command
}

// directRules are checked against direct imports only: pebble itself
// depends on Prometheus, but the store must not export metrics on its own
// (metrics/ reads store figures and owns the collectors).
var directRules = []rule{
	{"internal/store", []string{"github.com/prometheus/"}},
	{"internal/broker", []string{"github.com/prometheus/"}},
	{"internal/remoting", []string{"github.com/prometheus/"}},
}

func TestNoDirectPrometheusInStore(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		rel := strings.TrimPrefix(fields[0], mod)
		for _, r := range directRules {
			if !strings.HasPrefix(rel, r.from) {
				continue
			}
			for _, d := range fields[1:] {
				for _, f := range r.forbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%s imports %s directly (forbidden: %s)", rel, d, f)
					}
				}
			}
		}
	}
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	checked := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		pkg, deps := fields[0], fields[1:]
		rel := strings.TrimPrefix(pkg, mod)
		for _, r := range rules {
			if !strings.HasPrefix(rel, r.from) {
				continue
			}
			checked++
			for _, d := range deps {
				for _, f := range r.forbidden {
					if strings.HasPrefix(d, f) && !strings.HasPrefix(pkg, strings.TrimSuffix(f, "/")) {
						t.Errorf("%s depends on %s (forbidden: %s must not depend on %s)", rel, d, r.from, f)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package matched any rule: is the module path right?")
	}
}
