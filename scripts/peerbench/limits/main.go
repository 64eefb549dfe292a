// Command limits measures the machine limits the peer benchmark compares
// brokers against, in the same run: loopback TCP stream throughput,
// sequential write throughput without and with fdatasync, and the latency
// of a small append plus fdatasync. It prints one "limit <name> <value>"
// line per figure (scripts/peerbench/report reads them) after a human
// line each.
//
//	go run ./scripts/peerbench/limits --dir /path/on/the/broker/disk [--quick]
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"
)

func main() {
	dir := flag.String("dir", os.TempDir(), "directory on the disk the brokers write to")
	quick := flag.Bool("quick", false, "small sizes (plumbing check, not a measurement)")
	flag.Parse()
	streamBytes, fileBytes, syncs := int64(4<<30), int64(1<<30), 3000
	if *quick {
		streamBytes, fileBytes, syncs = 256<<20, 64<<20, 200
	}
	if err := run(*dir, streamBytes, fileBytes, syncs); err != nil {
		fmt.Fprintln(os.Stderr, "limits:", err)
		os.Exit(1)
	}
}

func run(dir string, streamBytes, fileBytes int64, syncs int) error {
	mbps, err := loopback(streamBytes, 64<<10)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	report("loopback TCP stream, 1 connection, 64 KiB writes", "loopback_MBps", mbps, "MB/s")

	f, err := os.CreateTemp(dir, "limits-*.dat")
	if err != nil {
		return err
	}
	name := f.Name()
	defer os.Remove(name)
	defer f.Close()
	buf := make([]byte, 1<<20)
	if _, err := rand.Read(buf); err != nil {
		return err
	}
	mbps, err = seqWrite(f, buf, fileBytes, false)
	if err != nil {
		return fmt.Errorf("sequential write: %w", err)
	}
	report("sequential write, 1 MiB buffered writes, no sync (page cache)", "write_MBps", mbps, "MB/s")
	if err := truncate(f); err != nil {
		return err
	}
	mbps, err = seqWrite(f, buf, fileBytes, true)
	if err != nil {
		return fmt.Errorf("sequential write with fdatasync: %w", err)
	}
	report("sequential write, 1 MiB writes, fdatasync after each", "write_sync_MBps", mbps, "MB/s")
	if err := truncate(f); err != nil {
		return err
	}
	p50, p99, ops, err := syncLatency(f, buf[:4096], syncs)
	if err != nil {
		return fmt.Errorf("fdatasync latency: %w", err)
	}
	report("4 KiB append + fdatasync, p50", "fdatasync_p50_us", float64(p50)/1e3, "µs")
	report("4 KiB append + fdatasync, p99", "fdatasync_p99_us", float64(p99)/1e3, "µs")
	report("4 KiB append + fdatasync, rate", "fdatasync_ops", ops, "ops/s")
	return nil
}

func report(what, key string, v float64, unit string) {
	fmt.Printf("%s: %.1f %s\nlimit %s %.1f\n", what, v, unit, key, v)
}

// loopback streams n bytes over one loopback TCP connection in writes of
// size bytes and returns MB/s (10^6 bytes) as the reader saw them.
func loopback(n int64, size int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		buf := make([]byte, size)
		for sent := int64(0); sent < n; sent += int64(size) {
			if _, err := c.Write(buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	got, err := io.Copy(io.Discard, io.LimitReader(c, n))
	el := time.Since(start)
	if err != nil {
		return 0, err
	}
	if err := <-done; err != nil {
		return 0, err
	}
	if got < n {
		return 0, fmt.Errorf("read %d of %d bytes", got, n)
	}
	return float64(got) / 1e6 / el.Seconds(), nil
}

// seqWrite writes n bytes of buf-sized writes to f, with fdatasync after
// each write when sync, and returns MB/s; the time includes a final
// fdatasync only when sync.
func seqWrite(f *os.File, buf []byte, n int64, sync bool) (float64, error) {
	start := time.Now()
	for w := int64(0); w < n; w += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			return 0, err
		}
		if sync {
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				return 0, err
			}
		}
	}
	return float64(n) / 1e6 / time.Since(start).Seconds(), nil
}

// syncLatency appends b and calls fdatasync k times; it returns the p50 and
// p99 of one append+sync and the rate.
func syncLatency(f *os.File, b []byte, k int) (p50, p99 time.Duration, ops float64, err error) {
	if k <= 0 {
		return 0, 0, 0, errors.New("no iterations")
	}
	lats := make([]time.Duration, 0, k)
	start := time.Now()
	for range k {
		t0 := time.Now()
		if _, err := f.Write(b); err != nil {
			return 0, 0, 0, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return 0, 0, 0, err
		}
		lats = append(lats, time.Since(t0))
	}
	ops = float64(k) / time.Since(start).Seconds()
	slices.Sort(lats)
	return lats[k/2], lats[(k*99)/100], ops, nil
}

// truncate empties f (syncing the change) so the next test appends again.
func truncate(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return f.Sync()
}
