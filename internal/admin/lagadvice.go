package admin

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/lag"
	"github.com/bolidemq/bolide/internal/protocol"
)

// LagAdviceResult is the result of lagAdvice: the groups the brokers'
// lag evaluators judge, merged over brokers, worst first.
type LagAdviceResult struct {
	Group   string `json:"group,omitempty"`
	Topic   string `json:"topic,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	// Groups are the groups needing attention (all of them with --all).
	Groups []GroupAdvice `json:"groups"`
	// Healthy counts the groups left out because they are OK.
	Healthy int `json:"healthy"`
	// Brokers describe each broker's evaluator.
	Brokers []BrokerLagInfo `json:"brokers"`
	Errors  []Failure       `json:"errors,omitempty"`
}

// GroupAdvice is one group's evaluation over every broker.
type GroupAdvice struct {
	Group string `json:"group"`
	// Status and Severity are the worst over the brokers.
	Status   lag.Status   `json:"status"`
	Severity lag.Severity `json:"severity"`
	TotalLag int64        `json:"totalLag"`
	// MaxLagSeconds is the age of the oldest unconsumed message.
	MaxLagSeconds float64 `json:"maxLagSeconds"`
	// Complete is the least-filled window's share over the brokers.
	Complete float64 `json:"complete"`
	// Rule, BrokerName, Reason and Suggestion are the worst finding's.
	Rule       string `json:"rule"`
	BrokerName string `json:"brokerName,omitempty"`
	Reason     string `json:"reason"`
	Suggestion string `json:"suggestion,omitempty"`
	// Reports are the brokers' full evaluations.
	Reports []BrokerLagReport `json:"reports"`
}

// BrokerLagReport is one broker's evaluation of a group.
type BrokerLagReport struct {
	BrokerName string `json:"brokerName"`
	lag.Report
}

// BrokerLagInfo describes one broker's lag evaluator.
type BrokerLagInfo struct {
	BrokerName string `json:"brokerName"`
	Addr       string `json:"addr"`
	// Supported is false for brokers without an evaluator (Apache
	// RocketMQ answers REQUEST_CODE_NOT_SUPPORTED).
	Supported      bool  `json:"supported"`
	Tracked        int   `json:"tracked"`
	SkippedLMQ     int   `json:"skippedLmq"`
	Window         int   `json:"window"`
	IntervalMillis int64 `json:"intervalMillis"`
}

// LagAdviceOptions are lagAdvice's options.
type LagAdviceOptions struct {
	Group   string // "" for every group
	Topic   string // "" for every topic
	Cluster string // the masters of this cluster (default every broker)
	All     bool   // list OK groups too
}

// lagAdvice asks brokers for their evaluations of group and topic.
func (a *Admin) lagAdvice(ctx context.Context, brokers []Broker, group, topic string) ([]answer[*lag.Advice], []*BrokerError) {
	answers := fanOut(ctx, brokers, consumeStatsTimeout, func(ctx context.Context, b Broker) (*lag.Advice, error) {
		return a.c.LagAdvice(ctx, b.Addr, group, topic)
	})
	var fails []*BrokerError
	kept := answers[:0]
	for _, an := range answers {
		switch {
		case client.IsCode(an.Err, protocol.RequestCodeNotSupported):
			an.Value, an.Err = nil, nil
		case an.Err != nil:
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		kept = append(kept, an)
	}
	return kept, fails
}

// LagAdvice asks every broker (or the masters of a cluster) for its lag
// evaluation and merges it per group, worst first. A group asked for
// that no broker tracks is a *NotFoundError.
func (a *Admin) LagAdvice(ctx context.Context, o LagAdviceOptions) (*LagAdviceResult, error) {
	var brokers []Broker
	var err error
	if o.Cluster != "" {
		brokers, err = a.clusterMasters(ctx, o.Cluster)
	} else {
		brokers, err = a.allBrokers(ctx)
	}
	if err != nil {
		return nil, err
	}
	answers, fails := a.lagAdvice(ctx, brokers, o.Group, o.Topic)
	if len(answers) == 0 && len(fails) > 0 {
		return nil, partial(fails)
	}
	res := &LagAdviceResult{Group: o.Group, Topic: o.Topic, Cluster: o.Cluster, Groups: []GroupAdvice{}, Brokers: []BrokerLagInfo{}}
	byGroup := map[string]*GroupAdvice{}
	for _, an := range answers {
		info := BrokerLagInfo{BrokerName: an.Broker.Name, Addr: an.Broker.Addr}
		if adv := an.Value; adv != nil {
			info.Supported, info.Tracked, info.SkippedLMQ = true, adv.Tracked, adv.SkippedLMQ
			info.Window, info.IntervalMillis = adv.Window, adv.IntervalMillis
			for _, r := range adv.Groups {
				g := byGroup[r.Group]
				if g == nil {
					g = &GroupAdvice{Group: r.Group, Complete: 1}
					byGroup[r.Group] = g
				}
				g.Reports = append(g.Reports, BrokerLagReport{BrokerName: an.Broker.Name, Report: r})
			}
		}
		res.Brokers = append(res.Brokers, info)
	}
	if o.Group != "" && len(byGroup) == 0 && len(fails) == 0 {
		if o.Topic != "" {
			return nil, notFoundf("no broker evaluates consumer group %s on topic %s (no committed offsets, or not sampled yet)", o.Group, o.Topic)
		}
		return nil, notFoundf("no broker evaluates consumer group %s (no committed offsets, or not sampled yet)", o.Group)
	}
	for _, g := range byGroup {
		g.merge()
		if !o.All && g.Severity == lag.SeverityOK {
			res.Healthy++
			continue
		}
		res.Groups = append(res.Groups, *g)
	}
	slices.SortFunc(res.Groups, func(x, y GroupAdvice) int {
		if c := cmp.Compare(y.Severity.Rank(), x.Severity.Rank()); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Status.Rank(), x.Status.Rank()); c != 0 {
			return c
		}
		if c := cmp.Compare(y.TotalLag, x.TotalLag); c != 0 {
			return c
		}
		return strings.Compare(x.Group, y.Group)
	})
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

// merge derives the group's figures and headline from its brokers'
// reports: the worst status and finding win.
func (g *GroupAdvice) merge() {
	slices.SortFunc(g.Reports, func(x, y BrokerLagReport) int { return strings.Compare(x.BrokerName, y.BrokerName) })
	g.Status, g.Severity = lag.StatusOK, lag.SeverityOK
	var best lag.Finding
	bestRank := -1
	for _, r := range g.Reports {
		g.TotalLag += r.TotalLag
		g.MaxLagSeconds = max(g.MaxLagSeconds, r.MaxLagSeconds)
		g.Complete = min(g.Complete, r.Complete)
		if r.Status.Rank() > g.Status.Rank() {
			g.Status = r.Status
		}
		if r.Severity.Rank() > g.Severity.Rank() {
			g.Severity = r.Severity
		}
		h := r.Headline()
		if rank := 10*h.Severity.Rank() + h.Status.Rank(); rank > bestRank {
			best, bestRank, g.BrokerName = h, rank, r.BrokerName
		}
	}
	g.Rule, g.Reason, g.Suggestion = best.Rule, best.Reason, best.Suggestion
}

func (r *LagAdviceResult) writeText(w io.Writer, _ *time.Location) {
	fmt.Fprintf(w, "%-32s  %-8s  %-10s  %-10s  %s\n", "#Group", "#Status", "#Lag", "#LagTime", "#Advice")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "%-32s  %-8s  %-10d  %-10s  %s\n", render.Trunc(g.Group, 32), g.Status, g.TotalLag,
			lag.Duration(g.MaxLagSeconds), adviceLine(g.BrokerName, g.Rule, g.Reason, g.Suggestion))
	}
	fmt.Fprintln(w)
	switch {
	case len(r.Groups) == 0 && r.Healthy == 0:
		fmt.Fprintln(w, "No consumer group is evaluated yet.")
	case len(r.Groups) == 0:
		fmt.Fprintf(w, "No group needs attention (%d OK).\n", r.Healthy)
	case r.Healthy == 1:
		fmt.Fprintln(w, "1 more group is OK (--all lists it).")
	case r.Healthy > 1:
		fmt.Fprintf(w, "%d more groups are OK (--all lists them).\n", r.Healthy)
	}
	for _, b := range r.Brokers {
		if !b.Supported {
			fmt.Fprintf(w, "%s: no lag evaluator (not a Bolide broker)\n", b.BrokerName)
			continue
		}
		skipped := ""
		if b.SkippedLMQ > 0 {
			skipped = fmt.Sprintf(", %d LMQ queues skipped (cap)", b.SkippedLMQ)
		}
		fmt.Fprintf(w, "%s: %d queues tracked, window %d samples every %v%s\n", b.BrokerName, b.Tracked, b.Window,
			time.Duration(b.IntervalMillis)*time.Millisecond, skipped)
	}
}

// adviceLine is "[rule] broker: reason; suggestion".
func adviceLine(broker, rule, reason, suggestion string) string {
	s := "[" + rule + "] "
	if broker != "" {
		s += broker + ": "
	}
	s += reason
	if suggestion != "" {
		s += " -> " + suggestion
	}
	return s
}

func newLagAdviceCmd(e *env) *cobra.Command {
	return e.command("lagAdvice", "List consumer groups whose lag needs attention, worst first, with advice (Bolide).",
		func(fs *pflag.FlagSet) {
			fs.StringP("groupName", "g", "", "consumer group name (default: every group)")
			fs.StringP("topicName", "t", "", "topic name (default: every topic)")
			fs.StringP("cluster", "c", "", "ask the masters of this cluster (default: every broker)")
			fs.BoolP("all", "a", false, "list the groups that are OK too")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			all, _ := cmd.Flags().GetBool("all")
			return asResult(a.LagAdvice(ctx, LagAdviceOptions{
				Group: str(cmd, "groupName"), Topic: str(cmd, "topicName"), Cluster: str(cmd, "cluster"),
				All: all || str(cmd, "groupName") != "",
			}))
		})
}
