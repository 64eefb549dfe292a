package protocol

// GetLagAdviceRequestHeader is the header of BOLIDE_GET_LAG_ADVICE (10003):
// the broker's lag evaluation of one group, of one group's topic, of every
// group consuming a topic, or (both empty) of every group it tracks.
type GetLagAdviceRequestHeader struct {
	ConsumerGroup string `ext:"consumerGroup"`
	Topic         string `ext:"topic"`
}
