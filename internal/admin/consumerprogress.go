package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// Prefix of a consumer group's retry topic (MixAll.RETRY_GROUP_TOPIC_PREFIX).
const retryTopicPrefix = "%RETRY%"

// ConsumerProgress is the result of consumerProgress -g.
type ConsumerProgress struct {
	Group         string                  `json:"group"`
	Topic         string                  `json:"topic,omitempty"`
	Cluster       string                  `json:"cluster,omitempty"`
	Queues        []ConsumerQueueProgress `json:"queues"`
	ConsumeTps    float64                 `json:"consumeTps"`
	DiffTotal     int64                   `json:"diffTotal"`
	InflightTotal int64                   `json:"inflightTotal"`
	Errors        []Failure               `json:"errors,omitempty"`
	// Status is the group's lag status (OK, WARN, ERR) from the brokers'
	// lag evaluators, "" when none evaluates it; Advice their findings
	// (--advice).
	Status string        `json:"status,omitempty"`
	Advice []AdviceEntry `json:"advice,omitempty"`

	showClientIP bool
	showAdvice   bool
}

// ConsumerQueueProgress is one queue of a group's progress.
type ConsumerQueueProgress struct {
	Topic          string `json:"topic"`
	BrokerName     string `json:"brokerName"`
	QueueID        int32  `json:"queueId"`
	BrokerOffset   int64  `json:"brokerOffset"`
	ConsumerOffset int64  `json:"consumerOffset"`
	PullOffset     int64  `json:"pullOffset"`
	ClientIP       string `json:"clientIp,omitempty"`
	Diff           int64  `json:"diff"`
	Inflight       int64  `json:"inflight"`
	// LastTimestamp is the store time (ms) of the last consumed message, 0
	// when unknown.
	LastTimestamp int64 `json:"lastTimestamp"`
	// LagMillis is the age of the oldest unconsumed message: 0 when the
	// group is caught up, null when the broker did not say.
	LagMillis *int64 `json:"lagMillis"`
	// Status is the queue's lag status (OK, WARN, STOP, STALL, REWIND),
	// "" when the broker does not evaluate it.
	Status string `json:"status,omitempty"`
}

// ConsumerProgressOptions are the options of consumerProgress -g.
type ConsumerProgressOptions struct {
	Group        string
	Topic        string // "" for every topic the group has offsets for
	Cluster      string // -c: cluster name or LMQ parent topic
	ShowClientIP bool
	Advice       bool // list the lag evaluators' findings
}

// groupBrokers returns the brokers that may hold group's offsets: for an
// LMQ topic those of brokersFor; otherwise the brokers of the group's
// retry topic and of the topic, or every broker when neither has a route.
func (a *Admin) groupBrokers(ctx context.Context, group, topic, cluster string) ([]Broker, error) {
	if topic != "" && message.IsLMQ(topic) {
		return a.brokersFor(ctx, topic, cluster)
	}
	seen := map[string]bool{}
	var out []Broker
	for _, rt := range []string{retryTopicPrefix + group, topic} {
		if rt == "" {
			continue
		}
		bs, err := a.routeBrokers(ctx, rt, "topic")
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if !seen[b.Name] {
				seen[b.Name] = true
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		return a.allBrokers(ctx)
	}
	slices.SortFunc(out, func(x, y Broker) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

func isNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// consumeStats merges GET_CONSUME_STATS of group (and topic) over brokers.
func (a *Admin) consumeStats(ctx context.Context, brokers []Broker, group, topic string) (*body.ConsumeStats, []*BrokerError) {
	answers := fanOut(ctx, brokers, consumeStatsTimeout, func(ctx context.Context, b Broker) (*body.ConsumeStats, error) {
		return a.c.ConsumeStats(ctx, b.Addr, group, topic)
	})
	merged := &body.ConsumeStats{OffsetTable: map[body.MessageQueue]body.OffsetWrapper{}}
	var fails []*BrokerError
	for _, an := range answers {
		if absent(an.Err) {
			continue
		}
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		merged.ConsumeTps += an.Value.ConsumeTps
		for mq, ow := range an.Value.OffsetTable {
			merged.OffsetTable[mq] = ow
		}
	}
	return merged, fails
}

// ConsumerProgress reports a group's progress per queue, merged over the
// brokers that may hold it; for an LMQ topic without -c every broker is
// asked. A group with no progress anywhere asked is a *NotFoundError.
func (a *Admin) ConsumerProgress(ctx context.Context, o ConsumerProgressOptions) (*ConsumerProgress, error) {
	brokers, err := a.groupBrokers(ctx, o.Group, o.Topic, o.Cluster)
	if err != nil {
		return nil, err
	}
	stats, fails := a.consumeStats(ctx, brokers, o.Group, o.Topic)
	if len(stats.OffsetTable) == 0 {
		if len(fails) > 0 {
			return nil, partial(fails)
		}
		if o.Topic != "" {
			return nil, notFoundf("consumer group %s has no progress on topic %s", o.Group, o.Topic)
		}
		return nil, notFoundf("consumer group %s has no progress on any broker", o.Group)
	}
	var clientIPs map[body.MessageQueue]string
	if o.ShowClientIP {
		clientIPs = a.queueClients(ctx, brokers, o.Group)
	}
	now := a.now().UnixMilli()
	res := &ConsumerProgress{Group: o.Group, Topic: o.Topic, Cluster: o.Cluster, ConsumeTps: stats.ConsumeTps, showClientIP: o.ShowClientIP}
	mqs := make([]body.MessageQueue, 0, len(stats.OffsetTable))
	for mq := range stats.OffsetTable {
		mqs = append(mqs, mq)
	}
	slices.SortFunc(mqs, body.MessageQueue.Compare)
	for _, mq := range mqs {
		ow := stats.OffsetTable[mq]
		q := ConsumerQueueProgress{
			Topic: mq.Topic, BrokerName: mq.BrokerName, QueueID: mq.QueueID,
			BrokerOffset: ow.BrokerOffset, ConsumerOffset: ow.ConsumerOffset, PullOffset: ow.PullOffset,
			Diff: ow.BrokerOffset - ow.ConsumerOffset, Inflight: ow.PullOffset - ow.ConsumerOffset,
			LastTimestamp: ow.LastTimestamp,
		}
		if o.ShowClientIP {
			q.ClientIP = clientIPs[mq]
		}
		if q.Diff <= 0 {
			zero := int64(0)
			q.LagMillis = &zero
		} else if ts := ow.FirstUnconsumedTimestamp; ts > 0 {
			lag := max(now-ts, 0)
			q.LagMillis = &lag
		}
		res.DiffTotal += q.Diff
		res.InflightTotal += q.Inflight
		res.Queues = append(res.Queues, q)
	}
	a.addLagStatus(ctx, brokers, o, res)
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

// queueClients maps each queue to the IP of the client consuming it, from
// the running info of every online client of group (best effort, like
// Java: failures leave queues without an IP).
func (a *Admin) queueClients(ctx context.Context, brokers []Broker, group string) map[body.MessageQueue]string {
	out := map[body.MessageQueue]string{}
	for _, b := range brokers {
		cctx, cancel := withTimeout(ctx, adminTimeout)
		cc, err := a.c.ConsumerConnection(cctx, b.Addr, group)
		cancel()
		if err != nil || len(cc.ConnectionSet) == 0 {
			continue
		}
		for _, conn := range cc.ConnectionSet {
			cctx, cancel := withTimeout(ctx, adminTimeout)
			mqs, err := a.c.ConsumerQueues(cctx, b.Addr, group, conn.ClientID)
			cancel()
			if err != nil {
				continue
			}
			ip, _, _ := strings.Cut(conn.ClientID, "@")
			for _, mq := range mqs {
				out[mq] = ip
			}
		}
		return out
	}
	return out
}

// writeText prints ConsumerProgressSubCommand's table, with Bolide's
// #LagTime column after #Diff.
func (r *ConsumerProgress) writeText(w io.Writer, loc *time.Location) {
	if r.showClientIP {
		fmt.Fprintf(w, "%-64s  %-32s  %-4s  %-20s  %-20s  %-20s %-20s %-20s %-8s %-20s%s\n",
			"#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Client IP", "#Diff", "#LagTime", "#Status", "#Inflight", "#LastTime")
	} else {
		fmt.Fprintf(w, "%-64s  %-32s  %-4s  %-20s  %-20s  %-20s %-20s %-8s %-20s%s\n",
			"#Topic", "#Broker Name", "#QID", "#Broker Offset", "#Consumer Offset", "#Diff", "#LagTime", "#Status", "#Inflight", "#LastTime")
	}
	for _, q := range r.Queues {
		last := "N/A"
		if q.LastTimestamp != 0 {
			last = render.Date(q.LastTimestamp, loc)
		}
		lag := "-"
		if q.LagMillis != nil {
			lag = render.Lag(time.Duration(*q.LagMillis) * time.Millisecond)
		}
		status := q.Status
		if status == "" {
			status = "-"
		}
		if r.showClientIP {
			ip := q.ClientIP
			if ip == "" {
				ip = "N/A"
			}
			fmt.Fprintf(w, "%-64s  %-32s  %-4d  %-20d  %-20d  %-20s %-20d %-20s %-8s %-20d %s\n",
				render.Trunc(q.Topic, 64), render.Trunc(q.BrokerName, 32), q.QueueID, q.BrokerOffset, q.ConsumerOffset,
				ip, q.Diff, lag, status, q.Inflight, last)
		} else {
			fmt.Fprintf(w, "%-64s  %-32s  %-4d  %-20d  %-20d  %-20d %-20s %-8s %-20d %s\n",
				render.Trunc(q.Topic, 64), render.Trunc(q.BrokerName, 32), q.QueueID, q.BrokerOffset, q.ConsumerOffset,
				q.Diff, lag, status, q.Inflight, last)
		}
	}
	fmt.Fprintf(w, "\n")
	fmt.Fprintf(w, "Consume TPS: %.2f\n", r.ConsumeTps)
	fmt.Fprintf(w, "Consume Diff Total: %d\n", r.DiffTotal)
	fmt.Fprintf(w, "Consume Inflight Total: %d\n", r.InflightTotal)
	if r.showAdvice {
		r.writeAdvice(w)
	}
}

// GroupSummary is one row of consumerProgress without -g.
type GroupSummary struct {
	Group     string `json:"group"`
	Count     int    `json:"count"`             // online clients
	Version   string `json:"version,omitempty"` // lowest client version, "" when offline
	Type      string `json:"type,omitempty"`    // PUSH or PULL, "" when offline
	Model     string `json:"model,omitempty"`   // CLUSTERING or BROADCASTING for push groups
	Tps       int64  `json:"tps"`
	DiffTotal int64  `json:"diffTotal"`
}

// GroupProgressList is the result of consumerProgress without -g.
type GroupProgressList struct {
	Groups []GroupSummary `json:"groups"`
}

// GroupProgressList lists every consumer group with a retry topic on the
// name server (so, like Java, not LMQ groups) with its clients and lag.
// Per-group failures are left out of the row, as Java does.
func (a *Admin) GroupProgressList(ctx context.Context) (*GroupProgressList, error) {
	cctx, cancel := withTimeout(ctx, adminTimeout)
	topics, err := a.c.TopicList(cctx)
	cancel()
	if err != nil {
		return nil, namesrvError(err)
	}
	var groups []string
	seen := map[string]bool{}
	for _, t := range topics {
		g, ok := strings.CutPrefix(t, retryTopicPrefix)
		if !ok {
			continue
		}
		g, _, _ = strings.Cut(g, ":") // pop retry topics (v2): %RETRY%group:topic
		if !seen[g] {
			seen[g] = true
			groups = append(groups, g)
		}
	}
	slices.Sort(groups)
	res := &GroupProgressList{Groups: []GroupSummary{}}
	for _, g := range groups {
		res.Groups = append(res.Groups, a.groupSummary(ctx, g))
	}
	return res, nil
}

func (a *Admin) groupSummary(ctx context.Context, group string) GroupSummary {
	s := GroupSummary{Group: group}
	brokers, err := a.groupBrokers(ctx, group, "", "")
	if err != nil {
		return s
	}
	stats, _ := a.consumeStats(ctx, brokers, group, "")
	s.Tps = int64(stats.ConsumeTps)
	for _, ow := range stats.OffsetTable {
		s.DiffTotal += ow.BrokerOffset - ow.ConsumerOffset
	}
	for _, b := range brokers {
		cctx, cancel := withTimeout(ctx, adminTimeout)
		cc, err := a.c.ConsumerConnection(cctx, b.Addr, group)
		cancel()
		if err != nil || len(cc.ConnectionSet) == 0 {
			continue
		}
		s.Count = len(cc.ConnectionSet)
		minV := cc.ConnectionSet[0].Version
		for _, c := range cc.ConnectionSet {
			minV = min(minV, c.Version)
		}
		s.Version = render.VersionDesc(minV)
		s.Type = "PUSH"
		if cc.ConsumeType == "CONSUME_ACTIVELY" {
			s.Type = "PULL"
		} else if cc.ConsumeType == "CONSUME_PASSIVELY" {
			s.Model = cc.MessageModel
		}
		break
	}
	return s
}

func (r *GroupProgressList) writeText(w io.Writer, _ *time.Location) {
	fmt.Fprintf(w, "%-64s  %-6s  %-24s %-5s  %-14s  %-7s  %s\n", "#Group", "#Count", "#Version", "#Type", "#Model", "#TPS", "#Diff Total")
	for _, g := range r.Groups {
		version := g.Version
		if g.Count == 0 {
			version = "OFFLINE"
		}
		fmt.Fprintf(w, "%-64s  %-6d  %-24s %-5s  %-14s  %-7d  %d\n",
			render.Trunc(g.Group, 64), g.Count, version, g.Type, g.Model, g.Tps, g.DiffTotal)
	}
}

func newConsumerProgressCmd(e *env) *cobra.Command {
	return e.command("consumerProgress", "Query consumer's progress, speed.",
		func(fs *pflag.FlagSet) {
			fs.StringP("groupName", "g", "", "consumer group name")
			fs.StringP("topicName", "t", "", "topic name")
			fs.StringP("showClientIP", "s", "", "Show Client IP per Queue (true)")
			fs.StringP("cluster", "c", "", "Cluster name or lmq parent topic, lmq is used to find the route.")
			fs.Bool("advice", false, "print the lag evaluators' findings under the table (Bolide)")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			advice, _ := cmd.Flags().GetBool("advice")
			if !cmd.Flags().Changed("groupName") {
				return asResult(a.GroupProgressList(ctx))
			}
			return asResult(a.ConsumerProgress(ctx, ConsumerProgressOptions{
				Group:        str(cmd, "groupName"),
				Topic:        str(cmd, "topicName"),
				Cluster:      str(cmd, "cluster"),
				ShowClientIP: javaBool(str(cmd, "showClientIP")),
				Advice:       advice,
			}))
		})
}
