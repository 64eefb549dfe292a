package message

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOffsetID(t *testing.T) {
	id := MakeOffsetID(v4Store, 1000)
	// 192.168.1.2 | port 10911 | offset 1000
	if want := "C0A80102" + "00002A9F" + "00000000000003E8"; id != want {
		t.Fatalf("MakeOffsetID = %s, want %s", id, want)
	}
	for _, in := range []string{id, strings.ToLower(id)} {
		host, off, err := ParseOffsetID(in)
		if err != nil || host != v4Store || off != 1000 {
			t.Fatalf("ParseOffsetID(%s) = %v, %d, %v", in, host, off, err)
		}
	}
	id6 := MakeOffsetID(v6Store, 1<<40)
	if len(id6) != IDLenV6 || strings.ToUpper(id6) != id6 {
		t.Fatalf("IPv6 id %q", id6)
	}
	if host, off, err := ParseOffsetID(id6); err != nil || host != v6Store || off != 1<<40 {
		t.Fatalf("ParseOffsetID(v6) = %v, %d, %v", host, off, err)
	}
	if got := string(AppendOffsetID([]byte("x,"), v4Store, 1000)); got != "x,"+id {
		t.Fatalf("AppendOffsetID = %s", got)
	}
	m := Message{StoreHost: v4Store, CommitLogOffset: 1000}
	if m.OffsetID() != id {
		t.Fatalf("Message.OffsetID = %s", m.OffsetID())
	}

	bad := []struct{ id, why string }{
		{"", "length"},
		{id[:31], "length"},
		{id + "0", "length"},
		{"G" + id[1:], "non-hex"},
		{id[:10] + " " + id[11:], "non-hex"},
		{"0x" + id[2:], "non-hex"},
		{"C0A80102" + "FFFFFFFF" + "00000000000003E8", "port"},
		{"C0A80102" + "00010000" + "00000000000003E8", "port"},
		{"C0A80102" + "00002A9F" + "8000000000000000", "negative"},
		{"é" + id[2:], "non-hex"},
	}
	for _, c := range bad {
		_, _, err := ParseOffsetID(c.id)
		if !errors.Is(err, ErrInvalidMessageID) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("ParseOffsetID(%q) err = %v, want %s error", c.id, err, c.why)
		}
		if LooksLikeOffsetID(c.id) {
			t.Errorf("LooksLikeOffsetID(%q) = true", c.id)
		}
	}
	if !LooksLikeOffsetID(id) {
		t.Fatalf("LooksLikeOffsetID(valid) = false")
	}
}

func TestUniqIDGenerator(t *testing.T) {
	loc := time.FixedZone("UTC+8", 8*3600)
	now := time.Date(2024, 3, 5, 10, 20, 30, 456e6, loc)
	g := NewUniqIDGenerator(UniqIDConfig{
		IP:     netip.MustParseAddr("192.168.0.1"),
		PID:    0x71234, // only the low 16 bits are kept
		Random: 0x0A0B0C0D,
		Now:    func() time.Time { return now },
	})
	span := now.Sub(time.Date(2024, 3, 1, 0, 0, 0, 0, loc)).Milliseconds() // 382830456 = 0x16D18778
	first := g.Next()
	if want := "C0A80001" + "1234" + "0A0B0C0D" + "16D18778" + "0000"; first != want {
		t.Fatalf("Next = %s, want %s (span %#x)", first, want, span)
	}
	if second := g.Next(); second[len(second)-4:] != "0001" {
		t.Fatalf("counter did not advance: %s", second)
	}
	u, err := ParseUniqID(strings.ToLower(first))
	if err != nil {
		t.Fatal(err)
	}
	if u.IP != netip.MustParseAddr("192.168.0.1") || u.PID != 0x1234 || u.Random != 0x0A0B0C0D ||
		int64(u.MonthMillis) != span || u.Counter != 0 || u.String() != first {
		t.Fatalf("ParseUniqID = %+v", u)
	}
	if got := u.Time(now.Add(time.Hour)); !got.Equal(now) {
		t.Fatalf("Time = %v, want %v", got, now)
	}
	// Seen early next month, the id is attributed to the previous month.
	if got := u.Time(time.Date(2024, 4, 2, 0, 0, 0, 0, loc)); !got.Equal(now) {
		t.Fatalf("Time across month = %v, want %v", got, now)
	}
	// The pid in the "port" position keeps unique ids from passing as offset ids.
	if LooksLikeOffsetID(first) {
		t.Fatalf("unique id mistaken for an offset id")
	}
}

func TestUniqIDGeneratorVariants(t *testing.T) {
	g6 := NewUniqIDGenerator(UniqIDConfig{IP: netip.MustParseAddr("2001:db8::7")})
	id := g6.Next()
	if len(id) != IDLenV6 {
		t.Fatalf("IPv6 id length %d", len(id))
	}
	if u, err := ParseUniqID(id); err != nil || u.IP != netip.MustParseAddr("2001:db8::7") || u.String() != id {
		t.Fatalf("ParseUniqID(v6) = %+v, %v", u, err)
	}
	mapped := NewUniqIDGenerator(UniqIDConfig{IP: netip.MustParseAddr("::ffff:10.1.2.3")}).Next()
	if len(mapped) != IDLenV4 || !strings.HasPrefix(mapped, "0A010203") {
		t.Fatalf("IPv4-mapped id %s", mapped)
	}
	if id := NewUniqIDGenerator(UniqIDConfig{}).Next(); len(id) != IDLenV4 {
		t.Fatalf("fallback id %s", id)
	}

	// Month rollover restarts the span.
	loc := time.UTC
	cur := time.Date(2024, 1, 31, 23, 59, 59, 0, loc)
	g := NewUniqIDGenerator(UniqIDConfig{IP: netip.MustParseAddr("1.2.3.4"), PID: 1, Random: 1, Now: func() time.Time { return cur }})
	a, _ := ParseUniqID(g.Next())
	cur = time.Date(2024, 2, 1, 0, 0, 1, 0, loc)
	b, _ := ParseUniqID(g.Next())
	if a.MonthMillis != uint32((31*24*3600-1)*1000) || b.MonthMillis != 1000 {
		t.Fatalf("spans %d, %d", a.MonthMillis, b.MonthMillis)
	}

	for _, bad := range []string{"", "ABC", strings.Repeat("Z", 32), strings.Repeat("0", 33)} {
		if _, err := ParseUniqID(bad); !errors.Is(err, ErrInvalidMessageID) {
			t.Errorf("ParseUniqID(%q) = %v", bad, err)
		}
	}
}

func TestUniqIDGeneratorConcurrent(t *testing.T) {
	now := time.Now()
	g := NewUniqIDGenerator(UniqIDConfig{IP: netip.MustParseAddr("1.2.3.4"), Now: func() time.Time { return now }})
	const workers, each = 8, 2000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				ids[w] = append(ids[w], g.Next())
			}
		})
	}
	wg.Wait()
	seen := make(map[string]bool, workers*each)
	for _, list := range ids {
		for _, id := range list {
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
	}
}
