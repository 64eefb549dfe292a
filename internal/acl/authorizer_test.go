package acl

import (
	"errors"
	"strings"
	"testing"

	"github.com/bolidemq/bolide/internal/protocol"
)

func check(t *testing.T, a *Authorizer, creds Credentials, code protocol.RequestCode, ext map[string]string, body string) error {
	t.Helper()
	if creds.Valid() {
		creds.Sign(ext, []byte(body))
	}
	return a.Check(code, ext, []byte(body))
}

func TestAuthorizerTable(t *testing.T) {
	a := NewAuthorizer(mustParse(t, sampleFile), "DefaultCluster")
	shop := Credentials{AccessKey: "shopuser", SecretKey: "shopsecret"}
	root := Credentials{AccessKey: "rocketmq2", SecretKey: "12345678"}
	for _, tc := range []struct {
		name  string
		creds Credentials
		code  protocol.RequestCode
		ext   map[string]string
		body  string
		deny  string // "" = allowed; else a substring of the remark
	}{
		{"send v2", shop, protocol.SendMessageV2, map[string]string{"a": "p", "b": "order-1"}, "x", ""},
		{"send elsewhere", shop, protocol.SendMessageV2, map[string]string{"a": "p", "b": "stock"}, "x", "user shopuser lacks Pub on topic stock (SEND_MESSAGE_V2)"},
		{"send back to retry topic needs Sub on the group", shop, protocol.SendMessage, map[string]string{"topic": "%RETRY%shop-a"}, "x", ""},
		{"send to other retry topic", shop, protocol.SendMessage, map[string]string{"topic": "%RETRY%zz"}, "x", "lacks Sub on group zz (SEND_MESSAGE)"},
		{"pull", shop, protocol.PullMessage, map[string]string{"topic": "order-1", "consumerGroup": "shop-a"}, "", ""},
		{"pull wrong group", shop, protocol.PullMessage, map[string]string{"topic": "order-1", "consumerGroup": "other"}, "", "lacks Sub on group other (PULL_MESSAGE)"},
		{"pull lmq", shop, protocol.PullMessage, map[string]string{"topic": "%LMQ%shop-1", "consumerGroup": "shop-a"}, "", ""},
		{"pull denied topic", shop, protocol.PullMessage, map[string]string{"topic": "order-secret", "consumerGroup": "shop-a"}, "", "lacks Sub on topic order-secret"},
		{"topicStatus", shop, protocol.GetTopicStatsInfo, map[string]string{"topic": "order-1"}, "", ""},
		{"topicStatus lmq needs Get", shop, protocol.GetTopicStatsInfo, map[string]string{"topic": "%LMQ%shop-1"}, "", "lacks Get on topic %LMQ%shop-1 (GET_TOPIC_STATS_INFO)"},
		{"consumerProgress", shop, protocol.GetConsumeStats, map[string]string{"consumerGroup": "shop-a", "topic": "order-1"}, "", "lacks Get on group shop-a"},
		{"query by key", shop, protocol.QueryMessage, map[string]string{"topic": "order-1"}, "", ""},
		{"query needs Sub and Get", shop, protocol.QueryMessage, map[string]string{"topic": "%LMQ%shop-1"}, "", "lacks Get on topic %LMQ%shop-1 (QUERY_MESSAGE)"},
		{"view without topic", shop, protocol.ViewMessageByID, map[string]string{"offset": "1"}, "", "lacks Get on cluster DefaultCluster"},
		{"view with topic", shop, protocol.ViewMessageByID, map[string]string{"offset": "1", "topic": "order-1"}, "", ""},
		{"reset", shop, protocol.InvokeBrokerToResetOffset, map[string]string{"topic": "order-1", "group": "shop-a"}, "", "lacks Update on topic order-1"},
		{"commit offset", shop, protocol.UpdateConsumerOffset, map[string]string{"topic": "order-1", "consumerGroup": "shop-a"}, "", ""},
		{"create group from body", shop, protocol.UpdateAndCreateSubscriptionGroup, map[string]string{}, `{"groupName":"shop-b"}`, ""},
		{"create other group", shop, protocol.UpdateAndCreateSubscriptionGroup, map[string]string{}, `{"groupName":"x"}`, "lacks Create|Update on group x"},
		{"lmq list", shop, protocol.BolideGetLMQList, map[string]string{}, "", ""},
		{"heartbeat", shop, protocol.HeartBeat, map[string]string{}, `{}`, ""},
		{"lock queues of own group", shop, protocol.LockBatchMQ, map[string]string{}, `{"consumerGroup":"shop-a","clientId":"c","mqSet":[]}`, ""},
		{"lock queues of other group", shop, protocol.UnlockBatchMQ, map[string]string{}, `{"consumerGroup":"zz","clientId":"c"}`, "lacks Sub on group zz (UNLOCK_BATCH_MQ)"},
		{"end transaction without topic", shop, protocol.EndTransaction, map[string]string{"producerGroup": "p"}, "", ""},
		{"end transaction of other topic", shop, protocol.EndTransaction, map[string]string{"producerGroup": "p", "topic": "stock"}, "", "lacks Pub on topic stock (END_TRANSACTION)"},
		{"unmapped code", shop, protocol.UpdateBrokerConfig, map[string]string{}, "", "lacks super user rights (UPDATE_BROKER_CONFIG"},
		{"super user unmapped", root, protocol.UpdateBrokerConfig, map[string]string{}, "", ""},
		{"anonymous", Credentials{}, protocol.HeartBeat, map[string]string{}, "", "no AccessKey"},
		{"unknown user", Credentials{AccessKey: "nobody00", SecretKey: "12345678"}, protocol.HeartBeat, map[string]string{}, "", "user nobody00 is not found"},
		{"wrong secret", Credentials{AccessKey: "shopuser", SecretKey: "wrongsecret"}, protocol.HeartBeat, map[string]string{}, "", "check signature failed"},
	} {
		err := check(t, a, tc.creds, tc.code, tc.ext, tc.body)
		switch {
		case tc.deny == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.deny != "" && err == nil:
			t.Errorf("%s: allowed, want denial %q", tc.name, tc.deny)
		case tc.deny != "" && !strings.Contains(err.Error(), tc.deny):
			t.Errorf("%s: remark %q, want it to contain %q", tc.name, err, tc.deny)
		}
		var d *Denial
		if err != nil && !errors.As(err, &d) {
			t.Errorf("%s: error %T is not a *Denial", tc.name, err)
		}
	}
}

// Every code the table maps must name a real request code, and the codes
// that change state must never be authentication-only.
func TestTableCoversAdminCodes(t *testing.T) {
	for code := range table {
		if strings.HasPrefix(code.String(), "RequestCode(") {
			t.Errorf("table maps unknown code %d", int32(code))
		}
	}
	for _, code := range []protocol.RequestCode{protocol.UpdateAndCreateTopic, protocol.DeleteTopicInBroker,
		protocol.DeleteSubscriptionGroup, protocol.InvokeBrokerToResetOffset, protocol.BolideResetOffset, protocol.QueryMessage} {
		reqs, mapped := Requirements(code, map[string]string{"topic": "t", "group": "g", "groupName": "g"}, nil, "c")
		if !mapped || len(reqs) == 0 {
			t.Errorf("%v: requirements %v mapped %v, want some", code, reqs, mapped)
		}
	}
	if _, mapped := Requirements(protocol.UpdateBrokerConfig, nil, nil, "c"); mapped {
		t.Error("UPDATE_BROKER_CONFIG is mapped; it must stay super-user only")
	}
}
