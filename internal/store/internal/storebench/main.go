// Command storebench measures opening a store that holds many LMQs, each
// measurement in a fresh process so that its resident memory is the
// store's alone (not a test binary's leftovers):
//
//	go run ./internal/store/internal/storebench -lmqs 1000000
//
// Phases, each a child process of this command:
//
//  1. build: store.Put messages of 1 KiB, each multi-dispatched to -per
//     new LMQs (100,000 puts for 1,000,000 LMQs), then Close.
//  2. open (clean) -runs times: Open, measure, Close.
//  3. open after deleting the clean marker (-runs times): the commit log is
//     recovered by scanning from the dispatch checkpoint.
//  4. crash: Open, put -crash-msgs messages to existing LMQs, exit without
//     Close (process crash: kv WAL and commit log in the page cache, dispatch
//     behind), then an unclean open that replays the pebble WAL and
//     re-dispatches the commit-log tail.
//
// Each open reports its wall time, VmRSS before/after and the peak (VmHWM),
// and Go's HeapInuse after a GC.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/store"
)

var (
	mode      = flag.String("mode", "", "child phase: build|open|crash (empty: run them all)")
	dir       = flag.String("dir", "", "store directory (default: a new one under os.TempDir)")
	lmqs      = flag.Int("lmqs", 1_000_000, "number of LMQs")
	per       = flag.Int("per", 10, "new LMQs per message while building")
	runs      = flag.Int("runs", 3, "repetitions of each open measurement")
	crashMsgs = flag.Int("crash-msgs", 50_000, "messages put before the simulated crash")
	dropMark  = flag.Bool("drop-marker", false, "open: delete the clean marker first")
	keep      = flag.Bool("keep", false, "keep the store directory")
)

var host = netip.MustParseAddrPort("127.0.0.1:10911")

func lmqName(i int) string { return fmt.Sprintf("%%LMQ%%client-%08d/p2p", i) }

func cfg() store.Config {
	return store.Config{Dir: *dir, StoreHost: host, EnableLMQ: true}
}

func body() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1024)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// result is one child's report, printed as one JSON line.
type result struct {
	Phase     string  `json:"phase"`
	OpenS     float64 `json:"open_s,omitempty"`
	CloseS    float64 `json:"close_s,omitempty"`
	PutS      float64 `json:"put_s,omitempty"`
	LMQs      int64   `json:"lmqs"`
	RSSBefore float64 `json:"rss_before_mib"`
	RSSAfter  float64 `json:"rss_after_mib"`
	HWM       float64 `json:"hwm_mib"`
	HeapInuse float64 `json:"heap_inuse_mib"`
	LogMiB    float64 `json:"commitlog_mib,omitempty"`
	Lag       int64   `json:"dispatch_lag_bytes,omitempty"`
	Note      string  `json:"note,omitempty"`
}

func status(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

func heapInuse() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "storebench:", err)
		os.Exit(1)
	}
}

func emit(r result) {
	r.HWM = status("VmHWM")
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func build() {
	r := result{Phase: "build", RSSBefore: status("VmRSS")}
	payload := body()
	start := time.Now()
	s, err := store.Open(cfg())
	must(err)
	msgs := (*lmqs + *per - 1) / *per
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			m := &message.Message{Topic: "BenchTopic", QueueID: int32(w), Body: payload, BornHost: host}
			names := make([]string, 0, *per)
			for {
				i := int(next.Add(1) - 1)
				if i >= msgs {
					return
				}
				names = names[:0]
				for j := range *per {
					if k := i**per + j; k < *lmqs {
						names = append(names, lmqName(k))
					}
				}
				m.Properties.Set(message.PropertyUniqKey, fmt.Sprintf("%032x", i))
				m.Properties.Set(message.PropertyInnerMultiDispatch, strings.Join(names, ","))
				if _, err := s.Put(m); err != nil {
					must(err)
				}
			}
		})
	}
	wg.Wait()
	r.PutS = time.Since(start).Seconds()
	for st := s.Stats(); st.Dispatched < st.CommitLogWriteOffset; st = s.Stats() {
		time.Sleep(time.Millisecond)
	}
	r.Note = fmt.Sprintf("%d puts; dispatched after %.1fs", msgs, time.Since(start).Seconds())
	r.LMQs = s.LMQCount()
	r.LogMiB = float64(s.Stats().CommitLogWriteOffset) / (1 << 20)
	r.RSSAfter = status("VmRSS")
	r.HeapInuse = heapInuse()
	t := time.Now()
	must(s.Close())
	r.CloseS = time.Since(t).Seconds()
	emit(r)
}

func open() {
	phase := "open-clean"
	if *dropMark {
		phase = "open-no-marker"
		if err := os.Remove(filepath.Join(*dir, "clean")); err != nil {
			must(fmt.Errorf("no clean marker to delete: %w", err))
		}
	} else if _, err := os.Stat(filepath.Join(*dir, "clean")); err != nil {
		phase = "open-after-crash"
	}
	heapInuse()
	r := result{Phase: phase, RSSBefore: status("VmRSS")}
	t := time.Now()
	s, err := store.Open(cfg())
	must(err)
	r.OpenS = time.Since(t).Seconds()
	r.LMQs = s.LMQCount()
	r.HeapInuse = heapInuse()
	r.RSSAfter = status("VmRSS")
	r.LogMiB = float64(s.Stats().CommitLogWriteOffset) / (1 << 20)
	t = time.Now()
	must(s.Close())
	r.CloseS = time.Since(t).Seconds()
	emit(r)
}

// crash puts messages to existing LMQs and exits without Close, with
// dispatch still behind.
func crash() {
	s, err := store.Open(cfg())
	must(err)
	payload := body()
	rng := rand.New(rand.NewPCG(3, 3))
	m := &message.Message{Topic: "BenchTopic", QueueID: 0, Body: payload, BornHost: host}
	start := time.Now()
	for i := range *crashMsgs {
		names := make([]string, *per)
		for j := range names {
			names[j] = lmqName(rng.IntN(*lmqs))
		}
		m.Properties.Set(message.PropertyUniqKey, fmt.Sprintf("c%031x", i))
		m.Properties.Set(message.PropertyInnerMultiDispatch, strings.Join(names, ","))
		if _, err := s.Put(m); err != nil {
			must(err)
		}
	}
	st := s.Stats()
	emit(result{Phase: "crash", PutS: time.Since(start).Seconds(), LMQs: s.LMQCount(), Lag: st.CommitLogWriteOffset - st.Dispatched,
		RSSAfter: status("VmRSS"), Note: "exit without Close"})
	os.Exit(0)
}

func child(args ...string) {
	exe, err := os.Executable()
	must(err)
	base := []string{"-dir", *dir, "-lmqs", strconv.Itoa(*lmqs), "-per", strconv.Itoa(*per), "-crash-msgs", strconv.Itoa(*crashMsgs)}
	cmd := exec.Command(exe, append(base, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	must(cmd.Run())
}

func main() {
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "bolide-storebench-")
		must(err)
		*dir = filepath.Join(d, "store")
		if !*keep {
			defer os.RemoveAll(d)
		}
	}
	switch *mode {
	case "build":
		build()
		return
	case "open":
		open()
		return
	case "crash":
		crash()
		return
	case "":
	default:
		must(fmt.Errorf("unknown mode %q", *mode))
	}
	fmt.Printf("# storebench %s lmqs=%d per=%d dir=%s nproc=%d %s\n", runtime.Version(), *lmqs, *per, *dir, runtime.NumCPU(), time.Now().Format(time.RFC3339))
	child("-mode=build")
	for range *runs {
		child("-mode=open")
	}
	for range *runs {
		child("-mode=open", "-drop-marker")
	}
	for range *runs {
		child("-mode=crash")
		child("-mode=open")
	}
}
