package render

import (
	"bytes"
	"testing"
	"time"
)

func TestJavaDouble(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 1: "1.0", 12.5: "12.5", -3.25: "-3.25", 0.001: "0.001", 1e-4: "1.0E-4",
		1.5e-5: "1.5E-5", 9999999: "9999999.0", 1e7: "1.0E7", 1.2345e10: "1.2345E10",
	} {
		if got := JavaDouble(f); got != want {
			t.Errorf("JavaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestTimes(t *testing.T) {
	ms := time.Date(2024, 5, 1, 10, 2, 3, 45e6, time.UTC).UnixMilli()
	if got := Millis(ms, time.UTC); got != "2024-05-01 10:02:03,045" {
		t.Errorf("Millis = %q", got)
	}
	if got := Date(ms, time.FixedZone("CST", 8*3600)); got != "2024-05-01 18:02:03" {
		t.Errorf("Date = %q", got)
	}
}

func TestSmallFormats(t *testing.T) {
	if got := Trunc("abcdef", 4); got != "abcd" {
		t.Errorf("Trunc = %q", got)
	}
	if got := Trunc("ab", 4); got != "ab" {
		t.Errorf("Trunc = %q", got)
	}
	if got := StringMap(map[string]string{"b": "2", "a": "1"}); got != "{a=1, b=2}" {
		t.Errorf("StringMap = %q", got)
	}
	if got := StringMap(nil); got != "{}" {
		t.Errorf("StringMap(nil) = %q", got)
	}
	if got := Nullable(""); got != "null" {
		t.Errorf("Nullable = %q", got)
	}
	for v, want := range map[int32]string{0: "V3_0_0_SNAPSHOT", 479: "V5_3_3", 100000: "HIGHER_VERSION"} {
		if got := VersionDesc(v); got != want {
			t.Errorf("VersionDesc(%d) = %q, want %q", v, got, want)
		}
	}
	for p, want := range map[int32]string{6: "RW-", 4: "R--", 2: "-W-", 7: "RWX", 0: "---"} {
		if got := Perm(p); got != want {
			t.Errorf("Perm(%d) = %q, want %q", p, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0s", -time.Second: "0s", 90*time.Second + 300*time.Millisecond: "1m30s", 26 * time.Hour: "26h0m0s"} {
		if got := Lag(d); got != want {
			t.Errorf("Lag(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, map[string]any{"a": "<x>", "b": 1}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "{\n  \"a\": \"<x>\",\n  \"b\": 1\n}\n" {
		t.Errorf("JSON = %q", got)
	}
}
