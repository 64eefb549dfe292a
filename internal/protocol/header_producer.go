package protocol

// GetProducerConnectionListRequestHeader is the header of
// GET_PRODUCER_CONNECTION_LIST (204): the online producers of a group.
type GetProducerConnectionListRequestHeader struct {
	ProducerGroup string `ext:"producerGroup,required"`
}
