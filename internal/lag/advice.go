package lag

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"
)

// maxHotFindings bounds the hot-queue findings of one group: a group over
// a million LMQs must not produce a million lines.
const maxHotFindings = 5

// advisor derives one report's findings from its queues.
type advisor struct {
	r   *Report
	cfg *Config
	now time.Time
}

func (a *advisor) add(f Finding) { a.r.Findings = append(a.r.Findings, f) }

// topicQueues counts the report's queues of topic.
func (a *advisor) topicQueues(topic string) int {
	n := 0
	for _, q := range a.r.Queues {
		if q.Topic == topic {
			n++
		}
	}
	return n
}

type topicStatus struct {
	topic  string
	status Status
}

// statusFindings turns every non-OK queue status into one finding per
// topic and status.
func (a *advisor) statusFindings() {
	groups := map[topicStatus][]QueueReport{}
	var order []topicStatus
	for _, q := range a.r.Queues {
		if q.Status == StatusOK {
			continue
		}
		k := topicStatus{q.Topic, q.Status}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], q)
	}
	for _, k := range order {
		qs := groups[k]
		f := Finding{Rule: ruleOf(k.status), Severity: k.status.Severity(), Status: k.status, Topic: k.topic,
			QueueIDs: queueIDs(qs), Evidence: map[string]float64{}}
		lag, all := sumLag(qs), a.topicQueues(k.topic)
		f.Evidence["lag"] = float64(lag)
		f.Evidence["queues"] = float64(len(qs))
		f.Evidence["topicQueues"] = float64(all)
		f.Evidence["consumers"] = float64(a.r.Consumers)
		switch k.status {
		case StatusStop:
			since := "no commit seen in the window"
			if last := latestCommit(qs); last > 0 {
				age := a.now.Sub(time.UnixMilli(last)).Seconds()
				f.Evidence["secondsSinceCommit"] = age
				since = "last commit " + Duration(age) + " ago"
			}
			f.Reason = fmt.Sprintf("%s of %d queues of %s stopped committing (%s) with %d messages of lag",
				count(len(qs)), all, k.topic, since, lag)
			f.Suggestion = a.consumerCheck()
		case StatusStall:
			f.Evidence["offset"] = float64(qs[0].ConsumerOffset)
			f.Reason = fmt.Sprintf("%s of %d queues of %s stalled: commits arrive but the offset stays at %d with %d messages of lag",
				count(len(qs)), all, k.topic, qs[0].ConsumerOffset, lag)
			if len(qs) < all {
				f.Reason += "; the other queues progress (an orderly consumer blocked on one message?)"
			}
			if a.r.Online {
				f.Suggestion = fmt.Sprintf("check the consumer: online but not committing progress — take a stack dump of each client (mqadmin consumerConnection -g %s)", a.r.Group)
			} else {
				f.Suggestion = a.consumerCheck()
			}
		case StatusRewind:
			q := qs[0]
			if q.Rewind != nil {
				f.Evidence["from"], f.Evidence["to"] = float64(q.Rewind[0]), float64(q.Rewind[1])
				f.Reason = fmt.Sprintf("the committed offset of %s queue %d went back from %d to %d without a reset by this broker",
					k.topic, q.QueueID, q.Rewind[0], q.Rewind[1])
			} else {
				f.Reason = fmt.Sprintf("the committed offset of %s went back without a reset by this broker", k.topic)
			}
			if len(qs) > 1 {
				f.Reason += fmt.Sprintf(" (%d queues)", len(qs))
			}
			f.Suggestion = fmt.Sprintf("a client committed an older offset (restarted from a stale offset store, or a reset made elsewhere) and re-consumes: check mqadmin consumerProgress -g %s -t %s", a.r.Group, k.topic)
		case StatusWarn:
			p, c := sumRates(qs)
			f.Evidence["produceRate"], f.Evidence["consumeRate"] = p, c
			f.Reason = fmt.Sprintf("lag of %s grew in every sample on %s of %d queues (%d messages): consuming %s/s, producing %s/s",
				k.topic, count(len(qs)), all, lag, rate(c), rate(p))
			f.Suggestion = a.scale(k.topic, all)
		}
		a.add(f)
	}
}

func ruleOf(s Status) string {
	switch s {
	case StatusStop:
		return "stop"
	case StatusStall:
		return "stall"
	case StatusRewind:
		return "rewind"
	case StatusWarn:
		return "slow"
	}
	return strings.ToLower(string(s))
}

// consumerCheck tells "no online consumer" from "online but stuck".
func (a *advisor) consumerCheck() string {
	if !a.r.Online {
		return fmt.Sprintf("no consumer of %s is online: start the consumers, then check mqadmin consumerConnection -g %s", a.r.Group, a.r.Group)
	}
	return fmt.Sprintf("consumers are online but not committing — take a stack dump of each client (mqadmin consumerConnection -g %s lists them)", a.r.Group)
}

// scale suggests more consumers when there are more queues than
// consumers, more queues otherwise.
func (a *advisor) scale(topic string, queues int) string {
	c := a.r.Consumers
	switch {
	case !a.r.Online || c == 0:
		return fmt.Sprintf("no consumer of %s is online: start consumers (%d queues)", a.r.Group, queues)
	case queues > c:
		return fmt.Sprintf("add consumers (%d queues, %d consumers)", queues, c)
	default:
		return fmt.Sprintf("every queue has a consumer (%d queues, %d consumers): add queues (mqadmin updateTopic -t %s -r %d -w %d) and consumers, or make each consumer faster",
			queues, c, topic, 2*queues, 2*queues)
	}
}

// retention flags queues whose committed offset is below the min offset:
// messages deleted before the group consumed them.
func (a *advisor) retention() {
	for t, qs := range byTopic(a.r.Queues, func(q QueueReport) bool {
		return q.Samples > 0 && q.ConsumerOffset < q.MinOffset
	}) {
		var lost int64
		for _, q := range qs {
			lost += q.MinOffset - q.ConsumerOffset
		}
		a.add(Finding{Rule: "retention", Severity: SeverityErr, Topic: t, QueueIDs: queueIDs(qs),
			Reason: fmt.Sprintf("consumer fell behind retention on %s of %s: %d messages lost to the consumer (deleted before it consumed them)",
				plural(len(qs), "queue"), t, lost),
			Suggestion: fmt.Sprintf("the consumer resumes at the min offset; consume faster or raise fileReservedTime (mqadmin consumerProgress -g %s -t %s)", a.r.Group, t),
			Evidence:   map[string]float64{"lost": float64(lost), "queues": float64(len(qs))}})
	}
}

// expiry warns when unconsumed messages will expire (fileReservedTime)
// before the group reaches them: the oldest one's age plus the time to
// drain exceeds retention, or, when the lag is not draining, the age alone
// does.
func (a *advisor) expiry() {
	reserved := a.cfg.FileReserved.Seconds()
	if reserved <= 0 {
		return
	}
	for t, qs := range byTopic(a.r.Queues, func(q QueueReport) bool {
		if q.Lag == 0 || q.LagSeconds <= 0 {
			return false
		}
		at := q.LagSeconds
		if q.ETASeconds != nil {
			at += *q.ETASeconds
		}
		return at > reserved
	}) {
		age, eta, draining := 0.0, 0.0, true
		for _, q := range qs {
			age = max(age, q.LagSeconds)
			if q.ETASeconds == nil {
				draining = false
			} else {
				eta = max(eta, *q.ETASeconds)
			}
		}
		how := "the lag is not draining"
		ev := map[string]float64{"oldestSeconds": age, "fileReservedSeconds": reserved, "queues": float64(len(qs))}
		if draining {
			how = "draining takes " + Duration(eta)
			ev["etaSeconds"] = eta
		}
		a.add(Finding{Rule: "expiry", Severity: SeverityWarn, Topic: t, QueueIDs: queueIDs(qs),
			Reason: fmt.Sprintf("messages will expire before consumption on %s of %s: the oldest unconsumed is %s old, %s, fileReservedTime is %s",
				plural(len(qs), "queue"), t, Duration(age), how, Duration(reserved)),
			Suggestion: fmt.Sprintf("consume faster, or skip what cannot be consumed in time: mqadmin resetOffsetByTime -g %s -t %s -s now --dry-run", a.r.Group, t),
			Evidence:   ev})
	}
}

// hotQueues flags queues holding far more lag than the group's others.
func (a *advisor) hotQueues() {
	qs := a.r.Queues
	if len(qs) < 2 || a.r.TotalLag == 0 {
		return
	}
	lags := make([]int64, len(qs))
	for i, q := range qs {
		lags[i] = q.Lag
	}
	slices.Sort(lags)
	median := lags[len(lags)/2]
	if len(lags)%2 == 0 {
		median = (lags[len(lags)/2-1] + lags[len(lags)/2]) / 2
	}
	var hot []QueueReport
	for _, q := range qs {
		if q.Lag <= a.cfg.HotMinLag {
			continue
		}
		skewed := float64(q.Lag) > a.cfg.HotFactor*float64(median)
		dominant := len(qs) >= 3 && float64(q.Lag) > a.cfg.HotShare*float64(a.r.TotalLag)
		if skewed || dominant {
			hot = append(hot, q)
		}
	}
	slices.SortFunc(hot, func(x, y QueueReport) int { return cmp.Compare(y.Lag, x.Lag) })
	for i, q := range hot {
		if i == maxHotFindings {
			break
		}
		share := float64(q.Lag) / float64(a.r.TotalLag)
		reason := fmt.Sprintf("queue %d of %s holds %d of the group's %d lagging messages (%.0f%%; median queue lag %d)",
			q.QueueID, q.Topic, q.Lag, a.r.TotalLag, 100*share, median)
		if i == maxHotFindings-1 && len(hot) > maxHotFindings {
			reason += fmt.Sprintf("; %d more hot queues not listed", len(hot)-maxHotFindings)
		}
		a.add(Finding{Rule: "hot-queue", Severity: SeverityWarn, Status: q.Status, Topic: q.Topic, QueueIDs: []int32{q.QueueID},
			Reason:     reason,
			Suggestion: fmt.Sprintf("a sharding key that sends most messages to this queue, or a slow consumer of it: compare queues with mqadmin consumerProgress -g %s -t %s", a.r.Group, q.Topic),
			Evidence:   map[string]float64{"lag": float64(q.Lag), "share": share, "medianLag": float64(median)}})
	}
}

// housekeeping adds the informational findings: windows not yet full and
// resets the broker performed.
func (a *advisor) housekeeping() {
	var resets []QueueReport
	minSamples := a.cfg.Window
	for _, q := range a.r.Queues {
		minSamples = min(minSamples, q.Samples)
		if q.ResetAt != 0 && q.Samples < a.cfg.Window {
			resets = append(resets, q)
		}
	}
	if len(resets) > 0 {
		var at int64
		for _, q := range resets {
			at = max(at, q.ResetAt)
		}
		a.add(Finding{Rule: "reset", Severity: SeverityOK, Topic: commonTopic(resets), QueueIDs: queueIDs(resets),
			Reason: fmt.Sprintf("offsets of %s were reset by this broker %s ago: their windows restarted and the rewind is expected, not reported",
				plural(len(resets), "queue"), Duration(a.now.Sub(time.UnixMilli(at)).Seconds())),
			Evidence: map[string]float64{"resetAt": float64(at)}})
	}
	if minSamples < a.cfg.Window {
		a.add(Finding{Rule: "incomplete", Severity: SeverityOK,
			Reason: fmt.Sprintf("window %.0f%% full (%d of %d samples on the least-sampled queue): statuses need %d samples",
				100*a.r.Complete, minSamples, a.cfg.Window, a.cfg.MinSamples),
			Evidence: map[string]float64{"complete": a.r.Complete}})
	}
}

func commonTopic(qs []QueueReport) string {
	t := qs[0].Topic
	for _, q := range qs[1:] {
		if q.Topic != t {
			return ""
		}
	}
	return t
}

func queueIDs(qs []QueueReport) []int32 {
	ids := make([]int32, len(qs))
	for i, q := range qs {
		ids[i] = q.QueueID
	}
	slices.Sort(ids)
	return ids
}

func sumLag(qs []QueueReport) int64 {
	var n int64
	for _, q := range qs {
		n += q.Lag
	}
	return n
}

func sumRates(qs []QueueReport) (p, c float64) {
	for _, q := range qs {
		p += q.ProduceRate
		c += q.ConsumeRate
	}
	return p, c
}

func latestCommit(qs []QueueReport) int64 {
	var t int64
	for _, q := range qs {
		t = max(t, q.LastCommit)
	}
	return t
}

func count(n int) string { return fmt.Sprint(n) }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func rate(r float64) string {
	if r >= 100 {
		return fmt.Sprintf("%.0f", r)
	}
	return fmt.Sprintf("%.1f", r)
}

// Duration prints seconds briefly: 45s, 12m05s, 3h20m, 4d06h.
func Duration(sec float64) string {
	s := int64(sec + 0.5)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 48*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// byTopic yields the queues that keep says to, grouped by topic, topics in
// name order (findings are per topic, in a stable order).
func byTopic(queues []QueueReport, keep func(QueueReport) bool) iter.Seq2[string, []QueueReport] {
	groups := map[string][]QueueReport{}
	for _, q := range queues {
		if keep(q) {
			groups[q.Topic] = append(groups[q.Topic], q)
		}
	}
	return func(yield func(string, []QueueReport) bool) {
		for _, t := range slices.Sorted(maps.Keys(groups)) {
			if !yield(t, groups[t]) {
				return
			}
		}
	}
}
