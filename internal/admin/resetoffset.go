package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// ResetOptions are the options of resetOffsetByTime.
type ResetOptions struct {
	Group, Topic string
	// Timestamp is the target time (ms); TimestampText is -s as given, for
	// the output.
	Timestamp     int64
	TimestampText string
	Force         bool   // -f, sent to Apache brokers only (Bolide ignores it, as server-side resets do)
	Cluster       string // -c: cluster name or LMQ parent topic
	// Broker (-b: address or name) with QueueID (-q) resets one queue, to
	// Offset (-o) when set, else by Timestamp.
	Broker  string
	QueueID *int32
	Offset  *int64
	DryRun  bool   // plan only
	Undo    string // restore the offsets an earlier operation replaced
}

// ResetResult is the result of resetOffsetByTime: what each queue's
// broker did.
type ResetResult struct {
	OpID          string            `json:"opId"`
	Group         string            `json:"group,omitempty"`
	Topic         string            `json:"topic,omitempty"`
	Timestamp     int64             `json:"timestamp"`
	TimestampText string            `json:"timestampText,omitempty"`
	Force         bool              `json:"force"`
	DryRun        bool              `json:"dryRun"`
	Undo          string            `json:"undo,omitempty"`
	Queues        []body.ResetQueue `json:"queues"`
	Errors        []Failure         `json:"errors,omitempty"`

	opts ResetOptions
}

// newOpID returns an operation id: the UTC time to the millisecond, so ids
// sort by creation, and 32 random bits, e.g. 20240501T100000.123Z-9f3a2b1c.
func newOpID(now time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(r[:])
}

// apacheReason marks rows reset through upstream's
// INVOKE_BROKER_TO_RESET_OFFSET, which does not report old offsets.
const apacheReason = "Apache RocketMQ broker: reset with INVOKE_BROKER_TO_RESET_OFFSET, old offset not reported"

// ResetOffsetByTime resets a group's offsets of topic to the first
// message stored at or after the timestamp (or, for one queue, to an
// explicit offset) on every broker involved, as one logged operation with
// a fresh id (BOLIDE_RESET_OFFSET). A broker that does not know that
// request (an Apache RocketMQ broker) gets INVOKE_BROKER_TO_RESET_OFFSET
// instead. Brokers without the topic or group are left out; when all are,
// the result is a *NotFoundError.
func (a *Admin) ResetOffsetByTime(ctx context.Context, o ResetOptions) (*ResetResult, error) {
	var brokers []Broker
	var err error
	switch {
	case o.Broker != "":
		var b Broker
		b, err = a.resolveBroker(ctx, o.Broker)
		brokers = []Broker{b}
	case o.Undo != "" && o.Topic == "":
		if o.Cluster != "" {
			brokers, err = a.routeBrokers(ctx, o.Cluster, "cluster or parent topic")
		} else {
			brokers, err = a.allBrokers(ctx)
		}
	default:
		brokers, err = a.brokersFor(ctx, o.Topic, o.Cluster)
	}
	if err != nil {
		return nil, err
	}
	res := &ResetResult{
		OpID: newOpID(a.now()), Group: o.Group, Topic: o.Topic, Timestamp: o.Timestamp,
		TimestampText: o.TimestampText, Force: o.Force, DryRun: o.DryRun, Undo: o.Undo,
		Queues: []body.ResetQueue{}, opts: o,
	}
	h := protocol.BolideResetOffsetRequestHeader{
		Topic: o.Topic, Group: o.Group, Timestamp: o.Timestamp, QueueID: o.QueueID, Offset: o.Offset,
		OpID: res.OpID, DryRun: o.DryRun, Undo: o.Undo,
	}
	answers := fanOut(ctx, brokers, adminTimeout, func(ctx context.Context, b Broker) ([]body.ResetQueue, error) {
		r, err := a.c.ResetOffset(ctx, b.Addr, h)
		if client.IsCode(err, protocol.RequestCodeNotSupported) {
			return a.resetApache(ctx, b, o)
		}
		if err != nil {
			return nil, err
		}
		return r.Queues, nil
	})
	var fails []*BrokerError
	found := false
	for _, an := range answers {
		if absent(an.Err) {
			continue
		}
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		found = true
		for _, q := range an.Value {
			if q.BrokerName == "" {
				q.BrokerName = an.Broker.Name
			}
			res.Queues = append(res.Queues, q)
		}
	}
	if !found && len(fails) == 0 {
		if o.Undo != "" {
			return nil, notFoundf("reset operation %s not found on any broker asked", o.Undo)
		}
		return nil, notFoundf("topic %s or group %s not found on any broker asked", o.Topic, o.Group)
	}
	if !found {
		return nil, partial(fails)
	}
	slices.SortFunc(res.Queues, func(x, y body.ResetQueue) int {
		return body.MessageQueue{Topic: x.Topic, BrokerName: x.BrokerName, QueueID: x.QueueID}.
			Compare(body.MessageQueue{Topic: y.Topic, BrokerName: y.BrokerName, QueueID: y.QueueID})
	})
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

// resetApache resets through upstream's INVOKE_BROKER_TO_RESET_OFFSET.
// It can neither plan nor undo, so those are refused for such a broker.
func (a *Admin) resetApache(ctx context.Context, b Broker, o ResetOptions) ([]body.ResetQueue, error) {
	if o.DryRun || o.Undo != "" {
		return nil, fmt.Errorf("--dry-run and --undo need a Bolide broker; this one does not support BOLIDE_RESET_OFFSET")
	}
	h := protocol.ResetOffsetRequestHeader{Topic: o.Topic, Group: o.Group, Timestamp: o.Timestamp, IsForce: o.Force, QueueID: o.QueueID, Offset: o.Offset}
	rb, err := a.c.InvokeResetOffset(ctx, b.Addr, h)
	if err != nil {
		return nil, err
	}
	out := make([]body.ResetQueue, 0, len(rb.OffsetTable))
	for mq, off := range rb.OffsetTable {
		out = append(out, body.ResetQueue{
			Topic: mq.Topic, BrokerName: mq.BrokerName, QueueID: mq.QueueID,
			Old: -1, New: off, Status: body.ResetApplied, Reason: apacheReason,
		})
	}
	return out, nil
}

// writeText prints ResetOffsetByTimeCommand's lines, its rows extended
// with the old offset, the outcome and why, then the operation id.
func (r *ResetResult) writeText(w io.Writer, _ *time.Location) {
	o := r.opts
	switch {
	case o.Undo != "":
		fmt.Fprintf(w, "undo reset operation %s\n", o.Undo)
	case o.Broker != "" && o.QueueID != nil:
		fmt.Fprintf(w, "start reset consumer offset by specified, group[%s], topic[%s], queueId[%d], broker[%s], timestamp(string)[%s], timestamp(long)[%d]\n",
			r.Group, r.Topic, *o.QueueID, o.Broker, r.TimestampText, r.Timestamp)
		if len(r.Queues) == 1 {
			fmt.Fprintf(w, "reset consumer offset to %d\n", r.Queues[0].New)
		}
	default:
		fmt.Fprintf(w, "start reset consumer offset by specified, group[%s], topic[%s], force[%t], timestamp(string)[%s], timestamp(long)[%d]\n",
			r.Group, r.Topic, r.Force, r.TimestampText, r.Timestamp)
	}
	fmt.Fprintf(w, "%-40s  %-40s  %-40s  %-20s  %-10s  %s\n", "#brokerName", "#queueId", "#offset", "#old", "#status", "#reason")
	for _, q := range r.Queues {
		old := "-"
		if q.Old >= 0 {
			old = fmt.Sprint(q.Old)
		}
		fmt.Fprintf(w, "%-40s  %-40d  %-40d  %-20s  %-10s  %s\n", render.Trunc(q.BrokerName, 32), q.QueueID, q.New, old, q.Status, q.Reason)
	}
	if r.DryRun {
		fmt.Fprintf(w, "operation id: %s (dry run: no offset was changed)\n", r.OpID)
		return
	}
	fmt.Fprintf(w, "operation id: %s (undo with --undo %s)\n", r.OpID, r.OpID)
}

func newResetOffsetByTimeCmd(e *env) *cobra.Command {
	return e.command("resetOffsetByTime", "Reset consumer offset by timestamp(without client restart).",
		func(fs *pflag.FlagSet) {
			fs.StringP("group", "g", "", "set the consumer group")
			fs.StringP("topic", "t", "", "set the topic (a normal topic or an LMQ)")
			fs.StringP("timestamp", "s", "", "set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS|RFC 3339]")
			fs.StringP("force", "f", "", "set the force rollback by timestamp switch[true|false]. Deprecated.")
			fs.StringP("broker", "b", "", "broker addr (or name), with -q: reset one queue")
			fs.StringP("queue", "q", "", "queue id")
			fs.StringP("offset", "o", "", "Expect queue offset (with -b and -q)")
			fs.StringP("cluster", "c", "", "Cluster name or lmq parent topic, lmq is used to find the route.")
			fs.Bool("dry-run", false, "show what would be reset, change nothing")
			fs.String("undo", "", "restore the offsets replaced by the reset operation with this id")
			fs.Bool("cplus", false, "reset c++ client offset. Deprecated, ignored.")
			_ = fs.MarkDeprecated("cplus", "it has no effect")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			o, err := resetOptions(cmd, a)
			if err != nil {
				return nil, err
			}
			return asResult(a.ResetOffsetByTime(ctx, o))
		})
}

func resetOptions(cmd *cobra.Command, a *Admin) (ResetOptions, error) {
	o := ResetOptions{
		Group: str(cmd, "group"), Topic: str(cmd, "topic"), Cluster: str(cmd, "cluster"),
		Broker: str(cmd, "broker"), Force: true, Undo: str(cmd, "undo"),
	}
	o.DryRun, _ = cmd.Flags().GetBool("dry-run")
	changed := cmd.Flags().Changed
	if o.Undo == "" {
		if err := require(cmd, "group", "topic"); err != nil {
			return o, err
		}
		if !changed("offset") {
			if err := require(cmd, "timestamp"); err != nil {
				return o, err
			}
		}
	}
	if changed("timestamp") {
		o.TimestampText = str(cmd, "timestamp")
		ts, err := ParseTimestamp(o.TimestampText, a.now(), a.loc)
		if err != nil {
			return o, usagef("option -s/--timestamp: %v", err)
		}
		o.Timestamp = ts
	}
	if changed("force") {
		o.Force = javaBool(str(cmd, "force"))
	}
	if changed("queue") {
		q, err := intFlag(cmd, "queue", -1)
		if err != nil {
			return o, err
		}
		qid := int32(q)
		o.QueueID = &qid
	}
	if changed("offset") {
		off, err := intFlag(cmd, "offset", -1)
		if err != nil {
			return o, err
		}
		o.Offset = &off
	}
	if (o.QueueID != nil || o.Offset != nil) && o.Broker == "" {
		return o, usagef("-q/--queue and -o/--offset need -b/--broker")
	}
	if o.Broker != "" && o.QueueID == nil {
		return o, usagef("-b/--broker needs -q/--queue")
	}
	return o, nil
}
