package message

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Separators of the properties string (MessageDecoder).
const (
	NameValueSeparator = '\x01' // between a name and its value
	PropertySeparator  = '\x02' // after every value, including the last
	KeySeparator       = " "    // between business keys inside KEYS
)

// MaxPropertiesLength is the largest encodable properties block: its length
// field is a signed 16-bit integer.
const MaxPropertiesLength = math.MaxInt16

// Property names (MessageConst). Only the ones Bolide or its users read are
// listed; any other name passes through untouched.
const (
	PropertyKeys                           = "KEYS"
	PropertyTags                           = "TAGS"
	PropertyUniqKey                        = "UNIQ_KEY" // PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX
	PropertyWaitStoreMsgOK                 = "WAIT"
	PropertyDelayTimeLevel                 = "DELAY"
	PropertyTimerDeliverMS                 = "TIMER_DELIVER_MS"
	PropertyTimerDelaySec                  = "TIMER_DELAY_SEC"
	PropertyTimerDelayMS                   = "TIMER_DELAY_MS"
	PropertyTimerEnqueueMS                 = "TIMER_ENQUEUE_MS"
	PropertyTimerDequeueMS                 = "TIMER_DEQUEUE_MS"
	PropertyTimerRollTimes                 = "TIMER_ROLL_TIMES"
	PropertyTimerOutMS                     = "TIMER_OUT_MS"
	PropertyTimerDelUniqKey                = "TIMER_DEL_UNIQKEY"
	PropertyTimerDelayLevel                = "TIMER_DELAY_LEVEL"
	PropertyTransactionPrepared            = "TRAN_MSG"
	PropertyProducerGroup                  = "PGROUP"
	PropertyTransactionID                  = "__transactionId__"
	PropertyTransactionPreparedQueueOffset = "TRAN_PREPARED_QUEUE_OFFSET"
	PropertyTransactionCheckTimes          = "TRANSACTION_CHECK_TIMES"
	PropertyCheckImmunityTimeInSeconds     = "CHECK_IMMUNITY_TIME_IN_SECONDS"
	PropertyRealTopic                      = "REAL_TOPIC"
	PropertyRealQueueID                    = "REAL_QID"
	PropertyRetryTopic                     = "RETRY_TOPIC"
	PropertyOriginMessageID                = "ORIGIN_MESSAGE_ID"
	PropertyReconsumeTime                  = "RECONSUME_TIME"
	PropertyMaxReconsumeTimes              = "MAX_RECONSUME_TIMES"
	PropertyDLQOriginTopic                 = "DLQ_ORIGIN_TOPIC"
	PropertyDLQOriginMessageID             = "DLQ_ORIGIN_MESSAGE_ID"
	PropertyCluster                        = "CLUSTER"
	PropertyMsgRegion                      = "MSG_REGION"
	PropertyTraceSwitch                    = "TRACE_ON"
	PropertyMinOffset                      = "MIN_OFFSET"
	PropertyMaxOffset                      = "MAX_OFFSET"
	PropertyBuyerID                        = "BUYER_ID"
	PropertyConsumeStartTimestamp          = "CONSUME_START_TIME"
	PropertyPopCK                          = "POP_CK"
	PropertyPopCKOffset                    = "POP_CK_OFFSET"
	PropertyFirstPopTime                   = "1ST_POP_TIME"
	PropertyInnerMultiDispatch             = "INNER_MULTI_DISPATCH"
	PropertyInnerMultiQueueOffset          = "INNER_MULTI_QUEUE_OFFSET"
	PropertyInnerNum                       = "INNER_NUM"
	PropertyInnerBase                      = "INNER_BASE"
	PropertyShardingKey                    = "__SHARDINGKEY"
	PropertyCorrelationID                  = "CORRELATION_ID"
	PropertyReplyToClient                  = "REPLY_TO_CLIENT"
	PropertyTTL                            = "TTL"
	PropertyReplyMessageArriveTime         = "ARRIVE_TIME"
	PropertyPushReplyTime                  = "PUSH_REPLY_TIME"
	PropertyMessageType                    = "MSG_TYPE" // value "reply" for request-reply
	PropertyInstanceID                     = "INSTANCE_ID"
	PropertyBornHost                       = "__BORNHOST"
	PropertyBornTimestamp                  = "BORN_TIMESTAMP"
	PropertyCRC32                          = "__CRC32#"
	PropertyTransientPrefix                = "__RMQ.TRANSIENT." // never persisted
	PropertyExtendUniqInfo                 = "EXTEND_UNIQ_INFO"
	PropertyDupInfo                        = "DUP_INFO"
	PropertyTransferFlag                   = "TRANSFER_FLAG"
	PropertyCorrectionFlag                 = "CORRECTION_FLAG"
	PropertyMQ2Flag                        = "MQ2_FLAG"
	PropertyForwardQueueID                 = "PROPERTY_FORWARD_QUEUE_ID"
	PropertyRedirect                       = "REDIRECT"
	PropertyTraceContext                   = "TRACE_CONTEXT"
	PropertyMessageTypeReply               = "reply" // value of MSG_TYPE on replies
)

// Properties is a message's user and system properties. Order carries no
// meaning on the wire (Java keeps them in a HashMap), so a map is enough and
// encoding sorts names to be deterministic.
type Properties map[string]string

// Get returns the value of name, or "" if absent.
func (p Properties) Get(name string) string { return p[name] }

// Lookup returns the value of name and whether it is present.
func (p Properties) Lookup(name string) (string, bool) {
	v, ok := p[name]
	return v, ok
}

// Set stores name=value, allocating the map if needed.
func (p *Properties) Set(name, value string) {
	if *p == nil {
		*p = make(Properties)
	}
	(*p)[name] = value
}

// Delete removes name.
func (p Properties) Delete(name string) { delete(p, name) }

// Clone returns an independent copy (nil for an empty set).
func (p Properties) Clone() Properties {
	if len(p) == 0 {
		return nil
	}
	return maps.Clone(p)
}

// Keys returns the business keys in KEYS (space-separated, empties skipped).
func (p Properties) Keys() []string { return SplitKeys(p[PropertyKeys]) }

// Tags returns TAGS.
func (p Properties) Tags() string { return p[PropertyTags] }

// UniqKey returns UNIQ_KEY, the client-side unique id.
func (p Properties) UniqKey() string { return p[PropertyUniqKey] }

// SplitKeys splits a KEYS value on spaces, skipping empty keys, the way the
// broker's key index does.
func SplitKeys(keys string) []string {
	if keys == "" {
		return nil
	}
	var out []string
	for k := range strings.SplitSeq(keys, KeySeparator) {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}

// Validate reports the first name or value that cannot survive the text
// format: names must be non-empty and free of both separators; values must
// not contain PropertySeparator. (A value may contain NameValueSeparator:
// parsing splits at the first one only.)
func (p Properties) Validate() error {
	for k, v := range p {
		if err := validateProperty(k, v); err != nil {
			return err
		}
	}
	return nil
}

func validateProperty(k, v string) error {
	switch {
	case k == "":
		return fmt.Errorf("%w: empty name", ErrInvalidProperty)
	case strings.IndexByte(k, NameValueSeparator) >= 0 || strings.IndexByte(k, PropertySeparator) >= 0:
		return fmt.Errorf("%w: name %q contains a separator byte", ErrInvalidProperty, k)
	case strings.IndexByte(v, PropertySeparator) >= 0:
		return fmt.Errorf("%w: value of %q contains \\x02", ErrInvalidProperty, k)
	}
	return nil
}

// EncodedLen is the length of the encoded form, without validating it.
func (p Properties) EncodedLen() int {
	n := 0
	for k, v := range p {
		if v != "" {
			n += len(k) + len(v) + 2
		}
	}
	return n
}

// AppendTo appends the encoded properties (name\x01value\x02 for each, names
// sorted) to dst. Entries with an empty value are skipped: every RocketMQ
// parser drops them, so writing them would only make the encoding lossy.
// It fails if an entry is invalid (see Validate) or the result would exceed
// MaxPropertiesLength; dst is returned unchanged on error.
func (p Properties) AppendTo(dst []byte) ([]byte, error) {
	if len(p) == 0 {
		return dst, nil
	}
	if err := p.Validate(); err != nil {
		return dst, err
	}
	if n := p.EncodedLen(); n > MaxPropertiesLength {
		return dst, fmt.Errorf("%w: %d bytes, max %d", ErrPropertiesTooLong, n, MaxPropertiesLength)
	}
	return p.appendSorted(dst), nil
}

// appendSorted appends the encoding of valid properties. Names are sorted
// in a stack array for the usual handful of properties: sorting a fresh
// slice of keys on every encode was a third of the broker's record
// encoding.
func (p Properties) appendSorted(dst []byte) []byte {
	var arr [24]string
	keys := arr[:0]
	if len(p) > len(arr) {
		keys = make([]string, 0, len(p))
	}
	for k, v := range p {
		if v != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	dst = slices.Grow(dst, p.EncodedLen())
	for _, k := range keys {
		dst = append(dst, k...)
		dst = append(dst, NameValueSeparator)
		dst = append(dst, p[k]...)
		dst = append(dst, PropertySeparator)
	}
	return dst
}

// Encode returns the properties string, as sent in the send header.
func (p Properties) Encode() (string, error) {
	b, err := p.AppendTo(nil)
	return string(b), err
}

// AppendProperty appends one encoded name\x01value\x02 pair to an existing
// properties block. The broker uses it to add CLUSTER, UNIQ_KEY and the like
// to the client's string without parsing and re-encoding it. A later pair
// overrides an earlier one with the same name when parsed.
func AppendProperty(dst []byte, name, value string) ([]byte, error) {
	if err := validateProperty(name, value); err != nil {
		return dst, err
	}
	if value == "" {
		return dst, nil
	}
	dst = append(dst, name...)
	dst = append(dst, NameValueSeparator)
	dst = append(dst, value...)
	return append(dst, PropertySeparator), nil
}

// ParseProperties parses a properties string with Java's rules: split on
// \x02 (the last pair may lack it); in each segment the name ends at the
// first \x01; segments with an empty name, an empty value or no \x01 are
// skipped; a repeated name keeps its last value. It never fails: RocketMQ
// readers silently drop what they cannot use, and so do we.
func ParseProperties(s string) Properties {
	var p Properties
	for len(s) > 0 {
		seg := s
		if i := strings.IndexByte(s, PropertySeparator); i >= 0 {
			seg, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		// Java's check "segment length >= 3" is implied by a non-empty name,
		// the separator and a non-empty value.
		i := strings.IndexByte(seg, NameValueSeparator)
		if i <= 0 || i == len(seg)-1 {
			continue
		}
		if p == nil {
			p = make(Properties, strings.Count(s, string(PropertySeparator))+1)
		}
		p[seg[:i]] = seg[i+1:]
	}
	return p
}

// ParsePropertiesBytes is ParseProperties over bytes. It makes one string
// copy of b that all names and values share.
func ParsePropertiesBytes(b []byte) Properties {
	if len(b) == 0 {
		return nil
	}
	return ParseProperties(string(b))
}

// LookupProperty finds name in an encoded properties block without building
// a map, with the same rules as ParseProperties (last occurrence wins). The
// returned value aliases props.
func LookupProperty(props []byte, name string) ([]byte, bool) {
	var val []byte
	found := false
	for len(props) > 0 {
		seg := props
		if i := bytes.IndexByte(props, PropertySeparator); i >= 0 {
			seg, props = props[:i], props[i+1:]
		} else {
			props = nil
		}
		i := bytes.IndexByte(seg, NameValueSeparator)
		if i <= 0 || i == len(seg)-1 || string(seg[:i]) != name {
			continue
		}
		val, found = seg[i+1:], true
	}
	return val, found
}
