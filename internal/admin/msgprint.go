package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bolidemq/bolide/internal/admin/render"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
)

// Track types of a message track (TrackType).
const (
	TrackConsumed            = "CONSUMED"
	TrackConsumedButFiltered = "CONSUMED_BUT_FILTERED"
	TrackPull                = "PULL"
	TrackNotConsumeYet       = "NOT_CONSUME_YET"
	TrackNotOnline           = "NOT_ONLINE"
	TrackConsumeBroadcasting = "CONSUME_BROADCASTING"
	TrackUnknown             = "UNKNOWN"
)

// MessageView is one message as the message queries print it.
type MessageView struct {
	MsgID           string            `json:"msgId"`    // UNIQ_KEY, else the offset id
	OffsetID        string            `json:"offsetId"` // store host + commit-log offset
	BrokerName      string            `json:"brokerName"`
	Topic           string            `json:"topic"`
	Tags            string            `json:"tags"`
	Keys            string            `json:"keys"`
	QueueID         int32             `json:"queueId"`
	QueueOffset     int64             `json:"queueOffset"`
	CommitLogOffset int64             `json:"commitLogOffset"`
	ReconsumeTimes  int32             `json:"reconsumeTimes"`
	BornTimestamp   int64             `json:"bornTimestamp"`
	StoreTimestamp  int64             `json:"storeTimestamp"`
	BornHost        string            `json:"bornHost"`
	StoreHost       string            `json:"storeHost"`
	SysFlag         int32             `json:"sysFlag"`
	Properties      map[string]string `json:"properties"`
	// LMQOffsets are the message's offsets in the LMQs it was dispatched
	// to (INNER_MULTI_DISPATCH / INNER_MULTI_QUEUE_OFFSET).
	LMQOffsets []LMQOffset `json:"lmqOffsets,omitempty"`
	BodyPath   string      `json:"bodyPath"`
	Body       *string     `json:"body,omitempty"` // with -f
	Tracks     []Track     `json:"tracks"`
	// TrackError says why no track could be computed.
	TrackError string `json:"trackError,omitempty"`

	// offsetHeader prints "OffsetID:" first (queryMsgById).
	offsetHeader bool
}

// LMQOffset is a message's offset in one LMQ.
type LMQOffset struct {
	Queue  string `json:"queue"`
	Offset int64  `json:"offset"`
}

// Track is what one consumer group did with a message (MessageTrack).
type Track struct {
	ConsumerGroup string `json:"consumerGroup"`
	TrackType     string `json:"trackType"`
	ExceptionDesc string `json:"exceptionDesc,omitempty"`
}

func (t Track) String() string {
	desc := "null"
	if t.ExceptionDesc != "" {
		desc = t.ExceptionDesc
	}
	return fmt.Sprintf("MessageTrack [consumerGroup=%s, trackType=%s, exceptionDesc=%s]", t.ConsumerGroup, t.TrackType, desc)
}

// view builds the printable form of f, writes its body file (named after
// the message id, with "_index" for later copies, as Java does) and
// computes its track. queried is the topic the user asked for (an LMQ's
// groups are tracked against the LMQ offset).
func (a *Admin) view(ctx context.Context, f found, queried string, index int) (*MessageView, error) {
	m := f.Msg
	v := &MessageView{
		MsgID: msgID(m), OffsetID: m.OffsetID(), BrokerName: f.Broker.Name,
		Topic: m.Topic, Tags: m.Tags(), Keys: m.Property(message.PropertyKeys),
		QueueID: m.QueueID, QueueOffset: m.QueueOffset, CommitLogOffset: m.CommitLogOffset,
		ReconsumeTimes: m.ReconsumeTimes, BornTimestamp: m.BornTimestamp, StoreTimestamp: m.StoreTimestamp,
		BornHost: m.BornHost.String(), StoreHost: m.StoreHost.String(), SysFlag: int32(m.SysFlag),
		Properties: map[string]string(m.Properties.Clone()),
	}
	if v.Properties == nil {
		v.Properties = map[string]string{}
	}
	if pairs, err := message.PairLMQOffsets(m.Property(message.PropertyInnerMultiDispatch), m.Property(message.PropertyInnerMultiQueueOffset)); err == nil {
		for _, p := range pairs {
			v.LMQOffsets = append(v.LMQOffsets, LMQOffset{Queue: p.Queue, Offset: p.Offset})
		}
	}
	name := v.MsgID
	if index > 0 {
		name = fmt.Sprintf("%s_%d", name, index)
	}
	if err := os.MkdirAll(a.bodyDir, 0o755); err != nil {
		return nil, fmt.Errorf("message body file: %w", err)
	}
	v.BodyPath = filepath.Join(a.bodyDir, name)
	if err := os.WriteFile(v.BodyPath, m.Body, 0o644); err != nil {
		return nil, fmt.Errorf("message body file: %w", err)
	}
	tracks, err := a.tracks(ctx, f, queried)
	if err != nil {
		v.TrackError = describe(err)
	}
	v.Tracks = tracks
	return v, nil
}

// tracks is messageTrackDetail: for every group consuming the message's
// topic on its broker (and, when an LMQ was asked for, every group
// consuming that LMQ, judged by the message's LMQ offset), whether the
// group consumed it.
func (a *Admin) tracks(ctx context.Context, f found, queried string) ([]Track, error) {
	type target struct {
		group, topic string
		queueID      int32
		offset       int64
	}
	var targets []target
	groups, err := a.topicConsumers(ctx, f.Broker, f.Msg.Topic)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		targets = append(targets, target{g, f.Msg.Topic, f.Msg.QueueID, f.Msg.QueueOffset})
	}
	if message.IsLMQ(queried) && queried != f.Msg.Topic {
		if off, ok := lmqOffset(f.Msg, queried); ok {
			groups, err := a.topicConsumers(ctx, f.Broker, queried)
			if err != nil {
				return nil, err
			}
			for _, g := range groups {
				targets = append(targets, target{g, queried, message.LMQQueueID, off})
			}
		}
	}
	out := make([]Track, 0, len(targets))
	for _, t := range targets {
		out = append(out, a.track(ctx, f, t.group, t.topic, t.queueID, t.offset))
	}
	return out, nil
}

func (a *Admin) topicConsumers(ctx context.Context, b Broker, topic string) ([]string, error) {
	cctx, cancel := withTimeout(ctx, adminTimeout)
	defer cancel()
	groups, err := a.c.TopicConsumers(cctx, b.Addr, topic)
	if err != nil {
		return nil, failure(b, err)
	}
	slices.Sort(groups)
	return groups, nil
}

// codeDesc is Java's "CODE:<code> DESC:<remark>" of a broker error.
func codeDesc(err error) (protocol.ResponseCode, string) {
	var re *client.ResponseError
	if errors.As(err, &re) {
		return re.Code, fmt.Sprintf("CODE:%d DESC:%s", int32(re.Code), re.Remark)
	}
	return -1, err.Error()
}

// track decides one group's track type for a message at (topic, queueID,
// offset) on f's broker.
func (a *Admin) track(ctx context.Context, f found, group, topic string, queueID int32, offset int64) Track {
	t := Track{ConsumerGroup: group, TrackType: TrackUnknown}
	cctx, cancel := withTimeout(ctx, adminTimeout)
	cc, err := a.c.ConsumerConnection(cctx, f.Broker.Addr, group)
	cancel()
	if err != nil {
		code, desc := codeDesc(err)
		if code == protocol.ConsumerNotOnline {
			t.TrackType = TrackNotOnline
		}
		t.ExceptionDesc = desc
		return t
	}
	switch cc.ConsumeType {
	case body.ConsumeActively:
		t.TrackType = TrackPull
	case body.ConsumePassively:
		if cc.MessageModel == body.Broadcasting {
			t.TrackType = TrackConsumeBroadcasting
			return t
		}
		cctx, cancel := withTimeout(ctx, consumeStatsTimeout)
		cs, err := a.c.ConsumeStats(cctx, f.Broker.Addr, group, topic)
		cancel()
		if err != nil {
			code, desc := codeDesc(err)
			if code == protocol.ConsumerNotOnline {
				t.TrackType = TrackNotOnline
			}
			t.ExceptionDesc = desc
			return t
		}
		consumed := false
		for mq, ow := range cs.OffsetTable {
			if mq.Topic == topic && mq.QueueID == queueID && mq.BrokerName == f.Broker.Name && ow.ConsumerOffset > offset {
				consumed = true
			}
		}
		if !consumed {
			t.TrackType = TrackNotConsumeYet
			return t
		}
		t.TrackType = TrackConsumed
		if sd, ok := cc.SubscriptionTable[topic]; ok {
			tags := f.Msg.Tags()
			if !(len(sd.TagsSet) == 0 || slices.Contains(sd.TagsSet, "*") || slices.Contains(sd.TagsSet, tags)) {
				t.TrackType = TrackConsumedButFiltered
			}
		}
	}
	return t
}

// writeText prints the message like QueryMsgByUniqueKeySubCommand (and,
// with offsetHeader, QueryMsgByIdSubCommand), then its track.
func (v *MessageView) writeText(w io.Writer, loc *time.Location) {
	const strFormat = "%-20s %s\n"
	const intFormat = "%-20s %d\n"
	if v.offsetHeader {
		fmt.Fprintf(w, strFormat, "OffsetID:", v.OffsetID)
	}
	fmt.Fprintf(w, strFormat, "Topic:", v.Topic)
	fmt.Fprintf(w, strFormat, "Tags:", "["+render.Nullable(v.Tags)+"]")
	fmt.Fprintf(w, strFormat, "Keys:", "["+render.Nullable(v.Keys)+"]")
	fmt.Fprintf(w, intFormat, "Queue ID:", v.QueueID)
	fmt.Fprintf(w, intFormat, "Queue Offset:", v.QueueOffset)
	fmt.Fprintf(w, intFormat, "CommitLog Offset:", v.CommitLogOffset)
	fmt.Fprintf(w, intFormat, "Reconsume Times:", v.ReconsumeTimes)
	fmt.Fprintf(w, strFormat, "Born Timestamp:", render.Millis(v.BornTimestamp, loc))
	fmt.Fprintf(w, strFormat, "Store Timestamp:", render.Millis(v.StoreTimestamp, loc))
	fmt.Fprintf(w, strFormat, "Born Host:", v.BornHost)
	fmt.Fprintf(w, strFormat, "Store Host:", v.StoreHost)
	fmt.Fprintf(w, intFormat, "System Flag:", v.SysFlag)
	fmt.Fprintf(w, strFormat, "Properties:", render.StringMap(v.Properties))
	fmt.Fprintf(w, strFormat, "Message Body Path:", v.BodyPath)
	if v.Body != nil {
		fmt.Fprintf(w, strFormat, "Message Body:", *v.Body)
	}
	switch {
	case v.TrackError != "":
		fmt.Fprintf(w, "\n\nWARN: no message track: %s\n", v.TrackError)
	case len(v.Tracks) == 0:
		fmt.Fprintf(w, "\n\nWARN: No Consumer\n")
	default:
		fmt.Fprintf(w, "\n\n")
		for _, t := range v.Tracks {
			fmt.Fprintf(w, "%s\n", t)
		}
	}
}
