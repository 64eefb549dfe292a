package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/bolidemq/bolide/internal/bench"
	"github.com/bolidemq/bolide/internal/client"
)

// benchLive holds the flags of the scenarios that produce at a fixed rate
// while consuming the same topic (e2e, delay).
type benchLive struct {
	bt        benchTarget
	producers int
	window    int
	size      int
	rate      float64
	count     int64
	duration  time.Duration
	group     string
	pullers   int
	batch     int
	quiet     bool
}

func (bl *benchLive) flags(cmd *cobra.Command, topic, group string, rate float64, window, size int) {
	bl.bt.flags(cmd)
	cmd.Flags().Lookup("topic").DefValue = topic
	_ = cmd.Flags().Set("topic", topic)
	cmd.Flags().IntVar(&bl.producers, "producers", 4, "producers, each with its own connection")
	cmd.Flags().IntVar(&bl.window, "window", window, "sends in flight per producer (at most)")
	cmd.Flags().IntVar(&bl.size, "size", size, "message body size in bytes")
	cmd.Flags().Float64Var(&bl.rate, "rate", rate, "offered load: sends per second over all producers")
	cmd.Flags().Int64Var(&bl.count, "count", 0, "messages to send (0: --rate x --duration)")
	cmd.Flags().DurationVar(&bl.duration, "duration", 20*time.Second, "produce this long")
	cmd.Flags().StringVar(&bl.group, "group", group, "consumer group (offsets are not committed)")
	cmd.Flags().IntVar(&bl.pullers, "pullers", 0, "pulling goroutines (default one per queue)")
	cmd.Flags().IntVar(&bl.batch, "batch", 32, "maximum messages per pull")
	cmd.Flags().BoolVarP(&bl.quiet, "quiet", "q", false, "no progress line")
}

// setup validates the flags, opens the producers and a consumer client,
// resolves (or creates) the topic and returns the produce and consume
// configs, the consumer starting at the queues' current ends. The returned
// func closes the clients; call it even on error.
func (bl *benchLive) setup(ctx context.Context, stdout io.Writer) ([]bench.Sender, *client.Client, bench.ProduceConfig, bench.ConsumeConfig, func(), error) {
	var pcfg bench.ProduceConfig
	var ccfg bench.ConsumeConfig
	closeAll := func() {}
	if bl.rate <= 0 {
		return nil, nil, pcfg, ccfg, closeAll, errors.New("--rate must be > 0")
	}
	if bl.count <= 0 && bl.duration <= 0 {
		return nil, nil, pcfg, ccfg, closeAll, errors.New("set --count or --duration")
	}
	ns, err := bl.bt.namesrvs()
	if err != nil {
		return nil, nil, pcfg, ccfg, closeAll, err
	}
	if err := checkLoad(bl.producers, bl.window, new(int64), time.Second); err != nil {
		return nil, nil, pcfg, ccfg, closeAll, err
	}
	senders, _, closeSenders, err := bl.bt.senders(ctx, ns, bl.producers, stdout)
	c := client.New(client.Config{NamesrvAddrs: ns})
	closeAll = func() { closeSenders(); _ = c.Close() }
	if err != nil {
		return nil, nil, pcfg, ccfg, closeAll, err
	}
	r, err := bl.bt.route(ctx, c, stdout)
	if err != nil {
		return nil, nil, pcfg, ccfg, closeAll, err
	}
	offsets := make([]int64, len(r.ReadQueues))
	for i, q := range r.ReadQueues {
		if offsets[i], err = c.MaxOffset(ctx, q.BrokerAddr, q.Topic, q.QueueID); err != nil {
			return nil, nil, pcfg, ccfg, closeAll, err
		}
	}
	count, duration := bl.count, bl.duration
	if count <= 0 {
		count = int64(bl.rate * duration.Seconds())
	}
	pcfg = bench.ProduceConfig{Topic: bl.bt.topic, Size: bl.size, Window: bl.window, Count: count, Rate: bl.rate}
	ccfg = bench.ConsumeConfig{Group: bl.group, Queues: r.ReadQueues, Offsets: offsets, Pullers: bl.pullers, Batch: bl.batch}
	if !bl.quiet {
		ccfg.Progress.W = stdout
	}
	return senders, c, pcfg, ccfg, closeAll, nil
}

func newBenchE2ECmd(stdout io.Writer) *cobra.Command {
	var (
		bl    benchLive
		drain time.Duration
	)
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Produce at a fixed rate while consuming, and report produce-to-consume latency",
		Long: "Long-poll every queue of the topic from its end (--pullers goroutines, default one per queue) while\n" +
			"--producers connections send --size-byte messages paced at --rate per second over all of them (at\n" +
			"most --window in flight each) for --duration (or --count messages). End-to-end latency is the\n" +
			"consumer's receive time minus the send time written in each body: p50/p99/p999 at that offered\n" +
			"load. The run ends when everything sent was received, or --drain after the last send.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			senders, c, pcfg, ccfg, closeAll, err := bl.setup(ctx, stdout)
			defer closeAll()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "end to end on %s: %.0f msg/s offered by %d producers (window %d), %d messages of %d bytes; %d queues pulled\n",
				bl.bt.topic, bl.rate, bl.producers, bl.window, pcfg.Count, bl.size, len(ccfg.Queues))
			res, err := bench.EndToEnd(ctx, senders, c, bench.E2EConfig{Produce: pcfg, Consume: ccfg, Drain: drain})
			if err != nil {
				return err
			}
			if err := res.WriteSummary(stdout); err != nil {
				return err
			}
			if res.Produce.Errors > 0 || res.Consume.Errors > 0 {
				return fmt.Errorf("%d sends and %d pulls failed", res.Produce.Errors, res.Consume.Errors)
			}
			if res.Consume.Messages < res.Produce.Messages {
				return fmt.Errorf("%d of %d messages not received", res.Produce.Messages-res.Consume.Messages, res.Produce.Messages)
			}
			return nil
		},
	}
	bl.flags(cmd, "BenchE2ETopic", "BenchE2EConsumer", 20000, 500, 1024)
	cmd.Flags().DurationVar(&drain, "drain", 30*time.Second, "after the last send, wait at most this long for the consumer")
	return cmd
}

func newBenchDelayCmd(stdout io.Writer) *cobra.Command {
	var (
		bl    benchLive
		delay time.Duration
		level int
		grace time.Duration
	)
	cmd := &cobra.Command{
		Use:   "delay",
		Short: "Produce delayed messages at a fixed rate, consume them and report how late they arrived",
		Long: "Send --size-byte messages paced at --rate per second for --duration, each due --delay after its\n" +
			"send time (property TIMER_DELIVER_MS, absolute epoch ms) or, with --level L, with the property\n" +
			"DELAY=L (RocketMQ's levels 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h), while\n" +
			"pulling every queue of the topic from its end. Lateness is receive time minus due time (TIMER:\n" +
			"the property value; levels: born timestamp plus the level's delay): p50/p99/p999/max. Messages\n" +
			"that arrive before they are due are counted as early, those not arrived --grace after the last\n" +
			"one was due as missing; either makes the command fail.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := bench.DelayOf(delay, level)
			if err != nil {
				return err
			}
			ctx, stop := interruptible(cmd)
			defer stop()
			senders, c, pcfg, ccfg, closeAll, err := bl.setup(ctx, stdout)
			defer closeAll()
			if err != nil {
				return err
			}
			how := fmt.Sprintf("TIMER_DELIVER_MS = send time + %s", d)
			if level > 0 {
				how = fmt.Sprintf("DELAY level %d (%s)", level, d)
			}
			fmt.Fprintf(stdout, "delayed delivery on %s: %.0f msg/s by %d producers, %d messages of %d bytes, %s\n",
				bl.bt.topic, bl.rate, bl.producers, pcfg.Count, bl.size, how)
			res, err := bench.Delay(ctx, senders, c, bench.DelayConfig{Produce: pcfg, Consume: ccfg, Delay: delay, Level: level, Grace: grace})
			if err != nil {
				return err
			}
			if err := res.WriteSummary(stdout); err != nil {
				return err
			}
			if res.Produce.Errors > 0 {
				return fmt.Errorf("%d sends failed", res.Produce.Errors)
			}
			return res.Check()
		},
	}
	bl.flags(cmd, "BenchDelayTopic", "BenchDelayConsumer", 10000, 32, 1024)
	cmd.Flags().DurationVar(&delay, "delay", 3*time.Second, "delivery delay (TIMER_DELIVER_MS = send time + delay)")
	cmd.Flags().IntVar(&level, "level", 0, "use the DELAY level property instead (1..18)")
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "how long after the last due time a message may still arrive")
	return cmd
}
