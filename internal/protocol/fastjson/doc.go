// Package fastjson reads and writes JSON the way Alibaba fastjson 1.2.x (the
// serializer behind every RocketMQ remoting body) does.
//
// Java brokers, name servers and clients exchange bodies produced by
// fastjson's defaults, which are not quite JSON: map keys that are not strings
// are written bare ({0:"addr"}) or as whole objects
// ({{"brokerName":"b","queueId":0,"topic":"T"}:42}), repeated object instances
// may become {"$ref":"$.path"}, and doubles follow Java's Double.toString.
//
// The package has two halves:
//
//   - Writer emits compact fastjson-style text. It does not sort anything:
//     callers write bean properties in alphabetical order (as fastjson's
//     SortField does) and map entries in whatever deterministic order they
//     choose. A browser-compatible mode produces the standard-JSON variant
//     the name server sends to new clients.
//   - Parse reads fastjson output, standard JSON and the hand-built bodies of
//     other clients into a small Value tree, keeping numbers as raw text and
//     object keys as values, so callers decide how to interpret them. It never
//     panics, bounds its recursion and allocates in proportion to its input.
package fastjson
