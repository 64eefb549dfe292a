package message

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"net/netip"
	"slices"
)

// Magic codes of the first word after TOTALSIZE.
const (
	MagicV1    uint32 = 0xDAA320A7 // 1-byte (signed) topic length
	MagicV2    uint32 = 0xDAA320AB // 2-byte (signed) topic length
	MagicBlank uint32 = 0xCBD43194 // end-of-segment filler in the commit log; never sent
)

// MaxTopicLengthV1 is the longest topic a V1 record can hold: its length is a
// signed byte. Longer topics need MagicV2.
const MaxTopicLengthV1 = math.MaxInt8

// MaxTopicLengthV2 is the longest topic a V2 record can hold (signed int16).
const MaxTopicLengthV2 = math.MaxInt16

// Fixed positions in a record. Fields up to BORNHOST never move; everything
// after it shifts by 12 bytes per IPv6 host.
const (
	offTotalSize      = 0
	offMagic          = 4
	offBodyCRC        = 8
	offQueueID        = 12
	offFlag           = 16
	offQueueOffset    = 20
	offPhysicalOffset = 28
	offSysFlag        = 36
	offBornTimestamp  = 40
	offBornHost       = 48

	hostLenV4 = 4 + 4  // address + int32 port
	hostLenV6 = 16 + 4 // address + int32 port

	// fixedAfterHosts is STORETIMESTAMP + RECONSUMETIMES + PREPARED_TRANSACTION_OFFSET + BODYLENGTH.
	fixedAfterHosts = 8 + 4 + 8 + 4

	// MinRecordSize is the smallest valid record: IPv4 hosts, V1, empty body,
	// topic and properties.
	MinRecordSize = offBornHost + 2*hostLenV4 + fixedAfterHosts + 1 + 2
)

// layout holds the variable positions of one record. Both the encoder and
// the decoder derive them here so they cannot disagree.
type layout struct {
	bornHostLen, storeHostLen int
	topicLenSize              int // 1 (V1) or 2 (V2)
	offStoreTimestamp         int
	offStoreHost              int
	offReconsumeTimes         int
	offPreparedTxOffset       int
	offBodyLength             int
	offBody                   int
}

func newLayout(sys SysFlag, magic uint32) layout {
	l := layout{bornHostLen: hostLenV4, storeHostLen: hostLenV4, topicLenSize: 1}
	if sys&SysBornHostV6 != 0 {
		l.bornHostLen = hostLenV6
	}
	if sys&SysStoreHostV6 != 0 {
		l.storeHostLen = hostLenV6
	}
	if magic == MagicV2 {
		l.topicLenSize = 2
	}
	l.offStoreTimestamp = offBornHost + l.bornHostLen
	l.offStoreHost = l.offStoreTimestamp + 8
	l.offReconsumeTimes = l.offStoreHost + l.storeHostLen
	l.offPreparedTxOffset = l.offReconsumeTimes + 4
	l.offBodyLength = l.offPreparedTxOffset + 8
	l.offBody = l.offBodyLength + 4
	return l
}

// overhead is the record size without body, topic and properties.
func (l layout) overhead() int { return l.offBody + l.topicLenSize + 2 }

// BodyCRC computes the BODYCRC field: CRC-32 (IEEE) of the body as stored,
// with the sign bit cleared because Java keeps it in an int.
func BodyCRC(body []byte) int32 {
	return int32(crc32.ChecksumIEEE(body) & 0x7FFFFFFF)
}

func isV6(ap netip.AddrPort) bool { return ap.Addr().Is6() }

// encodePlan validates m for encoding and returns what AppendRecord needs.
func encodePlan(m *Message, propsLen int) (sys SysFlag, magic uint32, l layout, size int, err error) {
	magic = m.Magic
	switch magic {
	case 0:
		magic = MagicV1
		if len(m.Topic) > MaxTopicLengthV1 {
			magic = MagicV2
		}
	case MagicV1, MagicV2:
	default:
		return 0, 0, l, 0, fmt.Errorf("%w: %#x", ErrUnknownMagic, magic)
	}
	if magic == MagicV1 && len(m.Topic) > MaxTopicLengthV1 {
		return 0, 0, l, 0, fmt.Errorf("%w: %d bytes, V1 records allow %d", ErrTopicTooLong, len(m.Topic), MaxTopicLengthV1)
	}
	if len(m.Topic) > MaxTopicLengthV2 {
		return 0, 0, l, 0, fmt.Errorf("%w: %d bytes, max %d", ErrTopicTooLong, len(m.Topic), MaxTopicLengthV2)
	}
	if propsLen > MaxPropertiesLength {
		return 0, 0, l, 0, fmt.Errorf("%w: %d bytes, max %d", ErrPropertiesTooLong, propsLen, MaxPropertiesLength)
	}
	// The host fields' widths follow the addresses, not whatever the caller
	// left in SysFlag: a mismatch would make the record undecodable.
	sys = m.SysFlag &^ (SysBornHostV6 | SysStoreHostV6)
	if isV6(m.BornHost) {
		sys |= SysBornHostV6
	}
	if isV6(m.StoreHost) {
		sys |= SysStoreHostV6
	}
	l = newLayout(sys, magic)
	size = l.overhead() + len(m.Body) + len(m.Topic) + propsLen
	if size > math.MaxInt32 || len(m.Body) > math.MaxInt32 {
		return 0, 0, l, 0, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, size)
	}
	return sys, magic, l, size, nil
}

// EncodedSize returns the size AppendRecord would produce for m.
func EncodedSize(m *Message) (int, error) {
	if err := m.Properties.Validate(); err != nil {
		return 0, err
	}
	_, _, _, size, err := encodePlan(m, m.Properties.EncodedLen())
	return size, err
}

// AppendRecord appends m encoded in the stored/wire record layout to dst.
// BODYCRC is computed from m.Body; the IPv6 sysFlag bits follow the hosts;
// properties are written with names sorted. On error dst is returned
// unchanged.
func AppendRecord(dst []byte, m *Message) ([]byte, error) {
	if err := m.Properties.Validate(); err != nil {
		return dst, err
	}
	return appendRecord(dst, m, nil, false)
}

// AppendRecordRawProperties is AppendRecord with a pre-encoded properties
// block written verbatim instead of m.Properties. The broker uses it to store
// the client's properties string (plus what it appended) without a parse and
// re-encode per message. props is not validated beyond its length.
func AppendRecordRawProperties(dst []byte, m *Message, props []byte) ([]byte, error) {
	return appendRecord(dst, m, props, true)
}

// Encode returns m as a freshly allocated record.
func Encode(m *Message) ([]byte, error) { return AppendRecord(nil, m) }

func appendRecord(dst []byte, m *Message, rawProps []byte, raw bool) ([]byte, error) {
	propsLen := len(rawProps)
	if !raw {
		propsLen = m.Properties.EncodedLen()
	}
	sys, magic, l, size, err := encodePlan(m, propsLen)
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, size)
	start := len(dst)
	dst = append(dst, make([]byte, l.offBody)...)
	r := dst[start:]
	be := binary.BigEndian
	be.PutUint32(r[offTotalSize:], uint32(size))
	be.PutUint32(r[offMagic:], magic)
	be.PutUint32(r[offBodyCRC:], uint32(BodyCRC(m.Body)))
	be.PutUint32(r[offQueueID:], uint32(m.QueueID))
	be.PutUint32(r[offFlag:], uint32(m.Flag))
	be.PutUint64(r[offQueueOffset:], uint64(m.QueueOffset))
	be.PutUint64(r[offPhysicalOffset:], uint64(m.CommitLogOffset))
	be.PutUint32(r[offSysFlag:], uint32(sys))
	be.PutUint64(r[offBornTimestamp:], uint64(m.BornTimestamp))
	putHost(r[offBornHost:], m.BornHost)
	be.PutUint64(r[l.offStoreTimestamp:], uint64(m.StoreTimestamp))
	putHost(r[l.offStoreHost:], m.StoreHost)
	be.PutUint32(r[l.offReconsumeTimes:], uint32(m.ReconsumeTimes))
	be.PutUint64(r[l.offPreparedTxOffset:], uint64(m.PreparedTransactionOffset))
	be.PutUint32(r[l.offBodyLength:], uint32(len(m.Body)))
	dst = append(dst, m.Body...)
	if l.topicLenSize == 1 {
		dst = append(dst, byte(len(m.Topic)))
	} else {
		dst = be.AppendUint16(dst, uint16(len(m.Topic)))
	}
	dst = append(dst, m.Topic...)
	dst = be.AppendUint16(dst, uint16(propsLen))
	if raw {
		dst = append(dst, rawProps...)
	} else {
		// Validate and the length check already passed.
		dst = m.Properties.appendSorted(dst)
	}
	if len(dst)-start != size {
		panic(fmt.Sprintf("message: encoder wrote %d bytes, planned %d", len(dst)-start, size))
	}
	return dst, nil
}

// putHost writes address bytes and an int32 port. An invalid (zero) address
// is written as 0.0.0.0 so a half-filled message still encodes; the broker
// always sets real hosts before storing.
func putHost(b []byte, ap netip.AddrPort) {
	a := ap.Addr()
	n := 4
	switch {
	case a.Is4():
		a4 := a.As4()
		copy(b, a4[:])
	case a.Is6():
		a16 := a.As16()
		copy(b, a16[:])
		n = 16
	default:
		clear(b[:4])
	}
	binary.BigEndian.PutUint32(b[n:], uint32(ap.Port()))
}

// readHost reads address bytes and an int32 port, rejecting ports outside
// 0..65535 as Java's InetSocketAddress does.
func readHost(b []byte, v6 bool, field string, off int) (netip.AddrPort, error) {
	var a netip.Addr
	n := 4
	if v6 {
		a = netip.AddrFrom16([16]byte(b[:16]))
		n = 16
	} else {
		a = netip.AddrFrom4([4]byte(b[:4]))
	}
	port := int32(binary.BigEndian.Uint32(b[n:]))
	if port < 0 || port > math.MaxUint16 {
		return netip.AddrPort{}, corrupt(field, off+n, "port %d out of range", port)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// ---------------------------------------------------------------------------
// Reading

// RecordSize reads TOTALSIZE from the first 8 bytes of b after checking the
// magic code, so a commit-log reader can learn how many bytes to fetch before
// it has them. It returns ErrBlankRecord (wrapped) at an end-of-segment filler
// and a *CorruptionError for anything that cannot start a record.
func RecordSize(b []byte) (int, error) {
	if len(b) < offMagic+4 {
		return 0, truncated("MAGICCODE", 0, offMagic+4, len(b))
	}
	magic := binary.BigEndian.Uint32(b[offMagic:])
	size := int(int32(binary.BigEndian.Uint32(b[offTotalSize:])))
	switch magic {
	case MagicV1, MagicV2:
	case MagicBlank:
		return 0, fmt.Errorf("%w (TOTALSIZE %d)", ErrBlankRecord, size)
	default:
		return 0, corrupt("MAGICCODE", offMagic, "unknown magic %#08x", magic)
	}
	minSize := MinRecordSize
	if magic == MagicV2 {
		minSize++
	}
	if size < minSize {
		return 0, corrupt("TOTALSIZE", offTotalSize, "size %d below minimum %d", size, minSize)
	}
	return size, nil
}

// peek checks that b starts a record and holds the n-byte field at off.
func peek(b []byte, off, n int, field string) error {
	if _, err := RecordSize(b); err != nil {
		return err
	}
	if len(b) < off+n {
		return truncated(field, off, off+n, len(b))
	}
	return nil
}

// PeekQueueID reads QUEUEID from a record prefix of at least 16 bytes.
func PeekQueueID(b []byte) (int32, error) {
	if err := peek(b, offQueueID, 4, "QUEUEID"); err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(b[offQueueID:])), nil
}

// PeekQueueOffset reads QUEUEOFFSET from a record prefix of at least 28 bytes.
func PeekQueueOffset(b []byte) (int64, error) {
	if err := peek(b, offQueueOffset, 8, "QUEUEOFFSET"); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[offQueueOffset:])), nil
}

// PeekPhysicalOffset reads PHYSICALOFFSET from a record prefix of at least 36 bytes.
func PeekPhysicalOffset(b []byte) (int64, error) {
	if err := peek(b, offPhysicalOffset, 8, "PHYSICALOFFSET"); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[offPhysicalOffset:])), nil
}

// PeekSysFlag reads SYSFLAG from a record prefix of at least 40 bytes.
func PeekSysFlag(b []byte) (SysFlag, error) {
	if err := peek(b, offSysFlag, 4, "SYSFLAG"); err != nil {
		return 0, err
	}
	return SysFlag(binary.BigEndian.Uint32(b[offSysFlag:])), nil
}

// PeekStoreTimestamp reads STORETIMESTAMP, whose position depends on the
// born host's address family: 56 for IPv4, 68 for IPv6.
func PeekStoreTimestamp(b []byte) (int64, error) {
	off, err := storeTimestampOffset(b)
	if err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[off:])), nil
}

func storeTimestampOffset(b []byte) (int, error) {
	sys, err := PeekSysFlag(b)
	if err != nil {
		return 0, err
	}
	off := newLayout(sys, MagicV1).offStoreTimestamp
	if len(b) < off+8 {
		return 0, truncated("STORETIMESTAMP", off, off+8, len(b))
	}
	return off, nil
}

// SetQueueOffset overwrites QUEUEOFFSET in an encoded record. The store
// assigns queue offsets only once it holds the queue's lock, after encoding.
func SetQueueOffset(rec []byte, v int64) error {
	if err := peek(rec, offQueueOffset, 8, "QUEUEOFFSET"); err != nil {
		return err
	}
	binary.BigEndian.PutUint64(rec[offQueueOffset:], uint64(v))
	return nil
}

// SetPhysicalOffset overwrites PHYSICALOFFSET in an encoded record, which
// only the commit log knows at append time.
func SetPhysicalOffset(rec []byte, v int64) error {
	if err := peek(rec, offPhysicalOffset, 8, "PHYSICALOFFSET"); err != nil {
		return err
	}
	binary.BigEndian.PutUint64(rec[offPhysicalOffset:], uint64(v))
	return nil
}

// SetStoreTimestamp overwrites STORETIMESTAMP in an encoded record.
func SetStoreTimestamp(rec []byte, v int64) error {
	off, err := storeTimestampOffset(rec)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint64(rec[off:], uint64(v))
	return nil
}

// Record is a validated, zero-copy view of one encoded record. Its accessors
// read fields in place; slices it returns alias the underlying bytes, so a
// caller that keeps them beyond the buffer's lifetime must copy.
type Record struct {
	b                  []byte // exactly one record
	magic              uint32
	l                  layout
	bodyLen            int
	offTopic, topicLen int
	offProps, propsLen int
	bornHost           netip.AddrPort
	storeHost          netip.AddrPort
}

// ParseRecord validates the framing of the record at the start of b and
// returns a view of it; b may continue with more records (use Size to step).
// Every length is checked against TOTALSIZE, and TOTALSIZE against len(b),
// before anything is sliced. The body CRC is not checked (see VerifyBodyCRC).
func ParseRecord(b []byte) (Record, error) {
	size, err := RecordSize(b)
	if err != nil {
		return Record{}, err
	}
	if size > len(b) {
		return Record{}, truncated("TOTALSIZE", offTotalSize, size, len(b))
	}
	b = b[:size]
	be := binary.BigEndian
	r := Record{b: b, magic: be.Uint32(b[offMagic:])}
	sys := SysFlag(be.Uint32(b[offSysFlag:]))
	r.l = newLayout(sys, r.magic)
	// From here on a field that does not fit is an inconsistency between
	// TOTALSIZE and the lengths inside the record: corruption, not a torn tail.
	if size < r.l.overhead() {
		return Record{}, corrupt("TOTALSIZE", offTotalSize,
			"size %d too small for sysFlag %#x (needs %d)", size, int32(sys), r.l.overhead())
	}
	if r.bornHost, err = readHost(b[offBornHost:], sys&SysBornHostV6 != 0, "BORNHOST", offBornHost); err != nil {
		return Record{}, err
	}
	if r.storeHost, err = readHost(b[r.l.offStoreHost:], sys&SysStoreHostV6 != 0, "STOREHOST", r.l.offStoreHost); err != nil {
		return Record{}, err
	}
	rest := size - r.l.overhead() // bytes left for body + topic + properties
	bodyLen := int(int32(be.Uint32(b[r.l.offBodyLength:])))
	if bodyLen < 0 || bodyLen > rest {
		return Record{}, corrupt("BODYLENGTH", r.l.offBodyLength, "length %d, %d bytes available", bodyLen, rest)
	}
	r.bodyLen = bodyLen
	rest -= bodyLen
	off := r.l.offBody + bodyLen
	var topicLen int
	if r.l.topicLenSize == 1 {
		topicLen = int(int8(b[off]))
	} else {
		topicLen = int(int16(be.Uint16(b[off:])))
	}
	if topicLen < 0 || topicLen > rest {
		return Record{}, corrupt("TOPICLENGTH", off, "length %d, %d bytes available", topicLen, rest)
	}
	rest -= topicLen
	r.offTopic, r.topicLen = off+r.l.topicLenSize, topicLen
	off = r.offTopic + topicLen
	propsLen := int(int16(be.Uint16(b[off:])))
	if propsLen < 0 || propsLen > rest {
		return Record{}, corrupt("PROPERTIESLENGTH", off, "length %d, %d bytes available", propsLen, rest)
	}
	if propsLen != rest {
		return Record{}, corrupt("TOTALSIZE", offTotalSize,
			"size %d leaves %d unused bytes after the properties", size, rest-propsLen)
	}
	r.offProps, r.propsLen = off+2, propsLen
	return r, nil
}

func (r Record) u32(off int) uint32 { return binary.BigEndian.Uint32(r.b[off:]) }
func (r Record) u64(off int) uint64 { return binary.BigEndian.Uint64(r.b[off:]) }

// Bytes returns the record's bytes (TOTALSIZE of them).
func (r Record) Bytes() []byte { return r.b }

// Size returns TOTALSIZE.
func (r Record) Size() int { return len(r.b) }

// Magic returns MagicV1 or MagicV2.
func (r Record) Magic() uint32 { return r.magic }

// Fixed-width fields, read in place. Names follow the layout table.

func (r Record) BodyCRC() int32                   { return int32(r.u32(offBodyCRC)) }
func (r Record) QueueID() int32                   { return int32(r.u32(offQueueID)) }
func (r Record) Flag() int32                      { return int32(r.u32(offFlag)) }
func (r Record) QueueOffset() int64               { return int64(r.u64(offQueueOffset)) }
func (r Record) PhysicalOffset() int64            { return int64(r.u64(offPhysicalOffset)) }
func (r Record) SysFlag() SysFlag                 { return SysFlag(r.u32(offSysFlag)) }
func (r Record) BornTimestamp() int64             { return int64(r.u64(offBornTimestamp)) }
func (r Record) BornHost() netip.AddrPort         { return r.bornHost }
func (r Record) StoreTimestamp() int64            { return int64(r.u64(r.l.offStoreTimestamp)) }
func (r Record) StoreHost() netip.AddrPort        { return r.storeHost }
func (r Record) ReconsumeTimes() int32            { return int32(r.u32(r.l.offReconsumeTimes)) }
func (r Record) PreparedTransactionOffset() int64 { return int64(r.u64(r.l.offPreparedTxOffset)) }

// Body returns the body as stored (still compressed if SysFlag says so).
func (r Record) Body() []byte {
	return r.b[r.l.offBody : r.l.offBody+r.bodyLen : r.l.offBody+r.bodyLen]
}

// TopicBytes returns the topic without copying; map lookups keyed by
// string(r.TopicBytes()) do not allocate.
func (r Record) TopicBytes() []byte {
	return r.b[r.offTopic : r.offTopic+r.topicLen : r.offTopic+r.topicLen]
}

// Topic returns the topic as a string (one allocation).
func (r Record) Topic() string { return string(r.TopicBytes()) }

// PropertiesBytes returns the encoded properties block.
func (r Record) PropertiesBytes() []byte {
	return r.b[r.offProps : r.offProps+r.propsLen : r.offProps+r.propsLen]
}

// Property looks up one property without parsing the whole block.
func (r Record) Property(name string) (string, bool) {
	v, ok := LookupProperty(r.PropertiesBytes(), name)
	return string(v), ok
}

// Properties parses the properties block.
func (r Record) Properties() Properties { return ParsePropertiesBytes(r.PropertiesBytes()) }

// TagHash returns the consume-queue tag code of the TAGS property without
// allocating.
func (r Record) TagHash() int32 {
	v, _ := LookupProperty(r.PropertiesBytes(), PropertyTags)
	return tagHashBytes(v)
}

// OffsetID returns the record's offset message id.
func (r Record) OffsetID() string { return MakeOffsetID(r.storeHost, r.PhysicalOffset()) }

// VerifyBodyCRC checks BODYCRC against the body.
func (r Record) VerifyBodyCRC() error {
	if got, want := BodyCRC(r.Body()), r.BodyCRC(); got != want {
		return &CorruptionError{Kind: ErrBadCRC, Field: "BODYCRC", Offset: offBodyCRC,
			Detail: fmt.Sprintf("stored %#08x, body hashes to %#08x", uint32(want), uint32(got))}
	}
	return nil
}

// Message materialises the record, copying body, topic and properties so
// the result does not alias the record's buffer. It does not verify the CRC.
func (r Record) Message() *Message {
	m := &Message{
		Topic:                     r.Topic(),
		Flag:                      r.Flag(),
		Properties:                r.Properties(),
		SysFlag:                   r.SysFlag(),
		BornTimestamp:             r.BornTimestamp(),
		BornHost:                  r.bornHost,
		StoreTimestamp:            r.StoreTimestamp(),
		StoreHost:                 r.storeHost,
		QueueID:                   r.QueueID(),
		QueueOffset:               r.QueueOffset(),
		CommitLogOffset:           r.PhysicalOffset(),
		ReconsumeTimes:            r.ReconsumeTimes(),
		PreparedTransactionOffset: r.PreparedTransactionOffset(),
		BodyCRC:                   r.BodyCRC(),
		Magic:                     r.magic,
	}
	if r.bodyLen > 0 {
		m.Body = append([]byte(nil), r.Body()...)
	}
	return m
}

// Decode decodes exactly one record: b must hold the record and nothing
// else. It verifies the body CRC. Errors are *CorruptionError values that
// match ErrCorrupt (and ErrTruncated or ErrBadCRC where they apply), or
// ErrBlankRecord.
func Decode(b []byte) (*Message, error) {
	r, err := ParseRecord(b)
	if err != nil {
		return nil, err
	}
	if r.Size() != len(b) {
		return nil, corrupt("TOTALSIZE", offTotalSize, "record is %d bytes but input has %d", r.Size(), len(b))
	}
	if err := r.VerifyBodyCRC(); err != nil {
		return nil, err
	}
	return r.Message(), nil
}

// DecodeAll decodes a concatenation of records, such as a pull response
// body, verifying each body CRC. It fails on the first bad record and wraps
// its error with the record's index and byte offset.
func DecodeAll(b []byte) ([]*Message, error) {
	var out []*Message
	for pos := 0; pos < len(b); {
		r, err := ParseRecord(b[pos:])
		if err == nil {
			err = r.VerifyBodyCRC()
		}
		if err != nil {
			return out, fmt.Errorf("record %d at byte %d: %w", len(out), pos, err)
		}
		out = append(out, r.Message())
		pos += r.Size()
	}
	return out, nil
}
