package remoting

import (
	"errors"

	"github.com/bolidemq/bolide/internal/protocol"
)

// Fail builds the error a processor returns to answer with code and a
// formatted remark.
func Fail(code protocol.ResponseCode, format string, args ...any) error {
	return Errorf(int32(code), format, args...)
}

// Success is an empty SUCCESS response to req.
func Success(req *Command) *Command {
	return NewResponse(req, int32(protocol.Success), "")
}

// DecodeHeader maps req's ext fields onto the typed header h. A missing or
// malformed field answers INVALID_PARAMETER with the field named in the
// remark (Java would fail later with an opaque SYSTEM_ERROR).
func DecodeHeader(req *Command, h any) error {
	return HeaderFail(protocol.DecodeHeader(req.ExtFields, h))
}

// HeaderFail is DecodeHeader's answer to a decoding error, for processors
// with hand-written header decoders: a *protocol.HeaderError becomes
// INVALID_PARAMETER naming the field; other errors (and nil) pass through.
func HeaderFail(err error) error {
	var he *protocol.HeaderError
	if errors.As(err, &he) {
		return Fail(protocol.InvalidParameter, "%s", he.Error())
	}
	return err
}
