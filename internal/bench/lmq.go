package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// LMQName returns the name of benchmark LMQ n: "%LMQ%bench-<n>".
func LMQName(n int) string { return message.LMQPrefix + "bench-" + strconv.Itoa(n) }

// RuntimeInfoFunc returns the broker's runtime statistics
// (GET_BROKER_RUNTIME_INFO), e.g. BrokerRuntimeInfo bound to an address.
type RuntimeInfoFunc func(ctx context.Context) (map[string]string, error)

// Runtime info keys the LMQ benchmark reads.
const (
	RuntimeCommitLogMaxOffset   = "commitLogMaxOffset"
	RuntimeDispatchBehindBytes  = "dispatchBehindBytes"
	RuntimeLMQCount             = "lmqCount"
	RuntimeResidentMemoryBytes  = "residentMemoryBytes"
	runtimeInfoPollInterval     = 200 * time.Millisecond
	defaultLMQDrainTimeout      = 60 * time.Second
	defaultLMQSampleSuspend     = 5 * time.Second
	defaultLMQSampleLMQs        = 100
	defaultLMQGroup             = "BenchLMQConsumer"
	maxLMQsPerMessageToPickFrom = 4 // K may be at most M/4 so rejection sampling stays cheap
)

// BrokerRuntimeInfo sends GET_BROKER_RUNTIME_INFO (code 28) to addr and
// decodes the KVTable answer.
func BrokerRuntimeInfo(ctx context.Context, rc *remoting.Client, addr string) (map[string]string, error) {
	resp, err := rc.Invoke(ctx, addr, remoting.NewRequest(int32(protocol.GetBrokerRuntimeInfo), nil, nil))
	if err != nil {
		return nil, err
	}
	if resp.Code != int32(protocol.Success) {
		return nil, fmt.Errorf("bench: GET_BROKER_RUNTIME_INFO: code %d: %s", resp.Code, resp.Remark)
	}
	var kv body.KVTable
	if err := kv.Decode(resp.Body); err != nil {
		return nil, err
	}
	return kv.Table, nil
}

// ProcResident reads VmRSS and VmHWM (bytes) of a local process from
// /proc/<pid>/status, for brokers without GET_BROKER_RUNTIME_INFO.
func ProcResident(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, perr := strconv.ParseInt(f[1], 10, 64)
		if perr != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = v << 10
		case "VmHWM:":
			hwm = v << 10
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("bench: no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

// LMQConfig describes an LMQ run: every message goes to the parent Topic
// with INNER_MULTI_DISPATCH naming K distinct LMQs drawn at random out of
// M ("%LMQ%bench-0" … "%LMQ%bench-<M-1>"), while sample pullers long-poll
// SampleLMQs of the M LMQs.
type LMQConfig struct {
	Topic string
	// BrokerAddr is the broker the sample pullers read (a standalone's
	// only broker).
	BrokerAddr string
	// Group is the pullers' consumer group (default BenchLMQConsumer).
	Group string
	K, M  int
	// Size, Window, Count, Duration: as in ProduceConfig. The producers
	// are the senders passed to LMQ, one connection each.
	Size     int
	Window   int
	Count    int64
	Duration time.Duration
	// ComparePlain runs a plain produce (no LMQ property, same topic,
	// count and duration) before the LMQ run, for the rate ratio.
	ComparePlain bool
	// SampleLMQs is how many of the M LMQs are pulled (default 100, at
	// most M; negative: none). SamplePullers is the
	// number of pulling goroutines (default one per sampled LMQ, each
	// long-polling its LMQ).
	SampleLMQs    int
	SamplePullers int
	// Suspend is a sole-LMQ puller's long-poll hold (default 5 s).
	Suspend time.Duration
	// DrainTimeout bounds the wait after the last send for the dispatch
	// to catch up and the pullers to receive what was sent to their LMQs
	// (default 60 s).
	DrainTimeout time.Duration
	// RuntimeInfo, when set, is polled during and after the run for the
	// dispatch lag and the final LMQ count and resident memory; errors
	// (an older broker without the request) disable it.
	RuntimeInfo RuntimeInfoFunc
	// Progress is the live progress line of the produce phases.
	Progress Progress
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand picks the LMQs: a number in [0, n); it must be safe for
	// concurrent use (default: math/rand/v2's IntN).
	Rand func(n int) int
}

// LMQResult is the outcome of an LMQ run.
type LMQResult struct {
	// Plain is the plain produce phase (nil without ComparePlain), Produce
	// the LMQ phase; Ratio is Produce.MsgPerSec() / Plain.MsgPerSec().
	Plain   *Result
	Produce *Result
	Ratio   float64
	K, M    int
	// Distinct is how many different LMQs the acknowledged sends named.
	Distinct int64
	// Pull is what the sample pullers received: end-to-end latency from
	// the send stamp. PullExpected is how many acknowledged sends named a
	// sampled LMQ; Sampled the sample size.
	Pull         *Result
	PullExpected int64
	Sampled      int
	// PullDrain is the time from the last acknowledged LMQ send until the
	// pullers had everything (or DrainTimeout: PullDrained is then false).
	PullDrain   time.Duration
	PullDrained bool
	// Lag is from RuntimeInfo (Lag.Available false without it).
	Lag LMQLag
	// Runtime is the last runtime info read (nil without it).
	Runtime map[string]string
}

// LMQLag is the dispatch lag as GET_BROKER_RUNTIME_INFO reports it.
type LMQLag struct {
	Available bool
	// MaxBehindBytes is the largest dispatchBehindBytes seen during the
	// LMQ phase; AtEndBytes the value right after the last send.
	MaxBehindBytes int64
	AtEndBytes     int64
	// Drain is the time from the last send until dispatchBehindBytes was
	// 0 (Drained false if it never was within DrainTimeout).
	Drain   time.Duration
	Drained bool
	Samples int
}

// lmqSender adds INNER_MULTI_DISPATCH with K random LMQs to every send.
type lmqSender struct {
	Sender
	cfg      *LMQConfig
	pick     func(int) int
	touched  []atomic.Uint64 // bitset of LMQs named by acknowledged sends
	sampled  map[int]bool
	expected *atomic.Int64
}

func (s *lmqSender) props() (message.Properties, []int) {
	idx := make([]int, 0, s.cfg.K)
	for len(idx) < s.cfg.K {
		n := s.pick(s.cfg.M)
		dup := false
		for _, x := range idx {
			if x == n {
				dup = true
				break
			}
		}
		if !dup {
			idx = append(idx, n)
		}
	}
	var sb strings.Builder
	for i, n := range idx {
		if i > 0 {
			sb.WriteString(message.LMQDispatchSeparator)
		}
		sb.WriteString(LMQName(n))
	}
	return message.Properties{message.PropertyInnerMultiDispatch: sb.String()}, idx
}

func (s *lmqSender) done(idx []int) {
	for _, n := range idx {
		w := &s.touched[n/64]
		bit := uint64(1) << (n % 64)
		if w.Load()&bit == 0 {
			w.Or(bit)
		}
		if s.sampled[n] {
			s.expected.Add(1)
		}
	}
}

func (s *lmqSender) Send(ctx context.Context, topic string, queueID int32, b []byte, _ message.Properties) (client.SendResult, error) {
	p, idx := s.props()
	r, err := s.Sender.Send(ctx, topic, queueID, b, p)
	if err == nil {
		s.done(idx)
	}
	return r, err
}

func (s *lmqSender) SendOneway(ctx context.Context, topic string, queueID int32, b []byte, _ message.Properties) error {
	p, idx := s.props()
	err := s.Sender.SendOneway(ctx, topic, queueID, b, p)
	if err == nil {
		s.done(idx)
	}
	return err
}

// LMQ runs the LMQ benchmark: optionally a plain produce phase, then the
// LMQ produce phase with the sample pullers running, then waits (up to
// DrainTimeout) for the dispatch to drain and the pullers to catch up.
// Failures are counted, not fatal; the error is only for an invalid
// config.
func LMQ(ctx context.Context, senders []Sender, p Puller, cfg LMQConfig) (*LMQResult, error) {
	if cfg.K <= 0 || cfg.M <= 0 || cfg.K*maxLMQsPerMessageToPickFrom > cfg.M {
		return nil, fmt.Errorf("bench: need 0 < K <= M/%d, got K=%d M=%d", maxLMQsPerMessageToPickFrom, cfg.K, cfg.M)
	}
	if len(senders) == 0 {
		return nil, errors.New("bench: no producer")
	}
	sample := cfg.SampleLMQs
	if sample == 0 {
		sample = defaultLMQSampleLMQs
	}
	sample = min(max(sample, 0), cfg.M)
	if sample > 0 && (p == nil || cfg.BrokerAddr == "") {
		return nil, errors.New("bench: sample pullers need a puller and a broker address")
	}
	group := cfg.Group
	if group == "" {
		group = defaultLMQGroup
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	pick := cfg.Rand
	if pick == nil {
		pick = rand.IntN
	}
	drainTimeout := cfg.DrainTimeout
	if drainTimeout <= 0 {
		drainTimeout = defaultLMQDrainTimeout
	}
	pcfg := ProduceConfig{Topic: cfg.Topic, Size: cfg.Size, Window: cfg.Window, Count: cfg.Count, Duration: cfg.Duration,
		Progress: cfg.Progress, Now: cfg.Now}
	res := &LMQResult{K: cfg.K, M: cfg.M, Sampled: sample}

	if cfg.ComparePlain {
		plain, err := Produce(ctx, senders, pcfg)
		if err != nil {
			return nil, err
		}
		res.Plain = plain
		if ctx.Err() != nil {
			return res, nil
		}
	}

	// The sample: distinct LMQs, spread over 0..M-1.
	sampled := make(map[int]bool, sample)
	queues := make([]client.MessageQueue, 0, sample)
	for len(queues) < sample {
		n := pick(cfg.M)
		if sampled[n] {
			continue
		}
		sampled[n] = true
		queues = append(queues, client.MessageQueue{BrokerAddr: cfg.BrokerAddr, Topic: LMQName(n), QueueID: message.LMQQueueID})
	}
	var expected atomic.Int64
	touched := make([]atomic.Uint64, (cfg.M+63)/64)
	wrapped := make([]Sender, len(senders))
	for i, s := range senders {
		wrapped[i] = &lmqSender{Sender: s, cfg: &cfg, pick: pick, touched: touched, sampled: sampled, expected: &expected}
	}

	// Runtime-info poller: dispatch lag during and after the run.
	var (
		lagMu      sync.Mutex
		produced   bool      // the LMQ phase has ended
		producedAt time.Time // …at this time
	)
	lag := &res.Lag
	infoCtx, infoStop := context.WithCancel(ctx)
	defer infoStop()
	var infoDone sync.WaitGroup
	drained := make(chan struct{})
	var drainedOnce sync.Once
	if cfg.RuntimeInfo != nil {
		if info, err := cfg.RuntimeInfo(ctx); err == nil {
			if _, ok := info[RuntimeDispatchBehindBytes]; ok {
				lag.Available = true
			}
			res.Runtime = info
		}
	}
	if !lag.Available {
		drainedOnce.Do(func() { close(drained) })
	} else {
		infoDone.Go(func() {
			t := time.NewTicker(runtimeInfoPollInterval)
			defer t.Stop()
			for {
				info, err := cfg.RuntimeInfo(infoCtx)
				if err == nil {
					behind, _ := strconv.ParseInt(info[RuntimeDispatchBehindBytes], 10, 64)
					at := now()
					lagMu.Lock()
					res.Runtime = info
					lag.Samples++
					lag.MaxBehindBytes = max(lag.MaxBehindBytes, behind)
					if produced && behind == 0 && !lag.Drained {
						lag.Drained = true
						lag.Drain = max(at.Sub(producedAt), 0)
						drainedOnce.Do(func() { close(drained) })
					}
					lagMu.Unlock()
				}
				select {
				case <-infoCtx.Done():
					return
				case <-t.C:
				}
			}
		})
	}

	// Sample pullers, from the current end of each sampled LMQ.
	pullCtx, pullStop := context.WithCancel(ctx)
	defer pullStop()
	pst := newStats()
	var lastPull atomic.Int64
	caughtUp := make(chan struct{}, 1)
	var pullers sync.WaitGroup
	if sample > 0 {
		offsets := make([]int64, len(queues))
		for i, q := range queues {
			if o, err := readMaxOffset(ctx, p, q); err == nil {
				offsets[i] = o
			}
		}
		n := cfg.SamplePullers
		if n <= 0 || n > len(queues) {
			n = len(queues)
		}
		suspend := cfg.Suspend
		if suspend <= 0 {
			suspend = defaultLMQSampleSuspend
		}
		deliver := func(r client.PullResult) {
			t := now()
			var b int64
			for _, m := range r.Messages {
				if ts, ok := Stamp(m.Body); ok {
					pst.hist.Record(t.Sub(ts))
				}
				b += int64(len(m.Body))
			}
			pst.bytes.Add(b)
			pst.messages.Add(int64(len(r.Messages)))
			lastPull.Store(t.UnixNano())
			select {
			case caughtUp <- struct{}{}:
			default:
			}
		}
		for k := range n {
			var own []int
			for i := k; i < len(queues); i += n {
				own = append(own, i)
			}
			pullers.Go(func() {
				for pullCtx.Err() == nil {
					found := false
					for _, i := range own {
						hold := time.Duration(0)
						if len(own) == 1 {
							hold = suspend
						}
						found = pullOnce(pullCtx, p, group, queues[i], &offsets[i], 32, hold, pst, deliver) || found
					}
					if !found && len(own) > 1 && pullCtx.Err() == nil {
						i := own[0]
						pullOnce(pullCtx, p, group, queues[i], &offsets[i], 32, min(suspend, multiQueueSuspend), pst, deliver)
					}
				}
			})
		}
	}
	pullStart := now()

	lres, err := Produce(ctx, wrapped, pcfg)
	if err != nil {
		pullStop()
		pullers.Wait()
		return nil, err
	}
	res.Produce = lres
	endAt := now()
	lagMu.Lock()
	produced, producedAt = true, endAt
	if lag.Available {
		if info, err := cfg.RuntimeInfo(ctx); err == nil {
			lag.AtEndBytes, _ = strconv.ParseInt(info[RuntimeDispatchBehindBytes], 10, 64)
			lag.MaxBehindBytes = max(lag.MaxBehindBytes, lag.AtEndBytes)
			res.Runtime = info
			if lag.AtEndBytes == 0 {
				lag.Drained = true
				drainedOnce.Do(func() { close(drained) })
			}
		}
	}
	lagMu.Unlock()

	// Drain: dispatch back to zero, pullers have all sent to their LMQs.
	deadline := time.NewTimer(drainTimeout)
	defer deadline.Stop()
	deadlineAt := time.Now().Add(drainTimeout)
	want := expected.Load()
	res.PullExpected = want
	waitDrain := true
	for waitDrain {
		if pst.messages.Load() >= want {
			break
		}
		select {
		case <-ctx.Done():
			waitDrain = false
		case <-deadline.C:
			waitDrain = false
		case <-caughtUp:
		}
	}
	res.PullDrained = pst.messages.Load() >= want
	if res.PullDrained {
		if lp := lastPull.Load(); lp != 0 && want > 0 {
			res.PullDrain = max(time.Unix(0, lp).Sub(endAt), 0)
		}
	} else {
		res.PullDrain = now().Sub(endAt)
	}
	pullStop()
	pullers.Wait()
	select {
	case <-drained:
	case <-ctx.Done():
	case <-time.After(time.Until(deadlineAt)):
	}
	infoStop()
	infoDone.Wait()
	elapsed := now().Sub(pullStart)
	if lp := lastPull.Load(); lp != 0 {
		elapsed = time.Unix(0, lp).Sub(pullStart)
	}
	res.Pull = pst.result("consume", elapsed)
	for i := range touched {
		res.Distinct += int64(bits.OnesCount64(touched[i].Load()))
	}
	if res.Plain != nil && res.Plain.MsgPerSec() > 0 {
		res.Ratio = res.Produce.MsgPerSec() / res.Plain.MsgPerSec()
	}
	return res, nil
}

// readMaxOffset asks for the end of q when p can tell (*client.Client
// can); an LMQ nobody wrote answers 0.
func readMaxOffset(ctx context.Context, p Puller, q client.MessageQueue) (int64, error) {
	r, ok := p.(OffsetReader)
	if !ok {
		return 0, nil
	}
	return r.MaxOffset(ctx, q.BrokerAddr, q.Topic, q.QueueID)
}

// WriteSummary prints the phases, the ratio, the pull latency, the lag and
// the broker figures.
func (r *LMQResult) WriteSummary(w io.Writer) error {
	var err error
	pr := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	if r.Plain != nil {
		pr("== plain produce (no LMQ)\n")
		if err == nil {
			err = r.Plain.WriteSummary(w)
		}
	}
	if r.Produce != nil {
		pr("== LMQ produce (%d of %d LMQs per message)\n", r.K, r.M)
		if err == nil {
			err = r.Produce.WriteSummary(w)
		}
	}
	if r.Plain != nil && r.Produce != nil {
		pr("rate ratio LMQ/plain: %.1f%% (%.0f / %.0f msg/s)\n", 100*r.Ratio, r.Produce.MsgPerSec(), r.Plain.MsgPerSec())
	}
	pr("distinct LMQs written: %d of %d\n", r.Distinct, r.M)
	if r.Pull != nil && r.Sampled > 0 {
		s := r.Pull.Latency
		if s == nil {
			s = NewHistogram().Snapshot()
		}
		state := "all received"
		if !r.PullDrained {
			state = "NOT all received"
		}
		pr("== sample pull (%d LMQs)\n", r.Sampled)
		pr("pulled: %d of %d sent to the sample (%s %s after the last send), %d errors\n",
			r.Pull.Messages, r.PullExpected, state, r.PullDrain.Round(time.Millisecond), r.Pull.Errors)
		pr("pull end-to-end latency: p50 %s  p99 %s  p999 %s  max %s\n",
			fmtDur(s.Quantile(0.5)), fmtDur(s.Quantile(0.99)), fmtDur(s.Quantile(0.999)), fmtDur(s.Max))
		for _, e := range r.Pull.FirstErrors {
			pr("pull error: %s\n", e)
		}
	}
	if r.Lag.Available {
		d := "drained"
		if !r.Lag.Drained {
			d = "NOT drained"
		}
		pr("dispatch lag: max %d bytes behind, %d at the last send, %s %s after it (%d samples)\n",
			r.Lag.MaxBehindBytes, r.Lag.AtEndBytes, d, r.Lag.Drain.Round(time.Millisecond), r.Lag.Samples)
	} else {
		pr("dispatch lag: no GET_BROKER_RUNTIME_INFO; see the pull drain above\n")
	}
	if r.Runtime != nil {
		pr("broker: lmqCount %s, commitLogMaxOffset %s, residentMemoryBytes %s\n",
			r.Runtime[RuntimeLMQCount], r.Runtime[RuntimeCommitLogMaxOffset], r.Runtime[RuntimeResidentMemoryBytes])
	}
	return err
}

// WaitLMQReady polls GET_MAX_OFFSET of lmq on addr every poll until it
// answers, and returns the answer and the time taken (from start).
func WaitLMQReady(ctx context.Context, r OffsetReader, addr, lmq string, poll time.Duration, start time.Time) (int64, time.Duration, error) {
	for {
		qctx, cancel := context.WithTimeout(ctx, time.Second)
		off, err := r.MaxOffset(qctx, addr, lmq, message.LMQQueueID)
		cancel()
		if err == nil {
			return off, time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, time.Since(start), fmt.Errorf("bench: %s not ready: %w (last: %v)", addr, ctx.Err(), err)
		case <-time.After(poll):
		}
	}
}
