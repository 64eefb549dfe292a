package admin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// Broker is one broker a command talks to: its name, cluster and the
// address chosen for it (the master's, else a slave's).
type Broker struct {
	Name    string `json:"brokerName"`
	Cluster string `json:"cluster,omitempty"`
	Addr    string `json:"addr"`
}

// selectAddr picks the master's address, else the lowest-id slave's, as
// BrokerData.selectBrokerAddr prefers the master.
func selectAddr(bd body.BrokerData) string {
	if a := bd.BrokerAddrs[body.MasterID]; a != "" {
		return a
	}
	ids := make([]int64, 0, len(bd.BrokerAddrs))
	for id := range bd.BrokerAddrs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if a := bd.BrokerAddrs[id]; a != "" {
			return a
		}
	}
	return ""
}

func brokersFrom(bds []body.BrokerData) []Broker {
	out := make([]Broker, 0, len(bds))
	for _, bd := range bds {
		if a := selectAddr(bd); a != "" {
			out = append(out, Broker{Name: bd.BrokerName, Cluster: bd.Cluster, Addr: a})
		}
	}
	slices.SortFunc(out, func(x, y Broker) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// namesrvError wraps a failed name-server call.
func namesrvError(err error) error {
	return &BrokerError{Addr: "name server", Err: err}
}

// route returns the route of topic; a topic the name servers do not know
// is a *NotFoundError saying what.
func (a *Admin) route(ctx context.Context, topic, what string) (*client.Route, error) {
	ctx, cancel := withTimeout(ctx, adminTimeout)
	defer cancel()
	r, err := a.c.Route(ctx, topic)
	if client.IsCode(err, protocol.TopicNotExist) {
		return nil, notFoundf("%s %s not found: the name server has no route for it", what, topic)
	}
	if err != nil {
		return nil, namesrvError(err)
	}
	return r, nil
}

// routeBrokers returns the brokers in topic's route, sorted by name.
func (a *Admin) routeBrokers(ctx context.Context, topic, what string) ([]Broker, error) {
	r, err := a.route(ctx, topic, what)
	if err != nil {
		return nil, err
	}
	return brokersFrom(r.Data.BrokerDatas), nil
}

// clusterInfo asks the name servers for the cluster layout.
func (a *Admin) clusterInfo(ctx context.Context) (*body.ClusterInfo, error) {
	ctx, cancel := withTimeout(ctx, adminTimeout)
	defer cancel()
	ci, err := a.c.ClusterInfo(ctx)
	if err != nil {
		return nil, namesrvError(err)
	}
	return ci, nil
}

// allBrokers returns every broker the name servers know, sorted by name.
func (a *Admin) allBrokers(ctx context.Context) ([]Broker, error) {
	ci, err := a.clusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	bds := make([]body.BrokerData, 0, len(ci.BrokerAddrTable))
	for _, bd := range ci.BrokerAddrTable {
		bds = append(bds, bd)
	}
	out := brokersFrom(bds)
	if len(out) == 0 {
		return nil, namesrvError(fmt.Errorf("the name server knows no broker"))
	}
	return out, nil
}

// clusterMasters returns the master of every broker of cluster; an
// unknown cluster is a *NotFoundError.
func (a *Admin) clusterMasters(ctx context.Context, cluster string) ([]Broker, error) {
	ci, err := a.clusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	names, ok := ci.ClusterAddrTable[cluster]
	if !ok {
		return nil, notFoundf("cluster %s not found", cluster)
	}
	var out []Broker
	for _, n := range names {
		bd, ok := ci.BrokerAddrTable[n]
		if !ok {
			continue
		}
		if addr := bd.BrokerAddrs[body.MasterID]; addr != "" {
			out = append(out, Broker{Name: n, Cluster: cluster, Addr: addr})
		}
	}
	slices.SortFunc(out, func(x, y Broker) int { return cmp.Compare(x.Name, y.Name) })
	return out, nil
}

// brokersFor returns the brokers that may hold topic, with the -c rule of
// the LMQ-aware commands (upstream PR #8590): for an LMQ, -c is a cluster
// name or the LMQ's parent topic and its route is used; an LMQ without -c
// has no route, so every broker is asked. For a normal topic its route is
// used, limited to cluster when -c is given.
func (a *Admin) brokersFor(ctx context.Context, topic, cluster string) ([]Broker, error) {
	if message.IsLMQ(topic) {
		if cluster != "" {
			return a.routeBrokers(ctx, cluster, "cluster or parent topic")
		}
		return a.allBrokers(ctx)
	}
	bs, err := a.routeBrokers(ctx, topic, "topic")
	if err != nil || cluster == "" {
		return bs, err
	}
	var out []Broker
	for _, b := range bs {
		if b.Cluster == cluster {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil, notFoundf("topic %s not found in cluster %s", topic, cluster)
	}
	return out, nil
}

// resolveBroker turns a -b value into a broker: an address (host:port) is
// taken as is and named from the cluster layout when possible; anything
// else is looked up as a broker name.
func (a *Admin) resolveBroker(ctx context.Context, v string) (Broker, error) {
	ci, err := a.clusterInfo(ctx)
	if strings.Contains(v, ":") {
		b := Broker{Addr: v}
		if err == nil {
			for _, bd := range ci.BrokerAddrTable {
				for _, addr := range bd.BrokerAddrs {
					if addr == v {
						b.Name, b.Cluster = bd.BrokerName, bd.Cluster
					}
				}
			}
		}
		return b, nil
	}
	if err != nil {
		return Broker{}, err
	}
	bd, ok := ci.BrokerAddrTable[v]
	if !ok || selectAddr(bd) == "" {
		return Broker{}, notFoundf("broker %s not found", v)
	}
	return Broker{Name: v, Cluster: bd.Cluster, Addr: selectAddr(bd)}, nil
}

// absent reports whether a broker's answer means "not here": the topic,
// group or message is unknown to it.
func absent(err error) bool {
	return client.IsCode(err, protocol.TopicNotExist) ||
		client.IsCode(err, protocol.SubscriptionGroupNotExist) ||
		client.IsCode(err, protocol.QueryNotFound)
}

// answer is one broker's reply in a fan-out.
type answer[T any] struct {
	Broker Broker
	Value  T
	Err    error
}

// fanOut calls fn for every broker at once, each call bounded by timeout,
// and returns the answers in the brokers' order.
func fanOut[T any](ctx context.Context, brokers []Broker, timeout time.Duration, fn func(ctx context.Context, b Broker) (T, error)) []answer[T] {
	out := make([]answer[T], len(brokers))
	var wg sync.WaitGroup
	for i, b := range brokers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := withTimeout(ctx, timeout)
			defer cancel()
			v, err := fn(cctx, b)
			out[i] = answer[T]{Broker: b, Value: v, Err: err}
		}()
	}
	wg.Wait()
	return out
}

// applyAll runs a write (fn) on every broker at once and returns the
// addresses of those that took it and the failures of the others.
func applyAll(ctx context.Context, brokers []Broker, fn func(ctx context.Context, addr string) error) (done []string, fails []*BrokerError) {
	done = []string{}
	for _, an := range fanOut(ctx, brokers, adminTimeout, func(ctx context.Context, b Broker) (struct{}, error) {
		return struct{}{}, fn(ctx, b.Addr)
	}) {
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		done = append(done, an.Broker.Addr)
	}
	return done, fails
}

// failure wraps one broker's error.
func failure(b Broker, err error) *BrokerError {
	return &BrokerError{Broker: b.Name, Addr: b.Addr, Err: err}
}

// Failure is one failed broker in a JSON document.
type Failure struct {
	Broker string `json:"brokerName,omitempty"`
	Addr   string `json:"addr,omitempty"`
	Error  string `json:"error"`
}

func failuresJSON(fs []*BrokerError) []Failure {
	out := make([]Failure, 0, len(fs))
	for _, f := range fs {
		out = append(out, Failure{Broker: f.Broker, Addr: f.Addr, Error: describe(f.Err)})
	}
	return out
}

// partial returns a *PartialError for fs, or nil.
func partial(fs []*BrokerError) error {
	if len(fs) == 0 {
		return nil
	}
	return &PartialError{Failures: fs}
}
