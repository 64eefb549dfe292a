package admin

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/protocol"
)

// defaultLMQListLimit is lmqList's -l default: LMQs listed per broker.
const defaultLMQListLimit = 100

// LMQListResult is the result of lmqList.
type LMQListResult struct {
	Prefix  string       `json:"prefix,omitempty"`
	Brokers []BrokerLMQs `json:"brokers"`
	Errors  []Failure    `json:"errors,omitempty"`
}

// BrokerLMQs is one broker's LMQs.
type BrokerLMQs struct {
	BrokerName string `json:"brokerName"`
	Addr       string `json:"addr"`
	// Count is the number of LMQs the broker holds, whatever the prefix.
	Count int64      `json:"count"`
	LMQs  []LMQEntry `json:"lmqs"`
	// More is set when the limit cut the listing short.
	More bool `json:"more"`
}

// LMQEntry is one LMQ: its name and the store time (ms) of the first
// message dispatched to it.
type LMQEntry struct {
	Name      string `json:"name"`
	FirstSeen int64  `json:"firstSeen"`
}

// LMQList pages through the LMQ registry (BOLIDE_GET_LMQ_LIST) of the
// broker b (address or name), of cluster's masters, or of every broker,
// listing up to limit names with prefix per broker (limit <= 0: all).
func (a *Admin) LMQList(ctx context.Context, b, cluster, prefix string, limit int) (*LMQListResult, error) {
	var brokers []Broker
	var err error
	switch {
	case b != "":
		var one Broker
		one, err = a.resolveBroker(ctx, b)
		brokers = []Broker{one}
	case cluster != "":
		brokers, err = a.clusterMasters(ctx, cluster)
	default:
		brokers, err = a.allBrokers(ctx)
	}
	if err != nil {
		return nil, err
	}
	res := &LMQListResult{Prefix: prefix, Brokers: []BrokerLMQs{}}
	var fails []*BrokerError
	for _, an := range fanOut(ctx, brokers, 4*adminTimeout, func(ctx context.Context, br Broker) (BrokerLMQs, error) {
		return a.brokerLMQs(ctx, br, prefix, limit)
	}) {
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		res.Brokers = append(res.Brokers, an.Value)
	}
	if len(res.Brokers) == 0 {
		return nil, partial(fails)
	}
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

func (a *Admin) brokerLMQs(ctx context.Context, b Broker, prefix string, limit int) (BrokerLMQs, error) {
	out := BrokerLMQs{BrokerName: b.Name, Addr: b.Addr, LMQs: []LMQEntry{}}
	after := ""
	for {
		page := protocol.MaxLMQListLimit
		if limit > 0 {
			page = min(page, limit-len(out.LMQs)+1) // one more tells whether there are more
		}
		l, err := a.c.LMQList(ctx, b.Addr, prefix, after, page)
		if err != nil {
			return out, err
		}
		out.Count = l.Count
		for _, e := range l.LMQList {
			if limit > 0 && len(out.LMQs) == limit {
				out.More = true
				return out, nil
			}
			out.LMQs = append(out.LMQs, LMQEntry{Name: e.Name, FirstSeen: e.FirstSeen})
		}
		if l.Next == "" {
			return out, nil
		}
		after = l.Next
	}
}

func (r *LMQListResult) writeText(w io.Writer, loc *time.Location) {
	fmt.Fprintf(w, "%-32s  %-64s  %s\n", "#Broker Name", "#LMQ", "#First Seen")
	for _, b := range r.Brokers {
		for _, l := range b.LMQs {
			seen := ""
			if l.FirstSeen > 0 {
				seen = render.Millis(l.FirstSeen, loc)
			}
			fmt.Fprintf(w, "%-32s  %-64s  %s\n", render.Trunc(b.BrokerName, 32), l.Name, seen)
		}
	}
	fmt.Fprintln(w)
	for _, b := range r.Brokers {
		more := ""
		if b.More {
			more = " (more: raise -l)"
		}
		fmt.Fprintf(w, "%s: %d listed, %d LMQs on the broker%s\n", b.BrokerName, len(b.LMQs), b.Count, more)
	}
}

func newLMQListCmd(e *env) *cobra.Command {
	return e.command("lmqList", "List the Light Message Queues of brokers (Bolide).",
		func(fs *pflag.FlagSet) {
			fs.StringP("broker", "b", "", "broker address or name (default: every broker)")
			fs.StringP("cluster", "c", "", "the masters of this cluster")
			fs.StringP("prefix", "p", "", `only LMQs whose name starts with this (names start with "%LMQ%")`)
			fs.StringP("limit", "l", "", fmt.Sprintf("LMQs listed per broker, 0 for all (default %d)", defaultLMQListLimit))
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			limit, err := intFlag(cmd, "limit", defaultLMQListLimit)
			if err != nil {
				return nil, err
			}
			if limit < 0 {
				return nil, usagef("option -l/--limit must not be negative")
			}
			return asResult(a.LMQList(ctx, str(cmd, "broker"), str(cmd, "cluster"), str(cmd, "prefix"), int(limit)))
		})
}
