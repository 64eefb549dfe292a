package namesrv

import (
	"hash/crc32"
	"maps"
	"sync"
)

// namespaceOrderTopicConfig is the KV namespace whose entries give a
// topic's ordered-queue layout ("broker-a:4;broker-b:4").
const namespaceOrderTopicConfig = "ORDER_TOPIC_CONFIG"

// KVStore is the name server's namespaced configuration store (PUT/GET/
// DELETE_KV_CONFIG). It is held in memory only.
type KVStore struct {
	mu    sync.RWMutex
	table map[string]map[string]string
}

// NewKVStore returns an empty store.
func NewKVStore() *KVStore { return &KVStore{table: make(map[string]map[string]string)} }

// Put sets namespace/key to value.
func (s *KVStore) Put(namespace, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.table[namespace]
	if ns == nil {
		ns = make(map[string]string)
		s.table[namespace] = ns
	}
	ns[key] = value
}

// Get returns the value of namespace/key.
func (s *KVStore) Get(namespace, key string) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.table[namespace][key]
	return v, ok
}

// Delete removes namespace/key.
func (s *KVStore) Delete(namespace, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns := s.table[namespace]; ns != nil {
		delete(ns, key)
		if len(ns) == 0 {
			delete(s.table, namespace)
		}
	}
}

// List returns a copy of a namespace's entries.
func (s *KVStore) List(namespace string) map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return maps.Clone(s.table[namespace])
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
