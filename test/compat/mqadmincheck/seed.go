package mqadmincheck

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

// QueueCount is the number of queues of the seeded topic on each broker.
const QueueCount = 8

// Messages per queue, by phase (before and after Fixture.ResetTimestamp),
// indexed by broker index modulo 2, then queue. Every value differs from
// its neighbours so a row answered for the wrong queue or broker shows; the
// queue with none in either phase (broker 0, queue 5) is an empty queue.
var (
	phase1 = [2][QueueCount]int{{2, 1, 0, 3, 1, 0, 2, 1}, {1, 0, 2, 1, 3, 0, 1, 2}}
	phase2 = [2][QueueCount]int{{1, 0, 2, 0, 1, 0, 1, 1}, {0, 1, 1, 1, 0, 2, 0, 1}}
)

// LMQ messages: on broker 0 queue 1, dispatched to both LMQs; on broker 1
// (if any) queue 2, to LMQ A only. So LMQ B lives on broker 0 alone and a
// query of it on another broker meets an LMQ that broker never saw.
var lmqPlan = []struct {
	broker, queue  int
	both           bool
	phase1, phase2 int
}{
	{broker: 0, queue: 1, both: true, phase1: 2, phase2: 1},
	{broker: 1, queue: 2, both: false, phase1: 1, phase2: 1},
}

// uncommitted is the queue (broker index, queue) for which no consumer
// offset is committed: consumer offset 0 in the answers.
var uncommitted = [2]int{1, 5}

// SeedConfig says where and how to seed.
type SeedConfig struct {
	Namesrv string
	Cluster string // default "DefaultCluster"
	// Name distinguishes this run's topic, groups and LMQs (letters,
	// digits, '_' and '-').
	Name string
	// Groups get the same committed offsets; each tool can then reset its
	// own group and the other tool still sees the state before.
	Groups []string
}

// Broker is one broker of the seeded cluster.
type Broker struct {
	Name, Addr string
}

// Sent is one message the seeder stored.
type Sent struct {
	Broker      string
	QueueID     int32
	QueueOffset int64
	Phy         int64  // commit-log offset
	OffsetID    string // broker-made message id (store host + Phy)
	UniqKey     string // UNIQ_KEY
	Keys, Tags  string
	Phase       int      // 1: stored before ResetTimestamp, 2: after
	LMQs        []string // INNER_MULTI_DISPATCH
	LMQOffsets  []int64  // INNER_MULTI_QUEUE_OFFSET, same order
}

// Queue names one queue.
type Queue struct {
	Topic   string
	Broker  string
	QueueID int32
}

// Fixture is the seeded state: what every command must answer follows
// from it.
type Fixture struct {
	Namesrv string
	Cluster string
	Topic   string    // a normal topic, QueueCount queues on every broker
	LMQs    [2]string // A (on every broker) and B (on the first only)
	// AbsentLMQ is an LMQ nothing was ever dispatched to.
	AbsentLMQ string
	Groups    []string
	Brokers   []Broker // sorted by name
	// SharedKey is a key of every message not dispatched to an LMQ;
	// LMQKey of every message dispatched to one.
	SharedKey, LMQKey string
	Sent              []Sent
	// ResetTimestamp (ms) lies between the two phases: every phase-1
	// message was stored before it, every phase-2 one at or after it.
	ResetTimestamp int64
	// Committed is each group's consumer offset per queue (of Topic and
	// of LMQ A); a queue without an entry has none committed.
	Committed map[Queue]int64
}

// Seed creates the state on the cluster: the topic on every broker, the
// groups, messages in two phases, consumer offsets. It waits until every
// queue shows its messages and the last message can be found by key.
func Seed(ctx context.Context, cfg SeedConfig) (*Fixture, error) {
	if cfg.Cluster == "" {
		cfg.Cluster = "DefaultCluster"
	}
	if cfg.Name == "" || len(cfg.Groups) == 0 {
		return nil, errors.New("mqadmincheck: SeedConfig needs a Name and Groups")
	}
	c := client.New(client.Config{NamesrvAddrs: []string{cfg.Namesrv}})
	defer c.Close()
	rc := remoting.NewClient(remoting.ClientConfig{})
	defer rc.Close()
	s := &seeder{c: c, rc: rc, fx: &Fixture{
		Namesrv:   cfg.Namesrv,
		Cluster:   cfg.Cluster,
		Topic:     "XC_" + cfg.Name,
		LMQs:      [2]string{message.LMQPrefix + "xc_a_" + cfg.Name, message.LMQPrefix + "xc_b_" + cfg.Name},
		AbsentLMQ: message.LMQPrefix + "xc_none_" + cfg.Name,
		Groups:    cfg.Groups,
		SharedKey: "shared_" + cfg.Name,
		LMQKey:    "lmqkey_" + cfg.Name,
		Committed: map[Queue]int64{},
	}}
	// UNIQ_KEYs on loopback with an impossible "port": the Java tool's
	// queryMsgById first decodes an id as broker address + offset, and this
	// makes that decode fail at once (no connection attempt anywhere) so it
	// falls back to the unique-key query, as it does for real client ids.
	s.uniq = message.NewUniqIDGenerator(message.UniqIDConfig{IP: netip.MustParseAddr("127.0.0.1"), PID: 0xFFFF})
	steps := []func(context.Context) error{
		s.findBrokers, s.createTopic, s.createGroups,
		func(ctx context.Context) error { return s.sendPhase(ctx, 1) },
		s.passBoundary,
		func(ctx context.Context) error { return s.sendPhase(ctx, 2) },
		s.commitOffsets, s.waitVisible,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return s.fx, nil
}

type seeder struct {
	c    *client.Client
	rc   *remoting.Client // for the requests client.Client has no call for
	fx   *Fixture
	uniq *message.UniqIDGenerator
	n    int // messages sent
	// next LMQ offset per broker and LMQ
	lmqNext map[[2]string]int64
}

func (s *seeder) findBrokers(ctx context.Context) error {
	ci, err := s.c.ClusterInfo(ctx)
	if err != nil {
		return fmt.Errorf("mqadmincheck: cluster info: %w", err)
	}
	for _, name := range ci.ClusterAddrTable[s.fx.Cluster] {
		addr := ci.BrokerAddrTable[name].BrokerAddrs[body.MasterID]
		if addr == "" {
			return fmt.Errorf("mqadmincheck: broker %s has no master", name)
		}
		s.fx.Brokers = append(s.fx.Brokers, Broker{Name: name, Addr: addr})
	}
	if len(s.fx.Brokers) == 0 {
		return fmt.Errorf("mqadmincheck: cluster %s has no broker", s.fx.Cluster)
	}
	slices.SortFunc(s.fx.Brokers, func(a, b Broker) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

func (s *seeder) createTopic(ctx context.Context) error {
	for _, b := range s.fx.Brokers {
		if err := s.c.CreateTopic(ctx, b.Addr, s.fx.Topic, QueueCount); err != nil {
			return fmt.Errorf("mqadmincheck: create %s on %s: %w", s.fx.Topic, b.Name, err)
		}
	}
	return poll(ctx, 15*time.Second, "route of "+s.fx.Topic+" on every broker", func() (bool, error) {
		r, err := s.c.RefreshRoute(ctx, s.fx.Topic)
		if client.IsCode(err, protocol.TopicNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return len(r.WriteQueues) == QueueCount*len(s.fx.Brokers), nil
	})
}

func (s *seeder) createGroups(ctx context.Context) error {
	for _, b := range s.fx.Brokers {
		for _, g := range s.fx.Groups {
			cfg := body.NewSubscriptionGroupConfig(g)
			req := remoting.NewRequest(int32(protocol.UpdateAndCreateSubscriptionGroup), nil, cfg.Encode())
			if err := s.invoke(ctx, b.Addr, req); err != nil {
				return fmt.Errorf("mqadmincheck: create group %s on %s: %w", g, b.Name, err)
			}
		}
	}
	return nil
}

func (s *seeder) sendPhase(ctx context.Context, phase int) error {
	counts := phase1
	if phase == 2 {
		counts = phase2
	}
	for bi, b := range s.fx.Brokers {
		for q := range QueueCount {
			for range counts[bi%2][q] {
				if err := s.send(ctx, b, int32(q), phase, nil); err != nil {
					return err
				}
			}
		}
		for _, p := range lmqPlan {
			if p.broker != bi {
				continue
			}
			n := p.phase1
			if phase == 2 {
				n = p.phase2
			}
			lmqs := []string{s.fx.LMQs[0]}
			if p.both {
				lmqs = append(lmqs, s.fx.LMQs[1])
			}
			for range n {
				if err := s.send(ctx, b, int32(p.queue), phase, lmqs); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *seeder) send(ctx context.Context, b Broker, q int32, phase int, lmqs []string) error {
	s.n++
	uniq := s.uniq.Next()
	m := Sent{Broker: b.Name, QueueID: q, UniqKey: uniq, Phase: phase, Tags: []string{"TagA", "TagB"}[s.n%2]}
	props := message.Properties{message.PropertyUniqKey: uniq, message.PropertyTags: m.Tags}
	own := fmt.Sprintf("k%d_%s", s.n, strings.TrimPrefix(s.fx.Topic, "XC_"))
	if lmqs == nil {
		m.Keys = own + " " + s.fx.SharedKey
	} else {
		m.Keys = own + " " + s.fx.LMQKey
		props[message.PropertyInnerMultiDispatch] = strings.Join(lmqs, message.LMQDispatchSeparator)
		if s.lmqNext == nil {
			s.lmqNext = map[[2]string]int64{}
		}
		m.LMQs = lmqs
		for _, l := range lmqs {
			k := [2]string{b.Name, l}
			m.LMQOffsets = append(m.LMQOffsets, s.lmqNext[k])
			s.lmqNext[k]++
		}
	}
	props[message.PropertyKeys] = m.Keys
	res, err := s.c.SendTo(ctx, b.Addr, s.fx.Topic, q, fmt.Appendf(nil, "body %d", s.n), props)
	if err != nil {
		return fmt.Errorf("mqadmincheck: send to %s queue %d: %w", b.Name, q, err)
	}
	if res.QueueID != q {
		return fmt.Errorf("mqadmincheck: send to %s queue %d stored in queue %d", b.Name, q, res.QueueID)
	}
	_, phy, err := message.ParseOffsetID(res.MsgID)
	if err != nil {
		return fmt.Errorf("mqadmincheck: send to %s: message id %q: %w", b.Name, res.MsgID, err)
	}
	m.QueueOffset, m.OffsetID, m.Phy = res.QueueOffset, res.MsgID, phy
	if want := int64(s.count(b.Name, q, 0)); m.QueueOffset != want {
		return fmt.Errorf("mqadmincheck: send to %s queue %d got offset %d, want %d (was the topic empty?)", b.Name, q, m.QueueOffset, want)
	}
	s.fx.Sent = append(s.fx.Sent, m)
	return nil
}

// count is how many messages the fixture holds in a queue of the topic
// (phase 0: both phases).
func (s *seeder) count(broker string, q int32, phase int) int {
	return s.fx.Count(Queue{Topic: s.fx.Topic, Broker: broker, QueueID: q}, phase)
}

// passBoundary waits until the clock has passed the last phase-1 store
// time: every phase-1 message is stored at or before now, so the next
// millisecond is the reset timestamp.
func (s *seeder) passBoundary(ctx context.Context) error {
	boundary := time.Now().UnixMilli()
	s.fx.ResetTimestamp = boundary + 1
	return poll(ctx, 5*time.Second, "the clock to pass the phase boundary", func() (bool, error) {
		return time.Now().UnixMilli() > boundary, nil
	})
}

func (s *seeder) commitOffsets(ctx context.Context) error {
	for bi, b := range s.fx.Brokers {
		for q := range int32(QueueCount) {
			if bi == uncommitted[0] && q == int32(uncommitted[1]) {
				continue
			}
			off := max(int64(s.count(b.Name, q, 0))-int64(q%2), 0)
			s.fx.Committed[Queue{s.fx.Topic, b.Name, q}] = off
		}
		// LMQ A: broker 0 one behind the rest, others fully consumed.
		if n := s.fx.Count(Queue{s.fx.LMQs[0], b.Name, 0}, 0); n > 0 {
			off := int64(n)
			if bi == 0 {
				off = 1
			}
			s.fx.Committed[Queue{s.fx.LMQs[0], b.Name, 0}] = off
		}
	}
	for q, off := range s.fx.Committed {
		addr := s.fx.BrokerAddr(q.Broker)
		for _, g := range s.fx.Groups {
			h := protocol.UpdateConsumerOffsetRequestHeader{ConsumerGroup: g, Topic: q.Topic, QueueID: q.QueueID, CommitOffset: off}
			req := remoting.NewRequest(int32(protocol.UpdateConsumerOffset), protocol.EncodeHeader(&h), nil)
			if err := s.invoke(ctx, addr, req); err != nil {
				return fmt.Errorf("mqadmincheck: commit %s %s/%d=%d for %s: %w", q.Broker, q.Topic, q.QueueID, off, g, err)
			}
		}
	}
	return nil
}

// waitVisible waits until every queue's max offset shows its messages
// (dispatch done) and the last message of each broker is found by its
// key (index done), unless the broker does not answer key queries at all.
func (s *seeder) waitVisible(ctx context.Context) error {
	for _, b := range s.fx.Brokers {
		queues := []Queue{{s.fx.LMQs[0], b.Name, 0}, {s.fx.LMQs[1], b.Name, 0}}
		for q := range int32(QueueCount) {
			queues = append(queues, Queue{s.fx.Topic, b.Name, q})
		}
		for _, q := range queues {
			want := int64(s.fx.Count(q, 0))
			if want == 0 {
				continue
			}
			err := poll(ctx, 15*time.Second, fmt.Sprintf("max offset %d of %s %s/%d", want, b.Name, q.Topic, q.QueueID), func() (bool, error) {
				got, err := s.c.MaxOffset(ctx, b.Addr, q.Topic, q.QueueID)
				return got == want, err
			})
			if err != nil {
				return err
			}
		}
		var last *Sent
		for i := range s.fx.Sent {
			if s.fx.Sent[i].Broker == b.Name {
				last = &s.fx.Sent[i]
			}
		}
		own, _, _ := strings.Cut(last.Keys, " ")
		h := protocol.QueryMessageRequestHeader{Topic: s.fx.Topic, Key: own, MaxNum: 1, EndTimestamp: 1<<63 - 1, UniqueKey: "false"}
		err := poll(ctx, 15*time.Second, "key "+own+" indexed on "+b.Name, func() (bool, error) {
			req := remoting.NewRequest(int32(protocol.QueryMessage), protocol.EncodeHeader(&h), nil)
			resp, err := s.rc.Invoke(ctx, b.Addr, req)
			if err != nil {
				return false, err
			}
			// Found, or a broker that cannot answer: the commands will say.
			return resp.Code != int32(protocol.QueryNotFound), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// invoke sends req and fails unless the answer is SUCCESS.
func (s *seeder) invoke(ctx context.Context, addr string, req *remoting.Command) error {
	resp, err := s.rc.Invoke(ctx, addr, req)
	if err != nil {
		return err
	}
	if resp.Code != int32(protocol.Success) {
		return &client.ResponseError{Code: protocol.ResponseCode(resp.Code), Remark: resp.Remark}
	}
	return nil
}

// Count is how many messages the fixture stored in q (of the topic or an
// LMQ) in a phase (0: both).
func (f *Fixture) Count(q Queue, phase int) int {
	n := 0
	for _, m := range f.Sent {
		if m.Broker != q.Broker || phase != 0 && m.Phase != phase {
			continue
		}
		if q.Topic == f.Topic && m.QueueID == q.QueueID || q.QueueID == 0 && slices.Contains(m.LMQs, q.Topic) {
			n++
		}
	}
	return n
}

// BrokerAddr returns the address of the named broker.
func (f *Fixture) BrokerAddr(name string) string {
	for _, b := range f.Brokers {
		if b.Name == name {
			return b.Addr
		}
	}
	return ""
}

// poll calls cond until it reports true, an error, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			return fmt.Errorf("mqadmincheck: waiting for %s: not within %v (last error: %v)", what, timeout, last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mqadmincheck: waiting for %s: %w", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
