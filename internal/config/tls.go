package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/bolidemq/bolide/internal/remoting"
)

// TLS holds the transport security settings, under upstream's names
// (TlsSystemConfig: tls.server.*, tls.client.*, tls.enable). Upstream
// reads them as -D system properties or from tls.config.file; Bolide reads
// them from broker.conf, or from a properties file of their own (LoadTLS,
// for a name server started alone).
type TLS struct {
	// ServerMode is tls.server.mode: disabled (Bolide's default, since
	// there is no certificate to serve until one is configured),
	// permissive (TLS and plain on one port) or enforcing (TLS only).
	ServerMode       string
	ServerCertPath   string // tls.server.certPath (PEM)
	ServerKeyPath    string // tls.server.keyPath (PEM, unencrypted)
	ServerTrustPath  string // tls.server.trustCertPath: CAs for client certificates
	ServerAuthClient bool   // tls.server.authClient: require a client certificate

	// Enable is tls.enable: this process's own outgoing connections (a
	// broker's to its name servers) use TLS.
	Enable          bool
	ClientCertPath  string // tls.client.certPath, presented if the server asks
	ClientKeyPath   string // tls.client.keyPath
	ClientTrustPath string // tls.client.trustCertPath: verify the server against these CAs
}

func init() {
	tlsStr := func(f func(*TLS) *string) setter {
		return func(b *Broker, v string) error { *f(&b.TLS) = v; return nil }
	}
	tlsBool := func(f func(*TLS) *bool) setter {
		return boolean(func(b *Broker) *bool { return f(&b.TLS) })
	}
	for k, s := range map[string]setter{
		"tls.server.mode": func(b *Broker, v string) error {
			if _, err := remoting.ParseTLSMode(v); err != nil {
				return fmt.Errorf("want disabled, permissive or enforcing, got %q", v)
			}
			b.TLS.ServerMode = v
			return nil
		},
		"tls.server.certPath":      tlsStr(func(t *TLS) *string { return &t.ServerCertPath }),
		"tls.server.keyPath":       tlsStr(func(t *TLS) *string { return &t.ServerKeyPath }),
		"tls.server.trustCertPath": tlsStr(func(t *TLS) *string { return &t.ServerTrustPath }),
		"tls.server.authClient":    tlsBool(func(t *TLS) *bool { return &t.ServerAuthClient }),
		"tls.enable":               tlsBool(func(t *TLS) *bool { return &t.Enable }),
		"tls.client.certPath":      tlsStr(func(t *TLS) *string { return &t.ClientCertPath }),
		"tls.client.keyPath":       tlsStr(func(t *TLS) *string { return &t.ClientKeyPath }),
		"tls.client.trustCertPath": tlsStr(func(t *TLS) *string { return &t.ClientTrustPath }),
	} {
		setters[k] = s
	}
}

// LoadTLS reads the tls.* keys of a properties file (upstream's
// tls.config.file); any other key is an error, since this file holds
// nothing else.
func LoadTLS(path string) (TLS, error) {
	f, err := os.Open(path)
	if err != nil {
		return TLS{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	props, err := ParseProperties(f)
	if err != nil {
		return TLS{}, fmt.Errorf("config: %s: %w", path, err)
	}
	var b Broker
	var errs []error
	for k, v := range props {
		set, ok := setters[k]
		if !ok || !strings.HasPrefix(k, "tls.") {
			errs = append(errs, fmt.Errorf("%w: %s: %s is not a TLS setting", ErrInvalid, path, k))
			continue
		}
		if err := set(&b, v); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %s: %v", ErrInvalid, path, k, err))
		}
	}
	return b.TLS, errors.Join(errs...)
}

// Server returns the remoting server's TLS mode and configuration, loading
// the certificate files; disabled yields (TLSDisabled, nil, nil).
func (t TLS) Server() (remoting.TLSMode, *tls.Config, error) {
	mode := remoting.TLSDisabled
	if t.ServerMode != "" {
		m, err := remoting.ParseTLSMode(t.ServerMode)
		if err != nil {
			return mode, nil, fmt.Errorf("%w: tls.server.mode: %v", ErrInvalid, err)
		}
		mode = m
	}
	if mode == remoting.TLSDisabled {
		return mode, nil, nil
	}
	if t.ServerCertPath == "" || t.ServerKeyPath == "" {
		return mode, nil, fmt.Errorf("%w: tls.server.mode=%s needs tls.server.certPath and tls.server.keyPath", ErrInvalid, mode)
	}
	cfg, err := remoting.LoadServerTLS(remoting.ServerTLSFiles{
		CertPath: t.ServerCertPath, KeyPath: t.ServerKeyPath,
		TrustCertPath: t.ServerTrustPath, AuthClient: t.ServerAuthClient,
	})
	if err != nil {
		return mode, nil, fmt.Errorf("config: tls: %w", err)
	}
	return mode, cfg, nil
}

// Client returns the configuration of outgoing TLS connections, or nil
// when tls.enable is off. Without tls.client.trustCertPath the server's
// certificate is not verified, as upstream's default
// (tls.client.authServer=false): the link is encrypted but a
// man-in-the-middle is not detected.
func (t TLS) Client() (*tls.Config, error) {
	if !t.Enable {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.ClientTrustPath != "" {
		pool, err := remoting.LoadCertPool(t.ClientTrustPath)
		if err != nil {
			return nil, fmt.Errorf("config: tls.client.trustCertPath: %w", err)
		}
		cfg.RootCAs = pool
	} else {
		cfg.InsecureSkipVerify = true
	}
	if t.ClientCertPath != "" || t.ClientKeyPath != "" {
		cert, err := tls.LoadX509KeyPair(t.ClientCertPath, t.ClientKeyPath)
		if err != nil {
			return nil, fmt.Errorf("config: tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
