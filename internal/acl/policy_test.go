package acl

import (
	"strings"
	"testing"
)

const sampleFile = `{"users": [
  {"accessKey": "rocketmq2", "secretKey": "12345678", "super": true},
  {"accessKey": "shopuser", "secretKey": "shopsecret", "policies": [
    {"resource": "topic:order*", "actions": ["Pub", "Sub", "Get"]},
    {"resource": "topic:order-secret", "actions": ["All"], "decision": "Deny"},
    {"resource": "topic:%LMQ%shop-*", "actions": ["Sub"]},
    {"resource": "group:shop-*", "actions": ["sub", "Update"]},
    {"resource": "cluster:*", "actions": ["List"]}
  ]}
]}`

func mustParse(t *testing.T, s string) Users {
	t.Helper()
	u, err := Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPolicyMatching(t *testing.T) {
	u := mustParse(t, sampleFile)["shopuser"]
	for _, tc := range []struct {
		r    Resource
		a    Action
		want bool
	}{
		{Resource{Topic, "order-1"}, Pub, true},
		{Resource{Topic, "order"}, Sub, true},
		{Resource{Topic, "orde"}, Sub, false},
		{Resource{Topic, "order-1"}, Delete, false},
		{Resource{Topic, "order-1"}, Delete | Get, true}, // either suffices
		{Resource{Topic, "order-secret"}, Pub, false},    // deny wins
		{Resource{Topic, "%LMQ%shop-cart"}, Sub, true},
		{Resource{Topic, "%LMQ%shop-cart"}, Pub, false},
		{Resource{Topic, "%LMQ%other"}, Sub, false},
		{Resource{Group, "shop-a"}, Update, true},
		{Resource{Group, "order-1"}, Sub, false}, // type matters
		{Resource{Cluster, "DefaultCluster"}, List, true},
		{Resource{Cluster, "DefaultCluster"}, Get, false},
	} {
		if got := u.Allowed(tc.r, tc.a); got != tc.want {
			t.Errorf("Allowed(%v, %v) = %v, want %v", tc.r, tc.a, got, tc.want)
		}
	}
	if !mustParse(t, sampleFile)["rocketmq2"].Allowed(Resource{Topic, "x"}, Delete) {
		t.Error("super user refused")
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		`{"users": [{"accessKey": "short", "secretKey": "12345678"}]}`,
		`{"users": [{"accessKey": "abcdefgh", "secretKey": "12345678", "polices": []}]}`,
		`{"users": [{"accessKey": "abcdefgh", "secretKey": "12345678", "policies": [{"resource": "queue:x", "actions": ["Pub"]}]}]}`,
		`{"users": [{"accessKey": "abcdefgh", "secretKey": "12345678", "policies": [{"resource": "topic:a*b", "actions": ["Pub"]}]}]}`,
		`{"users": [{"accessKey": "abcdefgh", "secretKey": "12345678", "policies": [{"resource": "topic:a", "actions": ["Fly"]}]}]}`,
		`{"users": [{"accessKey": "abcdefgh", "secretKey": "12345678", "policies": [{"resource": "topic:a", "actions": []}]}]}`,
		`{"users": [{"accessKey": "abcdefgh", "secretKey": "12345678", "policies": [{"resource": "topic:a", "actions": ["Pub"], "decision": "Maybe"}]}]}`,
		`{"users": [{"accessKey": "abcdefgh", "secretKey": "12345678"}, {"accessKey": "abcdefgh", "secretKey": "12345678"}]}`,
	} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%s) = nil error", bad)
		}
	}
}

func TestActionString(t *testing.T) {
	if got := (Sub | Get).String(); got != "Sub|Get" {
		t.Errorf("(Sub|Get).String() = %q", got)
	}
}
