package client

import (
	"context"

	"github.com/bolidemq/bolide/internal/lag"
	"github.com/bolidemq/bolide/internal/protocol"
)

// LagAdvice asks a Bolide broker for its lag evaluation
// (BOLIDE_GET_LAG_ADVICE) of group and topic (empty: all). An Apache
// RocketMQ broker answers REQUEST_CODE_NOT_SUPPORTED.
func (c *Client) LagAdvice(ctx context.Context, addr, group, topic string) (*lag.Advice, error) {
	h := protocol.GetLagAdviceRequestHeader{ConsumerGroup: group, Topic: topic}
	resp, err := c.call(ctx, addr, protocol.BolideGetLagAdvice, &h, nil)
	if err != nil {
		return nil, err
	}
	a := new(lag.Advice)
	return a, decodeBody("lag advice", addr, resp.Body, a.Decode)
}
