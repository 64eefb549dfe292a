package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/metrics"
	"github.com/bolidemq/bolide/internal/namesrv"
)

// loadBrokerConfig reads broker.conf (if given) over the defaults and logs
// what it did not apply.
func loadBrokerConfig(path string, log *slog.Logger) (config.Broker, error) {
	if path == "" {
		return config.DefaultBroker(), nil
	}
	bc, rep, err := config.LoadBroker(path)
	if err != nil {
		return bc, err
	}
	for _, k := range rep.Unknown {
		log.Warn("unknown broker.conf key, not applied", "key", k, "file", path)
	}
	for _, k := range rep.Ignored {
		log.Info("broker.conf key accepted but not used by Bolide", "key", k, "file", path)
	}
	return bc, nil
}

func newBrokerCmd(stdout io.Writer, newLogger func() (*slog.Logger, error)) *cobra.Command {
	var (
		confPath    string
		namesrvs    string
		host        string
		metricsAddr string
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run a broker",
		Long: "Run a broker configured by a RocketMQ broker.conf. It registers with every name server\n" +
			"(namesrvAddr, or -n) every 30 s and unregisters on shutdown.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneBrokerProcs()
			log, err := newLogger()
			if err != nil {
				return err
			}
			bc, err := loadBrokerConfig(confPath, log)
			if err != nil {
				return err
			}
			if namesrvs != "" {
				bc.NamesrvAddr = config.SplitNamesrv(namesrvs)
			} else if env := os.Getenv("NAMESRV_ADDR"); env != "" && len(bc.NamesrvAddr) == 0 {
				bc.NamesrvAddr = config.SplitNamesrv(env)
			}
			if len(bc.NamesrvAddr) == 0 {
				return errors.New("no name server: set namesrvAddr in broker.conf, -n, or NAMESRV_ADDR")
			}
			if cmd.Flags().Changed("metrics-addr") {
				if err := applyMetricsAddr(&bc, metricsAddr); err != nil {
					return err
				}
			}
			b, err := broker.New(broker.Config{Broker: bc, Host: host, Logger: log, Metrics: metrics.New(metrics.Options{Logger: log})})
			if err != nil {
				return err
			}
			addr, err := b.Listen()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "broker %s listening on %s, data in %s\n", bc.BrokerName, addr, bc.StorePathRootDir)
			if m := b.MetricsAddr(); m != "" {
				fmt.Fprintf(stdout, "metrics on http://%s%s\n", m, metrics.Path)
			}
			return waitForSignal(cmd.Context(), log, b.Shutdown)
		},
	}
	cmd.Flags().StringVarP(&confPath, "config", "c", "", "broker.conf (RocketMQ property names)")
	cmd.Flags().StringVarP(&namesrvs, "namesrv", "n", "", `name servers, "host:port;host:port" (overrides namesrvAddr)`)
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address to listen on")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", defaultBrokerMetricsAddr,
		metricsAddrUsage+"; overrides metricsPromExporterHost/Port")
	return cmd
}

func newStandaloneCmd(stdout io.Writer, newLogger func() (*slog.Logger, error)) *cobra.Command {
	var (
		dataDir     string
		host        string
		namesrvPort int
		brokerPort  int
		confPath    string
		cpuProfile  string
		memProfile  string
		tracePath   string
		metricsAddr string
		discard     bool
	)
	cmd := &cobra.Command{
		Use:   "standalone",
		Short: "Run a name server and a broker in one process",
		Long: "Run a name server and one broker (cluster DefaultCluster, broker broker-a) in one process,\n" +
			"with LMQ (up to 2,000,000), multi-dispatch and topic auto-creation on. Data lives in $HOME/.bolide\n" +
			"unless --data. With -c, the broker.conf decides these settings.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tuneBrokerProcs()
			log, err := newLogger()
			if err != nil {
				return err
			}
			bc, err := loadBrokerConfig(confPath, log)
			if err != nil {
				return err
			}
			if dataDir == "" {
				home, err := os.UserHomeDir()
				if err != nil {
					return fmt.Errorf("no --data and no home directory: %w", err)
				}
				dataDir = filepath.Join(home, ".bolide")
			}
			if confPath == "" {
				bc.EnableLmq, bc.EnableMultiDispatch, bc.AutoCreateTopicEnable = true, true, true
				// Upstream's 20,000-LMQ cap would make the default setup
				// useless for what Bolide is for; a broker.conf can lower it.
				bc.MaxLmqConsumeQueueNum = 2_000_000
			}
			bc.StorePathRootDir = dataDir
			bc.ListenPort = brokerPort
			if confPath == "" || cmd.Flags().Changed("metrics-addr") {
				if err := applyMetricsAddr(&bc, metricsAddr); err != nil {
					return err
				}
			}
			// One endpoint serves the broker's and the name server's series.
			exp := metrics.New(metrics.Options{Logger: log})
			nsCfg := namesrv.Config{Logger: log, Settings: namesrv.DefaultSettings()}
			if err := standaloneTLS(&nsCfg, &bc); err != nil { // tls.go
				return err
			}
			if bc.MetricsAddr() != "" {
				nsCfg.Remoting.Observer = exp.ObserveNamesrvRPC
			}
			ns := namesrv.New(nsCfg)
			nsAddr, err := ns.Listen(net.JoinHostPort(host, strconv.Itoa(namesrvPort)))
			if err != nil {
				return err
			}
			if bc.MetricsAddr() != "" {
				if err := exp.AddNamesrv(ns, nsAddr.String()); err != nil {
					_ = ns.Shutdown(context.Background())
					return err
				}
			}
			bc.NamesrvAddr = []string{nsAddr.String()}
			b, err := broker.New(broker.Config{Broker: bc, Host: host, Logger: log, Metrics: exp})
			if err != nil {
				_ = ns.Shutdown(context.Background())
				return err
			}
			addr, err := b.Listen()
			if err != nil {
				_ = ns.Shutdown(context.Background())
				return err
			}
			if discard {
				b.DiscardSends()
				fmt.Fprintln(stdout, "sends are DISCARDED, not stored (--discard-sends: a benchmark's ceiling)")
			}
			fmt.Fprintf(stdout, "name server listening on %s\nbroker %s listening on %s\ndata in %s\n",
				nsAddr, bc.BrokerName, addr, dataDir)
			fmt.Fprintf(stdout, "point clients at: NAMESRV_ADDR=%s\n", strings.TrimSpace(nsAddr.String()))
			if m := b.MetricsAddr(); m != "" {
				fmt.Fprintf(stdout, "metrics on http://%s%s\n", m, metrics.Path)
			}
			for _, rec := range []struct {
				path  string
				start func(string) (func(), error)
			}{{cpuProfile, startCPUProfile}, {memProfile, startMemProfile}, {tracePath, startTrace}} {
				if rec.path == "" {
					continue
				}
				stop, err := rec.start(rec.path)
				if err != nil {
					_ = errors.Join(b.Shutdown(context.Background()), ns.Shutdown(context.Background()))
					return err
				}
				defer stop()
			}
			return waitForSignal(cmd.Context(), log, func(ctx context.Context) error {
				return errors.Join(b.Shutdown(ctx), ns.Shutdown(ctx))
			})
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "", "data directory (default $HOME/.bolide)")
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "address to listen on")
	cmd.Flags().IntVar(&namesrvPort, "namesrv-port", 9876, "name server port (0 picks a free one)")
	cmd.Flags().IntVar(&brokerPort, "broker-port", 10911, "broker port (0 picks a free one)")
	cmd.Flags().StringVarP(&confPath, "config", "c", "", "broker.conf (RocketMQ property names)")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (for benchmarks)")
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write an allocation profile of the whole run to this file when it ends (for benchmarks)")
	cmd.Flags().StringVar(&tracePath, "trace", "", "write a Go execution trace of the whole run to this file (latency analysis; large)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", defaultBrokerMetricsAddr,
		metricsAddrUsage+"; with -c, overrides metricsPromExporterHost/Port only when given")
	// Hidden: a broker that stores nothing is only a benchmark's yardstick
	// (scripts/peerbench.sh, system "ceiling").
	cmd.Flags().BoolVar(&discard, "discard-sends", false, "answer sends without storing them (benchmarks only)")
	_ = cmd.Flags().MarkHidden("discard-sends")
	return cmd
}

// startTrace writes an execution trace (go tool trace) into path until
// the returned stop: where a request waited, not just where CPU went.
func startTrace(path string) (stop func(), err error) {
	return startRecording(path, "trace", trace.Start, trace.Stop)
}

// startCPUProfile profiles the process into path until the returned stop.
func startCPUProfile(path string) (stop func(), err error) {
	return startRecording(path, "cpu profile", pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// startMemProfile returns a stop that writes the allocation profile (what
// `go tool pprof -sample_index=alloc_space` reads) into path. The runtime
// publishes allocations only up to the last completed collection, so stop
// runs one first: with the heap-goal floor, cycles are seconds apart. The
// file is created at once so a bad path fails at start, not after a long
// run.
func startMemProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("allocation profile: %w", err)
	}
	return func() {
		runtime.GC()
		err := pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "allocation profile: %v\n", err)
		}
	}, nil
}

// startRecording runs start on a new file at path; the returned stop ends
// the recording and closes the file.
func startRecording(path, what string, start func(io.Writer) error, end func()) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := start(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return func() {
		end()
		_ = f.Close()
	}, nil
}
