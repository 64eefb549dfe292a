package broker

import (
	"context"
	"net/netip"
	"sync/atomic"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store"
)

// DiscardSends makes the broker answer sends without storing them, for
// benchmarks only (`bolide standalone --discard-sends`, a hidden flag):
// it measures a ceiling. Each send is served on the connection's reader,
// as a real one is, up to the work no broker can skip: the request header
// and the message properties (or a batch body) are decoded, and the answer
// is a full SEND_MESSAGE response (SUCCESS, offset message ids, a queue
// offset). The send-time checks (topic rules, permissions beyond ACL) are
// skipped, and nothing is written, so a consumer finds nothing. The rate
// `bolide bench produce` reaches against it bounds what Bolide's network
// and codec path allow with that load generator on the same cores
// (docs/benchmarks.md, "Twelfth session"). Call it after Listen; it
// replaces the send processors.
func (b *Broker) DiscardSends() {
	host, _ := netip.ParseAddrPort(b.addr) // Listen checked it
	d := &discarder{s: &sender{b: b, storeHost: host}}
	for _, code := range []protocol.RequestCode{protocol.SendMessage, protocol.SendMessageV2, protocol.SendBatchMessage} {
		b.handleRoute(code, remoting.RouteInline, d.process)
	}
	b.log.Warn("sends are discarded, not stored: a benchmark's ceiling, not a broker")
}

// discarder answers sends as stored without storing them.
type discarder struct {
	s    *sender
	next atomic.Int64 // offsets handed out, one sequence over all queues
}

func (d *discarder) process(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	h, err := decodeSendHeader(req)
	if err != nil {
		return nil, err
	}
	n, uniq := 1, ""
	if h.IsBatch() {
		inner, err := message.DecodeBatch(req.Body)
		if err != nil {
			return nil, fail(protocol.MessageIllegal, "bad batch body: %v", err)
		}
		if len(inner) == 0 {
			return nil, fail(protocol.MessageIllegal, "empty batch")
		}
		n = len(inner)
	} else {
		uniq = message.ParseProperties(h.Properties).UniqKey()
	}
	first := d.next.Add(int64(n)) - int64(n)
	res := store.PutResult{Flushed: true, PhyOffsets: make([]int64, n), QueueOffsets: []int64{first}}
	for i := range res.PhyOffsets {
		res.PhyOffsets[i] = first + int64(i)
	}
	queue := h.QueueID
	if queue < 0 { // the broker's choice: a real send picks a writable queue
		queue = 0
	}
	return d.s.respond(req, queue, res, uniq), nil
}
