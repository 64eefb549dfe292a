package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol"
)

// EnsureTopic returns the route of topic, creating the topic with queues
// queues first if the name servers do not know it: on brokerAddr when
// given, else on every master of cluster, else (no such cluster) on the
// first broker the name servers list. It reports a creation on out and
// waits (until ctx ends) for the route to appear.
func EnsureTopic(ctx context.Context, c *client.Client, topic, brokerAddr, cluster string, queues int, out io.Writer) (*client.Route, error) {
	r, err := c.RefreshRoute(ctx, topic)
	if err == nil && len(r.WriteQueues) > 0 {
		return r, nil
	}
	if err != nil && !client.IsCode(err, protocol.TopicNotExist) {
		return nil, err
	}
	var addrs []string
	if brokerAddr != "" {
		addrs = []string{brokerAddr}
	} else {
		ci, err := c.ClusterInfo(ctx)
		if err != nil {
			return nil, err
		}
		for _, name := range ci.ClusterAddrTable[cluster] {
			if a := ci.BrokerAddrTable[name].BrokerAddrs[0]; a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			var names []string
			for name, bd := range ci.BrokerAddrTable {
				if bd.BrokerAddrs[0] != "" {
					names = append(names, name)
				}
			}
			slices.Sort(names)
			if len(names) == 0 {
				return nil, fmt.Errorf("bench: no broker registered with the name servers to create topic %s on", topic)
			}
			addrs = []string{ci.BrokerAddrTable[names[0]].BrokerAddrs[0]}
		}
	}
	slices.Sort(addrs)
	for _, a := range addrs {
		if err := c.CreateTopic(ctx, a, topic, queues); err != nil {
			return nil, fmt.Errorf("bench: create topic %s on %s: %w", topic, a, err)
		}
		fmt.Fprintf(out, "created topic %s with %d queues on %s\n", topic, queues, a)
	}
	for {
		r, err = c.RefreshRoute(ctx, topic)
		if err == nil && len(r.WriteQueues) > 0 {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bench: waiting for the route of %s: %w (last: %v)", topic, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
