package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
	"github.com/bolidemq/bolide/internal/store"
)

// This file holds the broker's LMQ metadata requests (GET_BROKER_RUNTIME_INFO,
// the BOLIDE_GET_LMQ_LIST extension) and the send-time validation of
// INNER_MULTI_DISPATCH.

// brokerVersionDesc is the RocketMQ version Bolide answers as
// (MQVersion.getVersionDesc of remoting.Version).
const brokerVersionDesc = "V5_3_3"

const (
	// maxLMQsPerMessage bounds the INNER_MULTI_DISPATCH entries of one
	// message (upstream has no bound). It keeps the stored properties
	// (a 2-byte length) within reach: 100 names of 255 bytes plus their
	// offsets fit. A broker.conf key may make it configurable later.
	maxLMQsPerMessage = 100
	// maxLMQNameLength is the longest LMQ name accepted: upstream's limit
	// for %RETRY%/%DLQ% names, which also embed a user's name. Ordinary
	// topics stop at 127 (TopicValidator); LMQ names, which rocketmq-mqtt
	// derives from MQTT topic filters, get the larger room.
	maxLMQNameLength = message.MaxRetryTopicLength
)

// slashRemark explains the refusal of a '/' in an LMQ name.
const slashRemark = "LMQ names may not contain '/': rocketmq-mqtt encodes the '/' of an MQTT topic as '%' " +
	"(a/b/c is %LMQ%a%b%c)"

func (b *Broker) registerLMQProcessors() {
	boot := b.now()
	b.handle(protocol.GetBrokerRuntimeInfo, func(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		resp := success(req)
		resp.Body = (&body.KVTable{Table: b.runtimeInfo(boot)}).Encode()
		return resp, nil
	})
	b.handle(protocol.BolideGetLMQList, b.listLMQs)
}

// runtimeInfo is the GET_BROKER_RUNTIME_INFO table that mqadmin brokerStatus
// prints. Keys upstream also sends (AdminBrokerProcessor.prepareRuntimeInfo
// and the store's getRuntimeInfo) keep their names and formats; Bolide adds
// commitLogFlushedOffset, lmqCount, maxLmqConsumeQueueNum and, on Linux,
// residentMemoryBytes. Upstream counters Bolide does not keep (msgPutTotal*,
// putTps, thread-pool queues, ...) are left out rather than faked.
func (b *Broker) runtimeInfo(boot time.Time) map[string]string {
	st := b.store.Stats()
	behind := max(st.CommitLogWriteOffset-st.Dispatched, 0) // read apart: never report < 0
	unflushed := max(st.CommitLogWriteOffset-st.CommitLogFlushed, 0)
	itoa := func(i int64) string { return strconv.FormatInt(i, 10) }
	info := map[string]string{
		// upstream keys
		"brokerVersionDesc":        brokerVersionDesc,
		"brokerVersion":            strconv.Itoa(remoting.Version),
		"bootTimestamp":            itoa(boot.UnixMilli()),
		"runtime":                  formatRuntime(b.now().Sub(boot)),
		"commitLogMinOffset":       itoa(st.CommitLogMinOffset),
		"commitLogMaxOffset":       itoa(st.CommitLogWriteOffset),
		"dispatchBehindBytes":      itoa(behind),
		"remainHowManyDataToFlush": humanReadableBytes(unflushed),
		"brokerActive":             "true", // it answered; upstream reports false on a slave acting for no master
		// Bolide's
		"commitLogFlushedOffset": itoa(st.CommitLogFlushed),
		"lmqCount":               itoa(st.LMQCount),
		"maxLmqConsumeQueueNum":  strconv.Itoa(b.bc.MaxLmqConsumeQueueNum),
	}
	b.addQueryInfo(info) // query cache and limit counters: querycache.go
	// The level below: pebble's block cache keeps hot consume-queue and
	// index blocks in memory.
	bc := b.store.BlockCache()
	info["storeBlockCacheHits"] = itoa(bc.Hits)
	info["storeBlockCacheMisses"] = itoa(bc.Misses)
	info["storeBlockCacheBytes"] = itoa(bc.Bytes)
	if rss, ok := residentMemory(); ok {
		info["residentMemoryBytes"] = itoa(rss)
	}
	return info
}

// formatRuntime is StoreStatsService.getFormatRuntime's text.
func formatRuntime(d time.Duration) string {
	d = max(d, 0)
	days := int64(d / (24 * time.Hour))
	hours := int64(d/time.Hour) % 24
	minutes := int64(d/time.Minute) % 60
	seconds := int64(d/time.Second) % 60
	return fmt.Sprintf("[ %d days, %d hours, %d minutes, %d seconds ]", days, hours, minutes, seconds)
}

// humanReadableBytes is MixAll.humanReadableByteCount(n, false).
func humanReadableBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	exp, v := 0, float64(n)
	for v >= 1024 && exp < 6 {
		v /= 1024
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp-1])
}

// residentMemory returns the process's resident set size (VmRSS of
// /proc/self/status), on Linux only.
func residentMemory() (int64, bool) {
	if runtime.GOOS != "linux" {
		return 0, false
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, false
		}
		return kb * 1024, true
	}
	return 0, false
}

// listLMQs serves BOLIDE_GET_LMQ_LIST: one page of the LMQ registry. The
// reply's next is set only when more names follow (the store is asked for
// one more than the page), so the last page says so without another round.
// LMQs whose first message is not dispatched yet are not listed (count
// already includes them).
func (b *Broker) listLMQs(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetLMQListRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	limit := h.PageSize()
	if len(h.Prefix) > maxLMQNameLength || len(h.After) > maxLMQNameLength {
		return nil, fail(protocol.InvalidParameter, "prefix and after are LMQ names: at most %d bytes", maxLMQNameLength)
	}
	rows, err := b.store.ListLMQs(h.Prefix, h.After, limit+1)
	switch {
	case errors.Is(err, store.ErrClosed):
		return nil, fail(protocol.ServiceNotAvailable, "the message store is closed")
	case err != nil:
		return nil, fail(protocol.SystemError, "list LMQs: %v", err)
	}
	out := body.LMQList{Count: b.store.LMQCount()}
	if len(rows) > limit {
		rows = rows[:limit]
		out.Next = rows[limit-1].Name
	}
	out.LMQList = make([]body.LMQInfo, len(rows))
	for i, r := range rows {
		out.LMQList[i] = body.LMQInfo{Name: r.Name, FirstSeen: r.FirstSeen}
	}
	resp := success(req)
	resp.Body = out.Encode()
	return resp, nil
}

// checkMultiDispatch validates the INNER_MULTI_DISPATCH property of a
// message sent to topic, where the store would act on it: LMQ and
// multi-dispatch enabled, and a parent topic that takes it (not retry,
// system or schedule topics, as store.lmqTargets). Elsewhere the property
// is stored as sent and ignored, as upstream; in particular a message sent
// back for retry keeps its original property unchecked. The error, if
// any, answers INVALID_PARAMETER, before anything is stored.
//
// Every entry must be a distinct LMQ name: "%LMQ%" and a non-empty rest,
// at most maxLMQNameLength bytes of the topic characters [%|a-zA-Z0-9_-]
// (',' separates entries), and there may be at most maxLMQsPerMessage.
// Where Bolide is stricter than upstream:
//   - a '/' is refused with a remark that rocketmq-mqtt encodes '/' as '%';
//     upstream's file consume queue silently skipped such names at
//     dispatch (a '/' would be a directory), so the message was stored,
//     acknowledged and never reached that LMQ;
//   - a name that is not an LMQ is refused: upstream writes an empty
//     INNER_MULTI_QUEUE_OFFSET entry for it (Bolide's store too) and
//     dispatches it to no LMQ, so accepting it would only hide a client bug;
//   - empty entries (upstream fails on them later, at dispatch) and
//     duplicates (the message would get two offsets in one LMQ, and
//     consumers of that LMQ would receive it twice) are refused.
func (b *Broker) checkMultiDispatch(topic string, props message.Properties) error {
	if !b.bc.EnableLmq || !b.bc.EnableMultiDispatch {
		return nil
	}
	v := props.Get(message.PropertyInnerMultiDispatch)
	if v == "" || message.IsRetryTopic(topic) || message.IsSystemTopic(topic) || strings.HasPrefix(topic, "SCHEDULE_TOPIC") {
		return nil
	}
	return validateMultiDispatch(v)
}

// validateMultiDispatch checks an INNER_MULTI_DISPATCH value (see
// checkMultiDispatch). The entry count is checked before anything is
// allocated.
func validateMultiDispatch(v string) error {
	p := message.PropertyInnerMultiDispatch
	if n := strings.Count(v, message.LMQDispatchSeparator) + 1; n > maxLMQsPerMessage {
		return fmt.Errorf("%s names %d queues, at most %d per message", p, n, maxLMQsPerMessage)
	}
	seen := make(map[string]struct{}, strings.Count(v, message.LMQDispatchSeparator)+1)
	for i, name := range strings.Split(v, message.LMQDispatchSeparator) {
		switch {
		case name == "":
			return fmt.Errorf("%s entry %d is empty", p, i)
		case strings.IndexByte(name, '/') >= 0:
			return fmt.Errorf("%s entry %d %q: %s", p, i, clip(name), slashRemark)
		case !message.IsLMQ(name):
			return fmt.Errorf("%s entry %d %q is not a light message queue: names start with %s (Bolide dispatches only to LMQs)",
				p, i, clip(name), message.LMQPrefix)
		case len(name) == len(message.LMQPrefix):
			return fmt.Errorf("%s entry %d is %s with no name after it", p, i, message.LMQPrefix)
		case len(name) > maxLMQNameLength:
			return fmt.Errorf("%s entry %d %q: %d bytes, max %d", p, i, clip(name), len(name), maxLMQNameLength)
		}
		for j := 0; j < len(name); j++ {
			if !topicChar(name[j]) {
				return fmt.Errorf("%s entry %d %q has illegal character %q at byte %d, allowed are [%%|a-zA-Z0-9_-]",
					p, i, clip(name), name[j], j)
			}
		}
		if _, dup := seen[name]; dup {
			return fmt.Errorf("%s names %q twice: a message is dispatched to an LMQ once", p, name)
		}
		seen[name] = struct{}{}
	}
	return nil
}

// topicChar reports whether c may appear in a topic (TopicValidator).
func topicChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '%' || c == '|' || c == '_' || c == '-'
}

// clip shortens a name for a remark.
func clip(name string) string {
	const n = 64
	if len(name) <= n {
		return name
	}
	return name[:n] + "..."
}
