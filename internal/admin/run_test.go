package admin

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol"
)

func TestDescribeAndExitCode(t *testing.T) {
	busy := &client.ResponseError{Code: protocol.SystemBusy, Remark: "too many requests"}
	for _, c := range []struct {
		err  error
		want string
		code int
	}{
		{busy, "rate limited (SYSTEM_BUSY), try again later: too many requests", ExitFailure},
		{&client.ResponseError{Code: protocol.FlowControl}, "rate limited (FLOW_CONTROL), try again later", ExitFailure},
		{&BrokerError{Broker: "broker-a", Addr: "10.0.0.1:10911", Err: busy},
			"broker broker-a (10.0.0.1:10911): rate limited (SYSTEM_BUSY), try again later: too many requests", ExitFailure},
		{fmt.Errorf("send to T: %w", busy), "send to T: rate limited (SYSTEM_BUSY), try again later: too many requests", ExitFailure},
		{&client.ResponseError{Code: protocol.TopicNotExist, Remark: "topic[x] not exist"}, "TOPIC_NOT_EXIST (17): topic[x] not exist", ExitFailure},
		{&PartialError{Failures: []*BrokerError{
			{Broker: "a", Addr: "x:1", Err: errors.New("boom")},
			{Addr: "name server", Err: errors.New("down")},
		}}, "broker a (x:1): boom; name server: down", ExitFailure},
		{notFoundf("topic %s not found", "T"), "topic T not found", ExitNotFound},
		{fmt.Errorf("wrapped: %w", notFoundf("gone")), "wrapped: gone", ExitNotFound},
		{usagef("missing -t"), "missing -t", ExitUsage},
		{client.ErrNoNamesrv, "no name server address: give -n host:port[;host:port] or set NAMESRV_ADDR", ExitUsage},
	} {
		if got := describe(c.err); got != c.want {
			t.Errorf("describe(%v) = %q, want %q", c.err, got, c.want)
		}
		if got := exitCode(c.err); got != c.code {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

func TestNewOpID(t *testing.T) {
	a := newOpID(mustTime("2024-05-01T10:00:00.123Z"))
	b := newOpID(mustTime("2024-05-01T10:00:00.124Z"))
	if len(a) != len("20240501T100000.123Z-")+8 || a[:21] != "20240501T100000.123Z-" {
		t.Fatalf("op id %q", a)
	}
	if !(a < b) {
		t.Errorf("op ids not time-ordered: %q >= %q", a, b)
	}
	if c := newOpID(mustTime("2024-05-01T10:00:00.123Z")); c == a {
		t.Errorf("two op ids of the same millisecond are equal: %q", c)
	}
}
