package bench

import (
	"fmt"
	"io"
	"time"
)

// Targets the admin benchmark checks its figures against (the
// operational-commands issue): key-query p99 and reset wall time.
const (
	TargetKeyQueryP99 = 5 * time.Millisecond
	TargetReset       = 200 * time.Millisecond
)

// WriteSummary prints the load, one latency line per lookup kind, the
// resets, and the two figures against their targets.
func (r *AdminResult) WriteSummary(w io.Writer) error {
	var err error
	pr := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	if r.Load != nil {
		pr("== load\n")
		if err == nil {
			err = r.Load.WriteSummary(w)
		}
		switch {
		case !r.Dispatch.Known:
			pr("index: no dispatchBehindBytes from the broker\n")
		case r.Dispatch.Drained:
			pr("index: dispatched everything %s after the last send\n", r.Dispatch.Took.Round(time.Millisecond))
		default:
			pr("index: NOT dispatched %s after the last send\n", r.Dispatch.Took.Round(time.Millisecond))
		}
	}
	pr("topic %s: %d queues, %d messages stored, keys k0..k%d\n", r.Topic, r.Queues, r.Stored, r.KeyRange-1)

	pr("== lookups (sequential, one client)\n")
	pr("%-28s %7s %7s %7s %9s %9s %9s %9s %9s %6s\n", "kind", "queries", "found", "hits", "p50", "p99", "p999", "max", "mean", "errors")
	for _, l := range []*LookupResult{r.KeyQuery, r.UniqQuery, r.CLIKeyQuery, r.CLIUniqQuery} {
		if l == nil {
			continue
		}
		s := l.Latency
		if s == nil {
			s = NewHistogram().Snapshot()
		}
		pr("%-28s %7d %7d %7d %9s %9s %9s %9s %9s %6d\n", l.Kind, l.Queries, l.Found, l.Hits,
			fmtDur(s.Quantile(0.5)), fmtDur(s.Quantile(0.99)), fmtDur(s.Quantile(0.999)), fmtDur(s.Max), fmtDur(s.Mean()), l.Errors)
		if l.Wrong > 0 {
			pr("  %d hits did not carry the key asked for\n", l.Wrong)
		}
		for _, e := range l.FirstErrors {
			pr("  error: %s\n", e)
		}
	}

	pr("== resets of %d committed queues, alternating between store times %d and %d\n", r.Committed, r.ResetTimes[0], r.ResetTimes[1])
	pr("%-28s %5s %9s %9s %s\n", "kind", "runs", "median", "max", "queues applied/listed per run")
	for _, t := range []*ResetTiming{r.Reset, r.CLIReset} {
		if t == nil {
			continue
		}
		applied := ""
		for i, run := range t.Runs {
			if i > 0 {
				applied += " "
			}
			applied += fmt.Sprintf("%d/%d", run.Applied, run.Queues)
		}
		pr("%-28s %5d %9s %9s %s\n", t.Kind, len(t.Runs), fmtDur(t.Median()), fmtDur(t.Max()), applied)
		took := "  each:"
		for _, run := range t.Runs {
			took += " " + fmtDur(run.Took)
		}
		pr("%s\n", took)
		for _, run := range t.Runs {
			if run.Err != "" {
				pr("  error (%s): %s\n", run.OpID, run.Err)
			}
		}
	}

	pr("== targets\n")
	if r.KeyQuery != nil && r.KeyQuery.Latency != nil {
		p99 := r.KeyQuery.Latency.Quantile(0.99)
		pr("queryMsgByKey RPC p99 %s (target < %s): %s\n", fmtDur(p99), fmtDur(TargetKeyQueryP99), verdict(p99 < TargetKeyQueryP99))
	}
	if r.Reset != nil && len(r.Reset.Runs) > 0 {
		md, mx := r.Reset.Median(), r.Reset.Max()
		pr("resetOffsetByTime RPC over %d queues, median %s (target < %s): %s; max %s, %d failed\n",
			r.Committed, fmtDur(md), fmtDur(TargetReset), verdict(r.Reset.Failed() == 0 && md < TargetReset), fmtDur(mx), r.Reset.Failed())
	}
	return err
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
