package broker

import (
	"context"
	"time"

	"github.com/bolidemq/bolide/internal/lag"
	"github.com/bolidemq/bolide/internal/lifecycle"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// The lag evaluator's glue: a loop samples, every LagConfig.Interval, each
// (group, topic, queue) with a committed offset — max and min offset and
// the store time of the oldest unconsumed message, from consume-queue rows
// only, as stats.go does — and feeds internal/lag, which judges the
// windows with Burrow's rules when asked (BOLIDE_GET_LAG_ADVICE,
// LagReport). Commits (commitOffset) and resets the broker performs
// (afterReset) are noted as they happen.

// DefaultLagInterval is the default sampling interval (broker.conf
// lagSampleIntervalSeconds, a Bolide key; LagConfig.Interval overrides it).
const DefaultLagInterval = 30 * time.Second

// Queues of one group listed in a BOLIDE_GET_LAG_ADVICE answer: all of
// them (up to the GET_CONSUME_STATS bound) when one group is asked, the
// worst few per group when every group is.
const (
	lagQueuesOneGroup  = maxConsumeStatsQueues
	lagQueuesPerGroup  = 10
	maxLagAdviceGroups = 10_000
)

// lagState is the broker's lag evaluator and its sampling loop.
type lagState struct {
	eval     *lag.Evaluator
	loop     *lifecycle.Loop
	interval time.Duration
}

// LagConfig tunes the lag evaluator. Zero fields take defaults.
type LagConfig struct {
	// Interval between samples (default DefaultLagInterval).
	Interval time.Duration
	// Window is the samples kept per queue (default lag.DefaultWindow).
	Window int
	// MaxLMQPairs caps tracked (group, LMQ) pairs (default
	// lag.DefaultMaxLMQPairs); LMQ rows beyond it are skipped and counted.
	MaxLMQPairs int
	// Now is the evaluator's clock (default the broker's): sample times,
	// commit times and the age of unconsumed messages are measured on it.
	Now func() time.Time
}

// openLag creates the evaluator and starts its sampling loop; the loop is
// stopped before the store and offsets close.
func (b *Broker) openLag() {
	lc := b.cfg.Lag
	if lc.Interval <= 0 {
		lc.Interval = time.Duration(b.bc.LagSampleIntervalSeconds) * time.Second
	}
	if lc.Interval <= 0 {
		lc.Interval = DefaultLagInterval
	}
	if lc.Now == nil {
		lc.Now = b.now
	}
	b.lags.interval = lc.Interval
	b.lags.eval = lag.New(lag.Config{Window: lc.Window, MaxLMQPairs: lc.MaxLMQPairs,
		FileReserved: b.bc.FileReservedTime(), Now: lc.Now})
	b.lags.loop = lifecycle.NewLoop("lag-sampler", lc.Interval, b.sampleLag)
	b.lags.loop.Start()
	b.stopFuncs = append(b.stopFuncs, func() error { b.lags.loop.Stop(); return nil })
}

// lagRow is one committed offset read by a sampling pass.
type lagRow struct {
	group, topic string
	queue        int32
	committed    int64
}

// sampleLag is one sampling pass.
func (b *Broker) sampleLag(ctx context.Context) {
	cfg := b.lags.eval.Config()
	start := cfg.Now()
	var rows []lagRow
	lmqs, skipped := 0, 0
	err := b.offsets.Range(func(group, topic string, q int32, off int64) bool {
		if ctx.Err() != nil {
			return false
		}
		if message.IsLMQ(topic) {
			if lmqs >= cfg.MaxLMQPairs {
				skipped++
				return true
			}
			lmqs++
		}
		rows = append(rows, lagRow{group, topic, q, off})
		return true
	})
	if err != nil {
		b.log.Warn("lag sampling: read offsets", "err", err)
		return
	}
	b.lags.eval.BeginPass()
	for i, r := range rows {
		if i%1024 == 0 && ctx.Err() != nil {
			return // stopping: keep the previous pass's view
		}
		s, err := b.lagSample(r)
		if err != nil {
			b.log.Debug("lag sampling: read queue", "group", r.group, "topic", r.topic, "queue", r.queue, "err", err)
			continue
		}
		s.Time = start
		b.lags.eval.Observe(lag.Key{Group: r.group, Topic: r.topic, Queue: r.queue}, s)
	}
	b.lags.eval.EndPass(start, skipped)
}

// lagSample reads one queue's offsets and the store time of the oldest
// unconsumed message still stored.
func (b *Broker) lagSample(r lagRow) (lag.Sample, error) {
	maxOff, err := b.store.MaxOffset(r.topic, r.queue)
	if err != nil {
		return lag.Sample{}, err
	}
	minOff, err := b.store.MinOffset(r.topic, r.queue)
	if err != nil {
		return lag.Sample{}, err
	}
	s := lag.Sample{BrokerOffset: max(maxOff, 0), MinOffset: max(minOff, 0), Committed: max(r.committed, 0)}
	if at := max(s.Committed, s.MinOffset); at < s.BrokerOffset {
		ts, err := b.storeTimeAt(r.topic, r.queue, at)
		if err != nil {
			return lag.Sample{}, err
		}
		if ts > 0 {
			s.FirstUnconsumed = time.UnixMilli(ts)
		}
	}
	return s, nil
}

// noteCommit tells the evaluator a client committed an offset.
func (b *Broker) noteCommit(group, topic string, queue int32) {
	if b.lags.eval != nil {
		b.lags.eval.NoteCommit(group, topic, queue)
	}
}

// noteReset tells the evaluator the broker reset the group's offsets of
// the queues (of this broker), so the rewind is not reported.
func (b *Broker) noteReset(group string, queues map[body.MessageQueue]int64) {
	if b.lags.eval == nil {
		return
	}
	at := b.lags.eval.Config().Now()
	byTopic := map[string][]int32{}
	for mq := range queues {
		byTopic[mq.Topic] = append(byTopic[mq.Topic], mq.QueueID)
	}
	for topic, qs := range byTopic {
		b.lags.eval.NoteReset(group, topic, qs, at)
	}
}

// lagGroupInfo is what the client manager knows of a group.
func (b *Broker) lagGroupInfo(group string) lag.GroupInfo {
	info, online := b.clients.ConsumerGroup(group)
	return lag.GroupInfo{Online: online && len(info.Clients) > 0, Consumers: len(info.Clients),
		Broadcast: info.MessageModel == body.Broadcasting}
}

// LagReport is the lag evaluation of group, restricted to topic when not
// empty (Status NOTFOUND when nothing of it is tracked). It is what the
// metrics exporter publishes.
func (b *Broker) LagReport(group, topic string) lag.Report {
	if b.lags.eval == nil {
		return lag.Report{Group: group, Topic: topic, Status: lag.StatusNotFound, Severity: lag.SeverityOK}
	}
	r, _ := b.lags.eval.Report(group, topic, b.lagGroupInfo(group))
	return r
}

// LagReports evaluates every tracked group (worst first), for exporters.
func (b *Broker) LagReports() []lag.Report {
	if b.lags.eval == nil {
		return nil
	}
	return b.lags.eval.Reports("", "", b.lagGroupInfo)
}

// LagStats are the evaluator's own figures (tracked queues, skipped LMQ
// rows, the last pass's time), for exporters.
func (b *Broker) LagStats() lag.Stats {
	if b.lags.eval == nil {
		return lag.Stats{}
	}
	return b.lags.eval.Stats()
}

// registerLagProcessors binds BOLIDE_GET_LAG_ADVICE.
func (b *Broker) registerLagProcessors() {
	b.handle(protocol.BolideGetLagAdvice, b.getLagAdvice)
}

// getLagAdvice answers BOLIDE_GET_LAG_ADVICE with the evaluation of the
// groups matching the header (empty fields match everything), worst
// first, as plain JSON (lag.Advice).
func (b *Broker) getLagAdvice(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetLagAdviceRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	reports := b.lags.eval.Reports(h.ConsumerGroup, h.Topic, b.lagGroupInfo)
	perGroup := lagQueuesOneGroup
	if h.ConsumerGroup == "" {
		perGroup = lagQueuesPerGroup
	}
	if len(reports) > maxLagAdviceGroups {
		reports = reports[:maxLagAdviceGroups] // the worst ones
	}
	for i := range reports {
		reports[i].Trim(perGroup)
	}
	st := b.lags.eval.Stats()
	cfg := b.lags.eval.Config()
	adv := lag.Advice{BrokerName: b.bc.BrokerName, EvaluatedAt: cfg.Now().UnixMilli(),
		IntervalMillis: b.lags.interval.Milliseconds(), Window: cfg.Window,
		FileReservedHours: cfg.FileReserved.Hours(), Tracked: st.Tracked, SkippedLMQ: st.SkippedLMQ,
		LastPassMillis: st.PassTime.Milliseconds(), Groups: reports}
	if adv.Groups == nil {
		adv.Groups = []lag.Report{}
	}
	resp := success(req)
	resp.Body = adv.Encode()
	return resp, nil
}
