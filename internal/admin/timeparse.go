package admin

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// javaTimestampLayout is the seconds part of UtilAll.YYYY_MM_DD_HH_MM_SS_SSS
// ("yyyy-MM-dd#HH:mm:ss:SSS"), the form resetOffsetByTime documents. Go
// layouts only read fractions after '.' or ',', so the ":SSS"
// milliseconds are parsed apart.
const javaTimestampLayout = "2006-01-02#15:04:05"

// ParseTimestamp reads a timestamp option and returns ms since the epoch:
//
//   - "now": now;
//   - a decimal integer: epoch milliseconds, as given (negative values
//     pass through: a reset to -1 means "the max offset" upstream);
//   - "yyyy-MM-dd#HH:mm:ss:SSS": local time in loc, as Java's tools read it;
//   - RFC 3339 ("2024-05-01T10:00:00Z", fractions allowed).
func ParseTimestamp(s string, now time.Time, loc *time.Location) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty timestamp")
	}
	if s == "now" {
		return now.UnixMilli(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if loc == nil {
		loc = time.Local
	}
	if ms, ok := parseJavaTimestamp(s, loc); ok {
		return ms, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixMilli(), nil
	}
	return 0, fmt.Errorf("timestamp %q: want now, epoch milliseconds, yyyy-MM-dd#HH:mm:ss:SSS or RFC 3339", s)
}

// timestampFlag parses an optional timestamp option, def when absent.
func (a *Admin) timestampFlag(name, v string, set bool, def int64) (int64, error) {
	if !set {
		return def, nil
	}
	ts, err := ParseTimestamp(v, a.now(), a.loc)
	if err != nil {
		return 0, usagef("option --%s: %v", name, err)
	}
	return ts, nil
}

// parseJavaTimestamp reads yyyy-MM-dd#HH:mm:ss:SSS in loc.
func parseJavaTimestamp(s string, loc *time.Location) (int64, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || !strings.Contains(s, "#") {
		return 0, false
	}
	frac := s[i+1:]
	if len(frac) == 0 || len(frac) > 3 {
		return 0, false
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	ms, _ := strconv.Atoi(frac)
	t, err := time.ParseInLocation(javaTimestampLayout, s[:i], loc)
	if err != nil {
		return 0, false
	}
	return t.UnixMilli() + int64(ms), true
}
