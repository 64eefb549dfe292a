package lag

import (
	"cmp"
	"slices"
	"sort"
	"time"
)

// GroupInfo is what the broker knows of a group besides offsets.
type GroupInfo struct {
	// Online is whether any consumer of the group is connected.
	Online bool
	// Consumers is the number of connected consumers.
	Consumers int
	// Broadcast groups keep their offsets on the clients: the broker's
	// committed offsets say nothing and they are not judged.
	Broadcast bool
}

// Report is the evaluation of one group (or of one topic of a group).
type Report struct {
	Group string `json:"group"`
	// Topic is set when the report covers one topic only.
	Topic string `json:"topic,omitempty"`
	// Status is the group's Burrow status: OK, WARN or ERR (NOTFOUND when
	// nothing is tracked).
	Status Status `json:"status"`
	// Severity is the worst of Status and the findings.
	Severity Severity `json:"severity"`
	// Complete is the least-filled queue window's share (0..1).
	Complete    float64 `json:"complete"`
	TotalLag    int64   `json:"totalLag"`
	MaxLag      int64   `json:"maxLag"`
	MaxLagTopic string  `json:"maxLagTopic,omitempty"`
	MaxLagQueue int32   `json:"maxLagQueue"`
	// MaxLagSeconds is the age of the oldest unconsumed message of any
	// queue.
	MaxLagSeconds float64 `json:"maxLagSeconds"`
	ProduceRate   float64 `json:"produceRate"`
	ConsumeRate   float64 `json:"consumeRate"`
	// ETASeconds is the time to drain the group's lag, nil when the lag
	// is not draining (then the backlog grows by ProduceRate-ConsumeRate
	// per second).
	ETASeconds *float64 `json:"etaSeconds"`
	Online     bool     `json:"online"`
	Consumers  int      `json:"consumers"`
	Broadcast  bool     `json:"broadcast,omitempty"`
	// Queues are the group's queues, worst first; QueuesOmitted says how
	// many were left out of a long list (Trim).
	Queues        []QueueReport `json:"queues"`
	QueuesOmitted int           `json:"queuesOmitted,omitempty"`
	// Findings are the advice, worst first.
	Findings []Finding `json:"findings"`
	// EvaluatedAt is the time (ms) of the evaluation.
	EvaluatedAt int64 `json:"evaluatedAt"`
}

// Finding is one piece of advice.
type Finding struct {
	// Rule names the rule that fired (see docs/lag-advice.md): stop,
	// stall, rewind, slow, expiry, retention, hot-queue, incomplete, reset.
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Status is the Burrow status the finding is about, if any.
	Status   Status  `json:"status,omitempty"`
	Topic    string  `json:"topic,omitempty"`
	QueueIDs []int32 `json:"queueIds,omitempty"`
	// Reason is one line saying what was seen.
	Reason string `json:"reason"`
	// Suggestion is one line saying what to do, often a command.
	Suggestion string `json:"suggestion,omitempty"`
	// Evidence holds the numbers behind the finding.
	Evidence map[string]float64 `json:"evidence,omitempty"`
}

// Report evaluates group (restricted to topic when not empty) at the
// evaluator's clock. ok is false when nothing of it is tracked.
func (e *Evaluator) Report(group, topic string, info GroupInfo) (Report, bool) {
	rs := e.Reports(group, topic, func(string) GroupInfo { return info })
	if len(rs) == 0 {
		return Report{Group: group, Topic: topic, Status: StatusNotFound, Severity: SeverityOK,
			EvaluatedAt: e.cfg.Now().UnixMilli(), Queues: []QueueReport{}, Findings: []Finding{}}, false
	}
	return rs[0], true
}

// Reports evaluates every tracked group matching group and topic (empty
// matches all), worst first. info is asked once per group.
func (e *Evaluator) Reports(group, topic string, info func(group string) GroupInfo) []Report {
	now := e.cfg.Now()
	// Collect the keys, then judge them in chunks, so that the lock is
	// never held for long over a million LMQ windows.
	var keys []Key
	e.mu.Lock()
	all := e.queues
	if group != "" {
		all = e.groups[group]
	}
	for k := range all {
		if topic == "" || k.Topic == topic {
			keys = append(keys, k)
		}
	}
	e.mu.Unlock()
	byGroup := map[string][]QueueReport{}
	for i := 0; i < len(keys); i += reportChunk {
		e.mu.Lock()
		for _, k := range keys[i:min(i+reportChunk, len(keys))] {
			w, ok := e.queues[k]
			if !ok || len(w.samples) == 0 {
				continue // gone, or reset and not sampled since
			}
			byGroup[k.Group] = append(byGroup[k.Group], evaluateQueue(k, w, now, &e.cfg))
		}
		e.mu.Unlock()
	}
	out := make([]Report, 0, len(byGroup))
	for g, qs := range byGroup {
		out = append(out, buildReport(g, topic, qs, info(g), now, &e.cfg))
	}
	SortReports(out)
	return out
}

// reportChunk is how many queues Reports judges per lock hold.
const reportChunk = 1024

// SortReports orders reports worst first: severity, status, lag, name.
func SortReports(rs []Report) {
	slices.SortFunc(rs, func(a, b Report) int {
		if c := cmp.Compare(b.Severity.Rank(), a.Severity.Rank()); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Status.Rank(), a.Status.Rank()); c != 0 {
			return c
		}
		if c := cmp.Compare(b.TotalLag, a.TotalLag); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Group, b.Group); c != 0 {
			return c
		}
		return cmp.Compare(a.Topic, b.Topic)
	})
}

// buildReport aggregates a group's queues and derives its findings.
func buildReport(group, topic string, qs []QueueReport, info GroupInfo, now time.Time, cfg *Config) Report {
	sortQueues(qs)
	r := Report{Group: group, Topic: topic, Status: StatusOK, Complete: 1, MaxLagQueue: -1,
		Online: info.Online, Consumers: info.Consumers, Broadcast: info.Broadcast,
		Queues: qs, Findings: []Finding{}, EvaluatedAt: now.UnixMilli()}
	for _, q := range qs {
		r.TotalLag += q.Lag
		if q.Lag > r.MaxLag {
			r.MaxLag, r.MaxLagTopic, r.MaxLagQueue = q.Lag, q.Topic, q.QueueID
		}
		r.MaxLagSeconds = max(r.MaxLagSeconds, q.LagSeconds)
		r.ProduceRate += q.ProduceRate
		r.ConsumeRate += q.ConsumeRate
		r.Complete = min(r.Complete, q.Complete)
		if q.Status.groupStatus().Rank() > r.Status.Rank() {
			r.Status = q.Status.groupStatus()
		}
	}
	switch {
	case r.TotalLag == 0:
		zero := 0.0
		r.ETASeconds = &zero
	case r.ConsumeRate > r.ProduceRate:
		eta := float64(r.TotalLag) / (r.ConsumeRate - r.ProduceRate)
		r.ETASeconds = &eta
	}
	if info.Broadcast {
		// Offsets live on the clients: nothing the broker holds says
		// whether a broadcast group keeps up.
		r.Status = StatusOK
		r.Findings = append(r.Findings, Finding{Rule: "broadcast", Severity: SeverityOK,
			Reason:     "broadcasting group: offsets are kept by the clients, the broker cannot judge its lag",
			Suggestion: "check each client's local offsets"})
		r.Severity = SeverityOK
		return r
	}
	a := advisor{r: &r, cfg: cfg, now: now}
	a.statusFindings()
	a.retention()
	a.expiry()
	a.hotQueues()
	a.housekeeping()
	slices.SortStableFunc(r.Findings, func(x, y Finding) int {
		if c := cmp.Compare(y.Severity.Rank(), x.Severity.Rank()); c != 0 {
			return c
		}
		return cmp.Compare(y.Status.Rank(), x.Status.Rank())
	})
	r.Severity = r.Status.Severity()
	for _, f := range r.Findings {
		r.Severity = worse(r.Severity, f.Severity)
	}
	return r
}

// sortQueues orders queues worst status first, then by lag, topic, id.
func sortQueues(qs []QueueReport) {
	sort.Slice(qs, func(i, j int) bool {
		a, b := qs[i], qs[j]
		if a.Status.Rank() != b.Status.Rank() {
			return a.Status.Rank() > b.Status.Rank()
		}
		if a.Lag != b.Lag {
			return a.Lag > b.Lag
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.QueueID < b.QueueID
	})
}

// Trim keeps the worst n queues of the report (findings were derived from
// all of them) and counts the others in QueuesOmitted.
func (r *Report) Trim(n int) {
	if len(r.Queues) > n {
		r.QueuesOmitted += len(r.Queues) - n
		r.Queues = r.Queues[:n]
	}
}
