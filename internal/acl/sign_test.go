package acl

import (
	"maps"
	"testing"
)

// Golden vectors: the first is the reference's (verified there with Java
// and Python); the others were computed with Python's hmac over the
// contents named.
func TestSignatureGolden(t *testing.T) {
	ext := map[string]string{"AccessKey": "RocketMQ", "topic": "TopicTest", "queueId": "0"}
	for _, tc := range []struct {
		name string
		ext  map[string]string
		body string
		skip map[string]bool
		want string
	}{
		{"reference vector", ext, "hello", nil, "/u+oQUi9gv7W/z1uifpc34q6njk="},
		{"no body", ext, "", nil, "81TVNXFMLTfMm08aNFX+r9iZBrY="}, // RocketMQ0TopicTest
		{"signature itself ignored", with(ext, "Signature", "zzz"), "hello", nil, "/u+oQUi9gv7W/z1uifpc34q6njk="},
		{"java signs the token", with(ext, "SecurityToken", "tok"), "hello", nil, "7zyG1hSXkqmm7wfg3PCRxgY6VKI="}, // RocketMQtok0TopicTesthello
		{"go client skips the token", with(ext, "SecurityToken", "tok"), "hello", map[string]bool{"SecurityToken": true}, "/u+oQUi9gv7W/z1uifpc34q6njk="},
	} {
		if got := Signature("12345678", tc.ext, []byte(tc.body), tc.skip); got != tc.want {
			t.Errorf("%s: Signature = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func with(m map[string]string, k, v string) map[string]string {
	c := maps.Clone(m)
	c[k] = v
	return c
}

// goClientSign is rocketmq-client-go's ACLInterceptor (internal/remote/
// interceptor.go) restated: AccessKey joins the sorted ext values, the
// SecurityToken is added only after signing.
func goClientSign(ext map[string]string, body []byte, c Credentials) {
	skip := map[string]bool{}
	ext[FieldAccessKey] = c.AccessKey
	sig := Signature(c.SecretKey, ext, body, skip)
	ext[FieldSignature] = sig
	if c.SecurityToken != "" {
		ext[FieldSecurityToken] = c.SecurityToken
	}
}

func TestVerifyVariants(t *testing.T) {
	creds := Credentials{AccessKey: "RocketMQ", SecretKey: "12345678", SecurityToken: "tok"}
	body := []byte("hello")

	java := map[string]string{"topic": "TopicTest", "queueId": "0"}
	creds.Sign(java, body)
	if java["Signature"] != "7zyG1hSXkqmm7wfg3PCRxgY6VKI=" {
		t.Fatalf("Sign with token = %s, want the Java vector", java["Signature"])
	}
	gocl := map[string]string{"topic": "TopicTest", "queueId": "0"}
	goClientSign(gocl, body, creds)
	if gocl["Signature"] != "/u+oQUi9gv7W/z1uifpc34q6njk=" {
		t.Fatalf("Go client variant = %s, want the tokenless vector", gocl["Signature"])
	}
	for name, ext := range map[string]map[string]string{"java": java, "go client": gocl} {
		if !verify("12345678", ext, body) {
			t.Errorf("%s: valid signature refused", name)
		}
		if verify("wrong-secret", ext, body) {
			t.Errorf("%s: wrong secret accepted", name)
		}
		if verify("12345678", ext, []byte("hellO")) {
			t.Errorf("%s: altered body accepted", name)
		}
		if verify("12345678", with(ext, "queueId", "1"), body) {
			t.Errorf("%s: altered ext accepted", name)
		}
	}
	if verify("12345678", with(java, "Signature", "not base64!"), body) {
		t.Error("garbage signature accepted")
	}
	old := map[string]string{"topic": "T"}
	Credentials{AccessKey: "RocketMQ", SecretKey: "12345678"}.Sign(old, nil)
	old["_UNIQUE_KEY_QUERY"] = "true" // added after signing by old clients
	if !verify("12345678", old, nil) {
		t.Error("_UNIQUE_KEY_QUERY added after signing refused")
	}
}
