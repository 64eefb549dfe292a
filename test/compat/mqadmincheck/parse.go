package mqadmincheck

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Kind says how a command's output is read.
type Kind int

// Output kinds of the six commands.
const (
	TopicStatus      Kind = iota // topicStatus table
	ConsumerProgress             // consumerProgress -g table
	ResetOffset                  // resetOffsetByTime table (new or old path)
	KeyQuery                     // queryMsgByKey table
	UniqueKeyQuery               // queryMsgByUniqueKey message blocks
	MessageByID                  // queryMsgById message blocks (with OffsetID)
)

func (k Kind) String() string {
	switch k {
	case TopicStatus:
		return "topicStatus"
	case ConsumerProgress:
		return "consumerProgress"
	case ResetOffset:
		return "resetOffsetByTime"
	case KeyQuery:
		return "queryMsgByKey"
	case UniqueKeyQuery:
		return "queryMsgByUniqueKey"
	case MessageByID:
		return "queryMsgById"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Parse reads a command's standard output into its canonical answer: one
// line per row (queue or message), sorted, holding only the values both
// tools must agree on. Extra columns (Bolide may print more) and values
// that depend on clocks or hosts (times, TPS, body paths) are left out.
func Parse(kind Kind, stdout string) ([]string, error) {
	var lines []string
	switch kind {
	case TopicStatus, ConsumerProgress, ResetOffset, KeyQuery:
		t, err := parseTable(stdout)
		if err != nil {
			return nil, err
		}
		for _, row := range t.rows {
			l, err := canonicalRow(kind, t, row)
			if err != nil {
				return nil, err
			}
			lines = append(lines, l)
		}
	case UniqueKeyQuery, MessageByID:
		for _, m := range parseMessages(stdout) {
			lines = append(lines, canonicalMessage(kind, m))
		}
	default:
		return nil, fmt.Errorf("mqadmincheck: unknown kind %v", kind)
	}
	slices.Sort(lines)
	return lines, nil
}

// table is a Java-style text table: a header of "#Name" columns, then one
// whitespace-separated row per line up to a blank line or a summary line
// ("Name: value", which Bolide may print right after its rows).
type table struct {
	cols []string
	rows [][]string // values by column; the last column takes the rest of the line
}

func (t table) col(row []string, names ...string) (string, error) {
	for _, n := range names {
		if i := slices.Index(t.cols, n); i >= 0 {
			return row[i], nil
		}
	}
	return "", fmt.Errorf("mqadmincheck: table has no column %q (columns %q)", names[0], t.cols)
}

var errNoTable = errors.New("mqadmincheck: no table header (#...) in the output")

func parseTable(out string) (table, error) {
	lines := strings.Split(out, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "#") })
	if start < 0 {
		return table{}, errNoTable
	}
	var t table
	for _, c := range strings.Split(lines[start], "#") {
		if c = strings.TrimSpace(c); c != "" {
			t.cols = append(t.cols, c)
		}
	}
	for _, l := range lines[start+1:] {
		f := strings.Fields(l)
		if len(f) == 0 || isSummary(f[:min(len(f), len(t.cols)-1)]) {
			break
		}
		if len(f) < len(t.cols)-1 {
			return table{}, fmt.Errorf("mqadmincheck: row %q has %d values for %d columns %q", l, len(f), len(t.cols), t.cols)
		}
		row := make([]string, len(t.cols))
		copy(row, f[:len(t.cols)-1])
		row[len(t.cols)-1] = strings.Join(f[len(t.cols)-1:], " ")
		t.rows = append(t.rows, row)
	}
	return t, nil
}

// isSummary reports whether a line's leading fields (those before the last
// column, whose free text may hold anything) read "Name: value".
func isSummary(lead []string) bool {
	return slices.ContainsFunc(lead, func(v string) bool { return strings.HasSuffix(v, ":") })
}

func canonicalRow(kind Kind, t table, row []string) (string, error) {
	var names [][]string
	var format string
	switch kind {
	case TopicStatus:
		names = [][]string{{"Broker Name"}, {"QID"}, {"Min Offset"}, {"Max Offset"}}
		format = "%s q%s min=%s max=%s"
	case ConsumerProgress:
		names = [][]string{{"Topic"}, {"Broker Name"}, {"QID"}, {"Broker Offset"}, {"Consumer Offset"}, {"Diff"}, {"Inflight"}}
		format = "%s %s q%s broker=%s consumer=%s diff=%s inflight=%s"
	case ResetOffset:
		// The old (offline) path prints #resetOffset instead of #offset.
		names = [][]string{{"brokerName"}, {"queueId"}, {"offset", "resetOffset"}}
		format = "%s q%s offset=%s"
	case KeyQuery:
		names = [][]string{{"Message ID"}, {"QID"}, {"Offset"}}
		format = "%s q%s offset=%s"
	}
	vals := make([]any, len(names))
	for i, n := range names {
		v, err := t.col(row, n...)
		if err != nil {
			return "", err
		}
		vals[i] = v
	}
	return fmt.Sprintf(format, vals...), nil
}

// Labels of the message blocks printed by queryMsgByUniqueKey and
// queryMsgById ("%-20s %s" lines).
var messageLabels = []string{
	"OffsetID", "Topic", "Tags", "Keys", "Queue ID", "Queue Offset", "CommitLog Offset",
	"Reconsume Times", "Born Timestamp", "Store Timestamp", "Born Host", "Store Host",
	"System Flag", "Properties", "Message Body Path", "Message Body",
}

// parseMessages reads the message blocks; a label seen twice starts the
// next message. Lines without a known label (the message track) are
// skipped.
func parseMessages(out string) []map[string]string {
	var msgs []map[string]string
	var cur map[string]string
	for _, l := range strings.Split(out, "\n") {
		label, value, ok := strings.Cut(l, ":")
		if !ok || !slices.Contains(messageLabels, label) {
			continue
		}
		if cur == nil || cur[label] != "" || label == "OffsetID" && len(cur) > 0 {
			cur = map[string]string{}
			msgs = append(msgs, cur)
		}
		cur[label] = strings.TrimSpace(value)
	}
	return msgs
}

var (
	uniqKeyRe     = regexp.MustCompile(`\bUNIQ_KEY=([0-9A-Fa-f]+)`)
	lmqDispatchRe = regexp.MustCompile(`\bINNER_MULTI_DISPATCH=(%LMQ%[^,}\s]+(?:,%LMQ%[^,}\s]+)*)`)
	lmqOffsetRe   = regexp.MustCompile(`\bINNER_MULTI_QUEUE_OFFSET=([0-9]+(?:,[0-9]+)*)`)
)

func canonicalMessage(kind Kind, m map[string]string) string {
	props := m["Properties"]
	sub := func(re *regexp.Regexp) string {
		if s := re.FindStringSubmatch(props); s != nil {
			return s[1]
		}
		return ""
	}
	l := fmt.Sprintf("topic=%s q%s offset=%s phy=%s uniq=%s keys=%s tags=%s",
		m["Topic"], m["Queue ID"], m["Queue Offset"], m["CommitLog Offset"], sub(uniqKeyRe),
		strings.Trim(m["Keys"], "[]"), strings.Trim(m["Tags"], "[]"))
	if d := sub(lmqDispatchRe); d != "" {
		l += fmt.Sprintf(" lmq=%s@%s", d, sub(lmqOffsetRe))
	}
	if kind == MessageByID {
		l += " id=" + m["OffsetID"]
	}
	return l
}

// Diff describes how got differs from want (both sorted); "" if equal.
func Diff(want, got []string) string {
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	if len(missing) == 0 && len(extra) == 0 && len(want) == len(got) {
		return ""
	}
	var b strings.Builder
	for _, m := range missing {
		fmt.Fprintf(&b, "\n  - %s", m)
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "\n  + %s", e)
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "\n  same rows, different counts: want %d, got %d", len(want), len(got))
	}
	return b.String()
}
