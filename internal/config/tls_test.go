package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/remoting/tlstest"
)

func TestTLSKeysInBrokerConf(t *testing.T) {
	files := tlstest.New(t).WriteFiles(t, t.TempDir())
	conf := "tls.server.mode=enforcing\n" +
		"tls.server.certPath=" + files.ServerCert + "\n" +
		"tls.server.keyPath=" + files.ServerKey + "\n" +
		"tls.server.trustCertPath=" + files.CA + "\n" +
		"tls.server.authClient=true\n" +
		"tls.enable=true\n" +
		"tls.client.trustCertPath=" + files.CA + "\n" +
		"tls.client.certPath=" + files.ClientCert + "\n" +
		"tls.client.keyPath=" + files.ClientKey + "\n"
	b := DefaultBroker()
	rep, err := ParseBroker(strings.NewReader(conf), &b)
	if err != nil || len(rep.Unknown)+len(rep.Ignored) != 0 {
		t.Fatalf("parse: %v, %+v", err, rep)
	}
	mode, sc, err := b.TLS.Server()
	if err != nil || mode != remoting.TLSEnforcing || sc == nil || len(sc.Certificates) != 1 || sc.ClientCAs == nil {
		t.Fatalf("Server() = %v, %+v, %v", mode, sc, err)
	}
	cc, err := b.TLS.Client()
	if err != nil || cc == nil || cc.InsecureSkipVerify || cc.RootCAs == nil || len(cc.Certificates) != 1 {
		t.Fatalf("Client() = %+v, %v", cc, err)
	}
}

func TestTLSDefaultsAndErrors(t *testing.T) {
	b := DefaultBroker()
	if mode, sc, err := b.TLS.Server(); mode != remoting.TLSDisabled || sc != nil || err != nil {
		t.Fatalf("default Server() = %v, %v, %v", mode, sc, err)
	}
	if cc, err := b.TLS.Client(); cc != nil || err != nil {
		t.Fatalf("default Client() = %v, %v", cc, err)
	}
	if _, err := ParseBroker(strings.NewReader("tls.server.mode=on\n"), &b); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tls.server.mode=on: %v", err)
	}
	// A mode without a certificate is refused at startup, not served plain.
	if _, _, err := (TLS{ServerMode: "permissive"}).Server(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("permissive without certificate: %v", err)
	}
	// tls.enable without a trust file encrypts without verifying, as upstream.
	cc, err := (TLS{Enable: true}).Client()
	if err != nil || !cc.InsecureSkipVerify {
		t.Fatalf("Client() without trust = %+v, %v", cc, err)
	}
}

func TestLoadTLS(t *testing.T) {
	dir := t.TempDir()
	files := tlstest.New(t).WriteFiles(t, dir)
	path := filepath.Join(dir, "tls.properties")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("tls.server.mode=permissive\ntls.server.certPath=" + files.ServerCert + "\ntls.server.keyPath=" + files.ServerKey + "\n")
	tc, err := LoadTLS(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode, sc, err := tc.Server(); err != nil || mode != remoting.TLSPermissive || sc == nil {
		t.Fatalf("Server() = %v, %v, %v", mode, sc, err)
	}
	// Only tls.* keys belong in this file.
	write("tls.server.mode=permissive\nstorePathRootDir=/tmp\n")
	if _, err := LoadTLS(path); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "storePathRootDir") {
		t.Fatalf("non-TLS key: %v", err)
	}
}
