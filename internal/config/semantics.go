package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Messaging-semantics settings: delayed delivery, retries and
// transactions, under upstream's broker.conf names (MessageStoreConfig
// messageDelayLevel and timerMaxDelaySec, BrokerConfig transaction*).
type Semantics struct {
	// DelayLevels are the durations of delay levels 1..N
	// (messageDelayLevel, default "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m
	// 9m 10m 20m 30m 1h 2h"). Retries use level 3 + reconsumeTimes.
	DelayLevels []time.Duration
	// TimerMaxDelaySec bounds TIMER_DELIVER_MS / TIMER_DELAY_SEC delays
	// (timerMaxDelaySec, default 3 days, as upstream).
	TimerMaxDelaySec int64
	// TransactionTimeOutMs is how old a half message must be before the
	// broker asks its producer about it (transactionTimeOut, 6 s).
	TransactionTimeOutMs int64
	// TransactionCheckIntervalMs is the period of the transaction check
	// pass (transactionCheckInterval, 30 s).
	TransactionCheckIntervalMs int64
	// TransactionCheckMax is how many times a half message is checked
	// before it is discarded (transactionCheckMax, 15).
	TransactionCheckMax int
}

// DefaultDelayLevels is upstream's messageDelayLevel.
const DefaultDelayLevels = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"

func defaultSemantics() Semantics {
	levels, _ := ParseDelayLevels(DefaultDelayLevels)
	return Semantics{
		DelayLevels:                levels,
		TimerMaxDelaySec:           3 * 24 * 3600,
		TransactionTimeOutMs:       6_000,
		TransactionCheckIntervalMs: 30_000,
		TransactionCheckMax:        15,
	}
}

// ParseDelayLevels parses a messageDelayLevel value: durations with unit
// s, m, h or d separated by spaces ("1s 5s 10s 30s 1m ..."), as upstream's
// ScheduleMessageService.parseDelayLevel accepts.
func ParseDelayLevels(v string) ([]time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
	var out []time.Duration
	for _, f := range strings.Fields(v) {
		if len(f) < 2 {
			return nil, fmt.Errorf("delay level %q: want a number and a unit (s, m, h, d)", f)
		}
		unit, ok := units[f[len(f)-1]]
		if !ok {
			return nil, fmt.Errorf("delay level %q: unit must be s, m, h or d", f)
		}
		n, err := strconv.ParseInt(f[:len(f)-1], 10, 64)
		if err != nil || n < 0 || n > 365*24*3600 {
			return nil, fmt.Errorf("delay level %q: bad number", f)
		}
		out = append(out, time.Duration(n)*unit)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no delay levels in %q", v)
	}
	return out, nil
}

// FormatDelayLevels renders levels back as a messageDelayLevel value.
func FormatDelayLevels(levels []time.Duration) string {
	parts := make([]string, len(levels))
	for i, d := range levels {
		switch {
		case d%(24*time.Hour) == 0 && d > 0:
			parts[i] = strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
		case d%time.Hour == 0 && d > 0:
			parts[i] = strconv.FormatInt(int64(d/time.Hour), 10) + "h"
		case d%time.Minute == 0 && d > 0:
			parts[i] = strconv.FormatInt(int64(d/time.Minute), 10) + "m"
		default:
			parts[i] = strconv.FormatInt(int64(d/time.Second), 10) + "s"
		}
	}
	return strings.Join(parts, " ")
}

func init() {
	setters["messageDelayLevel"] = func(b *Broker, v string) error {
		levels, err := ParseDelayLevels(v)
		if err != nil {
			return err
		}
		b.Semantics.DelayLevels = levels
		return nil
	}
	setters["timerMaxDelaySec"] = integer(func(b *Broker) *int64 { return &b.Semantics.TimerMaxDelaySec }, 1, 10*365*24*3600)
	setters["transactionTimeOut"] = integer(func(b *Broker) *int64 { return &b.Semantics.TransactionTimeOutMs }, 1, 24*3600*1000)
	setters["transactionCheckInterval"] = integer(func(b *Broker) *int64 { return &b.Semantics.TransactionCheckIntervalMs }, 10, 24*3600*1000)
	setters["transactionCheckMax"] = integer(func(b *Broker) *int { return &b.Semantics.TransactionCheckMax }, 1, 1000)

	getters["messageDelayLevel"] = func(b *Broker) string { return FormatDelayLevels(b.Semantics.DelayLevels) }
	getters["timerMaxDelaySec"] = func(b *Broker) string { return strconv.FormatInt(b.Semantics.TimerMaxDelaySec, 10) }
	getters["transactionTimeOut"] = func(b *Broker) string { return strconv.FormatInt(b.Semantics.TransactionTimeOutMs, 10) }
	getters["transactionCheckInterval"] = func(b *Broker) string {
		return strconv.FormatInt(b.Semantics.TransactionCheckIntervalMs, 10)
	}
	getters["transactionCheckMax"] = func(b *Broker) string { return strconv.Itoa(b.Semantics.TransactionCheckMax) }
}
