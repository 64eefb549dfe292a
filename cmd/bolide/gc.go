package main

import (
	"os"
	"runtime/debug"
)

// GC defaults for a broker process, unless the GOGC / GOMEMLIMIT
// environment variables say otherwise. A broker's live heap is small next
// to the garbage its send path makes (frames, headers, records), so the
// default GOGC=100 collects very often: with GOGC=400 the send path costs
// ~14% less CPU per message (docs/benchmarks.md, "Send path"). The soft
// memory limit keeps the larger target from growing the heap past 1 GiB
// when the live heap is large (a million LMQs): then the collector runs
// as often as needed to stay under it.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 1 << 30
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
