package broker

// PullHolds keeps suspended pulls until messages arrive. (Stub: being built.)
type PullHolds struct{ b *Broker }

func newPullHolds(b *Broker) *PullHolds { return &PullHolds{b: b} }

// Arrived is the store's arrival listener.
func (h *PullHolds) Arrived(topic string, queueID int32, nextOffset int64) {}

// Close answers every held pull and stops.
func (h *PullHolds) Close() error { return nil }

func (b *Broker) registerPullProcessors() {}
