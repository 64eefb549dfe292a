package remoting

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/remoting/tlstest"
)

// echo sends one echo request through c and reports the error.
func echo(t *testing.T, c *Client, addr string) error {
	t.Helper()
	req := NewRequest(codeEcho, nil, []byte("ping"))
	resp, err := c.Invoke(ctxTimeout(t, 5*time.Second), addr, req)
	if err != nil {
		return err
	}
	if string(resp.Body) != "ping" {
		t.Fatalf("echo body %q", resp.Body)
	}
	return nil
}

func TestTLSEnforcing(t *testing.T) {
	pki := tlstest.New(t)
	_, addr, _ := testServer(t, ServerConfig{TLSMode: TLSEnforcing, TLS: pki.ServerConfig()})

	// A verifying client: the server name comes from the address dialed,
	// so the certificate's 127.0.0.1 SAN is checked.
	if err := echo(t, testClient(t, ClientConfig{TLS: pki.ClientConfig(false)}), addr); err != nil {
		t.Fatalf("TLS client: %v", err)
	}
	// A plain client gets no answer: the server waits for a handshake and
	// drops the connection when the frame is not one.
	plain := testClient(t, ClientConfig{RequestTimeout: 2 * time.Second})
	if err := echo(t, plain, addr); err == nil {
		t.Fatal("plain client served by an enforcing server")
	}
	// A client that does not trust the CA refuses the server.
	if err := echo(t, testClient(t, ClientConfig{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}), addr); err == nil ||
		!strings.Contains(err.Error(), "tls handshake") {
		t.Fatalf("untrusting client: %v, want a handshake error", err)
	}
}

func TestTLSPermissiveServesBoth(t *testing.T) {
	pki := tlstest.New(t)
	srv, addr, _ := testServer(t, ServerConfig{TLSMode: TLSPermissive, TLS: pki.ServerConfig()})
	tlsCli := testClient(t, ClientConfig{TLS: pki.ClientConfig(false)})
	plainCli := testClient(t, ClientConfig{})
	for i := range 3 { // several requests on each connection
		if err := echo(t, tlsCli, addr); err != nil {
			t.Fatalf("TLS client, request %d: %v", i, err)
		}
		if err := echo(t, plainCli, addr); err != nil {
			t.Fatalf("plain client, request %d: %v", i, err)
		}
	}
	if n := srv.ConnCount(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestTLSDisabledIgnoresConfig(t *testing.T) {
	pki := tlstest.New(t)
	_, addr, _ := testServer(t, ServerConfig{TLSMode: TLSDisabled, TLS: pki.ServerConfig()})
	if err := echo(t, testClient(t, ClientConfig{}), addr); err != nil {
		t.Fatalf("plain client: %v", err)
	}
	if err := echo(t, testClient(t, ClientConfig{TLS: pki.ClientConfig(false)}), addr); err == nil {
		t.Fatal("TLS handshake succeeded against a plain server")
	}
}

func TestTLSClientCertificate(t *testing.T) {
	pki := tlstest.New(t)
	files := pki.WriteFiles(t, t.TempDir())
	cfg, err := LoadServerTLS(ServerTLSFiles{
		CertPath: files.ServerCert, KeyPath: files.ServerKey, TrustCertPath: files.CA, AuthClient: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, addr, _ := testServer(t, ServerConfig{TLSMode: TLSEnforcing, TLS: cfg})
	if err := echo(t, testClient(t, ClientConfig{TLS: pki.ClientConfig(true)}), addr); err != nil {
		t.Fatalf("client with certificate: %v", err)
	}
	// Without a certificate the TLS 1.3 handshake completes on the client
	// side and the server's refusal arrives as an alert on the first read.
	if err := echo(t, testClient(t, ClientConfig{TLS: pki.ClientConfig(false), RequestTimeout: 2 * time.Second}), addr); err == nil {
		t.Fatal("client without a certificate was served")
	}
}

func TestLoadServerTLSErrors(t *testing.T) {
	pki := tlstest.New(t)
	files := pki.WriteFiles(t, t.TempDir())
	if _, err := LoadServerTLS(ServerTLSFiles{CertPath: files.ServerCert, KeyPath: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("missing key accepted")
	}
	if _, err := LoadServerTLS(ServerTLSFiles{CertPath: files.ServerCert, KeyPath: files.ServerKey, AuthClient: true}); err == nil {
		t.Error("client authentication without trust certificates accepted")
	}
	if _, err := LoadServerTLS(ServerTLSFiles{CertPath: files.ServerCert, KeyPath: files.ServerKey, TrustCertPath: files.ServerKey, AuthClient: true}); err == nil {
		t.Error("trust file without certificates accepted")
	}
	for _, s := range []string{"disabled", "permissive", "enforcing"} {
		m, err := ParseTLSMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseTLSMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseTLSMode("on"); err == nil {
		t.Error(`ParseTLSMode("on") accepted`)
	}
}
