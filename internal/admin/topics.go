package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// TopicSysFlag bits (TopicSysFlag.buildSysFlag).
const (
	topicSysFlagUnit       = 1 << 0
	topicSysFlagUnitSubbed = 1 << 1
)

// TopicConfigView is a topic configuration in a JSON document.
type TopicConfigView struct {
	TopicName       string            `json:"topicName"`
	ReadQueueNums   int32             `json:"readQueueNums"`
	WriteQueueNums  int32             `json:"writeQueueNums"`
	Perm            int32             `json:"perm"`
	TopicFilterType string            `json:"topicFilterType"`
	TopicSysFlag    int32             `json:"topicSysFlag"`
	Order           bool              `json:"order"`
	Attributes      map[string]string `json:"attributes"`
}

// String is TopicConfig.toString.
func (t TopicConfigView) String() string {
	return fmt.Sprintf("TopicConfig [topicName=%s, readQueueNums=%d, writeQueueNums=%d, perm=%s, topicFilterType=%s, topicSysFlag=%d, order=%t, attributes=%s]",
		t.TopicName, t.ReadQueueNums, t.WriteQueueNums, render.Perm(t.Perm), t.TopicFilterType, t.TopicSysFlag, t.Order, render.StringMap(t.Attributes))
}

func (t TopicConfigView) config() body.TopicConfig {
	return body.TopicConfig{
		TopicName: t.TopicName, ReadQueueNums: t.ReadQueueNums, WriteQueueNums: t.WriteQueueNums,
		Perm: t.Perm, TopicFilterType: t.TopicFilterType, TopicSysFlag: t.TopicSysFlag, Order: t.Order,
		Attributes: t.Attributes,
	}
}

// parseAttributes reads "+a=b,+c=d,-e" like AttributeParser.parseToMap:
// "+key" -> value to set, "-key" -> "" to delete.
func parseAttributes(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		switch {
		case strings.HasPrefix(kv, "+"):
			k, v, ok := strings.Cut(kv, "=")
			if !ok || len(k) < 2 || v == "" {
				return nil, fmt.Errorf("attribute %q: want +key=value", kv)
			}
			out[k] = v
		case strings.HasPrefix(kv, "-"):
			if len(kv) < 2 || strings.Contains(kv, "=") {
				return nil, fmt.Errorf("attribute %q: want -key", kv)
			}
			out[kv] = ""
		default:
			return nil, fmt.Errorf("attribute %q: must start with + or -", kv)
		}
	}
	return out, nil
}

// UpdateTopicResult is the result of updateTopic.
type UpdateTopicResult struct {
	Brokers []string        `json:"brokers"` // addresses updated
	Config  TopicConfigView `json:"topicConfig"`
	Errors  []Failure       `json:"errors,omitempty"`
}

// UpdateTopic creates or updates a topic on one broker (addr) or on every
// master of cluster.
func (a *Admin) UpdateTopic(ctx context.Context, addr, cluster string, tc TopicConfigView) (*UpdateTopicResult, error) {
	var targets []Broker
	if addr != "" {
		targets = []Broker{{Addr: addr}}
	} else {
		ms, err := a.clusterMasters(ctx, cluster)
		if err != nil {
			return nil, err
		}
		targets = ms
	}
	res := &UpdateTopicResult{Config: tc}
	var fails []*BrokerError
	res.Brokers, fails = applyAll(ctx, targets, func(ctx context.Context, addr string) error {
		return a.c.UpdateTopic(ctx, addr, tc.config())
	})
	if len(res.Brokers) == 0 && len(fails) > 0 {
		return nil, partial(fails)
	}
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

func (r *UpdateTopicResult) writeText(w io.Writer, _ *time.Location) {
	for _, addr := range r.Brokers {
		fmt.Fprintf(w, "create topic to %s success.\n", addr)
	}
	fmt.Fprintf(w, "%s\n", r.Config)
}

func newUpdateTopicCmd(e *env) *cobra.Command {
	return e.command("updateTopic", "Update or create topic.",
		func(fs *pflag.FlagSet) {
			fs.StringP("brokerAddr", "b", "", "create topic to which broker")
			fs.StringP("clusterName", "c", "", "create topic to which cluster")
			fs.StringP("attributes", "a", "", "attribute(+a=b,+c=d,-e)")
			fs.StringP("topic", "t", "", "topic name")
			fs.StringP("readQueueNums", "r", "", "set read queue nums")
			fs.StringP("writeQueueNums", "w", "", "set write queue nums")
			fs.StringP("perm", "p", "", "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]")
			fs.StringP("order", "o", "", "set topic's order(true|false)")
			fs.StringP("unit", "u", "", "is unit topic (true|false)")
			fs.StringP("hasUnitSub", "s", "", "has unit sub (true|false)")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "topic"); err != nil {
				return nil, err
			}
			addr, cluster := str(cmd, "brokerAddr"), str(cmd, "clusterName")
			if (addr == "") == (cluster == "") {
				return nil, usagef("give one of -b/--brokerAddr and -c/--clusterName")
			}
			tc := TopicConfigView{
				TopicName: str(cmd, "topic"), ReadQueueNums: 8, WriteQueueNums: 8,
				Perm: client.PermRead | client.PermWrite, TopicFilterType: body.SingleTag,
			}
			attrs, err := parseAttributes(str(cmd, "attributes"))
			if err != nil {
				return nil, usagef("option -a/--attributes: %v", err)
			}
			tc.Attributes = attrs
			for _, f := range []struct {
				name string
				dst  *int32
			}{{"readQueueNums", &tc.ReadQueueNums}, {"writeQueueNums", &tc.WriteQueueNums}, {"perm", &tc.Perm}} {
				n, err := intFlag(cmd, f.name, int64(*f.dst))
				if err != nil {
					return nil, err
				}
				*f.dst = int32(n)
			}
			if javaBool(str(cmd, "unit")) {
				tc.TopicSysFlag |= topicSysFlagUnit
			}
			if javaBool(str(cmd, "hasUnitSub")) {
				tc.TopicSysFlag |= topicSysFlagUnitSubbed
			}
			tc.Order = javaBool(str(cmd, "order"))
			return asResult(a.UpdateTopic(ctx, addr, cluster, tc))
		})
}

// DeleteTopicResult is the result of deleteTopic.
type DeleteTopicResult struct {
	Topic    string    `json:"topic"`
	Cluster  string    `json:"cluster"`
	Brokers  []string  `json:"brokers"`  // broker addresses the topic was deleted on
	Namesrvs []string  `json:"namesrvs"` // name servers its route was deleted on
	Errors   []Failure `json:"errors,omitempty"`
}

// DeleteTopic deletes topic on every master of cluster, then its route on
// every name server.
func (a *Admin) DeleteTopic(ctx context.Context, topic, cluster string) (*DeleteTopicResult, error) {
	masters, err := a.clusterMasters(ctx, cluster)
	if err != nil {
		return nil, err
	}
	res := &DeleteTopicResult{Topic: topic, Cluster: cluster, Namesrvs: []string{}}
	var fails []*BrokerError
	res.Brokers, fails = applyAll(ctx, masters, func(ctx context.Context, addr string) error {
		return a.c.DeleteTopicInBroker(ctx, addr, topic)
	})
	for _, ns := range a.c.NamesrvAddrs() {
		cctx, cancel := withTimeout(ctx, adminTimeout)
		err := a.c.DeleteTopicInNamesrv(cctx, ns, cluster, topic)
		cancel()
		if err != nil {
			fails = append(fails, &BrokerError{Addr: ns, Err: err})
			continue
		}
		res.Namesrvs = append(res.Namesrvs, ns)
	}
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

func (r *DeleteTopicResult) writeText(w io.Writer, _ *time.Location) {
	if len(r.Brokers) > 0 {
		fmt.Fprintf(w, "delete topic [%s] from cluster [%s] success.\n", r.Topic, r.Cluster)
	}
	if len(r.Namesrvs) > 0 {
		fmt.Fprintf(w, "delete topic [%s] from NameServer success.\n", r.Topic)
	}
}

func newDeleteTopicCmd(e *env) *cobra.Command {
	return e.command("deleteTopic", "Delete topic from broker and NameServer.",
		func(fs *pflag.FlagSet) {
			fs.StringP("topic", "t", "", "topic name")
			fs.StringP("clusterName", "c", "", "delete topic from which cluster")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "topic", "clusterName"); err != nil {
				return nil, err
			}
			return asResult(a.DeleteTopic(ctx, str(cmd, "topic"), str(cmd, "clusterName")))
		})
}

// TopicListResult is the result of topicList.
type TopicListResult struct {
	Topics []string `json:"topics"`
	// Rows is set with -c: each topic (retry and DLQ topics left out) with
	// its cluster and consumer groups.
	Rows []TopicClusterRow `json:"rows,omitempty"`

	clusterMode bool
}

// TopicClusterRow is one topic of topicList -c.
type TopicClusterRow struct {
	Cluster string   `json:"cluster"`
	Topic   string   `json:"topic"`
	Groups  []string `json:"groups"`
}

// TopicList lists the topics the name servers know, sorted; with
// clusterMode, with their cluster and consuming groups.
func (a *Admin) TopicList(ctx context.Context, clusterMode bool) (*TopicListResult, error) {
	cctx, cancel := withTimeout(ctx, adminTimeout)
	topics, err := a.c.TopicList(cctx)
	cancel()
	if err != nil {
		return nil, namesrvError(err)
	}
	slices.Sort(topics)
	res := &TopicListResult{Topics: topics, clusterMode: clusterMode}
	if res.Topics == nil {
		res.Topics = []string{}
	}
	if !clusterMode {
		return res, nil
	}
	res.Rows = []TopicClusterRow{}
	for _, t := range topics {
		if strings.HasPrefix(t, retryTopicPrefix) || strings.HasPrefix(t, "%DLQ%") {
			continue
		}
		row := TopicClusterRow{Topic: t, Groups: []string{}}
		// Like Java, a topic whose cluster or groups cannot be read is
		// still listed, with what is known.
		if bs, err := a.routeBrokers(ctx, t, "topic"); err == nil && len(bs) > 0 {
			row.Cluster = bs[0].Cluster
			if groups, err := a.topicConsumers(ctx, bs[0], t); err == nil {
				row.Groups = groups
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

func (r *TopicListResult) writeText(w io.Writer, _ *time.Location) {
	if !r.clusterMode {
		for _, t := range r.Topics {
			fmt.Fprintf(w, "%s\n", t)
		}
		return
	}
	fmt.Fprintf(w, "%-20s  %-48s  %-48s\n", "#Cluster Name", "#Topic", "#Consumer Group")
	for _, row := range r.Rows {
		groups := row.Groups
		if len(groups) == 0 {
			groups = []string{""}
		}
		for _, g := range groups {
			fmt.Fprintf(w, "%-20s  %-64s  %-64s\n", render.Trunc(row.Cluster, 20), render.Trunc(row.Topic, 64), render.Trunc(g, 64))
		}
	}
}

func newTopicListCmd(e *env) *cobra.Command {
	return e.command("topicList", "Fetch all topic list from name server.",
		func(fs *pflag.FlagSet) {
			fs.BoolP("clusterModel", "c", false, "clusterModel")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			cm, _ := cmd.Flags().GetBool("clusterModel")
			return asResult(a.TopicList(ctx, cm))
		})
}

// TopicRoute is the result of topicRoute: the route in RocketMQ's field
// names.
type TopicRoute struct {
	BrokerDatas       []BrokerDataView  `json:"brokerDatas"`
	FilterServerTable map[string]string `json:"filterServerTable"`
	QueueDatas        []QueueDataView   `json:"queueDatas"`

	list bool
}

// BrokerDataView is one broker of a route.
type BrokerDataView struct {
	BrokerAddrs        map[string]string `json:"brokerAddrs"` // broker id -> address
	BrokerName         string            `json:"brokerName"`
	Cluster            string            `json:"cluster"`
	EnableActingMaster bool              `json:"enableActingMaster"`
}

// QueueDataView is one broker's queues of a route.
type QueueDataView struct {
	BrokerName     string `json:"brokerName"`
	Perm           int32  `json:"perm"`
	ReadQueueNums  int32  `json:"readQueueNums"`
	TopicSysFlag   int32  `json:"topicSysFlag"`
	WriteQueueNums int32  `json:"writeQueueNums"`
}

// TopicRoute returns topic's route; an unknown topic is a *NotFoundError.
func (a *Admin) TopicRoute(ctx context.Context, topic string, list bool) (*TopicRoute, error) {
	r, err := a.route(ctx, topic, "topic")
	if err != nil {
		return nil, err
	}
	res := &TopicRoute{FilterServerTable: map[string]string{}, BrokerDatas: []BrokerDataView{}, QueueDatas: []QueueDataView{}, list: list}
	for _, bd := range r.Data.BrokerDatas {
		v := BrokerDataView{BrokerAddrs: map[string]string{}, BrokerName: bd.BrokerName, Cluster: bd.Cluster, EnableActingMaster: bd.EnableActingMaster}
		for id, addr := range bd.BrokerAddrs {
			v.BrokerAddrs[strconv.FormatInt(id, 10)] = addr
		}
		res.BrokerDatas = append(res.BrokerDatas, v)
	}
	for _, qd := range r.Data.QueueDatas {
		res.QueueDatas = append(res.QueueDatas, QueueDataView{
			BrokerName: qd.BrokerName, Perm: qd.Perm, ReadQueueNums: qd.ReadQueueNums,
			TopicSysFlag: qd.TopicSysFlag, WriteQueueNums: qd.WriteQueueNums,
		})
	}
	slices.SortFunc(res.BrokerDatas, func(x, y BrokerDataView) int { return strings.Compare(x.BrokerName, y.BrokerName) })
	slices.SortFunc(res.QueueDatas, func(x, y QueueDataView) int { return strings.Compare(x.BrokerName, y.BrokerName) })
	return res, nil
}

// writeText prints the route as indented JSON (tabs, like fastjson's
// pretty format), or with -l as TopicRouteSubCommand's list.
func (r *TopicRoute) writeText(w io.Writer, _ *time.Location) {
	if !r.list {
		b, _ := json.MarshalIndent(r, "", "\t") // only maps, strings and numbers
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	const format = "%-45s %-32s %-50s %-10s %-11s %-5s\n"
	qds := map[string]QueueDataView{}
	for _, qd := range r.QueueDatas {
		qds[qd.BrokerName] = qd
	}
	fmt.Fprintf(w, format, "#ClusterName", "#BrokerName", "#BrokerAddrs", "#ReadQueue", "#WriteQueue", "#Perm")
	var reads, writes int32
	for _, bd := range r.BrokerDatas {
		qd := qds[bd.BrokerName]
		reads += qd.ReadQueueNums
		writes += qd.WriteQueueNums
		fmt.Fprintf(w, format, bd.Cluster, bd.BrokerName, addrMap(bd.BrokerAddrs),
			strconv.Itoa(int(qd.ReadQueueNums)), strconv.Itoa(int(qd.WriteQueueNums)), strconv.Itoa(int(qd.Perm)))
	}
	fmt.Fprintf(w, "%s\n", strings.Repeat("-", 158))
	fmt.Fprintf(w, format, "Total:", strconv.Itoa(len(qds)), "", strconv.Itoa(int(reads)), strconv.Itoa(int(writes)), "")
}

// addrMap formats broker addresses like Java's HashMap<Long,String>
// toString, ids ascending: {0=127.0.0.1:10911, 1=...}.
func addrMap(m map[string]string) string {
	ids := make([]int64, 0, len(m))
	for k := range m {
		id, _ := strconv.ParseInt(k, 10, 64)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%d=%s", id, m[strconv.FormatInt(id, 10)])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func newTopicRouteCmd(e *env) *cobra.Command {
	return e.command("topicRoute", "Examine topic route info.",
		func(fs *pflag.FlagSet) {
			fs.StringP("topic", "t", "", "topic name")
			fs.BoolP("list", "l", false, "Use list format to print data")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "topic"); err != nil {
				return nil, err
			}
			list, _ := cmd.Flags().GetBool("list")
			return asResult(a.TopicRoute(ctx, str(cmd, "topic"), list))
		})
}
