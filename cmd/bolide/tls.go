package main

import (
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/namesrv"
	"github.com/bolidemq/bolide/internal/remoting"
)

// tlsConfigUsage documents the name server's --tls-config flag.
const tlsConfigUsage = "properties file of tls.server.* settings (upstream's tls.config.file), see docs/security.md"

// applyNamesrvTLS sets a name server's TLS from tls.* settings.
func applyNamesrvTLS(cfg *namesrv.Config, t config.TLS) error {
	mode, sc, err := t.Server()
	if err != nil {
		return err
	}
	cfg.Remoting.TLSMode, cfg.Remoting.TLS = mode, sc
	return nil
}

// standaloneTLS gives the in-process name server the broker's server TLS
// settings; when they enforce TLS, the broker's own registration
// connection must speak it too.
func standaloneTLS(nsCfg *namesrv.Config, bc *config.Broker) error {
	if err := applyNamesrvTLS(nsCfg, bc.TLS); err != nil {
		return err
	}
	if nsCfg.Remoting.TLSMode == remoting.TLSEnforcing {
		bc.TLS.Enable = true
	}
	return nil
}
