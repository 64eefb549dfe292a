// Package message is Bolide's model of a RocketMQ message and the byte formats
// that carry it: the stored/wire record (the commit-log layout that pull,
// query and view responses return verbatim), the properties string, the
// compact batch body of SEND_BATCH_MESSAGE, offset and unique message ids,
// the consume-queue tag hash, sysFlag bits, and the naming rules for topics,
// retry/DLQ topics and Light Message Queues (LMQ).
//
// Everything here is pure computation over bytes: no I/O, no goroutines, no
// global state apart from constant tables. The store, the broker, the client
// and the admin tools all speak these formats, so they live in one place and
// are fuzzed as a unit.
//
// Decoders treat their input as hostile: every length read from the input is
// checked against the bytes that remain before anything is sliced or
// allocated, so a corrupt or truncated record yields an error (usually a
// *CorruptionError) rather than a panic or a huge allocation.
//
// Two access paths exist for stored records. [Decode] materialises a
// [Message] (copying body and properties) and verifies the body CRC; it is
// for tools and tests. [ParseRecord] validates the framing once and returns a
// [Record], a zero-copy view whose accessors read fields in place; the store,
// dispatcher and pull path use it because they touch a handful of fields of
// millions of records and must not copy bodies. The Peek* and Set* helpers
// work on fixed offsets of a record prefix for the commit log's hot path.
package message
