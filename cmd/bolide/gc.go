package main

import (
	"os"
	"runtime"
	"runtime/debug"

	"github.com/bolidemq/bolide/internal/gcfloor"
)

// GC defaults for a broker process, unless the GOGC / GOMEMLIMIT
// environment variables say otherwise. A broker's live heap is small next
// to the garbage its send path makes (frames, headers, records), so the
// default GOGC=100 collects very often: with GOGC=400 the send path costs
// ~14% less CPU per message (docs/benchmarks.md, "Send path"). The soft
// memory limit keeps the larger target from growing the heap past 1 GiB
// when the live heap is large (a million LMQs): then the collector runs
// as often as needed to stay under it.
//
// GOGC alone still collects often when the live heap is small (a few MiB
// at 20,000 msg/s gives ten or more cycles a second, each a stall risk on
// a small machine), so a gcfloor.Tuner also keeps the heap goal at or
// above defaultHeapFloor: fewer cycles for that much memory, and no
// change once the live heap is large.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 1 << 30
	defaultHeapFloor   = 128 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		gcfloor.Start(defaultHeapFloor, defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// minBrokerProcs is the fewest Ps a broker runs with unless GOMAXPROCS
// says otherwise. On a small machine the broker shares its cores with its
// clients (and its own background work: fsyncs, pebble flushes and
// compactions): with one P per core, a P whose thread the kernel has
// descheduled, or that sits in a slow syscall until sysmon takes the P
// back, leaves its run queue waiting. Measured on 2 cores
// (docs/benchmarks.md, "Ps for a broker on a small machine"): 4 Ps cut the
// end-to-end p99 at 20,000 msg/s by half and the broker's CPU per message
// of pipelined produce by 8 %; 8 Ps did no better than 4.
const minBrokerProcs = 4

// tuneBrokerProcs raises GOMAXPROCS to minBrokerProcs on machines with
// fewer cores, for broker processes (standalone included; a load
// generator is better off with few Ps).
func tuneBrokerProcs() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minBrokerProcs {
		runtime.GOMAXPROCS(minBrokerProcs)
	}
}
