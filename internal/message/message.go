package message

import "net/netip"

// Message is one message with the metadata the broker stores beside it: the
// union of Java's Message and MessageExt. The zero value is an empty message
// on an empty topic; fields that only the store assigns (offsets, store time,
// store host) are simply zero until it does.
type Message struct {
	Topic      string
	Flag       int32 // user flag, stored verbatim
	Body       []byte
	Properties Properties

	// SysFlag bits; the encoder sets or clears the two IPv6 host bits from the
	// address families of BornHost and StoreHost, so callers need not.
	SysFlag SysFlag

	BornTimestamp  int64 // producer clock, ms since the epoch
	BornHost       netip.AddrPort
	StoreTimestamp int64 // broker clock, ms since the epoch
	StoreHost      netip.AddrPort

	QueueID                   int32
	QueueOffset               int64 // logical offset in (Topic, QueueID)
	CommitLogOffset           int64 // PHYSICALOFFSET: position in the commit log
	ReconsumeTimes            int32
	PreparedTransactionOffset int64 // commit-log offset of the half message

	// BodyCRC is the BODYCRC field as decoded. The encoder ignores it and
	// always writes the checksum of Body, so it cannot go stale.
	BodyCRC int32

	// Magic is the record version Decode found (MagicV1 or MagicV2). When
	// encoding, 0 picks V1 for topics up to 127 bytes and V2 beyond; a
	// non-zero value forces that version, which lets a decoded V2 record
	// with a short topic be re-encoded byte for byte.
	Magic uint32
}

// Property returns the value of a property, or "".
func (m *Message) Property(name string) string { return m.Properties[name] }

// SetProperty sets a property, allocating the map if needed.
func (m *Message) SetProperty(name, value string) { m.Properties.Set(name, value) }

// Tags returns the TAGS property.
func (m *Message) Tags() string { return m.Properties[PropertyTags] }

// Keys returns the business keys of the KEYS property.
func (m *Message) Keys() []string { return m.Properties.Keys() }

// UniqKey returns UNIQ_KEY, the id users know as "msgId".
func (m *Message) UniqKey() string { return m.Properties[PropertyUniqKey] }

// TagHash returns the consume-queue tag code of the message's TAGS.
func (m *Message) TagHash() int32 { return TagHash(m.Properties[PropertyTags]) }

// OffsetID returns the offset message id of the stored record
// (StoreHost + CommitLogOffset), as the broker returns it in send replies.
func (m *Message) OffsetID() string { return MakeOffsetID(m.StoreHost, m.CommitLogOffset) }

// Clone returns a deep copy.
func (m *Message) Clone() *Message {
	c := *m
	if m.Body != nil {
		c.Body = append([]byte(nil), m.Body...)
	}
	c.Properties = m.Properties.Clone()
	return &c
}
