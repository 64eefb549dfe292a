package admin

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// TopicStatus is the result of topicStatus.
type TopicStatus struct {
	Topic   string             `json:"topic"`
	Cluster string             `json:"cluster,omitempty"`
	Queues  []TopicQueueStatus `json:"queues"`
	PutTps  float64            `json:"putTps"`
	Errors  []Failure          `json:"errors,omitempty"`
}

// TopicQueueStatus is one queue of a topic.
type TopicQueueStatus struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
	MinOffset  int64  `json:"minOffset"`
	MaxOffset  int64  `json:"maxOffset"`
	// LastUpdated is the store time (ms) of the queue's last message, 0
	// when the queue is empty.
	LastUpdated int64 `json:"lastUpdated"`
	// Absent marks the row of zeros Java's mqadmin prints for a broker of
	// the -c cluster that does not hold the LMQ.
	Absent bool `json:"absent,omitempty"`
}

// TopicStatus asks every broker that may hold topic for its queues
// (GET_TOPIC_STATS_INFO) and merges the answers. cluster is -c: a cluster
// name, or for an LMQ its parent topic (see brokersFor). Brokers that
// answer TOPIC_NOT_EXIST are left out — except, for an LMQ with -c, where
// Java prints a row of zeros for them, and so does this, marked Absent;
// when all brokers lack the topic, the result is a *NotFoundError. Other broker failures come back as a *PartialError
// alongside what the rest answered.
func (a *Admin) TopicStatus(ctx context.Context, topic, cluster string) (*TopicStatus, error) {
	brokers, err := a.brokersFor(ctx, topic, cluster)
	if err != nil {
		return nil, err
	}
	answers := fanOut(ctx, brokers, adminTimeout, func(ctx context.Context, b Broker) (*body.TopicStatsTable, error) {
		return a.c.TopicStats(ctx, b.Addr, topic)
	})
	res := &TopicStatus{Topic: topic, Cluster: cluster, Queues: []TopicQueueStatus{}}
	var fails []*BrokerError
	found := false
	for _, an := range answers {
		if absent(an.Err) {
			if cluster != "" && message.IsLMQ(topic) {
				res.Queues = append(res.Queues, TopicQueueStatus{Topic: topic, BrokerName: an.Broker.Name,
					QueueID: message.LMQQueueID, Absent: true})
			}
			continue
		}
		if an.Err != nil {
			fails = append(fails, failure(an.Broker, an.Err))
			continue
		}
		found = true
		res.PutTps += an.Value.TopicPutTps
		for mq, to := range an.Value.OffsetTable {
			res.Queues = append(res.Queues, TopicQueueStatus{
				Topic: mq.Topic, BrokerName: mq.BrokerName, QueueID: mq.QueueID,
				MinOffset: to.MinOffset, MaxOffset: to.MaxOffset, LastUpdated: to.LastUpdateTimestamp,
			})
		}
	}
	if !found && len(fails) == 0 {
		if cluster != "" {
			return nil, notFoundf("topic %s not found on the brokers of %s", topic, cluster)
		}
		return nil, notFoundf("topic %s not found", topic)
	}
	slices.SortFunc(res.Queues, func(x, y TopicQueueStatus) int {
		return body.MessageQueue{Topic: x.Topic, BrokerName: x.BrokerName, QueueID: x.QueueID}.
			Compare(body.MessageQueue{Topic: y.Topic, BrokerName: y.BrokerName, QueueID: y.QueueID})
	})
	res.Errors = failuresJSON(fails)
	if !found {
		return nil, partial(fails)
	}
	return res, partial(fails)
}

// writeText prints TopicStatusSubCommand's table.
func (r *TopicStatus) writeText(w io.Writer, loc *time.Location) {
	fmt.Fprintf(w, "%-32s  %-4s  %-20s  %-20s    %s\n", "#Broker Name", "#QID", "#Min Offset", "#Max Offset", "#Last Updated")
	for _, q := range r.Queues {
		last := ""
		if q.LastUpdated > 0 {
			last = render.Millis(q.LastUpdated, loc)
		}
		fmt.Fprintf(w, "%-32s  %-4d  %-20d  %-20d    %s\n", render.Trunc(q.BrokerName, 32), q.QueueID, q.MinOffset, q.MaxOffset, last)
	}
	fmt.Fprintf(w, "\n")
	fmt.Fprintf(w, "Topic Put TPS: %s\n", render.JavaDouble(r.PutTps))
}

func newTopicStatusCmd(e *env) *cobra.Command {
	return e.command("topicStatus", "Examine topic Status info.",
		func(fs *pflag.FlagSet) {
			fs.StringP("topic", "t", "", "topic name (a normal topic or an LMQ)")
			fs.StringP("cluster", "c", "", "cluster name or lmq parent topic, lmq is used to find the route.")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "topic"); err != nil {
				return nil, err
			}
			return asResult(a.TopicStatus(ctx, str(cmd, "topic"), str(cmd, "cluster")))
		})
}
