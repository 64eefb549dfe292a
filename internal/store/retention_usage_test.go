package store

import (
	"math"
	"testing"
)

func TestUsedFractionIsDfUsePercent(t *testing.T) {
	for _, c := range []struct {
		name                string
		blocks, free, avail uint64
		want                float64
	}{
		// This machine's root filesystem: 17 % of the blocks in use, a
		// 64 % reserve. df says 48 %; 1 - avail/total said 81 %.
		{"large reserve", 66053021, 54683110, 12505405, 0.4762},
		{"no reserve", 1000, 250, 250, 0.75},
		{"5 % reserve", 1000, 300, 250, 0.7368},
		{"full to the reserve", 1000, 50, 0, 1},
		{"empty", 1000, 1000, 1000, 0},
		{"no blocks", 0, 0, 0, 0},
		{"nothing usable, nothing used", 1000, 1000, 0, 0},
		{"inconsistent counters", 1000, 2000, 10, 0},
	} {
		got := usedFraction(c.blocks, c.free, c.avail)
		if math.Abs(got-c.want) > 0.0001 {
			t.Errorf("%s: usedFraction(%d, %d, %d) = %.4f, want %.4f", c.name, c.blocks, c.free, c.avail, got, c.want)
		}
	}
}

func TestStatfsUsageMeasuresTheStoreDisk(t *testing.T) {
	got, err := statfsUsage(t.TempDir())()
	if err != nil {
		t.Fatal(err)
	}
	if got < 0 || got > 1 {
		t.Fatalf("used fraction %v outside [0, 1]", got)
	}
	if _, err := statfsUsage("/nonexistent/bolide/dir")(); err == nil {
		t.Fatal("statfs of a missing directory: want an error")
	}
}
