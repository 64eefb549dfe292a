package broker

import "github.com/bolidemq/bolide/internal/protocol/body"

// TopicManager holds the broker's topic configs. (Stub: being built.)
type TopicManager struct{ b *Broker }

func newTopicManager(b *Broker, dir string) (*TopicManager, error) { return &TopicManager{b: b}, nil }

// Snapshot returns every topic config and the table's data version, for
// name-server registration.
func (m *TopicManager) Snapshot() (map[string]body.TopicConfig, body.DataVersion) {
	return map[string]body.TopicConfig{}, body.DataVersion{}
}

func (b *Broker) registerTopicProcessors() {}
