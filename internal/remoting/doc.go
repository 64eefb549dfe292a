// Package remoting implements Apache RocketMQ's "remoting" transport: the
// length-prefixed frame, the two header serializations (JSON and the compact
// ROCKETMQ binary form), request/response correlation by opaque, oneway
// requests, and the connection, client and server built on them.
//
// Every protocol handler in Bolide (name server, broker, admin) plugs into
// the same Processor interface and is registered on a Server by request
// code. A connection carries requests in both directions: the server side
// may originate requests to a client (NOTIFY_CONSUMER_IDS_CHANGED,
// RESET_CONSUMER_CLIENT_OFFSET, ...) on the connection the client opened, so
// client and server share one Conn type.
//
// Safety properties the rest of the system relies on:
//   - nothing a peer sends can panic the process; a malformed frame closes
//     that connection only and is logged;
//   - no allocation is driven by a peer beyond the configured frame limit
//     (16 MiB by default, the Java default, prefix included);
//   - requests on one connection run concurrently and may be answered out of
//     order (clients multiplex long polls with heartbeats on one socket), up
//     to a per-connection in-flight bound, beyond which the server answers
//     SYSTEM_BUSY instead of queueing without limit.
package remoting
