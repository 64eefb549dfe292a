package acl

import (
	"fmt"
	"strings"
)

// Action is one permission a policy grants, upstream ACL 2.0's vocabulary.
type Action uint8

// The actions.
const (
	Pub Action = 1 << iota
	Sub
	Create
	Update
	Delete
	Get
	List
)

var actionNames = []struct {
	a    Action
	name string
}{{Pub, "Pub"}, {Sub, "Sub"}, {Create, "Create"}, {Update, "Update"}, {Delete, "Delete"}, {Get, "Get"}, {List, "List"}}

// String names the actions in a set, joined by "|" ("Sub|Get").
func (a Action) String() string {
	var parts []string
	for _, n := range actionNames {
		if a&n.a != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// ParseAction reads one action name, case-insensitively; "All" is every
// action.
func ParseAction(s string) (Action, error) {
	if strings.EqualFold(s, "All") || s == "*" {
		return Pub | Sub | Create | Update | Delete | Get | List, nil
	}
	for _, n := range actionNames {
		if strings.EqualFold(s, n.name) {
			return n.a, nil
		}
	}
	return 0, fmt.Errorf("acl: unknown action %q (want Pub, Sub, Create, Update, Delete, Get, List or All)", s)
}

// ResourceType is the kind of a resource.
type ResourceType uint8

// The resource types.
const (
	Cluster ResourceType = iota + 1
	Topic
	Group
)

func (t ResourceType) String() string {
	switch t {
	case Cluster:
		return "cluster"
	case Topic:
		return "topic"
	case Group:
		return "group"
	}
	return fmt.Sprintf("ResourceType(%d)", uint8(t))
}

// Resource is one concrete resource a request touches.
type Resource struct {
	Type ResourceType
	Name string
}

func (r Resource) String() string { return r.Type.String() + " " + r.Name }

// Pattern selects resources of one type: an exact name, a prefix ending in
// "*" ("order*", "%LMQ%*", "%LMQ%shop-*") or "*" for all.
type Pattern struct {
	Type ResourceType
	Name string // without the trailing '*' when Prefix
	// Prefix is set for patterns ending in '*'.
	Prefix bool
}

// ParsePattern reads "type:name" where type is cluster, topic or group
// (case-insensitive) and name may end in '*'.
func ParsePattern(s string) (Pattern, error) {
	typ, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return Pattern{}, fmt.Errorf("acl: resource %q: want type:name (topic:orders, group:g*, cluster:*)", s)
	}
	var p Pattern
	switch strings.ToLower(typ) {
	case "cluster":
		p.Type = Cluster
	case "topic":
		p.Type = Topic
	case "group":
		p.Type = Group
	default:
		return Pattern{}, fmt.Errorf("acl: resource %q: unknown type %q (want cluster, topic or group)", s, typ)
	}
	if strings.HasSuffix(name, "*") {
		p.Prefix = true
		name = strings.TrimSuffix(name, "*")
	}
	if strings.Contains(name, "*") {
		return Pattern{}, fmt.Errorf("acl: resource %q: '*' is allowed only at the end", s)
	}
	p.Name = name
	return p, nil
}

// Match reports whether r is selected by p.
func (p Pattern) Match(r Resource) bool {
	if p.Type != r.Type {
		return false
	}
	if p.Prefix {
		return strings.HasPrefix(r.Name, p.Name)
	}
	return r.Name == p.Name
}

// Policy grants (or, with Deny, withholds) actions on matching resources.
type Policy struct {
	Pattern Pattern
	Actions Action
	Deny    bool
}

// User is one account.
type User struct {
	AccessKey string
	SecretKey string
	// Super users may do anything, including request codes the table
	// does not map.
	Super    bool
	Policies []Policy
}

// Allowed reports whether u may perform any of the actions in want on r.
// A matching Deny policy wins over every Allow.
func (u *User) Allowed(r Resource, want Action) bool {
	if u.Super {
		return true
	}
	allowed := false
	for _, p := range u.Policies {
		if p.Actions&want == 0 || !p.Pattern.Match(r) {
			continue
		}
		if p.Deny {
			return false
		}
		allowed = true
	}
	return allowed
}
