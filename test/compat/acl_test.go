package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/bolidemq/bolide/internal/config"
)

// TestOfficialClientACL runs the official Go client with
// primitive.Credentials against a broker with aclEnable=true: a producer
// and a push consumer whose user may Pub/Sub the topic and Sub the group
// work end to end, with or without a security token; a producer with a
// wrong secret is refused with the broker's NO_PERMISSION remark; a user
// without Pub on the topic is refused too.
func TestOfficialClientACL(t *testing.T) {
	users := `{"users": [
	  {"accessKey": "appuser1", "secretKey": "appsecret1", "policies": [
	    {"resource": "topic:acl*", "actions": ["Pub", "Sub"]},
	    {"resource": "group:cg*", "actions": ["Sub"]}]},
	  {"accessKey": "subonly1", "secretKey": "subsecret1", "policies": [
	    {"resource": "topic:acl*", "actions": ["Sub"]}]}]}`
	c := startACLCluster(t, users)

	app := primitive.Credentials{AccessKey: "appuser1", SecretKey: "appsecret1"}
	newACLProducer := func(creds primitive.Credentials) rocketmq.Producer {
		return newProducer(t, c, producer.WithCredentials(creds), producer.WithRetry(0))
	}

	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	topic := "acl" + uniqueName(t, "t") // auto-created by the first send
	p := newACLProducer(app)
	want := map[string]sent{}
	for i := range 5 {
		body := fmt.Sprintf("signed %d", i)
		r, err := p.SendSync(ctx, primitive.NewMessage(topic, []byte(body)))
		if err != nil || r.Status != primitive.SendOK {
			t.Fatalf("signed SendSync: %v, %v", r, err)
		}
		want[body] = sent{body: []byte(body)}
	}

	col := newCollector()
	startPushConsumer(t, c, "cg"+uniqueName(t, "g"), topic, col, consumer.WithCredentials(app))
	col.waitFor(ctx, t, want)

	// rocketmq-client-go adds SecurityToken after signing; the broker
	// accepts that variant.
	withToken := newACLProducer(primitive.Credentials{AccessKey: "appuser1", SecretKey: "appsecret1", SecurityToken: "sts-token"})
	if r, err := withToken.SendSync(ctx, primitive.NewMessage(topic, []byte("with token"))); err != nil || r.Status != primitive.SendOK {
		t.Errorf("signed SendSync with a security token: %v, %v", r, err)
	}

	wrong := newACLProducer(primitive.Credentials{AccessKey: "appuser1", SecretKey: "not-the-secret"})
	_, err := wrong.SendSync(ctx, primitive.NewMessage(topic, []byte("forged")))
	if err == nil || !strings.Contains(err.Error(), "check signature failed") {
		t.Errorf("wrong secret: SendSync err = %v, want a refusal naming the signature", err)
	}
	subOnly := newACLProducer(primitive.Credentials{AccessKey: "subonly1", SecretKey: "subsecret1"})
	_, err = subOnly.SendSync(ctx, primitive.NewMessage(topic, []byte("no pub")))
	if err == nil || !strings.Contains(err.Error(), "lacks Pub on topic "+topic) {
		t.Errorf("no Pub: SendSync err = %v, want a refusal naming Pub", err)
	}
}

// startACLCluster is startCluster with aclEnable=true and users (the JSON
// of docs/acl.md) as the aclFile.
func startACLCluster(t *testing.T, users string) *cluster {
	t.Helper()
	aclFile := filepath.Join(t.TempDir(), "acl.json")
	if err := os.WriteFile(aclFile, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startBrokerOn(t, startNamesrv(t), func(bc *config.Broker) { bc.AclEnable, bc.AclFile = true, aclFile })
	c.waitRoute(t, "TBW102")
	return c
}
