package kvdb

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

func TestPrefixesDistinct(t *testing.T) {
	seen := map[byte]string{}
	for name, p := range map[string]byte{
		"cq": PrefixCQ, "lmq": PrefixLMQ, "key": PrefixKey, "uniq": PrefixUniqKey,
		"dispatch": PrefixDispatch, "meta": PrefixMeta, "lmqnext": PrefixLMQNext, "parked": PrefixParked,
		"lmqprobe": PrefixLMQProbe,
	} {
		if other, ok := seen[p]; ok {
			t.Fatalf("prefix %q used by %s and %s", p, name, other)
		}
		seen[p] = name
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte("q"), []byte("r")},
		{[]byte("qT\x00"), []byte("qT\x01")},
		{[]byte{'a', 0xff}, []byte{'b'}},
		{[]byte{'a', 0xff, 0xff}, []byte{'b'}},
		{[]byte{0xff}, nil},
		{nil, nil},
	} {
		if got := PrefixEnd(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
	in := []byte("ab")
	PrefixEnd(in)
	if string(in) != "ab" {
		t.Fatalf("PrefixEnd modified its argument: %q", in)
	}
}

// lockedBuf is a goroutine-safe log sink: pebble logs from background
// goroutines.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestOpenWriteReopen(t *testing.T) {
	fs := vfs.NewMem()
	var logs lockedBuf
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := Open("db", fs, Options{CacheSize: 1 << 20, MemTableSize: 1 << 20, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	b := db.Pebble().NewBatch()
	if err := b.Set([]byte{PrefixMeta, 'x'}, []byte("1"), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	b = db.Pebble().NewBatch()
	if err := b.Set([]byte{PrefixMeta, 'y'}, []byte("2"), nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Pebble().Compact(context.Background(), []byte{0}, []byte{0xff}, false); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	db, err = Open("db", fs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for k, want := range map[string]string{"mx": "1", "my": "2"} {
		v, c, err := db.Pebble().Get([]byte(k))
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		if string(v) != want {
			t.Fatalf("get %s = %q, want %q", k, v, want)
		}
		c.Close()
	}
	if db.Dir() != "db" {
		t.Fatalf("Dir = %q", db.Dir())
	}
	if !strings.Contains(logs.String(), "component=pebble") {
		t.Fatalf("pebble logs not routed to slog; got %q", logs.String())
	}
}

func TestFatalfPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("Fatalf returned")
		}
	}()
	slogLogger{l: slog.New(slog.DiscardHandler)}.Fatalf("boom %d", 1)
}

func TestOpenError(t *testing.T) {
	fs := vfs.NewMem()
	db, err := Open("db", fs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The directory is locked by the open DB.
	_, err = Open("db", fs, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "kvdb: open") {
		t.Fatalf("second Open = %v, want a kvdb: open error", err)
	}
}
