package compat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

// txListener decides each transaction by the message body's prefix and
// counts the calls the client makes to it.
//
//	commit-*          commit at once
//	rollback-*        roll back at once
//	check-commit-*    unknown at first; commit when the broker checks
//	unknown-*         unknown, every time
type txListener struct {
	mu       sync.Mutex
	executed map[string]int
	checks   map[string][]time.Time
}

func newTxListener() *txListener {
	return &txListener{executed: map[string]int{}, checks: map[string][]time.Time{}}
}

func (l *txListener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	b := string(m.Body)
	l.mu.Lock()
	l.executed[b]++
	l.mu.Unlock()
	switch {
	case strings.HasPrefix(b, "commit-"):
		return primitive.CommitMessageState
	case strings.HasPrefix(b, "rollback-"):
		return primitive.RollbackMessageState
	default:
		return primitive.UnkonwnState
	}
}

func (l *txListener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	b := string(m.Body)
	l.mu.Lock()
	l.checks[b] = append(l.checks[b], time.Now())
	l.mu.Unlock()
	switch {
	case strings.HasPrefix(b, "commit-"), strings.HasPrefix(b, "check-commit-"):
		return primitive.CommitMessageState
	case strings.HasPrefix(b, "rollback-"):
		return primitive.RollbackMessageState
	default:
		return primitive.UnkonwnState
	}
}

func (l *txListener) counts(b string) (executed int, checks []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.executed[b], append([]time.Time(nil), l.checks[b]...)
}

// TestOfficialClientTransactions: with the official transaction producer,
// a committed half message is consumed once, a rolled-back one never; an
// unknown one is checked back (CHECK_TRANSACTION_STATE) and delivered when
// the check commits it; one that stays unknown is checked at most
// transactionCheckMax times and never delivered. No half message is ever
// visible in the real topic.
func TestOfficialClientTransactions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startBrokerSpec(t, startNamesrv(t), brokerSpec{mut: brokerConf(t,
		"transactionCheckInterval", "500", "transactionTimeOut", "500", "transactionCheckMax", "2")})
	c.waitRoute(t, "TBW102")
	probe := c.probe(t)
	const queues = 2
	topic := uniqueName(t, "Tx")
	c.createTopic(t, topic, queues)

	rec := startRecordingConsumer(t, c, uniqueName(t, "cg"), topic)

	l := newTxListener()
	tp, err := rocketmq.NewTransactionProducer(l,
		producer.WithGroupName(uniqueName(t, "txpg")),
		producer.WithInstanceName(uniqueName(t, "txp")),
		producer.WithNsResolver(primitive.NewPassthroughResolver([]string{c.ns})),
		producer.WithRetry(2),
		producer.WithSendMsgTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Start(); err != nil {
		t.Fatalf("transaction producer start: %v", err)
	}
	t.Cleanup(func() { _ = tp.Shutdown() })
	send := func(b string, want primitive.LocalTransactionState) time.Time {
		t.Helper()
		at := time.Now()
		r, err := tp.SendMessageInTransaction(ctx, primitive.NewMessage(topic, []byte(b)))
		if err != nil {
			t.Fatalf("send %s: %v", b, err)
		}
		if r.Status != primitive.SendOK || r.State != want {
			t.Fatalf("send %s: status %v state %v, want SendOK and %v", b, r.Status, r.State, want)
		}
		return at
	}

	const (
		checkCommit = "check-commit-1"
		unknown     = "unknown-1"
		rollback    = "rollback-1"
		commit      = "commit-1"
	)
	first := send(checkCommit, primitive.UnkonwnState)
	// A half message is stored, but not in the real topic. (The broker
	// checks it back only after transactionTimeOut, 500 ms.)
	if time.Since(first) < 400*time.Millisecond {
		n, err := c.maxOffsets(ctx, probe, topic, queues)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("with one half message outstanding the topic's max offsets add up to %d, want 0", n)
		}
	} else {
		t.Logf("the send took %v; half-message visibility before the check not tested", time.Since(first))
	}
	send(unknown, primitive.UnkonwnState)
	send(rollback, primitive.RollbackMessageState)
	sentCommit := send(commit, primitive.CommitMessageState)

	rec.waitN(ctx, t, commit, 1)
	t.Logf("committed message consumed %v after its send", time.Since(sentCommit).Round(time.Millisecond))
	ds := rec.waitN(ctx, t, checkCommit, 1)
	_, checks := l.counts(checkCommit)
	if len(checks) == 0 {
		t.Errorf("%s delivered without a CheckLocalTransaction call", checkCommit)
	} else if ds[0].at.Before(checks[0]) {
		t.Errorf("%s delivered before the check that committed it", checkCommit)
	}
	t.Logf("%s: first check %v after the send, delivered %v after it", checkCommit,
		checkAfter(checks, first), ds[0].at.Sub(first).Round(time.Millisecond))

	// The unknown one: checked, then given up after transactionCheckMax
	// checks. Watch it for six check intervals past its first check.
	var unknownChecks []time.Time
	poll(t, 15*time.Second, "a check of "+unknown, func() (bool, string) {
		_, unknownChecks = l.counts(unknown)
		return len(unknownChecks) > 0, "no check yet"
	})
	poll(t, 10*time.Second, "six check intervals past the first check", func() (bool, string) {
		return time.Since(unknownChecks[0]) > 3*time.Second, ""
	})
	if _, unknownChecks = l.counts(unknown); len(unknownChecks) < 1 || len(unknownChecks) > 2 {
		t.Errorf("%s checked %d times, want 1 or 2 (transactionCheckMax 2)", unknown, len(unknownChecks))
	} else {
		t.Logf("%s checked %d times, first %v after the first send", unknown, len(unknownChecks), unknownChecks[0].Sub(first).Round(time.Millisecond))
	}

	for b, want := range map[string]int{commit: 1, checkCommit: 1, rollback: 0, unknown: 0} {
		if got := len(rec.of(b)); got != want {
			t.Errorf("%s consumed %d times, want %d", b, got, want)
		}
		if executed, _ := l.counts(b); executed != 1 {
			t.Errorf("%s: ExecuteLocalTransaction called %d times, want 1", b, executed)
		}
	}
	for _, b := range []string{commit, checkCommit} {
		if m := rec.of(b)[0].msg; m.Topic != topic || m.SysFlag&int32(primitive.TransactionPreparedType) != 0 {
			t.Errorf("%s consumed from topic %q with sysFlag %#x, want %q and no prepared flag", b, m.Topic, m.SysFlag, topic)
		}
	}
	n, err := c.maxOffsets(ctx, probe, topic, queues)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("the topic's max offsets add up to %d, want 2 (the two committed messages)", n)
	}
}

// checkAfter formats how long after from the first check came.
func checkAfter(checks []time.Time, from time.Time) string {
	if len(checks) == 0 {
		return "never"
	}
	return fmt.Sprint(checks[0].Sub(from).Round(time.Millisecond))
}
