package client

import (
	"context"
	"fmt"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// SendBack returns a message a consumer of group failed to consume
// (CONSUMER_SEND_MSG_BACK): offset is its commit-log offset; delayLevel 0
// lets the broker choose, below 0 sends it to the group's DLQ.
func (c *Client) SendBack(ctx context.Context, brokerAddr, group string, offset int64, delayLevel int32) error {
	h := protocol.ConsumerSendMsgBackRequestHeader{Offset: offset, Group: group, DelayLevel: delayLevel}
	resp, err := c.invoke(ctx, brokerAddr, remoting.NewRequest(int32(protocol.ConsumerSendMsgBack), protocol.EncodeHeader(&h), nil))
	if err != nil {
		return err
	}
	if resp.Code != int32(protocol.Success) {
		return fmt.Errorf("client: send back %d for %s: %w", offset, group, responseError(resp))
	}
	return nil
}
