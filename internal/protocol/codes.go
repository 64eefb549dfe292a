package protocol

//go:generate go run ./internal/gencodes

// RequestCode identifies the operation of a request command. The values and
// their upstream names live in codes.tsv, the single table from which
// codes_gen.go is generated.
type RequestCode int32

// ResponseCode is the outcome carried by a response command. Servers answer
// with a code and a human-readable remark; callers branch on the code only.
type ResponseCode int32
