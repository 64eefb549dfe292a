package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sync"

	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/protocol/body"
	"github.com/bolidemq/bolide/internal/remoting"
)

const groupsFile = "subscriptionGroup.json"

// systemGroups are the groups upstream brokers create at start
// (SubscriptionGroupManager.init), with default settings.
var systemGroups = []string{
	"TOOLS_CONSUMER", "FILTERSRV_CONSUMER", "SELF_TEST_C_GROUP", "CID_ONS-HTTP-PROXY",
	"CID_ONSAPI_PULL", "CID_ONSAPI_PERMISSION", "CID_ONSAPI_OWNER", "CID_SYS_RMQ_TRANS",
}

// ErrGroupRefused reports a group name that cannot be stored.
var ErrGroupRefused = errors.New("broker: subscription group refused")

// GroupManager holds subscription group configs: in memory, persisted to
// <dir>/subscriptionGroup.json (SubscriptionGroupWrapper, as upstream)
// after every change. %LMQ% groups are synthesized, never stored.
type GroupManager struct {
	b    *Broker
	path string

	mu        sync.RWMutex
	groups    map[string]body.SubscriptionGroupConfig
	forbidden map[string]map[string]int32
	dv        body.DataVersion

	persistMu sync.Mutex
	persisted int64
}

func newGroupManager(b *Broker, dir string) (*GroupManager, error) {
	m := &GroupManager{
		b: b, path: filepath.Join(dir, groupsFile),
		groups: map[string]body.SubscriptionGroupConfig{}, forbidden: map[string]map[string]int32{},
	}
	data, err := readConfigFile(m.path)
	switch {
	case err != nil:
		return nil, err
	case data != nil:
		var w body.SubscriptionGroupWrapper
		if err := w.Decode(data); err != nil {
			return nil, fmt.Errorf("broker: load %s: %w", m.path, err)
		}
		for name, sc := range w.SubscriptionGroupTable {
			if message.IsLMQ(name) {
				continue
			}
			sc.GroupName = name
			m.groups[name] = sc
		}
		if w.ForbiddenTable != nil {
			m.forbidden = w.ForbiddenTable
		}
		m.dv = w.DataVersion
		m.persisted = m.dv.Counter
	}
	added := false
	for _, g := range systemGroups {
		if _, ok := m.groups[g]; !ok {
			m.groups[g] = body.NewSubscriptionGroupConfig(g)
			added = true
		}
	}
	if added {
		m.bumpLocked()
		if err := m.persist(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *GroupManager) bumpLocked() {
	m.dv.Counter++
	m.dv.Timestamp = m.b.now().UnixMilli()
}

// Get returns a group's config. With enableLmq, %LMQ% groups always exist
// with the default config (LmqSubscriptionGroupManager).
func (m *GroupManager) Get(group string) (body.SubscriptionGroupConfig, bool) {
	if m.b.bc.EnableLmq && message.IsLMQ(group) {
		return body.NewSubscriptionGroupConfig(group), true
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	sc, ok := m.groups[group]
	return sc, ok
}

// GetOrCreate returns a group's config, creating the default one on first
// use when autoCreateSubscriptionGroup is on. It reports false when the
// group does not exist and may not be created (or its name is invalid).
// A failure to persist a created group is logged; the group exists in
// memory regardless, as upstream.
func (m *GroupManager) GetOrCreate(group string) (body.SubscriptionGroupConfig, bool) {
	if sc, ok := m.Get(group); ok {
		return sc, true
	}
	if !m.b.bc.AutoCreateSubscriptionGroup || validateGroup(group) != nil {
		return body.SubscriptionGroupConfig{}, false
	}
	m.mu.Lock()
	if sc, ok := m.groups[group]; ok {
		m.mu.Unlock()
		return sc, true
	}
	sc := body.NewSubscriptionGroupConfig(group)
	m.groups[group] = sc
	m.bumpLocked()
	m.mu.Unlock()
	m.b.log.Info("subscription group auto-created", "group", group)
	_ = m.persist()
	return sc, true
}

// validateGroup checks a group name: the charset and length of topics, so
// that its %RETRY% and %DLQ% topics are valid names.
func validateGroup(group string) error {
	if group == "" {
		return fmt.Errorf("%w: empty group name", ErrGroupRefused)
	}
	if err := message.ValidateTopic(message.RetryTopic(group)); err != nil {
		return fmt.Errorf("%w: group %q: %v", ErrGroupRefused, group, err)
	}
	return nil
}

// CreateOrUpdate stores sc under its name and persists the table.
func (m *GroupManager) CreateOrUpdate(sc body.SubscriptionGroupConfig) error {
	if message.IsLMQ(sc.GroupName) {
		return fmt.Errorf("%w: %s is an LMQ group; LMQ groups exist implicitly and are never stored", ErrGroupRefused, sc.GroupName)
	}
	if err := validateGroup(sc.GroupName); err != nil {
		return err
	}
	if sc.Attributes == nil {
		sc.Attributes = map[string]string{}
	}
	m.mu.Lock()
	m.groups[sc.GroupName] = sc
	m.bumpLocked()
	m.mu.Unlock()
	return m.persist()
}

// Delete removes a group; deleting an unknown group is not an error.
func (m *GroupManager) Delete(group string) error {
	m.mu.Lock()
	_, ok := m.groups[group]
	_, fok := m.forbidden[group]
	if !ok && !fok {
		m.mu.Unlock()
		return nil
	}
	delete(m.groups, group)
	delete(m.forbidden, group)
	m.bumpLocked()
	m.mu.Unlock()
	return m.persist()
}

// Snapshot returns the stored groups (no LMQ groups) and the data version.
func (m *GroupManager) Snapshot() (map[string]body.SubscriptionGroupConfig, body.DataVersion) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return maps.Clone(m.groups), m.dv
}

func (m *GroupManager) wrapper() body.SubscriptionGroupWrapper {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fb := make(map[string]map[string]int32, len(m.forbidden))
	for g, t := range m.forbidden {
		fb[g] = maps.Clone(t)
	}
	return body.SubscriptionGroupWrapper{SubscriptionGroupTable: maps.Clone(m.groups), ForbiddenTable: fb, DataVersion: m.dv}
}

// persist writes the current table if no newer version is on disk yet.
func (m *GroupManager) persist() error {
	m.persistMu.Lock()
	defer m.persistMu.Unlock()
	w := m.wrapper()
	if w.DataVersion.Counter <= m.persisted && m.persisted != 0 {
		return nil
	}
	if err := writeFileAtomic(m.path, w.Encode()); err != nil {
		m.b.log.Error("persisting subscription groups failed", "path", m.path, "err", err)
		return err
	}
	m.persisted = w.DataVersion.Counter
	return nil
}

func (b *Broker) registerGroupProcessors() {
	b.handle(protocol.UpdateAndCreateSubscriptionGroup, b.updateAndCreateGroup)
	b.handle(protocol.GetAllSubscriptionGroupConfig, b.getAllGroupConfig)
	b.handle(protocol.DeleteSubscriptionGroup, b.deleteGroup)
	b.handle(protocol.GetSubscriptionGroupConfig, b.getGroupConfig)
}

// updateAndCreateGroup serves UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200).
// As upstream, an LMQ group is accepted and ignored.
func (b *Broker) updateAndCreateGroup(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var sc body.SubscriptionGroupConfig
	if len(req.Body) == 0 {
		return nil, fail(protocol.InvalidParameter, "the request body must be a SubscriptionGroupConfig")
	}
	if err := sc.Decode(req.Body); err != nil {
		return nil, fail(protocol.InvalidParameter, "%v", err)
	}
	if message.IsLMQ(sc.GroupName) {
		return remoting.NewResponse(req, int32(protocol.Success), "LMQ groups exist implicitly; nothing stored"), nil
	}
	if err := validateGroup(sc.GroupName); err != nil {
		return nil, fail(protocol.InvalidParameter, "%v", err)
	}
	if err := b.groups.CreateOrUpdate(sc); err != nil {
		return nil, fail(protocol.SystemError, "update group[%s]: %v", sc.GroupName, err)
	}
	b.log.Info("subscription group created or updated", "group", sc.GroupName)
	return success(req), nil
}

// getAllGroupConfig serves GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201): every
// group at once, without the paging field totalGroupNum.
func (b *Broker) getAllGroupConfig(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	w := b.groups.wrapper()
	resp := success(req)
	resp.Body = w.Encode()
	return resp, nil
}

// deleteGroup serves DELETE_SUBSCRIPTIONGROUP (207). cleanOffset is not
// acted on here: consumer offsets belong to the offset manager.
func (b *Broker) deleteGroup(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.DeleteSubscriptionGroupRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	if err := b.groups.Delete(h.GroupName); err != nil {
		return nil, fail(protocol.SystemError, "delete group[%s]: %v", h.GroupName, err)
	}
	b.log.Info("subscription group deleted", "group", h.GroupName)
	return success(req), nil
}

// getGroupConfig serves GET_SUBSCRIPTIONGROUP_CONFIG (352).
func (b *Broker) getGroupConfig(_ context.Context, _ *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
	var h protocol.GetSubscriptionGroupConfigRequestHeader
	if err := decodeHeader(req, &h); err != nil {
		return nil, err
	}
	sc, ok := b.groups.Get(h.Group)
	if !ok {
		return nil, fail(protocol.SubscriptionGroupNotExist, "No subscription group in this broker. group: %s", h.Group)
	}
	resp := success(req)
	resp.Body = sc.Encode()
	return resp, nil
}
