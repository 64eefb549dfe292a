package acl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// fileJSON is the aclFile format:
//
//	{"users": [
//	  {"accessKey": "admin", "secretKey": "...", "super": true},
//	  {"accessKey": "shop", "secretKey": "...", "policies": [
//	    {"resource": "topic:order*", "actions": ["Pub", "Sub"]},
//	    {"resource": "group:shop-*", "actions": ["Sub"]},
//	    {"resource": "topic:order-secret", "actions": ["All"], "decision": "Deny"}
//	  ]}
//	]}
type fileJSON struct {
	Users []struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
		Super     bool   `json:"super"`
		Policies  []struct {
			Resource string   `json:"resource"`
			Actions  []string `json:"actions"`
			Decision string   `json:"decision"`
		} `json:"policies"`
	} `json:"users"`
}

// minKeyLen is ACL 1.0's lower bound on both keys ("longer than 6").
const minKeyLen = 7

// Users is the parsed user table, by access key.
type Users map[string]*User

// Load reads an aclFile.
func Load(path string) (Users, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("acl: open %s: %w", path, err)
	}
	defer f.Close()
	u, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("acl: %s: %w", path, err)
	}
	return u, nil
}

// Parse reads the JSON user table; unknown fields are errors so that a
// misspelled "polices" does not silently grant nothing.
func Parse(r io.Reader) (Users, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fj fileJSON
	if err := dec.Decode(&fj); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	users := make(Users, len(fj.Users))
	for i, fu := range fj.Users {
		if len(fu.AccessKey) < minKeyLen || len(fu.SecretKey) < minKeyLen {
			return nil, fmt.Errorf("user %d (%q): accessKey and secretKey must be at least %d characters", i, fu.AccessKey, minKeyLen)
		}
		if _, dup := users[fu.AccessKey]; dup {
			return nil, fmt.Errorf("user %q listed twice", fu.AccessKey)
		}
		u := &User{AccessKey: fu.AccessKey, SecretKey: fu.SecretKey, Super: fu.Super}
		for j, fp := range fu.Policies {
			pat, err := ParsePattern(fp.Resource)
			if err != nil {
				return nil, fmt.Errorf("user %q policy %d: %w", fu.AccessKey, j, err)
			}
			p := Policy{Pattern: pat}
			for _, s := range fp.Actions {
				a, err := ParseAction(s)
				if err != nil {
					return nil, fmt.Errorf("user %q policy %d: %w", fu.AccessKey, j, err)
				}
				p.Actions |= a
			}
			if p.Actions == 0 {
				return nil, fmt.Errorf("user %q policy %d: no actions", fu.AccessKey, j)
			}
			switch fp.Decision {
			case "", "Allow", "allow", "ALLOW":
			case "Deny", "deny", "DENY":
				p.Deny = true
			default:
				return nil, fmt.Errorf("user %q policy %d: decision %q: want Allow or Deny", fu.AccessKey, j, fp.Decision)
			}
			u.Policies = append(u.Policies, p)
		}
		users[fu.AccessKey] = u
	}
	return users, nil
}
