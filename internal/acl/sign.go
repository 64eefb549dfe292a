package acl

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"slices"
)

// Ext-field names of ACL 1.0 (AclClientRPCHook / SessionCredentials).
const (
	FieldAccessKey     = "AccessKey"
	FieldSignature     = "Signature"
	FieldSecurityToken = "SecurityToken"
	// fieldUniqueKeyQuery is skipped by Java servers when verifying
	// requests of version <= 399: old clients added it after signing.
	fieldUniqueKeyQuery = "_UNIQUE_KEY_QUERY"
)

// Credentials are what a client signs with. SecurityToken is optional.
type Credentials struct {
	AccessKey     string `json:"accessKey"`
	SecretKey     string `json:"secretKey"`
	SecurityToken string `json:"securityToken,omitempty"`
}

// Valid reports whether both keys are set.
func (c Credentials) Valid() bool { return c.AccessKey != "" && c.SecretKey != "" }

// Sign adds AccessKey, SecurityToken (when set) and Signature to ext, as
// Java's AclClientRPCHook does: the token is signed. ext must be non-nil.
func (c Credentials) Sign(ext map[string]string, body []byte) {
	ext[FieldAccessKey] = c.AccessKey
	if c.SecurityToken != "" {
		ext[FieldSecurityToken] = c.SecurityToken
	}
	delete(ext, FieldSignature)
	ext[FieldSignature] = Signature(c.SecretKey, ext, body, nil)
}

// Signature is base64(HMAC-SHA1(secret, content)) where content is the
// values of ext sorted by key (byte order, which is Java's String order
// for ASCII keys), without Signature and without the keys in skip,
// followed by body.
func Signature(secret string, ext map[string]string, body []byte, skip map[string]bool) string {
	keys := make([]string, 0, len(ext))
	for k := range ext {
		if k == FieldSignature || skip[k] {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mac := hmac.New(sha1.New, []byte(secret))
	for _, k := range keys {
		mac.Write([]byte(ext[k]))
	}
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verify reports whether ext carries a Signature made with secret over
// ext and body as received. It accepts the variants real clients send:
// Java's (everything signed), rocketmq-client-go's (SecurityToken added
// after signing) and old Java clients' (_UNIQUE_KEY_QUERY added after
// signing). The comparison is constant-time.
func verify(secret string, ext map[string]string, body []byte) bool {
	got, err := base64.StdEncoding.DecodeString(ext[FieldSignature])
	if err != nil || len(got) != sha1.Size {
		return false
	}
	variants := []map[string]bool{nil}
	_, tok := ext[FieldSecurityToken]
	_, uniq := ext[fieldUniqueKeyQuery]
	if tok {
		variants = append(variants, map[string]bool{FieldSecurityToken: true})
	}
	if uniq {
		variants = append(variants, map[string]bool{fieldUniqueKeyQuery: true})
	}
	if tok && uniq {
		variants = append(variants, map[string]bool{FieldSecurityToken: true, fieldUniqueKeyQuery: true})
	}
	for _, skip := range variants {
		want, _ := base64.StdEncoding.DecodeString(Signature(secret, ext, body, skip))
		if hmac.Equal(got, want) {
			return true
		}
	}
	return false
}
