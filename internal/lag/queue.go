package lag

import (
	"time"
)

// QueueReport is the evaluation of one queue of a group.
type QueueReport struct {
	Topic          string `json:"topic"`
	QueueID        int32  `json:"queueId"`
	Status         Status `json:"status"`
	BrokerOffset   int64  `json:"brokerOffset"`
	ConsumerOffset int64  `json:"consumerOffset"`
	MinOffset      int64  `json:"minOffset"`
	Lag            int64  `json:"lag"`
	// LagSeconds is the age of the oldest unconsumed message, 0 when
	// caught up.
	LagSeconds float64 `json:"lagSeconds"`
	// ProduceRate and ConsumeRate are messages per second over the window.
	ProduceRate float64 `json:"produceRate"`
	ConsumeRate float64 `json:"consumeRate"`
	// ETASeconds is the time to drain the lag at the window's rates; nil
	// when the lag is not draining.
	ETASeconds *float64 `json:"etaSeconds"`
	Samples    int      `json:"samples"`
	// Complete is the share of the window that is filled (Burrow's).
	Complete float64 `json:"complete"`
	// LastCommit is the time (ms) of the latest commit seen, 0 if none.
	LastCommit int64 `json:"lastCommit,omitempty"`
	// ResetAt is the time (ms) of the latest reset the broker performed.
	ResetAt int64 `json:"resetAt,omitempty"`
	// Rewind holds the offsets before and after a rewind.
	Rewind *[2]int64 `json:"rewind,omitempty"`
}

// evaluateQueue applies Burrow's partition rules to a window (oldest
// first) at now.
func evaluateQueue(k Key, w *window, now time.Time, cfg *Config) QueueReport {
	r := QueueReport{Topic: k.Topic, QueueID: k.Queue, Status: StatusOK, Samples: len(w.samples),
		Complete: min(float64(len(w.samples))/float64(cfg.Window), 1)}
	if !w.resetAt.IsZero() {
		r.ResetAt = w.resetAt.UnixMilli()
	}
	if lc := w.commitTime(); !lc.IsZero() {
		r.LastCommit = lc.UnixMilli()
	}
	n := len(w.samples)
	if n == 0 {
		return r
	}
	s := make([]Sample, n)
	for i, p := range w.samples {
		s[i] = p.sample()
	}
	cur := s[n-1]
	r.BrokerOffset, r.ConsumerOffset, r.MinOffset, r.Lag = cur.BrokerOffset, cur.Committed, cur.MinOffset, cur.Lag()
	if r.Lag > 0 && !cur.FirstUnconsumed.IsZero() {
		r.LagSeconds = max(now.Sub(cur.FirstUnconsumed).Seconds(), 0)
	}
	if n >= 2 {
		if span := cur.Time.Sub(s[0].Time).Seconds(); span > 0 {
			r.ProduceRate = max(float64(cur.BrokerOffset-s[0].BrokerOffset)/span, 0)
			r.ConsumeRate = max(float64(cur.Committed-s[0].Committed)/span, 0)
		}
	}
	switch {
	case r.Lag == 0:
		zero := 0.0
		r.ETASeconds = &zero
	case r.ConsumeRate > r.ProduceRate:
		eta := float64(r.Lag) / (r.ConsumeRate - r.ProduceRate)
		r.ETASeconds = &eta
	}
	r.Status = queueStatus(s, now, cfg, &r)
	return r
}

// queueStatus is Burrow's rules, in order.
func queueStatus(s []Sample, now time.Time, cfg *Config, r *QueueReport) Status {
	n := len(s)
	// 1. Lag zero now or at any time in the window.
	for _, x := range s {
		if x.Lag() == 0 {
			return StatusOK
		}
	}
	if n < cfg.MinSamples {
		return StatusOK // too little to judge: see Complete
	}
	// 2. The committed offset went down.
	for i := 1; i < n; i++ {
		if s[i].Committed < s[i-1].Committed {
			r.Rewind = &[2]int64{s[i-1].Committed, s[i].Committed}
			return StatusRewind
		}
	}
	// 3. Commits stopped: no commit seen since the window began, or the
	// time since the last commit exceeds the span of the commits in it.
	last := s[n-1].LastCommit
	first := time.Time{}
	for _, x := range s {
		if !x.LastCommit.IsZero() {
			first = x.LastCommit
			break
		}
	}
	if last.IsZero() || last.Before(s[0].Time) || now.Sub(last) > last.Sub(first) {
		return StatusStop
	}
	// 4. Commits arrive but the offset does not move.
	if s[n-1].Committed == s[0].Committed {
		return StatusStall
	}
	// 5. The offset moves but the lag never decreases.
	for i := 1; i < n; i++ {
		if s[i].Lag() < s[i-1].Lag() {
			return StatusOK
		}
	}
	return StatusWarn
}
