// Package render holds the formatting the admin commands share: Java's
// time and number formats as mqadmin prints them, Java's collection
// toString forms, version names, and the JSON document of --json.
//
// Commands print their tables with fmt and these helpers so that the
// default output matches Apache RocketMQ's mqadmin column for column; the
// JSON form is the machine-readable one and has stable field names.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JSON writes v as one indented JSON document followed by a newline.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("render: json: %w", err)
	}
	return nil
}

// Millis formats a store or born time (ms since the epoch) like
// UtilAll.timeMillisToHumanString2: "2006-01-02 15:04:05,000" in loc.
func Millis(ms int64, loc *time.Location) string {
	return time.UnixMilli(ms).In(loc).Format("2006-01-02 15:04:05,000")
}

// Date formats ms like UtilAll.formatDate(YYYY_MM_DD_HH_MM_SS):
// "2006-01-02 15:04:05" in loc.
func Date(ms int64, loc *time.Location) string {
	return time.UnixMilli(ms).In(loc).Format("2006-01-02 15:04:05")
}

// Trunc cuts s to at most n characters, as UtilAll.frontStringAtLeast does
// (despite its name) before mqadmin pads a column.
func Trunc(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// JavaDouble formats f like Java's Double.toString: at least one decimal
// ("0.0", "12.5"), scientific notation outside [1e-3, 1e7).
func JavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1.2345E+07
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	exp = strings.TrimPrefix(exp, "+")
	if neg := strings.HasPrefix(exp, "-"); neg {
		exp = "-" + strings.TrimLeft(exp[1:], "0")
	} else {
		exp = strings.TrimLeft(exp, "0")
	}
	return mant + "E" + exp
}

// StringMap formats m like Java's AbstractMap.toString, "{k1=v1, k2=v2}",
// with the keys sorted (Java's hash order is not reproducible).
func StringMap(m map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// Nullable returns s, or "null" when s is empty: how Java prints a
// missing String.
func Nullable(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// VersionDesc names a client version ordinal like MQVersion.getVersionDesc
// (ordinals past the table are its last entry).
func VersionDesc(v int32) string {
	switch {
	case v < 0:
		return strconv.Itoa(int(v))
	case int(v) >= len(versionNames):
		return versionNames[len(versionNames)-1]
	}
	return versionNames[v]
}

// Lag formats the age of a consumer's oldest unconsumed message: whole
// seconds in Go duration notation ("0s", "1m30s", "26h3m0s").
func Lag(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Truncate(time.Second).String()
}

// Perm formats topic permission bits like PermName.perm2String: "RW-",
// "R--", "RWX" (X: inherited).
func Perm(perm int32) string {
	b := []byte("---")
	if perm&4 != 0 {
		b[0] = 'R'
	}
	if perm&2 != 0 {
		b[1] = 'W'
	}
	if perm&1 != 0 {
		b[2] = 'X'
	}
	return string(b)
}
