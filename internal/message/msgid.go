package message

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"
)

// Message id lengths in hex characters. Both kinds of id have the same
// lengths for the same address family, which is why they are easy to mix up.
const (
	IDLenV4 = 32 // 16 bytes: IPv4 address ids
	IDLenV6 = 56 // 28 bytes: IPv6 address ids
)

const hexDigits = "0123456789ABCDEF"

func appendHex(dst, b []byte) []byte {
	dst = slices.Grow(dst, 2*len(b)) // one allocation, not one per growth step
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xF])
	}
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// decodeIDHex decodes a 32- or 56-character hex id (either case) into buf,
// returning the bytes and whether the address part is 16 bytes long.
func decodeIDHex(kind, id string, buf *[IDLenV6 / 2]byte) ([]byte, bool, error) {
	if len(id) != IDLenV4 && len(id) != IDLenV6 {
		return nil, false, fmt.Errorf("%w: %s id %q has length %d, want %d or %d",
			ErrInvalidMessageID, kind, id, len(id), IDLenV4, IDLenV6)
	}
	out := buf[:len(id)/2]
	for i := range out {
		hi, ok1 := unhex(id[2*i])
		lo, ok2 := unhex(id[2*i+1])
		if !ok1 || !ok2 {
			bad := 2 * i
			if ok1 {
				bad++
			}
			return nil, false, fmt.Errorf("%w: %s id %q: non-hex character %q at position %d",
				ErrInvalidMessageID, kind, id, id[bad], bad)
		}
		out[i] = hi<<4 | lo
	}
	return out, len(id) == IDLenV6, nil
}

func addrFrom(b []byte, v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16([16]byte(b[:16]))
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// ---------------------------------------------------------------------------
// Offset message id (broker-assigned)

// AppendOffsetID appends the offset message id of a stored record: STOREHOST
// address (4 or 16 bytes), port (int32) and PHYSICALOFFSET (int64), as
// uppercase hex. This is the `msgId` of send replies and what
// VIEW_MESSAGE_BY_ID, END_TRANSACTION and CONSUMER_SEND_MSG_BACK decode.
func AppendOffsetID(dst []byte, storeHost netip.AddrPort, physicalOffset int64) []byte {
	var buf [IDLenV6 / 2]byte
	n := 4
	if storeHost.Addr().Is6() {
		n = 16
	}
	putHost(buf[:], storeHost)
	binary.BigEndian.PutUint64(buf[n+4:], uint64(physicalOffset))
	return appendHex(dst, buf[:n+12])
}

// MakeOffsetID returns the offset message id of a stored record.
func MakeOffsetID(storeHost netip.AddrPort, physicalOffset int64) string {
	return string(AppendOffsetID(make([]byte, 0, IDLenV6), storeHost, physicalOffset))
}

// ParseOffsetID decodes an offset message id. The address family follows
// the length (32 characters: IPv4, 56: IPv6); hex digits may be either case.
// Besides the format it rejects ports outside 0..65535 and negative offsets,
// which no broker produces. That check is what separates offset ids from
// unique ids in practice (see LooksLikeOffsetID).
func ParseOffsetID(id string) (storeHost netip.AddrPort, physicalOffset int64, err error) {
	var buf [IDLenV6 / 2]byte
	b, v6, err := decodeIDHex("offset", id, &buf)
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	n := 4
	if v6 {
		n = 16
	}
	port := int32(binary.BigEndian.Uint32(b[n:]))
	if port < 0 || port > math.MaxUint16 {
		return netip.AddrPort{}, 0, fmt.Errorf("%w: offset id %q: port %d out of range", ErrInvalidMessageID, id, port)
	}
	off := int64(binary.BigEndian.Uint64(b[n+4:]))
	if off < 0 {
		return netip.AddrPort{}, 0, fmt.Errorf("%w: offset id %q: negative commit-log offset %d", ErrInvalidMessageID, id, off)
	}
	return netip.AddrPortFrom(addrFrom(b, v6), uint16(port)), off, nil
}

// LooksLikeOffsetID reports whether id decodes as an offset message id.
//
// Users paste either kind of id into queryMsgById, and for IPv4 both are 32
// hex characters. Like Java's mqadmin, try the offset decode first and fall
// back to a unique-key query. The port check makes this reliable: in a
// unique id the "port" bytes are the producer's pid followed by the high
// half of a random int, which exceeds 65535 whenever the pid's low 16 bits
// are non-zero. The negative-offset check catches about half of the rest.
// A true positive still has to be confirmed by reading the record at that
// offset (and the id may name another broker).
func LooksLikeOffsetID(id string) bool {
	_, _, err := ParseOffsetID(id)
	return err == nil
}

// ---------------------------------------------------------------------------
// Unique message id (client-assigned UNIQ_KEY)

// UniqID is a decoded UNIQ_KEY (MessageClientIDSetter layout).
type UniqID struct {
	IP          netip.Addr // producer address; 4 bytes unless IPv6
	PID         uint16     // low 16 bits of the producer's process id
	Random      int32      // per-process value (the class loader's hash in Java)
	MonthMillis uint32     // ms since the start of the month of creation, producer's local time
	Counter     uint16     // per-process sequence number, wraps
}

// ParseUniqID decodes a unique id (32 or 56 hex characters, either case).
// Any such string decodes; the fields are only meaningful for ids that a
// RocketMQ producer actually made.
func ParseUniqID(id string) (UniqID, error) {
	var buf [IDLenV6 / 2]byte
	b, v6, err := decodeIDHex("unique", id, &buf)
	if err != nil {
		return UniqID{}, err
	}
	n := 4
	if v6 {
		n = 16
	}
	be := binary.BigEndian
	return UniqID{
		IP:          addrFrom(b, v6),
		PID:         be.Uint16(b[n:]),
		Random:      int32(be.Uint32(b[n+2:])),
		MonthMillis: be.Uint32(b[n+6:]),
		Counter:     be.Uint16(b[n+10:]),
	}, nil
}

// AppendTo appends the id in its uppercase hex form. An IPv4 address (or an
// invalid one, written as zeros) takes 4 bytes; any other takes 16.
func (u UniqID) AppendTo(dst []byte) []byte {
	var buf [IDLenV6 / 2]byte
	n := 4
	switch {
	case u.IP.Is4():
		a := u.IP.As4()
		copy(buf[:], a[:])
	case u.IP.Is6():
		a := u.IP.As16()
		copy(buf[:], a[:])
		n = 16
	}
	be := binary.BigEndian
	be.PutUint16(buf[n:], u.PID)
	be.PutUint32(buf[n+2:], uint32(u.Random))
	be.PutUint32(buf[n+6:], u.MonthMillis)
	be.PutUint16(buf[n+10:], u.Counter)
	return appendHex(dst, buf[:n+12])
}

// String returns the id in its uppercase hex form.
func (u UniqID) String() string { return string(u.AppendTo(make([]byte, 0, IDLenV6))) }

// Time estimates when the id was created, assuming it is less than a month
// old relative to now and was made in now's time zone. The id only stores ms
// since the start of *a* month, so (like Java's getNearlyTimeFromID) we pick
// the current month unless that would put creation in the future, then the
// previous one.
func (u UniqID) Time(now time.Time) time.Time {
	span := time.Duration(u.MonthMillis) * time.Millisecond
	start := monthStart(now)
	if !start.Add(span).Before(now) {
		start = start.AddDate(0, -1, 0)
	}
	return start.Add(span)
}

func monthStart(t time.Time) time.Time {
	y, m, _ := t.Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
}

// UniqIDConfig parameterises a UniqIDGenerator. Zero fields get defaults.
type UniqIDConfig struct {
	// IP is the producer's address (the broker's, when it fills in a missing
	// UNIQ_KEY). IPv4-mapped IPv6 addresses are stored as IPv4. If invalid,
	// 4 bytes of the current clock stand in, as Java does without a network.
	IP netip.Addr
	// PID defaults to os.Getpid(); only its low 16 bits are used.
	PID int
	// Random defaults to a random value; 0 also means "choose randomly".
	Random int32
	// Now defaults to time.Now. Its Location decides where months begin.
	Now func() time.Time
}

// UniqIDGenerator makes UNIQ_KEY values in the layout Java producers use, so
// tools that decode them (IP, pid, approximate time) keep working. It is
// safe for concurrent use.
type UniqIDGenerator struct {
	prefix [16 + 6]byte // address, pid, random: fixed for the generator's life
	n      int          // used length of prefix
	now    func() time.Time

	mu         sync.Mutex
	monthStart int64 // ms, start of the current month
	nextMonth  int64 // ms, start of the following month
	counter    uint16
}

// NewUniqIDGenerator returns a generator for cfg.
func NewUniqIDGenerator(cfg UniqIDConfig) *UniqIDGenerator {
	g := &UniqIDGenerator{now: cfg.Now}
	if g.now == nil {
		g.now = time.Now
	}
	ip := cfg.IP.Unmap()
	switch {
	case ip.Is4():
		a := ip.As4()
		g.n = copy(g.prefix[:], a[:])
	case ip.Is6():
		a := ip.As16()
		g.n = copy(g.prefix[:], a[:])
	default:
		binary.BigEndian.PutUint32(g.prefix[:], uint32(g.now().UnixMilli()))
		g.n = 4
	}
	pid := cfg.PID
	if pid == 0 {
		pid = os.Getpid()
	}
	random := cfg.Random
	for random == 0 {
		random = int32(rand.Uint32())
	}
	binary.BigEndian.PutUint16(g.prefix[g.n:], uint16(pid))
	binary.BigEndian.PutUint32(g.prefix[g.n+2:], uint32(random))
	g.n += 6
	return g
}

// Next returns a new unique id.
func (g *UniqIDGenerator) Next() string {
	return string(g.AppendNext(make([]byte, 0, IDLenV6)))
}

// AppendNext appends a new unique id to dst.
func (g *UniqIDGenerator) AppendNext(dst []byte) []byte {
	now := g.now()
	ms := now.UnixMilli()
	g.mu.Lock()
	if ms >= g.nextMonth || ms < g.monthStart {
		// A new month (or the clock stepped back past its start): restart
		// the span so it always fits in 32 bits.
		start := monthStart(now)
		g.monthStart = start.UnixMilli()
		g.nextMonth = start.AddDate(0, 1, 0).UnixMilli()
	}
	span := uint32(ms - g.monthStart)
	seq := g.counter
	g.counter++
	g.mu.Unlock()

	var buf [len(UniqIDGenerator{}.prefix) + 6]byte
	n := copy(buf[:], g.prefix[:g.n])
	binary.BigEndian.PutUint32(buf[n:], span)
	binary.BigEndian.PutUint16(buf[n+4:], seq)
	return appendHex(dst, buf[:n+6])
}
