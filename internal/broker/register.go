package broker

import (
	"context"
	"hash/crc32"
	"net"
	"strconv"
	"time"

	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// startRegistration registers with every name server now and then every
// RegisterInterval, until Shutdown.
func (b *Broker) startRegistration() {
	b.RegisterAll(context.Background())
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		t := time.NewTicker(b.cfg.RegisterInterval)
		defer t.Stop()
		for {
			select {
			case <-b.done:
				return
			case <-t.C:
				b.RegisterAll(context.Background())
			}
		}
	}()
}

// haAddr is the (unused) HA address upstream brokers advertise:
// listenPort+1 on the same host.
func (b *Broker) haAddr() string {
	host, port, _ := net.SplitHostPort(b.addr)
	p, _ := strconv.Atoi(port)
	return net.JoinHostPort(host, strconv.Itoa(p+1))
}

// RegisterAll sends REGISTER_BROKER with the full topic table to every
// name server; failures are logged and retried at the next round. Topic
// changes call it at once so that routes follow without waiting.
func (b *Broker) RegisterAll(ctx context.Context) {
	b.regMu.Lock()
	defer b.regMu.Unlock()
	topics, dv := b.topics.Snapshot()
	rb := body.RegisterBrokerBody{}
	rb.TopicConfigSerializeWrapper.TopicConfigTable = topics
	rb.TopicConfigSerializeWrapper.DataVersion = dv
	rb.FilterServerList = []string{}
	payload := rb.Encode()
	timeout := int64(120_000)
	h := protocol.RegisterBrokerRequestHeader{
		BrokerName: b.bc.BrokerName, BrokerAddr: b.addr, ClusterName: b.bc.BrokerClusterName,
		HAServerAddr: b.haAddr(), BrokerID: b.bc.BrokerID, HeartbeatTimeoutMillis: &timeout,
		BodyCrc32: int32(crc32.ChecksumIEEE(payload) & 0x7FFFFFFF),
	}
	for _, ns := range b.bc.NamesrvAddr {
		rctx, cancel := context.WithTimeout(ctx, 6*time.Second)
		resp, err := b.ns.Invoke(rctx, ns, remoting.NewRequest(int32(protocol.RegisterBroker), protocol.EncodeHeader(&h), payload))
		cancel()
		switch {
		case err != nil:
			b.log.Warn("register with name server failed", "namesrv", ns, "err", err)
		case resp.Code != int32(protocol.Success):
			b.log.Warn("name server refused registration", "namesrv", ns, "code", resp.Code, "remark", resp.Remark)
		default:
			b.log.Debug("registered with name server", "namesrv", ns, "topics", len(topics))
		}
	}
}

// unregisterAll sends UNREGISTER_BROKER to every name server so clients
// stop routing here at once instead of after the 120 s expiry.
func (b *Broker) unregisterAll(ctx context.Context) {
	h := protocol.UnregisterBrokerRequestHeader{
		BrokerName: b.bc.BrokerName, BrokerAddr: b.addr, ClusterName: b.bc.BrokerClusterName, BrokerID: b.bc.BrokerID,
	}
	for _, ns := range b.bc.NamesrvAddr {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		resp, err := b.ns.Invoke(rctx, ns, remoting.NewRequest(int32(protocol.UnregisterBroker), protocol.EncodeHeader(&h), nil))
		cancel()
		if err != nil || resp.Code != int32(protocol.Success) {
			b.log.Warn("unregister from name server failed", "namesrv", ns, "err", err)
		}
	}
}
