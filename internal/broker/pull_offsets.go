package broker

import (
	"hash/maphash"
	"sync"
)

// maxPullOffsets bounds the pull offsets remembered (see pullOffsets).
const maxPullOffsets = 1 << 18

const pullOffsetShards = 64

// pullOffsets remembers, in memory only, the next offset the last pull of
// each (group, topic, queue) was answered with: GET_CONSUME_STATS reports
// it as pullOffset, so that pullOffset - consumerOffset shows what was
// delivered but not yet committed ("inflight"), as upstream's
// pullOffsetTable. Losing it (restart, eviction) only makes inflight read
// 0 until the next pull.
//
// A pull records into one of 64 mutex-guarded shards keyed by a struct, so
// recording an already-known queue allocates nothing. Memory: an entry is
// about 100 bytes plus the group and topic names (retained from the pull
// request), so the bound of 262,144 entries caps it near 30-40 MB. With
// millions of LMQs consumed, that bound is reached: a shard that is full
// drops an arbitrary entry (Go's randomised map iteration) for each new
// one, so the queues pulled most recently are the ones remembered.
type pullOffsets struct {
	seed   maphash.Seed
	shards [pullOffsetShards]pullOffsetShard
}

type pullOffsetShard struct {
	mu sync.Mutex
	m  map[pullOffsetKey]int64
}

type pullOffsetKey struct {
	group, topic string
	queue        int32
}

func newPullOffsets() *pullOffsets {
	p := &pullOffsets{seed: maphash.MakeSeed()}
	for i := range p.shards {
		p.shards[i].m = make(map[pullOffsetKey]int64)
	}
	return p
}

func (p *pullOffsets) shard(k pullOffsetKey) *pullOffsetShard {
	var h maphash.Hash
	h.SetSeed(p.seed)
	h.WriteString(k.group)
	h.WriteByte(0)
	h.WriteString(k.topic)
	return &p.shards[(h.Sum64()+uint64(k.queue))%pullOffsetShards]
}

// record notes that a pull of group on (topic, queue) was answered with
// next as its next begin offset.
func (p *pullOffsets) record(group, topic string, queue int32, next int64) {
	if p == nil || group == "" {
		return
	}
	k := pullOffsetKey{group, topic, queue}
	s := p.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= maxPullOffsets/pullOffsetShards {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = next
	s.mu.Unlock()
}

// get returns the last pull's next offset for a queue, or -1 if none is
// remembered.
func (p *pullOffsets) get(group, topic string, queue int32) int64 {
	if p == nil {
		return -1
	}
	k := pullOffsetKey{group, topic, queue}
	s := p.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[k]; ok {
		return v
	}
	return -1
}

// len returns the number of entries remembered.
func (p *pullOffsets) len() int {
	n := 0
	for i := range p.shards {
		s := &p.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// forget drops the remembered pull offset of a queue (a reset moved the
// group elsewhere; the old pull position would show as in flight).
func (p *pullOffsets) forget(group, topic string, queue int32) {
	if p == nil {
		return
	}
	k := pullOffsetKey{group, topic, queue}
	s := p.shard(k)
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}
