package config

import (
	"strings"
	"testing"
)

// TestEveryKeyHasAGetter keeps GET_BROKER_CONFIG complete: a key added to
// setters needs a getter in props.go.
func TestEveryKeyHasAGetter(t *testing.T) {
	for k := range setters {
		if getters[k] == nil {
			t.Errorf("setting %s has no getter in props.go", k)
		}
	}
	for k := range getters {
		if setters[k] == nil {
			t.Errorf("getter %s is not a setting", k)
		}
	}
}

// TestPropertiesTextRoundTrip reads the rendered text back and gets the
// same config.
func TestPropertiesTextRoundTrip(t *testing.T) {
	b := DefaultBroker()
	b.NamesrvAddr = []string{"127.0.0.1:9876", "127.0.0.2:9876"}
	b.StorePathRootDir = ` /data\store`
	b.TLS.ServerMode = "permissive"
	b.QueryLimits.PoolSize = 3
	text := b.PropertiesText()
	if !strings.Contains(text, "queryPoolSize=3\n") || !strings.Contains(text, "namesrvAddr=127.0.0.1:9876;127.0.0.2:9876\n") {
		t.Fatalf("text:\n%s", text)
	}
	var back Broker
	rep, err := ParseBroker(strings.NewReader(text), &back)
	if err != nil || len(rep.Unknown) != 0 {
		t.Fatalf("parse back: %v %+v", err, rep)
	}
	if back.PropertiesText() != text {
		t.Fatalf("round trip differs:\n%s\nvs\n%s", back.PropertiesText(), text)
	}
	if back.StorePathRootDir != b.StorePathRootDir {
		t.Fatalf("escaped value %q read back as %q", b.StorePathRootDir, back.StorePathRootDir)
	}
}
