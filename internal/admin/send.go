package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
)

// SendResult is the result of sendMessage.
type SendResult struct {
	BrokerName  string `json:"brokerName"`
	QueueID     int32  `json:"queueId"`
	QueueOffset int64  `json:"queueOffset"`
	SendStatus  string `json:"sendStatus"` // SEND_OK, FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE
	MsgID       string `json:"msgId"`      // UNIQ_KEY
	OffsetID    string `json:"offsetId"`
}

// SendOptions are the options of sendMessage.
type SendOptions struct {
	Topic, Body, Keys, Tags string
	BrokerName              string // with QueueID >= 0: send to that queue
	QueueID                 int32
}

// SendMessage sends one message, like a Java producer's send: to a queue
// picked round-robin, or to one broker's queue.
func (a *Admin) SendMessage(ctx context.Context, o SendOptions) (*SendResult, error) {
	props := message.Properties{message.PropertyWaitStoreMsgOK: "true"}
	if o.Tags != "" {
		props[message.PropertyTags] = o.Tags
	}
	if o.Keys != "" {
		props[message.PropertyKeys] = o.Keys
	}
	ctx, cancel := withTimeout(ctx, adminTimeout)
	defer cancel()
	var sr client.SendResult
	var err error
	if o.BrokerName != "" && o.QueueID >= 0 {
		var b Broker
		b, err = a.resolveBroker(ctx, o.BrokerName)
		if err != nil {
			return nil, err
		}
		sr, err = a.c.SendTo(ctx, b.Addr, o.Topic, o.QueueID, []byte(o.Body), props)
	} else {
		sr, err = a.c.Send(ctx, o.Topic, -1, []byte(o.Body), props)
	}
	status := "SEND_OK"
	var re *client.ResponseError
	if errors.As(err, &re) && sr.MsgID != "" {
		// Stored, but not as durably as asked.
		switch re.Code {
		case protocol.FlushDiskTimeout, protocol.FlushSlaveTimeout, protocol.SlaveNotAvailable:
			status, err = re.Code.String(), nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", o.Topic, err)
	}
	return &SendResult{
		BrokerName: a.brokerAt(ctx, sr.BrokerAddr).Name, QueueID: sr.QueueID, QueueOffset: sr.QueueOffset,
		SendStatus: status, MsgID: sr.UniqKey, OffsetID: sr.MsgID,
	}, nil
}

func (r *SendResult) writeText(w io.Writer, _ *time.Location) {
	fmt.Fprintf(w, "%-32s  %-4s  %-20s    %s\n", "#Broker Name", "#QID", "#Send Result", "#MsgId")
	fmt.Fprintf(w, "%-32s  %-4d  %-20s    %s\n", r.BrokerName, r.QueueID, r.SendStatus, r.MsgID)
}

func newSendMessageCmd(e *env) *cobra.Command {
	return e.command("sendMessage", "Send a message.",
		func(fs *pflag.FlagSet) {
			fs.StringP("topic", "t", "", "Topic name")
			fs.StringP("body", "p", "", "UTF-8 string format of the message body")
			fs.StringP("key", "k", "", "Message keys")
			fs.StringP("tags", "c", "", "Message tags")
			fs.StringP("broker", "b", "", "Send message to target broker")
			fs.StringP("qid", "i", "", "Send message to target queue")
			fs.StringP("msgTraceEnable", "m", "", "Message Trace Enable, Default: false (not supported, ignored)")
		},
		func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error) {
			if err := require(cmd, "topic", "body"); err != nil {
				return nil, err
			}
			o := SendOptions{
				Topic: str(cmd, "topic"), Body: str(cmd, "body"), Keys: str(cmd, "key"),
				Tags: str(cmd, "tags"), BrokerName: str(cmd, "broker"), QueueID: -1,
			}
			if cmd.Flags().Changed("qid") {
				if o.BrokerName == "" {
					return nil, usagef("Broker name must be set if the queue is chosen!")
				}
				q, err := intFlag(cmd, "qid", -1)
				if err != nil {
					return nil, err
				}
				o.QueueID = int32(q)
			}
			return asResult(a.SendMessage(ctx, o))
		})
}
