package admin

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/protocol/fastjson"
)

// ConsumerConnectionResult is the result of consumerConnection.
type ConsumerConnectionResult struct {
	Group            string             `json:"group"`
	Broker           Broker             `json:"broker"` // the broker that answered
	Connections      []ConnectionView   `json:"connections"`
	Subscriptions    []SubscriptionView `json:"subscriptions"`
	ConsumeType      string             `json:"consumeType"`
	MessageModel     string             `json:"messageModel"`
	ConsumeFromWhere string             `json:"consumeFromWhere"`
}

// ConnectionView is one client connection.
type ConnectionView struct {
	ClientID   string `json:"clientId"`
	ClientAddr string `json:"clientAddr"`
	Language   string `json:"language"`
	Version    string `json:"version"` // MQVersion name, e.g. V5_3_3
}

// SubscriptionView is one topic subscription of a group.
type SubscriptionView struct {
	Topic         string `json:"topic"`
	SubExpression string `json:"subExpression"`
}

// ConsumerConnection returns the online clients of group as one broker
// sees them: the broker at brokerAddr, else the first broker of the
// group's retry topic (or, without one, of the cluster) that knows them.
// An offline group is a *NotFoundError.
func (a *Admin) ConsumerConnection(ctx context.Context, group, brokerAddr string) (*ConsumerConnectionResult, error) {
	var brokers []Broker
	if brokerAddr != "" {
		brokers = []Broker{{Addr: brokerAddr}}
	} else {
		bs, err := a.groupBrokers(ctx, group, "", "")
		if err != nil {
			return nil, err
		}
		brokers = bs
	}
	var fails []*BrokerError
	for _, b := range brokers {
		cctx, cancel := withTimeout(ctx, adminTimeout)
		cc, err := a.c.ConsumerConnection(cctx, b.Addr, group)
		cancel()
		if client.IsCode(err, protocol.ConsumerNotOnline) || (err == nil && len(cc.ConnectionSet) == 0) || absent(err) {
			continue
		}
		if err != nil {
			fails = append(fails, failure(b, err))
			continue
		}
		res := &ConsumerConnectionResult{
			Group: group, Broker: b, Connections: []ConnectionView{}, Subscriptions: []SubscriptionView{},
			ConsumeType: cc.ConsumeType, MessageModel: cc.MessageModel, ConsumeFromWhere: cc.ConsumeFromWhere,
		}
		for _, c := range cc.ConnectionSet {
			res.Connections = append(res.Connections, ConnectionView{ClientID: c.ClientID, ClientAddr: c.ClientAddr, Language: c.Language, Version: render.VersionDesc(c.Version)})
		}
		slices.SortFunc(res.Connections, func(x, y ConnectionView) int { return strings.Compare(x.ClientID, y.ClientID) })
		for _, t := range slices.Sorted(maps.Keys(cc.SubscriptionTable)) {
			sd := cc.SubscriptionTable[t]
			res.Subscriptions = append(res.Subscriptions, SubscriptionView{Topic: sd.Topic, SubExpression: sd.SubString})
		}
		return res, nil
	}
	if len(fails) > 0 {
		return nil, partial(fails)
	}
	return nil, notFoundf("consumer group %s is not online", group)
}

// writeText prints ConsumerConnectionSubCommand's lines.
func (r *ConsumerConnectionResult) writeText(w io.Writer, _ *time.Location) {
	fmt.Fprintf(w, "%-36s %-22s %-10s %s\n", "#ClientId", "#ClientAddr", "#Language", "#Version")
	for _, c := range r.Connections {
		fmt.Fprintf(w, "%-36s %-22s %-10s %s\n", c.ClientID, c.ClientAddr, c.Language, c.Version)
	}
	fmt.Fprintf(w, "\nBelow is subscription:\n")
	fmt.Fprintf(w, "%-20s %s\n", "#Topic", "#SubExpression")
	for _, s := range r.Subscriptions {
		fmt.Fprintf(w, "%-20s %s\n", s.Topic, s.SubExpression)
	}
	fmt.Fprintf(w, "\n")
	fmt.Fprintf(w, "ConsumeType: %s\n", render.Nullable(r.ConsumeType))
	fmt.Fprintf(w, "MessageModel: %s\n", render.Nullable(r.MessageModel))
	fmt.Fprintf(w, "ConsumeFromWhere: %s\n", render.Nullable(r.ConsumeFromWhere))
}

func newConsumerConnectionCmd(e *env) *cobra.Command {
	return e.command("consumerConnection", "Query consumer's socket connection, client version and subscription.",
		func(fs *pflag.FlagSet) {
			fs.StringP("consumerGroup", "g", "", "consumer group name")
			fs.StringP("brokerAddr", "b", "", "broker address")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "consumerGroup"); err != nil {
				return nil, err
			}
			return asResult(a.ConsumerConnection(ctx, str(cmd, "consumerGroup"), str(cmd, "brokerAddr")))
		})
}

// GroupConfigView is a subscription group configuration in a JSON
// document.
type GroupConfigView struct {
	GroupName                      string            `json:"groupName"`
	ConsumeEnable                  bool              `json:"consumeEnable"`
	ConsumeFromMinEnable           bool              `json:"consumeFromMinEnable"`
	ConsumeBroadcastEnable         bool              `json:"consumeBroadcastEnable"`
	ConsumeMessageOrderly          bool              `json:"consumeMessageOrderly"`
	RetryQueueNums                 int32             `json:"retryQueueNums"`
	RetryMaxTimes                  int32             `json:"retryMaxTimes"`
	GroupRetryPolicy               string            `json:"groupRetryPolicy"` // its JSON
	BrokerID                       int64             `json:"brokerId"`
	WhichBrokerWhenConsumeSlowly   int64             `json:"whichBrokerWhenConsumeSlowly"`
	NotifyConsumerIdsChangedEnable bool              `json:"notifyConsumerIdsChangedEnable"`
	GroupSysFlag                   int32             `json:"groupSysFlag"`
	ConsumeTimeoutMinute           int32             `json:"consumeTimeoutMinute"`
	Attributes                     map[string]string `json:"attributes"`
}

func groupView(c body.SubscriptionGroupConfig) GroupConfigView {
	policy := `{"type":"` + c.GroupRetryPolicy.Type + `"}`
	if c.GroupRetryPolicy.Type == "" {
		policy = `{"type":"` + body.RetryPolicyCustomized + `"}`
	}
	return GroupConfigView{
		GroupName: c.GroupName, ConsumeEnable: c.ConsumeEnable, ConsumeFromMinEnable: c.ConsumeFromMinEnable,
		ConsumeBroadcastEnable: c.ConsumeBroadcastEnable, ConsumeMessageOrderly: c.ConsumeMessageOrderly,
		RetryQueueNums: c.RetryQueueNums, RetryMaxTimes: c.RetryMaxTimes, GroupRetryPolicy: policy,
		BrokerID: c.BrokerID, WhichBrokerWhenConsumeSlowly: c.WhichBrokerWhenConsumeSlowly,
		NotifyConsumerIdsChangedEnable: c.NotifyConsumerIdsChangedEnable, GroupSysFlag: c.GroupSysFlag,
		ConsumeTimeoutMinute: c.ConsumeTimeoutMinute, Attributes: c.Attributes,
	}
}

// retryPolicyString is GroupRetryPolicy.toString (MoreObjects form); the
// nested policies print as their JSON.
func retryPolicyString(p body.GroupRetryPolicy) string {
	typ := p.Type
	if typ == "" {
		typ = body.RetryPolicyCustomized
	}
	nested := func(v fastjson.Value) string {
		if v.IsNull() {
			return "null"
		}
		var w fastjson.Writer
		w.Value(&v)
		return string(w.Bytes())
	}
	return fmt.Sprintf("GroupRetryPolicy{type=%s, exponentialRetryPolicy=%s, customizedRetryPolicy=%s}",
		typ, nested(p.ExponentialRetryPolicy), nested(p.CustomizedRetryPolicy))
}

// groupString is SubscriptionGroupConfig.toString.
func groupString(c body.SubscriptionGroupConfig) string {
	return fmt.Sprintf("SubscriptionGroupConfig{groupName=%s, consumeEnable=%t, consumeFromMinEnable=%t, consumeBroadcastEnable=%t, "+
		"consumeMessageOrderly=%t, retryQueueNums=%d, retryMaxTimes=%d, groupRetryPolicy=%s, brokerId=%d, "+
		"whichBrokerWhenConsumeSlowly=%d, notifyConsumerIdsChangedEnable=%t, groupSysFlag=%d, consumeTimeoutMinute=%d, "+
		"subscriptionDataSet=null, attributes=%s}",
		c.GroupName, c.ConsumeEnable, c.ConsumeFromMinEnable, c.ConsumeBroadcastEnable, c.ConsumeMessageOrderly,
		c.RetryQueueNums, c.RetryMaxTimes, retryPolicyString(c.GroupRetryPolicy), c.BrokerID,
		c.WhichBrokerWhenConsumeSlowly, c.NotifyConsumerIdsChangedEnable, c.GroupSysFlag, c.ConsumeTimeoutMinute,
		render.StringMap(c.Attributes))
}

// UpdateGroupResult is the result of updateSubGroup.
type UpdateGroupResult struct {
	Brokers []string        `json:"brokers"`
	Config  GroupConfigView `json:"groupConfig"`
	Errors  []Failure       `json:"errors,omitempty"`

	cfg body.SubscriptionGroupConfig
}

// UpdateSubGroup creates or updates a subscription group on the broker at
// addr or on every master of cluster.
func (a *Admin) UpdateSubGroup(ctx context.Context, addr, cluster string, cfg body.SubscriptionGroupConfig) (*UpdateGroupResult, error) {
	targets := []Broker{{Addr: addr}}
	if addr == "" {
		ms, err := a.clusterMasters(ctx, cluster)
		if err != nil {
			return nil, err
		}
		targets = ms
	}
	res := &UpdateGroupResult{Config: groupView(cfg), cfg: cfg}
	var fails []*BrokerError
	res.Brokers, fails = applyAll(ctx, targets, func(ctx context.Context, addr string) error {
		return a.c.UpdateGroup(ctx, addr, cfg)
	})
	if len(res.Brokers) == 0 && len(fails) > 0 {
		return nil, partial(fails)
	}
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

func (r *UpdateGroupResult) writeText(w io.Writer, _ *time.Location) {
	for _, addr := range r.Brokers {
		fmt.Fprintf(w, "create subscription group to %s success.\n", addr)
	}
	fmt.Fprintf(w, "%s\n", groupString(r.cfg))
}

func newUpdateSubGroupCmd(e *env) *cobra.Command {
	return e.command("updateSubGroup", "Update or create subscription group.",
		func(fs *pflag.FlagSet) {
			fs.StringP("brokerAddr", "b", "", "create subscription group to which broker")
			fs.StringP("clusterName", "c", "", "create subscription group to which cluster")
			fs.StringP("groupName", "g", "", "consumer group name")
			fs.StringP("consumeEnable", "s", "", "consume enable")
			fs.StringP("consumeFromMinEnable", "m", "", "from min offset")
			fs.StringP("consumeBroadcastEnable", "d", "", "broadcast")
			fs.StringP("consumeMessageOrderly", "o", "", "consume message orderly")
			fs.StringP("retryQueueNums", "q", "", "retry queue nums")
			fs.StringP("retryMaxTimes", "r", "", "retry max times")
			fs.StringP("groupRetryPolicy", "p", "", `the json string of retry policy ( exp: {"type":"EXPONENTIAL","exponentialRetryPolicy":{"initial":5000,"max":7200000,"multiplier":2}} {"type":"CUSTOMIZED","customizedRetryPolicy":{"next":[1000,5000,10000]}} )`)
			fs.StringP("brokerId", "i", "", "consumer from which broker id")
			fs.StringP("whichBrokerWhenConsumeSlowly", "w", "", "which broker id when consume slowly")
			fs.StringP("notifyConsumerIdsChanged", "a", "", "notify consumerId changed")
			fs.String("attributes", "", "attribute(+a=b,+c=d,-e)")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "groupName"); err != nil {
				return nil, err
			}
			addr, cluster := str(cmd, "brokerAddr"), str(cmd, "clusterName")
			if addr == "" && cluster == "" {
				return nil, usagef("give -b/--brokerAddr or -c/--clusterName")
			}
			cfg, err := groupConfig(cmd)
			if err != nil {
				return nil, err
			}
			return asResult(a.UpdateSubGroup(ctx, addr, cluster, cfg))
		})
}

// groupConfig builds the configuration from the flags over Java's
// defaults, with broadcast and from-min consumption off as the command
// sets them.
func groupConfig(cmd *cobra.Command) (body.SubscriptionGroupConfig, error) {
	cfg := body.NewSubscriptionGroupConfig(str(cmd, "groupName"))
	cfg.ConsumeBroadcastEnable = false
	cfg.ConsumeFromMinEnable = false
	changed := cmd.Flags().Changed
	for _, b := range []struct {
		name string
		dst  *bool
	}{
		{"consumeEnable", &cfg.ConsumeEnable},
		{"consumeFromMinEnable", &cfg.ConsumeFromMinEnable},
		{"consumeBroadcastEnable", &cfg.ConsumeBroadcastEnable},
		{"consumeMessageOrderly", &cfg.ConsumeMessageOrderly},
		{"notifyConsumerIdsChanged", &cfg.NotifyConsumerIdsChangedEnable},
	} {
		if changed(b.name) {
			*b.dst = javaBool(str(cmd, b.name))
		}
	}
	for _, n := range []struct {
		name string
		dst  *int32
	}{{"retryQueueNums", &cfg.RetryQueueNums}, {"retryMaxTimes", &cfg.RetryMaxTimes}} {
		v, err := intFlag(cmd, n.name, int64(*n.dst))
		if err != nil {
			return cfg, err
		}
		*n.dst = int32(v)
	}
	for _, n := range []struct {
		name string
		dst  *int64
	}{{"brokerId", &cfg.BrokerID}, {"whichBrokerWhenConsumeSlowly", &cfg.WhichBrokerWhenConsumeSlowly}} {
		v, err := intFlag(cmd, n.name, *n.dst)
		if err != nil {
			return cfg, err
		}
		*n.dst = v
	}
	if changed("groupRetryPolicy") {
		p, err := parseRetryPolicy(str(cmd, "groupRetryPolicy"))
		if err != nil {
			return cfg, usagef("option -p/--groupRetryPolicy: %v", err)
		}
		cfg.GroupRetryPolicy = p
	}
	if changed("attributes") {
		attrs, err := parseAttributes(str(cmd, "attributes"))
		if err != nil {
			return cfg, usagef("option --attributes: %v", err)
		}
		cfg.Attributes = attrs
	}
	return cfg, nil
}

func parseRetryPolicy(s string) (body.GroupRetryPolicy, error) {
	v, err := fastjson.Parse([]byte(s))
	if err != nil {
		return body.GroupRetryPolicy{}, err
	}
	if v.Kind != fastjson.KindObject {
		return body.GroupRetryPolicy{}, fmt.Errorf("want a JSON object")
	}
	var p body.GroupRetryPolicy
	if t := v.Get("type"); !t.IsNull() {
		p.Type, _ = t.AsString()
	}
	switch p.Type {
	case "", body.RetryPolicyCustomized, body.RetryPolicyExponential:
	default:
		return p, fmt.Errorf("type %q: want %s or %s", p.Type, body.RetryPolicyCustomized, body.RetryPolicyExponential)
	}
	if e := v.Get("exponentialRetryPolicy"); !e.IsNull() {
		p.ExponentialRetryPolicy = *e
	}
	if c := v.Get("customizedRetryPolicy"); !c.IsNull() {
		p.CustomizedRetryPolicy = *c
	}
	return p, nil
}

// DeleteGroupResult is the result of deleteSubGroup.
type DeleteGroupResult struct {
	Group   string    `json:"group"`
	Cluster string    `json:"cluster,omitempty"`
	Brokers []string  `json:"brokers"`
	Errors  []Failure `json:"errors,omitempty"`
}

// DeleteSubGroup deletes a subscription group on the broker at addr or on
// every master of cluster; with a cluster its retry and DLQ topics are
// deleted too, as Java does.
func (a *Admin) DeleteSubGroup(ctx context.Context, addr, cluster, group string, cleanOffset bool) (*DeleteGroupResult, error) {
	targets := []Broker{{Addr: addr}}
	if addr == "" {
		ms, err := a.clusterMasters(ctx, cluster)
		if err != nil {
			return nil, err
		}
		targets = ms
	}
	res := &DeleteGroupResult{Group: group, Cluster: cluster}
	var fails []*BrokerError
	res.Brokers, fails = applyAll(ctx, targets, func(ctx context.Context, addr string) error {
		return a.c.DeleteGroup(ctx, addr, group, cleanOffset)
	})
	if addr == "" {
		for _, t := range []string{retryTopicPrefix + group, "%DLQ%" + group} {
			if _, err := a.DeleteTopic(ctx, t, cluster); err != nil {
				fails = append(fails, &BrokerError{Err: fmt.Errorf("delete topic %s: %w", t, err)})
			}
		}
	}
	if len(res.Brokers) == 0 && len(fails) > 0 {
		return nil, partial(fails)
	}
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

func (r *DeleteGroupResult) writeText(w io.Writer, _ *time.Location) {
	for _, addr := range r.Brokers {
		if r.Cluster == "" {
			fmt.Fprintf(w, "delete subscription group [%s] from broker [%s] success.\n", r.Group, addr)
		} else {
			fmt.Fprintf(w, "delete subscription group [%s] from broker [%s] in cluster [%s] success.\n", r.Group, addr, r.Cluster)
		}
	}
}

func newDeleteSubGroupCmd(e *env) *cobra.Command {
	return e.command("deleteSubGroup", "Delete subscription group from broker.",
		func(fs *pflag.FlagSet) {
			fs.StringP("brokerAddr", "b", "", "delete subscription group from which broker")
			fs.StringP("clusterName", "c", "", "delete subscription group from which cluster")
			fs.StringP("groupName", "g", "", "subscription group name")
			fs.StringP("removeOffset", "r", "", "remove offset")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "groupName"); err != nil {
				return nil, err
			}
			addr, cluster := str(cmd, "brokerAddr"), str(cmd, "clusterName")
			if addr == "" && cluster == "" {
				return nil, usagef("give -b/--brokerAddr or -c/--clusterName")
			}
			if addr != "" {
				cluster = ""
			}
			return asResult(a.DeleteSubGroup(ctx, addr, cluster, str(cmd, "groupName"), javaBool(str(cmd, "removeOffset"))))
		})
}
