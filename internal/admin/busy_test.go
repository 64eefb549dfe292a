package admin

import (
	"testing"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol"
)

// TestDescribeBrokerRateLimit: the broker's limit and retry hint are
// printed as they come.
func TestDescribeBrokerRateLimit(t *testing.T) {
	err := &BrokerError{Broker: "broker-a", Addr: "10.0.0.1:10911", Err: &client.ResponseError{Code: protocol.SystemBusy,
		Remark: "rate limited: queryRateLimitPerClient 20/s for 127.0.0.1, retry in 50 ms"}}
	want := "broker broker-a (10.0.0.1:10911): rate limited (SYSTEM_BUSY): queryRateLimitPerClient 20/s for 127.0.0.1, retry in 50 ms"
	if got := describe(err); got != want {
		t.Fatalf("describe = %q, want %q", got, want)
	}
	if got := exitCode(err); got != ExitFailure {
		t.Fatalf("exit code %d, want %d", got, ExitFailure)
	}
}
