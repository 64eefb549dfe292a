package admin

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ClusterList is the result of clusterList: every broker address of the
// clusters asked, with its runtime statistics.
type ClusterList struct {
	Brokers []ClusterBroker `json:"brokers"`
	Errors  []Failure       `json:"errors,omitempty"`

	more bool
	now  int64
}

// ClusterBroker is one broker address in clusterList.
type ClusterBroker struct {
	Cluster    string `json:"cluster"`
	BrokerName string `json:"brokerName"`
	BrokerID   int64  `json:"brokerId"`
	Addr       string `json:"addr"`
	// Runtime is the broker's GET_BROKER_RUNTIME_INFO table; nil when the
	// broker did not answer.
	Runtime map[string]string `json:"runtime"`
}

// ClusterList reads the cluster layout and every broker's runtime
// statistics; cluster "" means every cluster. An unknown cluster is a
// *NotFoundError.
func (a *Admin) ClusterList(ctx context.Context, cluster string, more bool) (*ClusterList, error) {
	ci, err := a.clusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	clusters := slices.Sorted(maps.Keys(ci.ClusterAddrTable))
	if cluster != "" {
		if _, ok := ci.ClusterAddrTable[cluster]; !ok {
			return nil, notFoundf("cluster %s not found", cluster)
		}
		clusters = []string{cluster}
	}
	res := &ClusterList{Brokers: []ClusterBroker{}, more: more, now: a.now().UnixMilli()}
	var targets []Broker
	for _, c := range clusters {
		names := slices.Clone(ci.ClusterAddrTable[c])
		slices.Sort(names)
		for _, n := range names {
			bd, ok := ci.BrokerAddrTable[n]
			if !ok {
				continue
			}
			for _, id := range slices.Sorted(maps.Keys(bd.BrokerAddrs)) {
				res.Brokers = append(res.Brokers, ClusterBroker{Cluster: c, BrokerName: n, BrokerID: id, Addr: bd.BrokerAddrs[id]})
				targets = append(targets, Broker{Name: n, Cluster: c, Addr: bd.BrokerAddrs[id]})
			}
		}
	}
	var fails []*BrokerError
	for i, an := range fanOut(ctx, targets, adminTimeout, func(ctx context.Context, b Broker) (map[string]string, error) {
		return a.c.BrokerRuntimeInfo(ctx, b.Addr)
	}) {
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		res.Brokers[i].Runtime = an.Value
	}
	res.Errors = failuresJSON(fails)
	return res, partial(fails)
}

// javaGet is Map.get printed with %s: "null" when absent.
func javaGet(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "null"
}

func parseLong(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func firstDouble(s string) float64 {
	f, _ := strconv.ParseFloat(strings.Fields(s + " 0")[0], 64)
	return f
}

// writeText prints ClusterListSubCommand's base table (or, with -m, its
// traffic table). Statistics a broker does not report print as Java
// prints a missing map entry.
func (r *ClusterList) writeText(w io.Writer, _ *time.Location) {
	if r.more {
		fmt.Fprintf(w, "%-16s  %-32s %14s %14s %14s %14s\n", "#Cluster Name", "#Broker Name", "#InTotalYest", "#OutTotalYest", "#InTotalToday", "#OutTotalToday")
		for _, b := range r.Brokers {
			kv := b.Runtime
			var inY, outY, inT, outT int64
			if kv != nil {
				inY = parseLong(kv["msgPutTotalTodayMorning"]) - parseLong(kv["msgPutTotalYesterdayMorning"])
				outY = parseLong(kv["msgGetTotalTodayMorning"]) - parseLong(kv["msgGetTotalYesterdayMorning"])
				inT = parseLong(kv["msgPutTotalTodayNow"]) - parseLong(kv["msgPutTotalTodayMorning"])
				outT = parseLong(kv["msgGetTotalTodayNow"]) - parseLong(kv["msgGetTotalTodayMorning"])
			}
			fmt.Fprintf(w, "%-16s  %-32s %14d %14d %14d %14d\n", b.Cluster, b.BrokerName, inY, outY, inT, outT)
		}
		return
	}
	fmt.Fprintf(w, "%-22s  %-22s  %-4s  %-22s %-16s  %16s  %30s  %-22s  %-11s  %-12s  %-8s  %-10s\n",
		"#Cluster Name", "#Broker Name", "#BID", "#Addr", "#Version", "#InTPS(LOAD)", "#OutTPS(LOAD)",
		"#Timer(Progress)", "#PCWait(ms)", "#Hour", "#SPACE", "#ACTIVATED")
	for _, b := range r.Brokers {
		kv := b.Runtime
		if kv == nil {
			kv = map[string]string{}
		}
		version := kv["brokerVersionDesc"]
		in, out := firstDouble(kv["putTps"]), firstDouble(kv["getTransferredTps"])
		ackSize, ackWait := kv["ackThreadPoolQueueSize"], kv["ackThreadPoolQueueHeadWaitTimeMills"]
		if ackSize == "" {
			ackSize = "N"
		}
		if ackWait == "" {
			ackWait = "N"
		}
		hour := 0.0
		if ts := kv["earliestMessageTimeStamp"]; ts != "" {
			hour = float64(r.now-parseLong(ts)) / 1000 / 60 / 60
		}
		space, _ := strconv.ParseFloat(kv["commitLogDiskRatio"], 64)
		timerCongest, _ := strconv.ParseFloat(kv["timerCongestNum"], 64)
		timerEnq, _ := strconv.ParseFloat(kv["timerEnqueueTps"], 32)
		timerDeq, _ := strconv.ParseFloat(kv["timerDequeueTps"], 32)
		fmt.Fprintf(w, "%-22s  %-22s  %-4s  %-22s %-16s  %16s  %30s  %-22s  %11s  %-12s  %-8s  %10s\n",
			b.Cluster, b.BrokerName, strconv.FormatInt(b.BrokerID, 10), b.Addr, version,
			fmt.Sprintf("%9.2f(%s,%sms)", in, javaGet(kv, "sendThreadPoolQueueSize"), javaGet(kv, "sendThreadPoolQueueHeadWaitTimeMills")),
			fmt.Sprintf("%9.2f(%s,%sms|%s,%sms)", out, javaGet(kv, "pullThreadPoolQueueSize"), javaGet(kv, "pullThreadPoolQueueHeadWaitTimeMills"), ackSize, ackWait),
			fmt.Sprintf("%d-%d(%.1fw, %.1f, %.1f)", parseLong(kv["timerReadBehind"]), parseLong(kv["timerOffsetBehind"]), timerCongest/10000, timerEnq, timerDeq),
			javaGet(kv, "pageCacheLockTimeMills"),
			fmt.Sprintf("%2.2f", hour),
			fmt.Sprintf("%.4f", space),
			strconv.FormatBool(kv["brokerActive"] == "true"))
	}
}

func newClusterListCmd(e *env) *cobra.Command {
	return e.command("clusterList", "List cluster infos.",
		func(fs *pflag.FlagSet) {
			fs.BoolP("moreStats", "m", false, "Print more stats")
			fs.StringP("clusterName", "c", "", "which cluster")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			more, _ := cmd.Flags().GetBool("moreStats")
			return asResult(a.ClusterList(ctx, str(cmd, "clusterName"), more))
		})
}

// BrokerStatus is the result of brokerStatus.
type BrokerStatus struct {
	Brokers []BrokerRuntime `json:"brokers"`
	Errors  []Failure       `json:"errors,omitempty"`

	withAddr bool
}

// BrokerRuntime is one broker's runtime statistics.
type BrokerRuntime struct {
	BrokerName string            `json:"brokerName,omitempty"`
	Addr       string            `json:"addr"`
	Runtime    map[string]string `json:"runtime"`
}

// BrokerStatus reads the runtime statistics of the broker at addr, or of
// every broker address (masters and slaves) of cluster.
func (a *Admin) BrokerStatus(ctx context.Context, addr, cluster string) (*BrokerStatus, error) {
	var targets []Broker
	res := &BrokerStatus{Brokers: []BrokerRuntime{}}
	if addr != "" {
		targets = []Broker{{Addr: addr}}
	} else {
		res.withAddr = true
		cl, err := a.ClusterList(ctx, cluster, false)
		if cl == nil {
			return nil, err
		}
		for _, b := range cl.Brokers {
			if b.Runtime != nil {
				res.Brokers = append(res.Brokers, BrokerRuntime{BrokerName: b.BrokerName, Addr: b.Addr, Runtime: b.Runtime})
			}
		}
		res.Errors = cl.Errors
		return res, err
	}
	var fails []*BrokerError
	for _, an := range fanOut(ctx, targets, adminTimeout, func(ctx context.Context, b Broker) (map[string]string, error) {
		return a.c.BrokerRuntimeInfo(ctx, b.Addr)
	}) {
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		res.Brokers = append(res.Brokers, BrokerRuntime{Addr: an.Broker.Addr, Runtime: an.Value})
	}
	if len(res.Brokers) == 0 {
		return nil, partial(fails)
	}
	return res, nil
}

// writeText prints BrokerStatusSubCommand's "key: value" lines, keys
// sorted, prefixed with the address for a cluster.
func (r *BrokerStatus) writeText(w io.Writer, _ *time.Location) {
	for _, b := range r.Brokers {
		for _, k := range slices.Sorted(maps.Keys(b.Runtime)) {
			if r.withAddr {
				fmt.Fprintf(w, "%-24s %-32s: %s\n", b.Addr, k, b.Runtime[k])
			} else {
				fmt.Fprintf(w, "%-32s: %s\n", k, b.Runtime[k])
			}
		}
	}
}

func newBrokerStatusCmd(e *env) *cobra.Command {
	return e.command("brokerStatus", "Fetch broker runtime status data.",
		func(fs *pflag.FlagSet) {
			fs.StringP("brokerAddr", "b", "", "Broker address")
			fs.StringP("clusterName", "c", "", "which cluster")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			addr, cluster := str(cmd, "brokerAddr"), str(cmd, "clusterName")
			if (addr == "") == (cluster == "") {
				return nil, usagef("give one of -b/--brokerAddr and -c/--clusterName")
			}
			return asResult(a.BrokerStatus(ctx, addr, cluster))
		})
}
