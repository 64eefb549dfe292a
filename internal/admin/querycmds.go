package admin

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
)

// KeyQueryResult is the result of queryMsgByKey.
type KeyQueryResult struct {
	Topic    string    `json:"topic"`
	Key      string    `json:"key"`
	Cluster  string    `json:"cluster,omitempty"`
	Messages []KeyHit  `json:"messages"`
	Errors   []Failure `json:"errors,omitempty"`
}

// KeyHit is one message found by key.
type KeyHit struct {
	MsgID          string `json:"msgId"`
	OffsetID       string `json:"offsetId"`
	BrokerName     string `json:"brokerName"`
	Topic          string `json:"topic"` // the topic the message was sent to (an LMQ's parent)
	QueueID        int32  `json:"queueId"`
	QueueOffset    int64  `json:"queueOffset"`
	StoreTimestamp int64  `json:"storeTimestamp"`
	// LMQOffset is the message's offset in the LMQ queried, for LMQ
	// queries.
	LMQOffset *int64 `json:"lmqOffset,omitempty"`
}

// KeyQueryOptions are the options of queryMsgByKey.
type KeyQueryOptions struct {
	Topic, Key, Cluster string
	Begin, End          int64 // store-time range, ms
	MaxNum              int   // cap of the merged result (Java: per broker only, #7526)
}

// QueryMsgByKey finds the messages of topic whose KEYS hold key, on every
// broker that may hold topic, and keeps at most MaxNum of them (the
// oldest). None is a *NotFoundError.
func (a *Admin) QueryMsgByKey(ctx context.Context, o KeyQueryOptions) (*KeyQueryResult, error) {
	if o.MaxNum <= 0 {
		o.MaxNum = protocol.MaxQueryMessageNum
	}
	hits, fails, err := a.query(ctx, queryOptions{
		topic: o.Topic, cluster: o.Cluster, key: o.Key,
		maxNum: int32(min(o.MaxNum, math.MaxInt32)), begin: o.Begin, end: o.End,
	})
	if err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		if len(fails) > 0 {
			return nil, partial(fails)
		}
		return nil, notFoundf("no message with key %s in topic %s", o.Key, o.Topic)
	}
	if len(hits) > o.MaxNum {
		hits = hits[:o.MaxNum]
	}
	res := &KeyQueryResult{Topic: o.Topic, Key: o.Key, Cluster: o.Cluster, Messages: make([]KeyHit, 0, len(hits))}
	for _, h := range hits {
		k := KeyHit{
			MsgID: msgID(h.Msg), OffsetID: h.Msg.OffsetID(), BrokerName: h.Broker.Name, Topic: h.Msg.Topic,
			QueueID: h.Msg.QueueID, QueueOffset: h.Msg.QueueOffset, StoreTimestamp: h.Msg.StoreTimestamp,
		}
		if message.IsLMQ(o.Topic) {
			if off, ok := lmqOffset(h.Msg, o.Topic); ok {
				k.LMQOffset = &off
			}
		}
		res.Messages = append(res.Messages, k)
	}
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

// writeText prints QueryMsgByKeySubCommand's table: the id users know,
// and the queue id and offset in the topic the message was sent to.
func (r *KeyQueryResult) writeText(w io.Writer, _ *time.Location) {
	fmt.Fprintf(w, "%-50s %4s %40s\n", "#Message ID", "#QID", "#Offset")
	for _, m := range r.Messages {
		fmt.Fprintf(w, "%-50s %4d %40d\n", m.MsgID, m.QueueID, m.QueueOffset)
	}
}

func newQueryMsgByKeyCmd(e *env) *cobra.Command {
	return e.command("queryMsgByKey", "Query Message by Key.",
		func(fs *pflag.FlagSet) {
			fs.StringP("topic", "t", "", "Topic name (a normal topic or an LMQ)")
			fs.StringP("msgKey", "k", "", "Message Key")
			fs.StringP("beginTimestamp", "b", "", "Begin timestamp (ms, or any -s form of resetOffsetByTime). default:0")
			fs.StringP("endTimestamp", "e", "", "End timestamp (ms, or any -s form of resetOffsetByTime). default:Long.MAX_VALUE")
			fs.StringP("maxNum", "m", "", "The maximum number of messages returned by the query, default:64")
			fs.StringP("cluster", "c", "", "Cluster name or lmq parent topic, lmq is used to find the route.")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "topic", "msgKey"); err != nil {
				return nil, err
			}
			o := KeyQueryOptions{Topic: str(cmd, "topic"), Key: str(cmd, "msgKey"), Cluster: str(cmd, "cluster")}
			var err error
			if o.Begin, err = a.timestampFlag("beginTimestamp", str(cmd, "beginTimestamp"), cmd.Flags().Changed("beginTimestamp"), 0); err != nil {
				return nil, err
			}
			if o.End, err = a.timestampFlag("endTimestamp", str(cmd, "endTimestamp"), cmd.Flags().Changed("endTimestamp"), math.MaxInt64); err != nil {
				return nil, err
			}
			n, err := intFlag(cmd, "maxNum", protocol.MaxQueryMessageNum)
			if err != nil {
				return nil, err
			}
			if n <= 0 {
				return nil, usagef("option -m/--maxNum must be positive, got %d", n)
			}
			o.MaxNum = int(min(n, math.MaxInt32))
			return asResult(a.QueryMsgByKey(ctx, o))
		})
}

// MessageList is the result of queryMsgByUniqueKey and queryMsgById.
type MessageList struct {
	Messages []*MessageView `json:"messages"`
	// NotFound lists the ids asked for that no broker had.
	NotFound []string  `json:"notFound,omitempty"`
	Errors   []Failure `json:"errors,omitempty"`
}

func (l *MessageList) writeText(w io.Writer, loc *time.Location) {
	for i, v := range l.Messages {
		if i > 0 {
			fmt.Fprintln(w)
		}
		v.writeText(w, loc)
	}
}

// QueryMsgByUniqueKey finds a message by its UNIQ_KEY (the id producers
// return) in topic, on every broker that may hold it, and prints the
// oldest copy, or every copy with all. None is a *NotFoundError.
func (a *Admin) QueryMsgByUniqueKey(ctx context.Context, topic, cluster, id string, all bool) (*MessageList, error) {
	hits, fails, err := a.uniqueQuery(ctx, topic, cluster, id, 0)
	if err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		if len(fails) > 0 {
			return nil, partial(fails)
		}
		return nil, notFoundf("Message not found: no message with id %s in topic %s", id, topic)
	}
	if !all {
		hits = hits[:1]
	}
	res := &MessageList{Messages: make([]*MessageView, 0, len(hits)), Errors: failuresJSON(fails)}
	for i, h := range hits {
		v, err := a.view(ctx, h, topic, i)
		if err != nil {
			return nil, err
		}
		res.Messages = append(res.Messages, v)
	}
	return res, partial(fails)
}

func newQueryMsgByUniqueKeyCmd(e *env) *cobra.Command {
	return e.command("queryMsgByUniqueKey", "Query Message by Unique key.",
		func(fs *pflag.FlagSet) {
			fs.StringP("msgId", "i", "", "Message Id")
			fs.StringP("topic", "t", "", "The topic of msg (a normal topic or an LMQ)")
			fs.BoolP("showAll", "a", false, "Print all message, the limit is 32")
			fs.StringP("cluster", "c", "", "Cluster name or lmq parent topic, lmq is used to find the route.")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "msgId", "topic"); err != nil {
				return nil, err
			}
			all, _ := cmd.Flags().GetBool("showAll")
			return asResult(a.QueryMsgByUniqueKey(ctx, str(cmd, "topic"), str(cmd, "cluster"), str(cmd, "msgId"), all))
		})
}

// uniqueKeyWindow is how far back queryMsgById's unique-key fallback
// looks, as MQAdminImpl.queryMessageByUniqKey does.
const uniqueKeyWindow = 3 * 24 * time.Hour

// QueryMsgByID looks up messages by id. An offset id (store host and
// commit-log offset) is read from the broker inside it
// (VIEW_MESSAGE_BY_ID); when it does not decode or that read fails, the id
// is taken for a UNIQ_KEY and queried in topic (the last 3 days, as Java
// does). bodyAsText adds the body to the output. Ids no broker had are
// listed in NotFound and make the error a *NotFoundError.
func (a *Admin) QueryMsgByID(ctx context.Context, topic, cluster string, ids []string, bodyAsText bool) (*MessageList, error) {
	res := &MessageList{Messages: []*MessageView{}}
	var fails []*BrokerError
	for _, id := range ids {
		f, ok, bfails, err := a.lookupID(ctx, topic, cluster, id)
		if err != nil {
			return nil, err
		}
		fails = append(fails, bfails...)
		if !ok {
			res.NotFound = append(res.NotFound, id)
			continue
		}
		v, err := a.view(ctx, f, topic, 0)
		if err != nil {
			return nil, err
		}
		v.offsetHeader = true
		if bodyAsText {
			s := string(f.Msg.Body)
			v.Body = &s
		}
		res.Messages = append(res.Messages, v)
	}
	res.Errors = failuresJSON(fails)
	if len(res.NotFound) > 0 {
		err := notFoundf("Message not found: %s", strings.Join(res.NotFound, ","))
		if len(res.Messages) == 0 {
			if len(fails) > 0 {
				return nil, partial(fails)
			}
			return nil, err
		}
		return res, err
	}
	return res, partial(fails)
}

// lookupID finds one message by offset id, falling back to its unique key.
func (a *Admin) lookupID(ctx context.Context, topic, cluster, id string) (found, bool, []*BrokerError, error) {
	if host, off, err := message.ParseOffsetID(id); err == nil {
		addr := host.String()
		cctx, cancel := withTimeout(ctx, adminTimeout)
		m, err := a.c.ViewMessage(cctx, addr, topic, off)
		cancel()
		if err == nil {
			return found{Msg: m, Broker: a.brokerAt(ctx, addr)}, true, nil, nil
		}
	}
	hits, fails, err := a.uniqueQuery(ctx, topic, cluster, id, a.now().Add(-uniqueKeyWindow).UnixMilli())
	if err != nil {
		return found{}, false, nil, err
	}
	if len(hits) == 0 {
		return found{}, false, fails, nil
	}
	return hits[0], true, fails, nil
}

// brokerAt names the broker listening at addr, from the cluster layout.
func (a *Admin) brokerAt(ctx context.Context, addr string) Broker {
	b := Broker{Addr: addr}
	ci, err := a.clusterInfo(ctx)
	if err != nil {
		return b
	}
	for _, bd := range ci.BrokerAddrTable {
		for _, x := range bd.BrokerAddrs {
			if x == addr {
				b.Name, b.Cluster = bd.BrokerName, bd.Cluster
			}
		}
	}
	return b
}

func newQueryMsgByIDCmd(e *env) *cobra.Command {
	return e.command("queryMsgById", "Query Message by Id.",
		func(fs *pflag.FlagSet) {
			fs.StringP("topic", "t", "", "topic name")
			fs.StringP("msgId", "i", "", "Message Id (offset ids or unique keys, comma-separated)")
			fs.StringP("bodyFormat", "f", "", "print message body by the specified format (UTF-8)")
			fs.StringP("cluster", "c", "", "Cluster name or lmq parent topic, lmq is used to find the route.")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "topic", "msgId"); err != nil {
				return nil, err
			}
			bodyAsText := false
			if cmd.Flags().Changed("bodyFormat") {
				switch strings.ToUpper(strings.ReplaceAll(str(cmd, "bodyFormat"), "-", "")) {
				case "UTF8":
					bodyAsText = true
				default:
					return nil, usagef("option -f/--bodyFormat: only UTF-8 is supported, got %q", str(cmd, "bodyFormat"))
				}
			}
			var ids []string
			for _, id := range strings.Split(str(cmd, "msgId"), ",") {
				if id = strings.TrimSpace(id); id != "" {
					ids = append(ids, id)
				}
			}
			if len(ids) == 0 {
				return nil, usagef("option -i/--msgId: no message id given")
			}
			return asResult(a.QueryMsgByID(ctx, str(cmd, "topic"), str(cmd, "cluster"), ids, bodyAsText))
		})
}
