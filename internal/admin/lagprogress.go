package admin

import (
	"context"
	"fmt"
	"io"

	"github.com/bolidemq/bolide/internal/lag"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// AdviceEntry is one finding of a broker's lag evaluator, in
// consumerProgress --advice.
type AdviceEntry struct {
	BrokerName string `json:"brokerName"`
	lag.Finding
}

// addLagStatus fills consumerProgress's #Status column (and, with
// --advice, the findings) from the brokers' lag evaluators. It is best
// effort: a broker without an evaluator (Apache RocketMQ) or one that
// fails leaves its queues at "-", and the table is printed anyway.
func (a *Admin) addLagStatus(ctx context.Context, brokers []Broker, o ConsumerProgressOptions, res *ConsumerProgress) {
	res.showAdvice = o.Advice
	answers, _ := a.lagAdvice(ctx, brokers, o.Group, o.Topic)
	status := map[body.MessageQueue]lag.Status{}
	group := lag.Status("")
	for _, an := range answers {
		if an.Value == nil {
			continue
		}
		for _, r := range an.Value.Groups {
			if r.Group != o.Group {
				continue
			}
			if group == "" || r.Status.Rank() > group.Rank() {
				group = r.Status
			}
			for _, q := range r.Queues {
				status[body.MessageQueue{Topic: q.Topic, BrokerName: an.Broker.Name, QueueID: q.QueueID}] = q.Status
			}
			if o.Advice {
				for _, f := range r.Findings {
					res.Advice = append(res.Advice, AdviceEntry{BrokerName: an.Broker.Name, Finding: f})
				}
			}
		}
	}
	res.Status = string(group)
	for i := range res.Queues {
		q := &res.Queues[i]
		if s, ok := status[body.MessageQueue{Topic: q.Topic, BrokerName: q.BrokerName, QueueID: q.QueueID}]; ok {
			q.Status = string(s)
		}
	}
}

// writeAdvice prints the findings under the consumerProgress table.
func (r *ConsumerProgress) writeAdvice(w io.Writer) {
	fmt.Fprintln(w)
	status := r.Status
	if status == "" {
		status = "-"
	}
	fmt.Fprintf(w, "Lag Status: %s\n", status)
	if len(r.Advice) == 0 {
		if r.Status == "" {
			fmt.Fprintln(w, "Advice: none (no broker evaluates this group yet)")
		} else {
			fmt.Fprintln(w, "Advice: none")
		}
		return
	}
	fmt.Fprintln(w, "Advice:")
	for _, e := range r.Advice {
		fmt.Fprintf(w, "  %-4s %s\n", e.Severity, adviceLine(e.BrokerName, e.Rule, e.Reason, e.Suggestion))
	}
}
