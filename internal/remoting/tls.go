package remoting

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
)

// TLSMode says whether a Server speaks TLS, with upstream's names
// (tls.server.mode in TlsSystemConfig).
type TLSMode int

const (
	// TLSDisabled serves plain TCP only (Bolide's default: upstream
	// defaults to permissive with a self-signed certificate, which
	// encrypts without authenticating anything).
	TLSDisabled TLSMode = iota
	// TLSPermissive accepts TLS and plain connections on the same port,
	// telling them apart by the first byte, as upstream's permissive mode
	// does. It eases a migration; it protects nothing against a client
	// that chooses plain.
	TLSPermissive
	// TLSEnforcing accepts TLS connections only.
	TLSEnforcing
)

// tlsRecordHandshake is the first byte of every TLS ClientHello record.
const tlsRecordHandshake = 0x16

// ParseTLSMode reads "disabled", "permissive" or "enforcing".
func ParseTLSMode(s string) (TLSMode, error) {
	switch s {
	case "disabled":
		return TLSDisabled, nil
	case "permissive":
		return TLSPermissive, nil
	case "enforcing":
		return TLSEnforcing, nil
	}
	return TLSDisabled, fmt.Errorf("remoting: tls mode %q: want disabled, permissive or enforcing", s)
}

func (m TLSMode) String() string {
	switch m {
	case TLSPermissive:
		return "permissive"
	case TLSEnforcing:
		return "enforcing"
	default:
		return "disabled"
	}
}

// ServerTLSFiles names the PEM files of a server's TLS setup.
type ServerTLSFiles struct {
	CertPath string
	KeyPath  string
	// TrustCertPath holds the CA certificates client certificates must
	// chain to; required when AuthClient is set.
	TrustCertPath string
	// AuthClient requires and verifies a client certificate.
	AuthClient bool
}

// LoadServerTLS builds a server *tls.Config from PEM files.
func LoadServerTLS(f ServerTLSFiles) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.CertPath, f.KeyPath)
	if err != nil {
		return nil, fmt.Errorf("remoting: load server certificate %s / key %s: %w", f.CertPath, f.KeyPath, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.AuthClient {
		if f.TrustCertPath == "" {
			return nil, errors.New("remoting: client authentication needs a trust certificate file")
		}
		pool, err := LoadCertPool(f.TrustCertPath)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// LoadCertPool reads PEM CA certificates from path.
func LoadCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("remoting: read trust certificates: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("remoting: no PEM certificate in %s", path)
	}
	return pool, nil
}

// wrapAccepted applies the server's TLS mode to an accepted connection.
// Nothing here blocks the accept loop: the handshake (and, in permissive
// mode, the sniffing of the first byte) happens on the connection's first
// read, under the idle deadline the read loop sets.
func (s *Server) wrapAccepted(nc net.Conn) net.Conn {
	if s.cfg.TLS == nil || s.cfg.TLSMode == TLSDisabled {
		return nc
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if s.cfg.TLSMode == TLSEnforcing {
		return tls.Server(nc, s.cfg.TLS)
	}
	return &sniffConn{Conn: nc, cfg: s.cfg.TLS, ready: make(chan struct{})}
}

// sniffConn decides on its first read whether the peer speaks TLS (first
// byte 0x16, a handshake record) or plain remoting (the first byte of a
// frame length, 0x16 only for frames of 369 MiB and more, far beyond any
// frame limit), then delegates to a TLS or a plain connection.
type sniffConn struct {
	net.Conn // the raw connection; deadlines apply to it either way
	cfg      *tls.Config

	once  sync.Once
	ready chan struct{} // closed once inner or err is set
	inner net.Conn
	err   error
}

func (c *sniffConn) decide() {
	c.once.Do(func() {
		defer close(c.ready)
		var first [1]byte
		if _, err := c.Conn.Read(first[:]); err != nil {
			c.err = err
			return
		}
		pc := &prefixConn{Conn: c.Conn, prefix: first[0], has: true}
		if first[0] == tlsRecordHandshake {
			c.inner = tls.Server(pc, c.cfg)
		} else {
			c.inner = pc
		}
	})
}

func (c *sniffConn) Read(p []byte) (int, error) {
	c.decide()
	if c.err != nil {
		return 0, c.err
	}
	return c.inner.Read(p)
}

// Write waits for the read side to decide: a server writes nothing before
// its peer has spoken, and a closed connection ends the wait.
func (c *sniffConn) Write(p []byte) (int, error) {
	<-c.ready
	if c.err != nil {
		return 0, c.err
	}
	return c.inner.Write(p)
}

func (c *sniffConn) Close() error {
	select {
	case <-c.ready:
		if c.inner != nil {
			return c.inner.Close()
		}
	default:
	}
	return c.Conn.Close()
}

// prefixConn gives back one byte already read before reading on.
type prefixConn struct {
	net.Conn
	prefix byte
	has    bool
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if c.has && len(p) > 0 {
		p[0] = c.prefix
		c.has = false
		return 1, nil
	}
	return c.Conn.Read(p)
}

// dialTLS runs the client side of the handshake on nc within ctx. An
// empty ServerName is taken from addr so that verification checks the
// host dialed.
func dialTLS(ctx context.Context, nc net.Conn, cfg *tls.Config, addr string) (net.Conn, error) {
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("remoting: tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}
