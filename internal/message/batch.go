package message

import (
	"encoding/binary"
	"fmt"
	"math"
)

// batchEntryOverhead is the size of a batch entry with empty body and
// properties: TOTALSIZE, MAGIC, BODYCRC, FLAG, BODYLENGTH (int32 each) and
// PROPERTIESLENGTH (int16).
const batchEntryOverhead = 5*4 + 2

// DecodeBatch splits the body of a SEND_BATCH_MESSAGE request (header
// batch/m = true) into messages. Each entry is
//
//	int32 totalSize | int32 magic (0) | int32 bodyCRC (0) | int32 flag |
//	int32 bodyLen | body | int16 propsLen | properties
//
// Only Flag, Body and Properties are set on the results; the topic and
// everything else come from the request header. Like the Java broker, the
// magic and CRC words are ignored (clients send zeros), but unlike it every
// length is checked, including that totalSize agrees with the inner lengths.
// Errors are *CorruptionError values with offsets relative to body.
func DecodeBatch(body []byte) ([]*Message, error) {
	var out []*Message
	be := binary.BigEndian
	for pos := 0; pos < len(body); {
		idx := len(out)
		field := func(name string) string { return fmt.Sprintf("batch[%d].%s", idx, name) }
		rest := body[pos:]
		if len(rest) < batchEntryOverhead {
			return nil, truncated(field("TOTALSIZE"), pos, batchEntryOverhead, len(rest))
		}
		size := int(int32(be.Uint32(rest)))
		if size < batchEntryOverhead {
			return nil, corrupt(field("TOTALSIZE"), pos, "size %d below minimum %d", size, batchEntryOverhead)
		}
		if size > len(rest) {
			return nil, truncated(field("TOTALSIZE"), pos, size, len(rest))
		}
		e := rest[:size]
		bodyLen := int(int32(be.Uint32(e[16:])))
		if bodyLen < 0 || bodyLen > size-batchEntryOverhead {
			return nil, corrupt(field("BODYLENGTH"), pos+16, "length %d, %d bytes available", bodyLen, size-batchEntryOverhead)
		}
		propsOff := 20 + bodyLen
		propsLen := int(int16(be.Uint16(e[propsOff:])))
		if want := size - batchEntryOverhead - bodyLen; propsLen != want {
			return nil, corrupt(field("PROPERTIESLENGTH"), pos+propsOff,
				"length %d, but TOTALSIZE %d leaves %d", propsLen, size, want)
		}
		m := &Message{
			Flag:       int32(be.Uint32(e[12:])),
			Properties: ParsePropertiesBytes(e[propsOff+2:]),
		}
		if bodyLen > 0 {
			m.Body = append([]byte(nil), e[20:20+bodyLen]...)
		}
		out = append(out, m)
		pos += size
	}
	return out, nil
}

// AppendBatch appends msgs in the batch body format (see DecodeBatch). Only
// Flag, Body and Properties are encoded; the caller is responsible for what
// the broker requires of a batch (one topic, a UNIQ_KEY per message, no
// delay level). On error dst is returned unchanged.
func AppendBatch(dst []byte, msgs []*Message) ([]byte, error) {
	start := len(dst)
	be := binary.BigEndian
	for i, m := range msgs {
		if err := m.Properties.Validate(); err != nil {
			return dst[:start], fmt.Errorf("batch message %d: %w", i, err)
		}
		propsLen := m.Properties.EncodedLen()
		if propsLen > MaxPropertiesLength {
			return dst[:start], fmt.Errorf("batch message %d: %w: %d bytes, max %d",
				i, ErrPropertiesTooLong, propsLen, MaxPropertiesLength)
		}
		size := batchEntryOverhead + len(m.Body) + propsLen
		if size > math.MaxInt32 {
			return dst[:start], fmt.Errorf("batch message %d: %w: %d bytes", i, ErrRecordTooLarge, size)
		}
		dst = be.AppendUint32(dst, uint32(size))
		dst = be.AppendUint32(dst, 0) // magic: unused in batches
		dst = be.AppendUint32(dst, 0) // body CRC: the broker computes it
		dst = be.AppendUint32(dst, uint32(m.Flag))
		dst = be.AppendUint32(dst, uint32(len(m.Body)))
		dst = append(dst, m.Body...)
		dst = be.AppendUint16(dst, uint16(propsLen))
		dst, _ = m.Properties.AppendTo(dst) // validated above
	}
	return dst, nil
}

// EncodeBatch returns msgs in the batch body format.
func EncodeBatch(msgs []*Message) ([]byte, error) { return AppendBatch(nil, msgs) }
