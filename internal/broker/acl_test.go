package broker_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bolidemq/bolide/internal/acl"
	"github.com/bolidemq/bolide/internal/broker"
	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/client/clienttest"
	"github.com/bolidemq/bolide/internal/config"
	"github.com/bolidemq/bolide/internal/message"
	"github.com/bolidemq/bolide/internal/protocol"
)

// aclUsers: a super user; an operator who may run the six commands on
// acl-* topics and acl-g* groups; a producer who may only publish.
const aclUsers = `{"users": [
  {"accessKey": "rootuser", "secretKey": "rootsecret", "super": true},
  {"accessKey": "opsuser1", "secretKey": "opssecret", "policies": [
    {"resource": "topic:acl-*", "actions": ["Get", "Sub", "Update"]},
    {"resource": "group:acl-g*", "actions": ["Get", "Update"]}
  ]},
  {"accessKey": "pubuser1", "secretKey": "pubsecret", "policies": [
    {"resource": "topic:acl-*", "actions": ["Pub"]}
  ]},
  {"accessKey": "subuser1", "secretKey": "subsecret", "policies": [
    {"resource": "topic:acl-*", "actions": ["Sub"]},
    {"resource": "group:acl-g*", "actions": ["Sub"]}
  ]}
]}`

var (
	rootCreds = acl.Credentials{AccessKey: "rootuser", SecretKey: "rootsecret"}
	opsCreds  = acl.Credentials{AccessKey: "opsuser1", SecretKey: "opssecret"}
	pubCreds  = acl.Credentials{AccessKey: "pubuser1", SecretKey: "pubsecret"}
	subCreds  = acl.Credentials{AccessKey: "subuser1", SecretKey: "subsecret"}
)

func startACL(t *testing.T) *clienttest.Env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "acl.json")
	if err := os.WriteFile(path, []byte(aclUsers), 0o600); err != nil {
		t.Fatal(err)
	}
	return clienttest.Start(t, func(b *config.Broker) {
		b.AclEnable = true
		b.AclFile = path
	})
}

func aclClient(t *testing.T, env *clienttest.Env, creds acl.Credentials) *client.Client {
	t.Helper()
	c := client.New(client.Config{NamesrvAddrs: []string{env.NamesrvAddr}, Credentials: creds})
	t.Cleanup(func() { c.Close() })
	return c
}

func wantDenied(t *testing.T, what string, err error, remark string) {
	t.Helper()
	if !client.IsCode(err, protocol.NoPermission) {
		t.Errorf("%s: err = %v, want NO_PERMISSION", what, err)
		return
	}
	if !strings.Contains(err.Error(), remark) {
		t.Errorf("%s: remark %q does not name %q", what, err, remark)
	}
}

func TestACLSignedRequests(t *testing.T) {
	env := startACL(t)
	ctx := context.Background()
	root := aclClient(t, env, rootCreds)
	if err := root.CreateTopic(ctx, env.BrokerAddr, "acl-orders", 1); err != nil {
		t.Fatalf("super user create topic: %v", err)
	}
	clienttest.WaitRoute(t, root, "acl-orders")

	pub := aclClient(t, env, pubCreds)
	if _, err := pub.Send(ctx, "acl-orders", 0, []byte("hi"), nil); err != nil {
		t.Fatalf("signed send with Pub: %v", err)
	}
	_, err := pub.SendTo(ctx, env.BrokerAddr, "stock", 0, []byte("hi"), nil)
	wantDenied(t, "send without Pub", err, "user pubuser1 lacks Pub on topic stock (SEND_MESSAGE_V2)")
	_, err = pub.Pull(ctx, env.BrokerAddr, "acl-g1", "acl-orders", 0, 0, 1, 0)
	wantDenied(t, "pull without Sub", err, "user pubuser1 lacks Sub on topic acl-orders (PULL_MESSAGE)")

	anon := aclClient(t, env, acl.Credentials{})
	_, err = anon.MaxOffset(ctx, env.BrokerAddr, "acl-orders", 0)
	wantDenied(t, "unsigned", err, "no AccessKey")

	wrong := aclClient(t, env, acl.Credentials{AccessKey: "pubuser1", SecretKey: "not-the-secret"})
	_, err = wrong.SendTo(ctx, env.BrokerAddr, "acl-orders", 0, []byte("hi"), nil)
	wantDenied(t, "wrong secret", err, "check signature failed")

	err = pub.UpdateConsumerOffset(ctx, env.BrokerAddr, "acl-g1", "acl-orders", 0, 1)
	wantDenied(t, "commit offset without Sub", err, "lacks Sub|Update on topic acl-orders")
	if err := root.DeleteTopicInBroker(ctx, env.BrokerAddr, "acl-never"); client.IsCode(err, protocol.NoPermission) {
		t.Errorf("super user delete topic: %v", err)
	}
	err = pub.DeleteTopicInBroker(ctx, env.BrokerAddr, "acl-orders")
	wantDenied(t, "delete topic without Delete", err, "lacks Delete on topic acl-orders (DELETE_TOPIC_IN_BROKER)")
}

// TestACLSixCommands runs each request of the six operational commands as
// a user whose policy allows it and as one whose policy does not.
func TestACLSixCommands(t *testing.T) {
	env := startACL(t)
	ctx := context.Background()
	const topic, group = "acl-shop", "acl-g1"
	root := aclClient(t, env, rootCreds)
	if err := root.CreateTopic(ctx, env.BrokerAddr, topic, 1); err != nil {
		t.Fatal(err)
	}
	clienttest.WaitRoute(t, root, topic)
	props := message.Properties{}
	props.Set(message.PropertyKeys, "k1")
	sr, err := root.Send(ctx, topic, 0, []byte("body"), props)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.UpdateConsumerOffset(ctx, env.BrokerAddr, group, topic, 0, 0); err != nil {
		t.Fatal(err)
	}
	_, phy, err := message.ParseOffsetID(sr.MsgID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	byKey := protocol.QueryMessageRequestHeader{Topic: topic, Key: "k1", MaxNum: 32, BeginTimestamp: 0, EndTimestamp: now + 60_000}
	byUniq := byKey
	byUniq.Key, byUniq.UniqueKey = sr.UniqKey, "true"
	// The index follows the send asynchronously (dispatch), as RocketMQ's
	// does: wait until the message can be found before checking who may
	// find it.
	for deadline := time.Now().Add(10 * time.Second); ; {
		ms, err := root.QueryMessage(ctx, env.BrokerAddr, byKey)
		if err == nil && len(ms) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the message was never indexed: %d found, %v", len(ms), err)
		}
		time.Sleep(time.Millisecond)
	}

	ops := aclClient(t, env, opsCreds)
	pub := aclClient(t, env, pubCreds)
	addr := env.BrokerAddr
	for _, tc := range []struct {
		name   string
		call   func(c *client.Client) error
		remark string // the permission pubuser1 lacks
	}{
		{"topicStatus GET_TOPIC_STATS_INFO", func(c *client.Client) error { _, err := c.TopicStats(ctx, addr, topic); return err },
			"lacks Get on topic acl-shop (GET_TOPIC_STATS_INFO)"},
		{"consumerProgress GET_CONSUME_STATS", func(c *client.Client) error { _, err := c.ConsumeStats(ctx, addr, group, topic); return err },
			"lacks Get on group acl-g1 (GET_CONSUME_STATS)"},
		{"consumerProgress GET_CONSUMER_CONNECTION_LIST", func(c *client.Client) error {
			_, err := c.ConsumerConnection(ctx, addr, group)
			if client.IsCode(err, protocol.ConsumerNotOnline) {
				return nil // allowed, and nobody is online
			}
			return err
		}, "lacks Get on group acl-g1 (GET_CONSUMER_CONNECTION_LIST)"},
		{"resetOffsetByTime INVOKE_BROKER_TO_RESET_OFFSET", func(c *client.Client) error {
			_, err := c.InvokeResetOffset(ctx, addr, protocol.ResetOffsetRequestHeader{Topic: topic, Group: group, Timestamp: 0})
			return err
		}, "lacks Update on topic acl-shop (INVOKE_BROKER_TO_RESET_OFFSET)"},
		{"resetOffsetByTime SEARCH_OFFSET_BY_TIMESTAMP", func(c *client.Client) error { _, err := c.SearchOffset(ctx, addr, topic, 0, now); return err },
			"lacks Sub|Get on topic acl-shop (SEARCH_OFFSET_BY_TIMESTAMP)"},
		{"queryMsgByKey QUERY_MESSAGE", func(c *client.Client) error {
			ms, err := c.QueryMessage(ctx, addr, byKey)
			if err == nil && len(ms) != 1 {
				t.Errorf("query by key found %d messages, want 1", len(ms))
			}
			return err
		}, "lacks Sub on topic acl-shop (QUERY_MESSAGE)"},
		{"queryMsgByUniqueKey QUERY_MESSAGE", func(c *client.Client) error {
			ms, err := c.QueryMessage(ctx, addr, byUniq)
			if err == nil && len(ms) != 1 {
				t.Errorf("query by unique key found %d messages, want 1", len(ms))
			}
			return err
		}, "lacks Sub on topic acl-shop (QUERY_MESSAGE)"},
		{"queryMsgById VIEW_MESSAGE_BY_ID", func(c *client.Client) error {
			m, err := c.ViewMessage(ctx, addr, topic, phy)
			if err == nil && string(m.Body) != "body" {
				t.Errorf("view by id body %q", m.Body)
			}
			return err
		}, "lacks Get on topic acl-shop (VIEW_MESSAGE_BY_ID)"},
	} {
		if err := tc.call(ops); err != nil {
			t.Errorf("%s as opsuser1 (allowed): %v", tc.name, err)
		}
		wantDenied(t, tc.name+" as pubuser1", tc.call(pub), "user pubuser1 "+tc.remark)
	}
}

func TestACLConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"users": [{"accessKey": "short", "secretKey": "x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{"", "aclEnable=true needs aclFile"},
		{filepath.Join(dir, "missing.json"), "load ACL"},
		{bad, "at least 7 characters"},
	} {
		bc := config.DefaultBroker()
		bc.StorePathRootDir = dir
		bc.AclEnable, bc.AclFile = true, tc.file
		b, err := broker.New(broker.Config{Broker: bc})
		if err == nil {
			_ = b.Shutdown(context.Background())
			t.Errorf("aclFile %q: New succeeded", tc.file)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("aclFile %q: %v, want %q", tc.file, err, tc.want)
		}
	}
}

// lockedBuffer is a log sink safe for the broker's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestACLDenialLogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acl.json")
	if err := os.WriteFile(path, []byte(aclUsers), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cl := clienttest.StartClusterWith(t, 1, func(c *broker.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}, func(b *config.Broker) { b.AclEnable, b.AclFile = true, path })
	env := cl.Brokers[0]
	pub := aclClient(t, env, pubCreds)
	_, err := pub.TopicStats(context.Background(), env.BrokerAddr, "acl-x")
	wantDenied(t, "topicStatus", err, "lacks Get on topic acl-x")
	clienttest.Poll(t, 10*time.Second, func() bool { return strings.Contains(logs.String(), "request denied by ACL") })
	if s := logs.String(); !strings.Contains(s, "user=pubuser1") || !strings.Contains(s, "code=GET_TOPIC_STATS_INFO") {
		t.Errorf("denial log lacks user or code: %s", s)
	}
}

// A send-back names a commit-log offset, not a topic: the broker checks
// that the sender may consume the message it points to, so a member of a
// group cannot copy another topic's messages into its retry topic.
func TestACLSendBackChecksTheOriginalTopic(t *testing.T) {
	env := startACL(t)
	ctx := context.Background()
	root := aclClient(t, env, rootCreds)
	for _, topic := range []string{"acl-orders", "secret"} {
		if err := root.CreateTopic(ctx, env.BrokerAddr, topic, 1); err != nil {
			t.Fatal(err)
		}
	}
	offsetOf := func(topic string) int64 {
		r, err := root.SendTo(ctx, env.BrokerAddr, topic, 0, []byte("m"), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, phy, err := message.ParseOffsetID(r.MsgID)
		if err != nil {
			t.Fatal(err)
		}
		return phy
	}
	sub := aclClient(t, env, subCreds)
	if err := sub.SendBack(ctx, env.BrokerAddr, "acl-g1", offsetOf("acl-orders"), -1); err != nil {
		t.Fatalf("send back of a message the user may consume: %v", err)
	}
	err := sub.SendBack(ctx, env.BrokerAddr, "acl-g1", offsetOf("secret"), -1)
	wantDenied(t, "send back of another topic's message", err, "user subuser1 lacks Sub on topic secret (CONSUMER_SEND_MSG_BACK)")
	clienttest.Poll(t, 10*time.Second, func() bool {
		n, err := root.MaxOffset(ctx, env.BrokerAddr, "%DLQ%acl-g1", 0)
		return err == nil && n == 1
	})
}
