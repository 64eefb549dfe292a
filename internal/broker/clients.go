package broker

// ClientManager tracks connected producers and consumers. (Stub: being built.)
type ClientManager struct{ b *Broker }

func newClientManager(b *Broker) *ClientManager { return &ClientManager{b: b} }

// Close stops the expiry scan.
func (m *ClientManager) Close() error { return nil }

func (b *Broker) registerClientProcessors() {}
