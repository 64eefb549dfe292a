package admin

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/bolidemq/bolide/internal/acl"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/remoting"
)

// Timeouts of one RPC, as Java's tools use them: admin calls 5 s, consume
// stats 3x that, message queries 3x the query client's 6 s.
const (
	adminTimeout        = 5 * time.Second
	consumeStatsTimeout = 15 * time.Second
	queryTimeout        = 18 * time.Second
)

// Config configures an Admin. Zero values take the defaults noted.
type Config struct {
	// NamesrvAddrs are the name servers.
	NamesrvAddrs []string
	// Now is the clock (default time.Now): "now" timestamps, lag ages,
	// operation ids.
	Now func() time.Time
	// Location is where times are read and printed (default time.Local).
	Location *time.Location
	// BodyDir is where message bodies are written by the message queries
	// (default os.TempDir()/rocketmq/msgbodys, as Java's /tmp/rocketmq/msgbodys).
	BodyDir string
	// Credentials, when valid, sign every request (ACL; see internal/acl).
	Credentials acl.Credentials
}

// Admin runs the operational commands against one cluster. Its methods
// are the commands as typed functions; Run wraps them in a command line.
type Admin struct {
	c       *client.Client
	now     func() time.Time
	loc     *time.Location
	bodyDir string
}

// New returns an Admin; it connects lazily. Close it when done.
func New(cfg Config) *Admin {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.BodyDir == "" {
		cfg.BodyDir = filepath.Join(os.TempDir(), "rocketmq", "msgbodys")
	}
	return &Admin{
		c: client.New(client.Config{
			NamesrvAddrs:  cfg.NamesrvAddrs,
			Now:           cfg.Now,
			ProducerGroup: "BOLIDE_ADMIN",
			Remoting:      remoting.ClientConfig{RequestTimeout: adminTimeout},
			Credentials:   cfg.Credentials,
		}),
		now:     cfg.Now,
		loc:     cfg.Location,
		bodyDir: cfg.BodyDir,
	}
}

// Client returns the underlying client.
func (a *Admin) Client() *client.Client { return a.c }

// Close closes the connections.
func (a *Admin) Close() error { return a.c.Close() }

// withTimeout bounds one RPC.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}
