package compat

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/bolidemq/bolide/internal/admin"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
)

// oneSecondLevels makes every delay level 1 s, so retries come back fast.
var oneSecondLevels = strings.TrimSpace(strings.Repeat("1s ", 18))

// TestOfficialClientRetryThenDLQ: a clustering push consumer that always
// answers ConsumeRetryLater, with MaxReconsumeTimes 2, gets a message
// three times (reconsume times 0, 1, 2, each after the retry back-off,
// each with the original topic, body and keys); then the broker moves it
// to %DLQ%<group>, where a pull finds it with its origin recorded. A
// consumer that fails once gets the message twice and the DLQ stays empty.
func TestOfficialClientRetryThenDLQ(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startBrokerSpec(t, startNamesrv(t), brokerSpec{mut: brokerConf(t, "messageDelayLevel", oneSecondLevels)})
	c.waitRoute(t, "TBW102")
	probe := c.probe(t)
	p := newProducer(t, c)

	t.Run("always failing", func(t *testing.T) {
		topic := uniqueName(t, "Retry")
		c.createTopic(t, topic, 2)
		group := uniqueName(t, "cg")
		c.existingGroup(t, group, topic)
		rec := newRecorder()
		startFuncConsumer(t, c, group, topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				rec.add(m)
			}
			return consumer.ConsumeRetryLater, nil
		}, consumer.WithMaxReconsumeTimes(2))

		const payload = "retry-me"
		m := primitive.NewMessage(topic, []byte(payload))
		m.WithTag("TagR")
		m.WithKeys([]string{"order-42"})
		r, err := p.SendSync(ctx, m)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		sentAt := time.Now()
		ds := rec.waitN(ctx, t, payload, 3)
		for i, d := range ds {
			t.Logf("delivery %d %v after the send", i, d.at.Sub(sentAt).Round(time.Millisecond))
			got := d.msg
			if got.Topic != topic || got.GetKeys() != "order-42" || got.GetTags() != "TagR" || int(got.ReconsumeTimes) != i {
				t.Errorf("delivery %d: topic %q keys %q tag %q reconsumeTimes %d; want %q, order-42, TagR, %d",
					i, got.Topic, got.GetKeys(), got.GetTags(), got.ReconsumeTimes, topic, i)
			}
			if i > 0 {
				// The retry waits for its delay level (1 s here) from the
				// send-back, which follows the previous delivery.
				if gap := d.at.Sub(ds[i-1].at); gap < time.Second-timeSlack {
					t.Errorf("delivery %d came %v after the previous one, want >= 1s (retry back-off)", i, gap)
				}
			}
		}
		if ds[0].msg.MsgId != r.MsgID {
			t.Errorf("first delivery msgId %q, send result %q", ds[0].msg.MsgId, r.MsgID)
		}

		dlq := "%DLQ%" + group
		poll(t, 15*time.Second, "message in "+dlq, func() (bool, string) {
			off, err := probe.MaxOffset(ctx, c.broker.Addr(), dlq, 0)
			if err != nil {
				return false, err.Error()
			}
			return off == 1, "max offset " + strconv.FormatInt(off, 10)
		})
		// Exactly two send-backs went to the retry topic: the third
		// failure went to the DLQ, not to a fourth delivery.
		if n := c.storedCount(t, "%RETRY%"+group); n != 2 {
			t.Errorf("%%RETRY%%%s holds %d messages, want 2", group, n)
		}
		if n := len(rec.of(payload)); n != 3 {
			t.Errorf("delivered %d times, want 3", n)
		}

		pr, err := probe.Pull(ctx, c.broker.Addr(), uniqueName(t, "dlqreader"), dlq, 0, 0, 32, 0)
		if err != nil {
			t.Fatalf("pull %s: %v", dlq, err)
		}
		if pr.Code != protocol.Success || len(pr.Messages) != 1 {
			t.Fatalf("pull %s: code %v, %d messages; want one", dlq, pr.Code, len(pr.Messages))
		}
		dm := pr.Messages[0]
		props := dm.Properties
		if string(dm.Body) != payload || props.Get(message.PropertyKeys) != "order-42" || props.Get(message.PropertyTags) != "TagR" {
			t.Errorf("DLQ message body %q keys %q tag %q; want the original", dm.Body, props.Get(message.PropertyKeys), props.Get(message.PropertyTags))
		}
		if origin := props.Get(message.PropertyRetryTopic); origin != topic {
			t.Errorf("DLQ message %s=%q, want the original topic %q", message.PropertyRetryTopic, origin, topic)
		}
		if id := props.Get(message.PropertyOriginMessageID); id != r.MsgID && id != r.OffsetMsgID {
			t.Errorf("DLQ message %s=%q, want the original's id (%s or %s)", message.PropertyOriginMessageID, id, r.MsgID, r.OffsetMsgID)
		}
		// Operators read the DLQ with the usual commands.
		status := runAdmin(ctx, t, "topicStatus", "-n", c.ns, "-t", dlq)
		if !regexp.MustCompile(`broker-a\s+0\s+0\s+1\s`).MatchString(status) {
			t.Errorf("topicStatus %s:\n%s\nwant queue 0 with min 0, max 1", dlq, status)
		}
		if byKey := runAdmin(ctx, t, "queryMsgByKey", "-n", c.ns, "-t", dlq, "-k", "order-42"); !regexp.MustCompile(`(?m)^` + dm.UniqKey() + `\s+0\s+0\s*$`).MatchString(byKey) {
			t.Errorf("queryMsgByKey on %s:\n%s\nwant one row: %s in queue 0 at offset 0", dlq, byKey, dm.UniqKey())
		}
	})

	t.Run("failing once", func(t *testing.T) {
		topic := uniqueName(t, "RetryOnce")
		c.createTopic(t, topic, 2)
		group := uniqueName(t, "cg")
		c.existingGroup(t, group, topic)
		rec := newRecorder()
		var calls atomic.Int32
		startFuncConsumer(t, c, group, topic, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			for _, m := range msgs {
				rec.add(m)
			}
			if calls.Add(1) == 1 {
				return consumer.ConsumeRetryLater, nil
			}
			return consumer.ConsumeSuccess, nil
		}, consumer.WithMaxReconsumeTimes(2))

		const payload = "retry-once"
		m := primitive.NewMessage(topic, []byte(payload))
		m.WithKeys([]string{"order-43"})
		if _, err := p.SendSync(ctx, m); err != nil {
			t.Fatalf("send: %v", err)
		}
		ds := rec.waitN(ctx, t, payload, 2)
		for i, d := range ds {
			if d.msg.Topic != topic || d.msg.GetKeys() != "order-43" || int(d.msg.ReconsumeTimes) != i {
				t.Errorf("delivery %d: topic %q keys %q reconsumeTimes %d", i, d.msg.Topic, d.msg.GetKeys(), d.msg.ReconsumeTimes)
			}
		}
		// The success is acknowledged: the group's offset on the retry
		// topic covers the one retry, so no further delivery is pending.
		retry := "%RETRY%" + group
		poll(t, 20*time.Second, "retry acknowledged", func() (bool, string) {
			stored := c.storedCount(t, retry)
			off, err := c.committedOffset(group, retry, 0)
			return err == nil && stored == 1 && off == 1, fmt.Sprintf("stored %d committed %d (%v)", stored, off, err)
		})
		if n := len(rec.of(payload)); n != 2 {
			t.Errorf("delivered %d times, want 2", n)
		}
		if n := c.storedCount(t, "%DLQ%"+group); n != 0 {
			t.Errorf("%%DLQ%%%s holds %d messages, want none", group, n)
		}
	})
}

// runAdmin runs one Bolide mqadmin command line and returns its output; a
// non-zero exit fails the test.
func runAdmin(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut strings.Builder
	if code := admin.Run(ctx, args, admin.IO{Stdout: &out, Stderr: &errOut}); code != 0 {
		t.Fatalf("mqadmin %v: exit %d: %s%s", args, code, out.String(), errOut.String())
	}
	return out.String()
}
