package broker

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/bolidemq/bolide/internal/store/kvdb"
)

// Read-only listings over the consumer offsets, for the admin commands
// (GET_CONSUME_STATS, QUERY_TOPIC_CONSUME_BY_WHO).

// TopicGroups returns the groups holding offsets of topic, in byte order,
// from the topic index: one seek and one row per group.
func (m *OffsetManager) TopicGroups(topic string) ([]string, error) {
	if checkOffsetName("topic", topic) != nil {
		return nil, nil
	}
	prefix := topicIndexTopicPrefix(topic)
	it, err := m.db.Pebble().NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kvdb.PrefixEnd(prefix)})
	if err != nil {
		return nil, fmt.Errorf("broker: list groups of %s: %w", topic, err)
	}
	var groups []string
	for ok := it.First(); ok; ok = it.Next() {
		groups = append(groups, string(it.Key()[len(prefix):]))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("broker: list groups of %s: %w", topic, err)
	}
	return groups, nil
}

// GroupTopics returns up to limit topics group holds offsets of, in byte
// order, and whether there are more. It seeks past each topic's queue rows
// instead of reading them, so a topic costs one seek however many queues
// it has.
func (m *OffsetManager) GroupTopics(group string, limit int) (topics []string, more bool, err error) {
	if checkOffsetName("group", group) != nil || limit <= 0 {
		return nil, false, nil
	}
	prefix := append([]byte(group), 0)
	it, err := m.db.Pebble().NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kvdb.PrefixEnd(prefix)})
	if err != nil {
		return nil, false, fmt.Errorf("broker: list topics of %s: %w", group, err)
	}
	for ok := it.First(); ok; {
		_, topic, _, good := parseOffsetKey(it.Key())
		if !good {
			ok = it.Next()
			continue
		}
		if len(topics) == limit {
			more = true
			break
		}
		topics = append(topics, topic)
		// group \0 topic \x01 sorts after every row of topic (they continue
		// with \0) and before any longer topic name sharing its prefix.
		next := append(append(append([]byte(nil), prefix...), topic...), 1)
		ok = it.SeekGE(next)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, false, fmt.Errorf("broker: list topics of %s: %w", group, err)
	}
	return topics, more, nil
}
