package remoting

import (
	"fmt"
	"strconv"
)

// SerializeType selects how a frame's header is encoded. It is carried in
// the high byte of the header-length word of every frame.
type SerializeType byte

const (
	// JSON headers are the fastjson serialization of the command; Java's
	// default and the only form rocketmq-client-go sends.
	JSON SerializeType = 0
	// RocketMQ is the compact binary header. It carries the code as int16,
	// so request codes above 32767 only travel in JSON headers.
	RocketMQ SerializeType = 1
)

func (t SerializeType) String() string {
	switch t {
	case JSON:
		return "JSON"
	case RocketMQ:
		return "ROCKETMQ"
	}
	return "SerializeType(" + strconv.Itoa(int(t)) + ")"
}

// Flag bits of a command.
const (
	FlagResponse int32 = 1 << 0 // the frame answers a request with the same opaque
	FlagOneway   int32 = 1 << 1 // the receiver must never answer
)

// Version is the release ordinal Bolide reports in every command it sends:
// Apache RocketMQ 5.3.3. Java clients gate features on the peer's version
// (SQL92 pull needs >= 232, standard route JSON >= 401), so a low value
// would silently disable them.
const Version = 479

// LanguageCode identifies the implementation language of the sender. JSON
// headers carry the name, binary headers the byte.
type LanguageCode byte

// Language codes from upstream LanguageCode.java.
const (
	LangJava   LanguageCode = 0
	LangCPP    LanguageCode = 1
	LangDotNet LanguageCode = 2
	LangPython LanguageCode = 3
	LangDelphi LanguageCode = 4
	LangErlang LanguageCode = 5
	LangRuby   LanguageCode = 6
	LangOther  LanguageCode = 7
	LangHTTP   LanguageCode = 8
	LangGo     LanguageCode = 9
	LangPHP    LanguageCode = 10
	LangOMS    LanguageCode = 11
	LangRust   LanguageCode = 12
	LangNodeJS LanguageCode = 13
	// LangUnknown stands for a name or byte this table does not know;
	// Java maps those to null without failing, and so do we.
	LangUnknown LanguageCode = 0xFF
)

var languageNames = [...]string{
	"JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER",
	"HTTP", "GO", "PHP", "OMS", "RUST", "NODE_JS",
}

func (l LanguageCode) String() string {
	if int(l) < len(languageNames) {
		return languageNames[l]
	}
	return "UNKNOWN"
}

// ParseLanguage maps a JSON header language name to its code.
func ParseLanguage(name string) LanguageCode {
	for i, n := range languageNames {
		if n == name {
			return LanguageCode(i)
		}
	}
	return LangUnknown
}

// ExtField is one ext field ("custom header" entry).
type ExtField struct{ Key, Value string }

// Command is one remoting request or response: the logical fields of a
// frame. ExtFields is the "custom header": string keys to string values.
//
// ExtList carries ext fields as a list instead, for the hot paths where
// building and reading a map cost a tenth of the broker's CPU per message
// (every send request and response): a request of a code registered with
// Server.RegisterRoute arrives with its fields in ExtList (unique keys,
// ExtFields nil), and the encoders write ExtList's entries, in order,
// after ExtFields' (a key must not be in both). Everywhere else ExtList is
// nil and ExtFields is the header.
type Command struct {
	Code      int32
	Language  LanguageCode
	Version   int32
	Opaque    int32
	Flag      int32
	Remark    string
	ExtFields map[string]string
	ExtList   []ExtField
	Body      []byte

	// Serialize is how the header was (or will be) encoded. Responses
	// built with NewResponse inherit the request's, so each peer is
	// answered in the serialization it used.
	Serialize SerializeType

	later *Pending // set by Conn.Later: it answers the request
}

// NewRequest builds a request command with Bolide's language and version.
// The opaque is assigned when the request is sent.
func NewRequest(code int32, ext map[string]string, body []byte) *Command {
	return &Command{Code: code, Language: LangGo, Version: Version, ExtFields: ext, Body: body}
}

// NewResponse builds the response to req: same opaque, response flag set,
// same serialization as the request.
func NewResponse(req *Command, code int32, remark string) *Command {
	return &Command{
		Code:      code,
		Language:  LangGo,
		Version:   Version,
		Opaque:    req.Opaque,
		Flag:      FlagResponse,
		Remark:    remark,
		Serialize: req.Serialize,
	}
}

// IsResponse reports whether the command answers a request.
func (c *Command) IsResponse() bool { return c.Flag&FlagResponse != 0 }

// IsOneway reports whether the sender asked for no answer. Note that
// rocketmq-client-go never sets this bit, even for oneway sends.
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// Ext returns the value of an ext field, or "" when absent.
func (c *Command) Ext(key string) string {
	if v, ok := c.ExtFields[key]; ok {
		return v
	}
	for _, f := range c.ExtList {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

// EachExt calls fn with every ext field, from ExtList and ExtFields: how a
// processor registered with a list route (Server.RegisterRoute) reads a
// request whose header may have arrived either way.
func (c *Command) EachExt(fn func(k, v string)) {
	for _, f := range c.ExtList {
		fn(f.Key, f.Value)
	}
	for k, v := range c.ExtFields {
		fn(k, v)
	}
}

// extToMap moves ExtList into ExtFields. A decoded header whose ext object
// held only nulls has an empty, non-nil ExtList and gets an empty map, as
// encoding/json gives.
func (c *Command) extToMap() {
	if c.ExtList == nil {
		return
	}
	if c.ExtFields == nil {
		c.ExtFields = make(map[string]string, len(c.ExtList))
	}
	for _, f := range c.ExtList {
		c.ExtFields[f.Key] = f.Value
	}
	c.ExtList = nil
}

// SetExt sets an ext field, allocating the map on first use.
func (c *Command) SetExt(key, value string) {
	if c.ExtFields == nil {
		c.ExtFields = make(map[string]string, 4)
	}
	c.ExtFields[key] = value
}

func (c *Command) String() string {
	kind := "request"
	if c.IsResponse() {
		kind = "response"
	}
	return fmt.Sprintf("%s{code=%d opaque=%d flag=%d lang=%s ver=%d remark=%q ext=%d body=%dB}",
		kind, c.Code, c.Opaque, c.Flag, c.Language, c.Version, c.Remark, len(c.ExtFields)+len(c.ExtList), len(c.Body))
}
