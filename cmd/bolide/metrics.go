package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/bolidemq/bolide/internal/config"
)

// Default metrics endpoints: upstream's metricsPromExporterPort for a
// broker (and standalone), the next port for a lone name server.
const (
	defaultBrokerMetricsAddr  = "127.0.0.1:5557"
	defaultNamesrvMetricsAddr = "127.0.0.1:5558"
)

const metricsAddrUsage = `Prometheus /metrics address host:port ("" disables; port 0 picks a free one)`

// applyMetricsAddr sets the broker's metrics keys from a --metrics-addr
// value: "" disables the exporter.
func applyMetricsAddr(bc *config.Broker, addr string) error {
	if addr == "" {
		bc.MetricsExporterType = config.MetricsExporterDisable
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("--metrics-addr %q: bad port", addr)
	}
	bc.MetricsExporterType, bc.MetricsPromExporterHost, bc.MetricsPromExporterPort = config.MetricsExporterPROM, host, p
	return nil
}
