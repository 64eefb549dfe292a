package acl

import (
	"fmt"

	"github.com/bolidemq/bolide/internal/protocol"
)

// Denial is why a request was refused; its Error is the remark sent back
// with NO_PERMISSION.
type Denial struct {
	User string // access key, "" for an unauthenticated request
	Code protocol.RequestCode
	// Reason is the remark, naming the missing permission.
	Reason string
}

func (d *Denial) Error() string { return d.Reason }

// Authorizer authenticates and authorizes requests against a user table.
// It is immutable and safe for concurrent use.
type Authorizer struct {
	users   Users
	cluster string
}

// NewAuthorizer checks requests against users on a broker of cluster.
func NewAuthorizer(users Users, cluster string) *Authorizer {
	return &Authorizer{users: users, cluster: cluster}
}

// Check authenticates the request (AccessKey known, Signature valid over
// ext and body) and authorizes it by the code table. It returns nil or a
// *Denial.
func (a *Authorizer) Check(code protocol.RequestCode, ext map[string]string, body []byte) error {
	ak := ext[FieldAccessKey]
	if ak == "" {
		return &Denial{Code: code, Reason: fmt.Sprintf("no AccessKey: ACL is enabled and %v needs a signed request", code)}
	}
	u, ok := a.users[ak]
	if !ok {
		return &Denial{User: ak, Code: code, Reason: fmt.Sprintf("user %s is not found (%v)", ak, code)}
	}
	if !verify(u.SecretKey, ext, body) {
		return &Denial{User: ak, Code: code, Reason: fmt.Sprintf("user %s: check signature failed (%v)", ak, code)}
	}
	if u.Super {
		return nil
	}
	reqs, mapped := Requirements(code, ext, body, a.cluster)
	if !mapped {
		return &Denial{User: ak, Code: code, Reason: fmt.Sprintf("user %s lacks super user rights (%v is not in the ACL table)", ak, code)}
	}
	for _, r := range reqs {
		if !u.Allowed(r.Resource, r.Actions) {
			return &Denial{User: ak, Code: code, Reason: fmt.Sprintf("user %s lacks %v on %v (%v)", ak, r.Actions, r.Resource, code)}
		}
	}
	return nil
}

// CheckTopic reports whether the user who signed a request (already
// authenticated by Check) may do action on topic: for checks a processor
// can only make once it has read something the request points to, such
// as the original topic of a message sent back by commit-log offset.
func (a *Authorizer) CheckTopic(code protocol.RequestCode, ext map[string]string, topic string, action Action) error {
	ak := ext[FieldAccessKey]
	u, ok := a.users[ak]
	if !ok {
		return &Denial{User: ak, Code: code, Reason: fmt.Sprintf("user %s is not found (%v)", ak, code)}
	}
	if u.Super {
		return nil
	}
	res := topicRes(topic)
	if !u.Allowed(res, action) {
		return &Denial{User: ak, Code: code, Reason: fmt.Sprintf("user %s lacks %v on %v (%v)", ak, action, res, code)}
	}
	return nil
}
