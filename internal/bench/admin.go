package bench

// The operational-command benchmark behind `bolide bench admin`: load a
// topic with keyed messages (or reuse a loaded one), then time, one request
// at a time, what queryMsgByKey, queryMsgByUniqueKey and resetOffsetByTime
// cost the broker (the RPCs) and, when an admin CLI is wired in, what the
// commands cost end to end (route lookup, connections, rendering).
//
// Latency, not throughput, is the point: lookups and resets are issued
// sequentially from one client, so each figure is what one operator's
// command waits for on a broker that is otherwise idle.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// Defaults of an admin run.
const (
	DefaultAdminGroup        = "BenchAdminGroup"
	adminSampleGroup         = "BenchAdminSampler"
	defaultAdminKeys         = 1_000_000
	defaultAdminQueries      = 2000
	defaultAdminResets       = 5
	defaultAdminDrainTimeout = 10 * time.Minute
	// storeSettle is how long the stored count may stay short of the sent
	// count before the load is declared stored (oneway sends may be lost).
	storeSettle = 2 * time.Second
)

// BenchKey returns the KEYS value the admin load gives message i when it
// spreads the load over keys distinct keys: "k<i mod keys>".
func BenchKey(i int64, keys int) string { return "k" + strconv.FormatInt(i%int64(keys), 10) }

// AdminCLI runs one admin command line (the args of mqadmin, without the
// program name) with its output on stdout and stderr, and returns the exit
// code; internal/admin's Run has this shape once bound to its IO.
type AdminCLI func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// AdminConfig describes an admin run.
type AdminConfig struct {
	Topic string
	// Queues are the topic's read queues (from its route); queries go to
	// every broker among them, resets cover all of them.
	Queues []client.MessageQueue
	// Namesrv is the -n value given to the admin CLI ("host:port;...").
	Namesrv string
	// Group is the consumer group whose offsets are committed and reset
	// (default BenchAdminGroup).
	Group string

	// Load sends Count messages before measuring; without it the topic
	// must already hold messages with BenchKey keys.
	Load bool
	// Count, Size, Window and Oneway describe the load as in
	// ProduceConfig; the producers are the senders given to Admin.
	Count  int64
	Size   int
	Window int
	Oneway bool
	// Keys is the number of distinct keys (default 1,000,000): message i
	// carries BenchKey(i, Keys). Key queries draw from the first
	// min(Keys, messages loaded) keys, so keep it the same as the load's.
	Keys int
	// DrainTimeout bounds the wait, after the last send, for the brokers to
	// store and dispatch (index) everything (default 10 min).
	DrainTimeout time.Duration

	// Queries is the number of key queries and of unique-key queries over
	// QUERY_MESSAGE (default 2000 each).
	Queries int
	// Resets is the number of BOLIDE_RESET_OFFSET operations (default 5).
	Resets int
	// CLI, when set, also times CLIQueries runs of queryMsgByKey and of
	// queryMsgByUniqueKey and CLIResets runs of resetOffsetByTime through
	// it (0: skip that command).
	CLI        AdminCLI
	CLIQueries int
	CLIResets  int

	// Progress is the live progress line of the load.
	Progress Progress
	// Log receives one line per phase (nil: none).
	Log io.Writer
	// Rand draws keys, queues and offsets: a number in [0, n) (default
	// math/rand/v2's IntN).
	Rand func(n int) int
}

// AdminResult is the outcome of an admin run.
type AdminResult struct {
	Topic  string
	Queues int
	// Load is the load phase (nil when it was skipped). Stored is the sum
	// of the queues' max offsets afterwards.
	Load   *Result
	Stored int64
	// Dispatch is the wait from the last send until every broker reported
	// dispatchBehindBytes 0 (Known false when a broker does not report
	// it; Drained false when DrainTimeout passed first).
	Dispatch DispatchWait
	// KeyRange is the number of distinct keys queried from.
	KeyRange int

	KeyQuery     *LookupResult
	UniqQuery    *LookupResult
	CLIKeyQuery  *LookupResult // nil when not run
	CLIUniqQuery *LookupResult // nil when not run

	// ResetTimes are the two store times resets alternate between: the
	// 1/3 and 2/3 quantiles of the sampled messages' store times.
	ResetTimes [2]int64
	// Committed is the number of queues whose offset was committed before
	// the resets.
	Committed int
	Reset     *ResetTiming
	CLIReset  *ResetTiming // nil when not run
}

// DispatchWait is how long the index took to catch up after the load.
type DispatchWait struct {
	Known   bool
	Drained bool
	Took    time.Duration
}

// LookupResult is one kind of message query, issued sequentially.
type LookupResult struct {
	Kind    string
	Queries int64
	// Found counts queries that returned at least one message, Hits the
	// messages returned, Wrong those that did not carry the key asked for.
	Found  int64
	Hits   int64
	Wrong  int64
	Errors int64
	// FirstErrors holds up to a few distinct error texts.
	FirstErrors []string
	Elapsed     time.Duration
	Latency     *Snapshot
}

// ResetTiming is a series of resets of the group over every queue.
type ResetTiming struct {
	Kind string
	Runs []ResetRun
}

// ResetRun is one reset operation.
type ResetRun struct {
	OpID      string
	Timestamp int64
	Took      time.Duration
	// Queues is how many queues the answer listed, Applied how many of
	// them got a new offset.
	Queues  int
	Applied int
	Err     string
}

// Median returns the median wall time of the runs that succeeded.
func (r *ResetTiming) Median() time.Duration {
	d := r.durations()
	if len(d) == 0 {
		return 0
	}
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// Max returns the longest wall time of the runs that succeeded.
func (r *ResetTiming) Max() time.Duration {
	d := r.durations()
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}

// Failed counts the runs that returned an error.
func (r *ResetTiming) Failed() int {
	n := 0
	for _, x := range r.Runs {
		if x.Err != "" {
			n++
		}
	}
	return n
}

func (r *ResetTiming) durations() []time.Duration {
	var d []time.Duration
	for _, x := range r.Runs {
		if x.Err == "" {
			d = append(d, x.Took)
		}
	}
	slices.Sort(d)
	return d
}

// keySender adds a KEYS property to every send, numbering messages with
// one counter across all producers.
type keySender struct {
	Sender
	next *atomic.Int64
	keys int
}

func (s *keySender) props() message.Properties {
	return message.Properties{message.PropertyKeys: BenchKey(s.next.Add(1)-1, s.keys)}
}

func (s *keySender) Send(ctx context.Context, topic string, queueID int32, b []byte, _ message.Properties) (client.SendResult, error) {
	return s.Sender.Send(ctx, topic, queueID, b, s.props())
}

func (s *keySender) SendOneway(ctx context.Context, topic string, queueID int32, b []byte, _ message.Properties) error {
	return s.Sender.SendOneway(ctx, topic, queueID, b, s.props())
}

// Flush passes through to the wrapped sender, so Produce can wait for
// oneway sends.
func (s *keySender) Flush(ctx context.Context) error {
	if f, ok := s.Sender.(Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

// queueRange is the retained offsets [min, max) of one queue.
type queueRange struct {
	q        client.MessageQueue
	min, max int64
}

// sample is one stored message picked at random.
type sample struct {
	uniq      string
	storeTime int64
}

// Admin runs the admin benchmark: the load (with cfg.Load), a wait for the
// index, a sample of stored messages (their unique keys and store times),
// the key and unique-key queries, the group's commits on every queue and
// the resets; then the same through cfg.CLI when set. c makes the RPCs.
// Individual failures are counted in the result; the error is for an
// invalid config or a topic that cannot be measured (empty, no time span).
func Admin(ctx context.Context, senders []Sender, c *client.Client, cfg AdminConfig) (*AdminResult, error) {
	if cfg.Topic == "" || len(cfg.Queues) == 0 {
		return nil, errors.New("bench: admin needs a topic and its queues")
	}
	if c == nil {
		return nil, errors.New("bench: admin needs a client")
	}
	if cfg.Load && len(senders) == 0 {
		return nil, errors.New("bench: admin load needs a producer")
	}
	if cfg.Load && cfg.Count <= 0 {
		return nil, errors.New("bench: admin load needs a message count")
	}
	if cfg.CLI != nil && cfg.Namesrv == "" {
		return nil, errors.New("bench: the admin CLI needs a name server address")
	}
	if cfg.Group == "" {
		cfg.Group = DefaultAdminGroup
	}
	if cfg.Keys <= 0 {
		cfg.Keys = defaultAdminKeys
	}
	if cfg.Queries <= 0 {
		cfg.Queries = defaultAdminQueries
	}
	if cfg.Resets <= 0 {
		cfg.Resets = defaultAdminResets
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = defaultAdminDrainTimeout
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.IntN
	}
	logf := func(format string, a ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format, a...)
		}
	}
	res := &AdminResult{Topic: cfg.Topic, Queues: len(cfg.Queues)}
	addrs := brokerAddrs(cfg.Queues)

	loaded := int64(0)
	if cfg.Load {
		before, err := StoredMessages(ctx, c, cfg.Queues)
		if err != nil {
			return nil, fmt.Errorf("bench: admin: count stored messages: %w", err)
		}
		logf("loading %d messages of %d bytes into %s (%d queues), %d distinct keys\n",
			cfg.Count, cfg.Size, cfg.Topic, len(cfg.Queues), cfg.Keys)
		var next atomic.Int64
		wrapped := make([]Sender, len(senders))
		for i, s := range senders {
			wrapped[i] = &keySender{Sender: s, next: &next, keys: cfg.Keys}
		}
		load, err := Produce(ctx, wrapped, ProduceConfig{
			Topic: cfg.Topic, Size: cfg.Size, Window: cfg.Window, Count: cfg.Count, Oneway: cfg.Oneway, Progress: cfg.Progress,
		})
		if err != nil {
			return nil, err
		}
		res.Load = load
		loaded = load.Messages
		if ctx.Err() != nil {
			return res, nil
		}
		sent := time.Now()
		wctx, cancel := context.WithTimeout(ctx, cfg.DrainTimeout)
		_, err = WaitStored(wctx, c, cfg.Queues, before+load.Messages, storeSettle)
		if err == nil {
			res.Dispatch = waitDispatched(wctx, c, addrs, sent)
		}
		cancel()
		if err != nil {
			return nil, fmt.Errorf("bench: admin: wait for the load to be stored: %w", err)
		}
	}

	ranges, err := queueRanges(ctx, c, cfg.Queues)
	if err != nil {
		return nil, err
	}
	var nonEmpty []queueRange
	for _, r := range ranges {
		res.Stored += r.max
		if r.max > r.min {
			nonEmpty = append(nonEmpty, r)
		}
	}
	if len(nonEmpty) == 0 {
		return nil, fmt.Errorf("bench: admin: topic %s holds no message (run with the load)", cfg.Topic)
	}
	if loaded == 0 {
		loaded = res.Stored
	}
	res.KeyRange = int(min(int64(cfg.Keys), loaded))

	logf("sampling %d stored messages for unique keys and reset times\n", cfg.Queries)
	samples, err := sampleMessages(ctx, c, nonEmpty, cfg.Queries, cfg.Rand)
	if err != nil {
		return nil, err
	}
	times := make([]int64, len(samples))
	for i, s := range samples {
		times[i] = s.storeTime
	}
	slices.Sort(times)
	res.ResetTimes = [2]int64{times[len(times)/3], times[2*len(times)/3]}
	if res.ResetTimes[0] >= res.ResetTimes[1] {
		return nil, fmt.Errorf("bench: admin: the sampled messages span no time (%d ms); load more", times[len(times)-1]-times[0])
	}

	logf("querying %d random keys of %d (QUERY_MESSAGE, maxNum %d)\n", cfg.Queries, res.KeyRange, protocol.MaxQueryMessageNum)
	res.KeyQuery = rpcKeyQueries(ctx, c, cfg, addrs, res.KeyRange)
	logf("querying %d sampled unique keys (QUERY_MESSAGE, _UNIQUE_KEY_QUERY)\n", len(samples))
	res.UniqQuery = rpcUniqQueries(ctx, c, cfg, addrs, samples)
	if cfg.CLI != nil && cfg.CLIQueries > 0 {
		logf("running queryMsgByKey and queryMsgByUniqueKey %d times each\n", cfg.CLIQueries)
		res.CLIKeyQuery = cliQueries(ctx, cfg, "queryMsgByKey", cfg.CLIQueries, func(i int) (args []string, want string) {
			k := BenchKey(int64(cfg.Rand(res.KeyRange)), cfg.Keys)
			return []string{"queryMsgByKey", "-n", cfg.Namesrv, "-t", cfg.Topic, "-k", k}, k
		})
		res.CLIUniqQuery = cliQueries(ctx, cfg, "queryMsgByUniqueKey", cfg.CLIQueries, func(i int) (args []string, want string) {
			s := samples[i%len(samples)]
			return []string{"queryMsgByUniqueKey", "-n", cfg.Namesrv, "-t", cfg.Topic, "-i", s.uniq}, ""
		})
	}

	logf("committing %s's offsets on %d queues\n", cfg.Group, len(ranges))
	for _, r := range ranges {
		if err := c.UpdateConsumerOffset(ctx, r.q.BrokerAddr, cfg.Group, cfg.Topic, r.q.QueueID, r.max); err != nil {
			return nil, fmt.Errorf("bench: admin: commit %s %s-%d: %w", cfg.Group, cfg.Topic, r.q.QueueID, err)
		}
		res.Committed++
	}
	// Resets alternate between the two times, starting from the committed
	// max offsets, so every one moves every queue that holds a message
	// stored between them.
	at := func(i int) int64 { return res.ResetTimes[i%2] }
	logf("resetting %s over %d queues %d times (BOLIDE_RESET_OFFSET)\n", cfg.Group, len(ranges), cfg.Resets)
	res.Reset = rpcResets(ctx, c, cfg, addrs, at)
	if cfg.CLI != nil && cfg.CLIResets > 0 {
		logf("running resetOffsetByTime %d times\n", cfg.CLIResets)
		res.CLIReset = cliResets(ctx, cfg, func(i int) int64 { return at(cfg.Resets + i) })
	}
	return res, nil
}

// brokerAddrs lists the distinct brokers of queues, in order.
func brokerAddrs(queues []client.MessageQueue) []string {
	var out []string
	for _, q := range queues {
		if !slices.Contains(out, q.BrokerAddr) {
			out = append(out, q.BrokerAddr)
		}
	}
	return out
}

// waitDispatched polls every broker's dispatchBehindBytes until all are 0.
func waitDispatched(ctx context.Context, c *client.Client, addrs []string, since time.Time) DispatchWait {
	for {
		behind := int64(0)
		for _, a := range addrs {
			info, err := c.BrokerRuntimeInfo(ctx, a)
			if err != nil {
				if ctx.Err() != nil {
					return DispatchWait{Known: true, Took: time.Since(since)}
				}
				return DispatchWait{}
			}
			v, ok := info[RuntimeDispatchBehindBytes]
			if !ok {
				return DispatchWait{}
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			behind += n
		}
		if behind == 0 {
			return DispatchWait{Known: true, Drained: true, Took: time.Since(since)}
		}
		select {
		case <-ctx.Done():
			return DispatchWait{Known: true, Took: time.Since(since)}
		case <-time.After(runtimeInfoPollInterval):
		}
	}
}

// queueRanges reads the retained offsets of every queue.
func queueRanges(ctx context.Context, c *client.Client, queues []client.MessageQueue) ([]queueRange, error) {
	out := make([]queueRange, len(queues))
	for i, q := range queues {
		lo, err := c.MinOffset(ctx, q.BrokerAddr, q.Topic, q.QueueID)
		if err != nil {
			return nil, fmt.Errorf("bench: admin: min offset of %s-%d: %w", q.Topic, q.QueueID, err)
		}
		hi, err := c.MaxOffset(ctx, q.BrokerAddr, q.Topic, q.QueueID)
		if err != nil {
			return nil, fmt.Errorf("bench: admin: max offset of %s-%d: %w", q.Topic, q.QueueID, err)
		}
		out[i] = queueRange{q: q, min: lo, max: hi}
	}
	return out, nil
}

// sampleMessages pulls n messages from uniformly random positions of
// random queues, for their unique keys and store times. Messages without
// a unique key are skipped; a pull failure ends the run.
func sampleMessages(ctx context.Context, c *client.Client, queues []queueRange, n int, pick func(int) int) ([]sample, error) {
	out := make([]sample, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 4*n {
			return nil, fmt.Errorf("bench: admin: only %d of %d sampled messages carry a unique key", len(out), n)
		}
		r := queues[pick(len(queues))]
		off := r.min + int64(pick(int(min(r.max-r.min, math.MaxInt32))))
		pr, err := c.Pull(ctx, r.q.BrokerAddr, adminSampleGroup, r.q.Topic, r.q.QueueID, off, 1, 0)
		if err != nil {
			return nil, fmt.Errorf("bench: admin: sample %s-%d@%d: %w", r.q.Topic, r.q.QueueID, off, err)
		}
		if len(pr.Messages) == 0 {
			continue // expired meanwhile, or moved
		}
		m := pr.Messages[0]
		if u := m.UniqKey(); u != "" {
			out = append(out, sample{uniq: u, storeTime: m.StoreTimestamp})
		}
	}
	return out, nil
}

// lookup accumulates one kind of query.
type lookup struct {
	st    *stats
	found atomic.Int64
	hits  atomic.Int64
	wrong atomic.Int64
	start time.Time
}

func newLookup() *lookup { return &lookup{st: newStats(), start: time.Now()} }

func (l *lookup) result(kind string, queries int) *LookupResult {
	r := l.st.result(kind, time.Since(l.start))
	return &LookupResult{
		Kind: kind, Queries: int64(queries), Found: l.found.Load(), Hits: l.hits.Load(), Wrong: l.wrong.Load(),
		Errors: r.Errors, FirstErrors: r.FirstErrors, Elapsed: r.Elapsed, Latency: r.Latency,
	}
}

// queryBrokers sends one QUERY_MESSAGE to every broker in turn, as one
// timed lookup; a broker without a hit (QUERY_NOT_FOUND) adds nothing.
func queryBrokers(ctx context.Context, c *client.Client, addrs []string, h protocol.QueryMessageRequestHeader, l *lookup, match func(*message.Message) bool) {
	t0 := time.Now()
	var msgs []*message.Message
	var failed error
	for _, a := range addrs {
		m, err := c.QueryMessage(ctx, a, h)
		if err != nil && !client.IsCode(err, protocol.QueryNotFound) {
			failed = fmt.Errorf("query %q on %s: %w", h.Key, a, err)
			continue
		}
		msgs = append(msgs, m...)
	}
	took := time.Since(t0)
	if failed != nil {
		l.st.fail(failed)
		return
	}
	l.st.hist.Record(took)
	if len(msgs) > 0 {
		l.found.Add(1)
	}
	l.hits.Add(int64(len(msgs)))
	for _, m := range msgs {
		if !match(m) {
			l.wrong.Add(1)
		}
	}
}

func rpcKeyQueries(ctx context.Context, c *client.Client, cfg AdminConfig, addrs []string, keyRange int) *LookupResult {
	l := newLookup()
	for range cfg.Queries {
		if ctx.Err() != nil {
			break
		}
		key := BenchKey(int64(cfg.Rand(keyRange)), cfg.Keys)
		h := protocol.QueryMessageRequestHeader{
			Topic: cfg.Topic, Key: key, MaxNum: protocol.MaxQueryMessageNum, BeginTimestamp: 0, EndTimestamp: math.MaxInt64,
		}
		queryBrokers(ctx, c, addrs, h, l, func(m *message.Message) bool { return slices.Contains(m.Keys(), key) })
	}
	return l.result("QUERY_MESSAGE by key", cfg.Queries)
}

func rpcUniqQueries(ctx context.Context, c *client.Client, cfg AdminConfig, addrs []string, samples []sample) *LookupResult {
	l := newLookup()
	for _, s := range samples {
		if ctx.Err() != nil {
			break
		}
		h := protocol.QueryMessageRequestHeader{
			Topic: cfg.Topic, Key: s.uniq, MaxNum: protocol.DefaultUniqueKeyQueryNum, BeginTimestamp: 0,
			EndTimestamp: math.MaxInt64, UniqueKey: "true",
		}
		queryBrokers(ctx, c, addrs, h, l, func(m *message.Message) bool { return m.UniqKey() == s.uniq })
	}
	return l.result("QUERY_MESSAGE by unique key", len(samples))
}

// cliDoc is the part of the admin commands' --json output the benchmark
// checks: the messages found, or the queues of a reset.
type cliDoc struct {
	Messages []struct {
		Keys  string `json:"keys"`
		Topic string `json:"topic"`
	} `json:"messages"`
	Queues []struct {
		Status string `json:"status"`
	} `json:"queues"`
}

// runCLI runs one admin command line with --json and decodes its output;
// exit code 3 (not found) is an empty answer, any other non-zero one an
// error carrying the first line of stderr.
func runCLI(ctx context.Context, cli AdminCLI, args []string) (cliDoc, time.Duration, error) {
	var stdout, stderr bytes.Buffer
	args = append(args, "--json")
	t0 := time.Now()
	code := cli(ctx, args, &stdout, &stderr)
	took := time.Since(t0)
	var doc cliDoc
	switch code {
	case 0:
	case 3:
		return doc, took, nil
	default:
		msg, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n")
		return doc, took, fmt.Errorf("%s exited %d: %s", args[0], code, msg)
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		return doc, took, fmt.Errorf("%s --json output: %w", args[0], err)
	}
	return doc, took, nil
}

// cliQueries times n runs of a query command; line gives each run's
// arguments and the key its hits must carry ("" checks nothing).
func cliQueries(ctx context.Context, cfg AdminConfig, kind string, n int, line func(i int) ([]string, string)) *LookupResult {
	l := newLookup()
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		args, want := line(i)
		doc, took, err := runCLI(ctx, cfg.CLI, args)
		if err != nil {
			l.st.fail(err)
			continue
		}
		l.st.hist.Record(took)
		if len(doc.Messages) > 0 {
			l.found.Add(1)
		}
		l.hits.Add(int64(len(doc.Messages)))
		for _, m := range doc.Messages {
			if want != "" && m.Keys != "" && !slices.Contains(message.SplitKeys(m.Keys), want) {
				l.wrong.Add(1)
			}
		}
	}
	return l.result(kind, n)
}

func rpcResets(ctx context.Context, c *client.Client, cfg AdminConfig, addrs []string, at func(int) int64) *ResetTiming {
	rt := &ResetTiming{Kind: "BOLIDE_RESET_OFFSET"}
	base := time.Now().UnixNano()
	for i := range cfg.Resets {
		if ctx.Err() != nil {
			break
		}
		run := ResetRun{OpID: fmt.Sprintf("bench-%d-%d", base, i), Timestamp: at(i)}
		h := protocol.BolideResetOffsetRequestHeader{Topic: cfg.Topic, Group: cfg.Group, Timestamp: run.Timestamp, OpID: run.OpID}
		t0 := time.Now()
		var answers []*body.ResetOffsetResult
		var errs []error
		for _, a := range addrs {
			r, err := c.ResetOffset(ctx, a, h)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", a, err))
				continue
			}
			answers = append(answers, r)
		}
		run.Took = time.Since(t0)
		if err := errors.Join(errs...); err != nil {
			run.Err = err.Error()
		}
		for _, r := range answers {
			run.Queues += len(r.Queues)
			for _, q := range r.Queues {
				if q.Status == body.ResetApplied {
					run.Applied++
				}
			}
		}
		rt.Runs = append(rt.Runs, run)
	}
	return rt
}

func cliResets(ctx context.Context, cfg AdminConfig, at func(int) int64) *ResetTiming {
	rt := &ResetTiming{Kind: "resetOffsetByTime"}
	for i := range cfg.CLIResets {
		if ctx.Err() != nil {
			break
		}
		run := ResetRun{Timestamp: at(i)}
		args := []string{"resetOffsetByTime", "-n", cfg.Namesrv, "-g", cfg.Group, "-t", cfg.Topic, "-s", strconv.FormatInt(run.Timestamp, 10)}
		doc, took, err := runCLI(ctx, cfg.CLI, args)
		run.Took = took
		if err != nil {
			run.Err = err.Error()
		}
		run.Queues = len(doc.Queues)
		for _, q := range doc.Queues {
			if q.Status == body.ResetApplied {
				run.Applied++
			}
		}
		rt.Runs = append(rt.Runs, run)
	}
	return rt
}
