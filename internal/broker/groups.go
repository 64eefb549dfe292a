package broker

// GroupManager holds subscription group configs. (Stub: being built.)
type GroupManager struct{ b *Broker }

func newGroupManager(b *Broker, dir string) (*GroupManager, error) { return &GroupManager{b: b}, nil }
