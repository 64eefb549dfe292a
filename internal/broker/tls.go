package broker

import (
	"crypto/tls"
	"fmt"

	"github.com/bolidemq/bolide/internal/remoting"
)

// applyTLS fills the remoting server's TLS settings from the broker
// config's tls.server.* keys (unless the caller set Remoting.TLS itself)
// and returns the configuration of the broker's own connections to its
// name servers (tls.enable), nil for plain.
func applyTLS(cfg *Config) (*tls.Config, error) {
	if cfg.Remoting.TLS == nil {
		mode, sc, err := cfg.Broker.TLS.Server()
		if err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
		cfg.Remoting.TLSMode, cfg.Remoting.TLS = mode, sc
	}
	if cfg.Broker.AclEnable && cfg.Remoting.TLSMode != remoting.TLSEnforcing {
		// Signatures keep secrets off the wire but not message bodies or
		// the AccessKey; the reference's advice is to enforce TLS with ACL.
		cfg.Logger.Warn("aclEnable is on but tls.server.mode is not enforcing: requests and messages travel in clear",
			"tls.server.mode", cfg.Remoting.TLSMode.String())
	}
	cc, err := cfg.Broker.TLS.Client()
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	return cc, nil
}
