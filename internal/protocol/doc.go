// Package protocol holds the vocabulary of RocketMQ's remoting protocol that
// does not depend on transport: request and response codes (generated from
// codes.tsv), the typed custom headers carried as string-valued extFields,
// and, in subpackages, fastjson-compatible JSON (fastjson) and the command
// bodies (body).
//
// It imports nothing else from Bolide; remoting, broker, namesrv and the
// client build on it.
package protocol
