// Command bolide runs Bolide's servers and tools: the name server, the
// broker, and both in one process (standalone). This file only wires
// subcommands to the internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/metrics"
	"github.com/bolidemq/bolide/internal/namesrv"
)

func main() {
	tuneGC()
	err := newRootCmd(os.Stdout, os.Stderr).Execute()
	for _, fn := range exitHooks {
		fn()
	}
	if err != nil {
		os.Exit(1)
	}
}

// exitHooks run when the command has returned, whether it failed or not
// (cobra skips post-run hooks after an error): they finish recordings such
// as `bench --cpuprofile`, so a failed run still leaves its profile.
var exitHooks []func()

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "bolide",
		Short:         "Bolide: a RocketMQ-compatible broker built for Light Message Queues",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	var logLevel string
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	newLogger := func() (*slog.Logger, error) {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			return nil, fmt.Errorf("--log-level: %w", err)
		}
		return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), nil
	}
	root.AddCommand(newNamesrvCmd(stdout, newLogger))
	root.AddCommand(newBrokerCmd(stdout, newLogger))
	root.AddCommand(newStandaloneCmd(stdout, newLogger))
	root.AddCommand(newBenchCmd(stdout))
	root.AddCommand(newAdminCmd(stdout, stderr))
	return root
}

func newNamesrvCmd(stdout io.Writer, newLogger func() (*slog.Logger, error)) *cobra.Command {
	var (
		host        string
		port        int
		metricsAddr string
		tlsConfig   string
	)
	cmd := &cobra.Command{
		Use:   "namesrv",
		Short: "Run a name server",
		Long: "Run a name server: brokers register with it, clients and tools ask it for routes.\n" +
			"It listens on 127.0.0.1 unless --host says otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger()
			if err != nil {
				return err
			}
			cfg := namesrv.Config{Logger: log, Settings: namesrv.DefaultSettings()}
			if tlsConfig != "" { // tls.go
				tc, err := config.LoadTLS(tlsConfig)
				if err != nil {
					return err
				}
				if err := applyNamesrvTLS(&cfg, tc); err != nil {
					return err
				}
			}
			exp := metrics.New(metrics.Options{Logger: log})
			if metricsAddr != "" {
				cfg.Remoting.Observer = exp.ObserveNamesrvRPC
			}
			srv := namesrv.New(cfg)
			addr, err := srv.Listen(net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "name server listening on %s\n", addr)
			if metricsAddr != "" {
				maddr, err := startNamesrvMetrics(exp, srv, addr.String(), metricsAddr)
				if err != nil {
					return errors.Join(err, srv.Shutdown(context.Background()))
				}
				fmt.Fprintf(stdout, "metrics on http://%s%s\n", maddr, metrics.Path)
			}
			return waitForSignal(cmd.Context(), log, func(ctx context.Context) error {
				return errors.Join(exp.Shutdown(ctx), srv.Shutdown(ctx))
			})
		},
	}
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address to listen on")
	cmd.Flags().IntVar(&port, "port", 9876, "port to listen on (0 picks a free one)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", defaultNamesrvMetricsAddr, metricsAddrUsage)
	cmd.Flags().StringVar(&tlsConfig, "tls-config", "", tlsConfigUsage)
	return cmd
}

// startNamesrvMetrics serves a lone name server's metrics on addr.
func startNamesrvMetrics(exp *metrics.Exporter, srv *namesrv.Server, nsAddr, addr string) (net.Addr, error) {
	if err := exp.AddNamesrv(srv, nsAddr); err != nil {
		return nil, err
	}
	return exp.Listen(addr)
}

// waitForSignal blocks until SIGINT or SIGTERM (or ctx ends), then shuts
// down, giving in-flight requests 10 s to finish.
func waitForSignal(ctx context.Context, log *slog.Logger, shutdown func(context.Context) error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return shutdown(sctx)
}
