package fastjson

import (
	"bytes"
	"runtime"
	"testing"
)

// TestParseAllocationBound checks the documented worst case: the tree is
// allocated at its exact size, and besides it there are only the input copy
// and one count per container, so memory stays near 36 bytes per input
// byte even for the densest inputs.
func TestParseAllocationBound(t *testing.T) {
	for name, data := range map[string][]byte{
		"numbers": append(append([]byte("["), bytes.Repeat([]byte("0,"), 50000)...), '0', ']'),
		"objects": append(append([]byte("["), bytes.Repeat([]byte("{1:2},"), 20000)...), '0', ']'),
		"arrays":  append(append([]byte("["), bytes.Repeat([]byte("[],"), 30000)...), '0', ']'),
		"members": append(append([]byte("{"), bytes.Repeat([]byte(`"":"",`), 20000)...), `"":""}`...),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := Parse(data); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		allocs := after.TotalAlloc - before.TotalAlloc
		ratio := float64(allocs) / float64(len(data))
		if ratio > 50 {
			t.Errorf("%s: %d bytes allocated for %d input bytes (%.0fx)", name, allocs, len(data), ratio)
		}
		t.Logf("%s: %.1fx", name, ratio)
	}
}
