package protocol

// LMQ list paging bounds of BOLIDE_GET_LMQ_LIST.
const (
	// DefaultLMQListLimit is the page size when the request gives none.
	DefaultLMQListLimit = 100
	// MaxLMQListLimit is the largest page a broker returns.
	MaxLMQListLimit = 1000
)

// GetLMQListRequestHeader is the header of BOLIDE_GET_LMQ_LIST (10001), a
// Bolide extension: one page of the broker's LMQ registry, in byte order of
// the names.
type GetLMQListRequestHeader struct {
	// Prefix keeps only names starting with it; names are full LMQ names,
	// so a useful prefix starts with %LMQ% ("" lists every LMQ).
	Prefix string `ext:"prefix"`
	// After starts the page after this name: "" for the first page, then
	// the previous reply's next.
	After string `ext:"after"`
	// Limit is the page size; see PageSize.
	Limit *int32 `ext:"limit"`
}

// PageSize is Limit clamped to [1, MaxLMQListLimit], DefaultLMQListLimit
// when absent. Servers size anything by it, never by Limit.
func (h *GetLMQListRequestHeader) PageSize() int {
	if h.Limit == nil {
		return DefaultLMQListLimit
	}
	return int(min(max(*h.Limit, 1), MaxLMQListLimit))
}
