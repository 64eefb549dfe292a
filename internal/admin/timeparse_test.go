package admin

import (
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	now := time.Date(2024, 5, 1, 10, 0, 0, 123e6, time.UTC)
	for _, c := range []struct {
		in   string
		loc  *time.Location
		want int64
		err  bool
	}{
		{in: "now", want: now.UnixMilli()},
		{in: " now ", want: now.UnixMilli()},
		{in: "1714557600000", want: 1714557600000},
		{in: "0", want: 0},
		{in: "-1", want: -1}, // upstream: reset to the max offset
		{in: "2024-05-01#10:00:00:000", loc: time.UTC, want: 1714557600000},
		{in: "2024-05-01#18:00:00:000", loc: shanghai, want: 1714557600000},
		{in: "2024-05-01#10:00:00:007", loc: time.UTC, want: 1714557600007},
		{in: "2024-05-01T10:00:00Z", loc: shanghai, want: 1714557600000},
		{in: "2024-05-01T18:00:00.5+08:00", want: 1714557600500},
		{in: "", err: true},
		{in: "yesterday", err: true},
		{in: "2024-05-01 10:00:00", err: true},
		{in: "2024-13-01#10:00:00:000", err: true},
		{in: "1.5", err: true},
	} {
		got, err := ParseTimestamp(c.in, now, c.loc)
		if c.err {
			if err == nil {
				t.Errorf("%q: got %d, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q in %v: got %d, %v; want %d", c.in, c.loc, got, err, c.want)
		}
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}
