package broker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bolidemq/bolide/internal/acl"
	"github.com/bolidemq/bolide/internal/protocol"
	"github.com/bolidemq/bolide/internal/remoting"
)

// aclState is the broker's access control (aclEnable / aclFile): nil
// authorizer when off. Denials are logged at most once per
// aclLogInterval, with the count of those not logged, so that a client
// retrying with a wrong secret cannot flood the log.
type aclState struct {
	auth       *acl.Authorizer
	lastLog    atomic.Int64 // unix nanos of the last logged denial
	suppressed atomic.Int64
}

const aclLogInterval = time.Second

// initACL loads the user table when the broker config enables ACL.
func (b *Broker) initACL() error {
	if !b.bc.AclEnable {
		return nil
	}
	if b.bc.AclFile == "" {
		return errors.New("broker: aclEnable=true needs aclFile=<path to the users and policies JSON>")
	}
	users, err := acl.Load(b.bc.AclFile)
	if err != nil {
		return fmt.Errorf("broker: load ACL: %w", err)
	}
	b.acl.auth = acl.NewAuthorizer(users, b.bc.BrokerClusterName)
	b.log.Info("access control enabled", "users", len(users), "file", b.bc.AclFile)
	return nil
}

// withACL checks every request for code before p sees it (and before
// rate limits and caches, so a cached answer is never served to a user
// who may not read it). A refusal is NO_PERMISSION with the missing
// permission in the remark.
func (b *Broker) withACL(code protocol.RequestCode, p remoting.Processor) remoting.Processor {
	auth := b.acl.auth
	if auth == nil {
		return p
	}
	return remoting.ProcessorFunc(func(ctx context.Context, conn *remoting.Conn, req *remoting.Command) (*remoting.Command, error) {
		if err := auth.Check(code, req.ExtFields, req.Body); err != nil {
			b.logDenial(conn, err)
			return nil, remoting.Fail(protocol.NoPermission, "%s", err.Error())
		}
		return p.Process(ctx, conn, req)
	})
}

func (b *Broker) logDenial(conn *remoting.Conn, err error) {
	now := b.now().UnixNano()
	last := b.acl.lastLog.Load()
	if now-last < int64(aclLogInterval) || !b.acl.lastLog.CompareAndSwap(last, now) {
		b.acl.suppressed.Add(1)
		return
	}
	var d *acl.Denial
	errors.As(err, &d)
	remote := "local"
	if conn != nil {
		remote = conn.RemoteAddr()
	}
	b.log.Warn("request denied by ACL", "remote", remote, "user", d.User, "code", d.Code.String(),
		"reason", d.Reason, "suppressedSinceLast", b.acl.suppressed.Swap(0))
}
