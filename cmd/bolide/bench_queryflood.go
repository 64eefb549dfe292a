package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol"
)

// newBenchQueryFloodCmd floods the topic's masters with QUERY_MESSAGE by
// key from one connection, to show that the broker's query limits keep the
// flood away from other clients' produce and pull (see docs/benchmarks.md).
// It counts the answers by kind: a flooded broker should answer busy, not
// fail.
func newBenchQueryFloodCmd(stdout io.Writer) *cobra.Command {
	var (
		bt          benchTarget
		key         string
		concurrency int
		duration    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "queryflood",
		Short: "Flood QUERY_MESSAGE by key from one client and count answered, busy and failed queries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns, err := bt.namesrvs()
			if err != nil {
				return err
			}
			if concurrency < 1 || duration <= 0 {
				return errors.New("--concurrency must be >= 1 and --duration > 0")
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			c := client.New(client.Config{NamesrvAddrs: ns})
			defer c.Close()
			route, err := bt.route(ctx, c, stdout)
			if err != nil {
				return err
			}
			addrs := route.MasterAddrs()
			if len(addrs) == 0 {
				return fmt.Errorf("bench queryflood: topic %s has no master", bt.topic)
			}
			fmt.Fprintf(stdout, "flooding %d broker(s) with QUERY_MESSAGE %s/%s: %d in flight for %v\n",
				len(addrs), bt.topic, key, concurrency, duration)
			var answered, busy, failed atomic.Int64
			var firstErr sync.Once
			var errText string
			runCtx, cancel := context.WithTimeout(ctx, duration)
			defer cancel()
			var wg sync.WaitGroup
			for i := range concurrency {
				wg.Go(func() {
					h := protocol.QueryMessageRequestHeader{Topic: bt.topic, Key: key, MaxNum: 32, EndTimestamp: math.MaxInt64}
					for n := i; runCtx.Err() == nil; n++ {
						_, err := c.QueryMessage(runCtx, addrs[n%len(addrs)], h)
						switch {
						case err == nil || client.IsCode(err, protocol.QueryNotFound):
							answered.Add(1)
						case client.IsCode(err, protocol.SystemBusy):
							busy.Add(1)
						case runCtx.Err() != nil:
						default:
							failed.Add(1)
							firstErr.Do(func() { errText = err.Error() })
						}
					}
				})
			}
			start := time.Now()
			wg.Wait()
			secs := time.Since(start).Seconds()
			fmt.Fprintf(stdout, "queries: %d answered (%.0f/s), %d busy (%.0f/s), %d failed\n",
				answered.Load(), float64(answered.Load())/secs, busy.Load(), float64(busy.Load())/secs, failed.Load())
			if errText != "" {
				fmt.Fprintf(stdout, "first failure: %s\n", errText)
			}
			return nil
		},
	}
	bt.flags(cmd)
	cmd.Flags().StringVar(&key, "key", "flood-key", "message key queried")
	cmd.Flags().IntVar(&concurrency, "concurrency", 4, "queries in flight")
	cmd.Flags().DurationVar(&duration, "duration", 30*time.Second, "run this long")
	return cmd
}
