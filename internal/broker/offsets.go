package broker

// OffsetManager holds consumer offsets. (Stub: being built.)
type OffsetManager struct{ b *Broker }

func newOffsetManager(b *Broker, dir string) (*OffsetManager, error) { return &OffsetManager{b: b}, nil }

// Close flushes and closes the offset store.
func (m *OffsetManager) Close() error { return nil }

func (b *Broker) registerOffsetProcessors() {}
