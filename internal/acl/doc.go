// Package acl is Bolide's access control: users with secret keys,
// requests signed as RocketMQ's ACL 1.0 clients sign them (HMAC-SHA1 over
// the sorted ext-field values plus the body), policies that grant actions
// (Pub, Sub, Create, Update, Delete, Get, List) on resources (the cluster,
// topics, groups; exact names or "prefix*" patterns, LMQ names included),
// and one table mapping every request code to the permissions it needs.
//
// Files by concern:
//
//	sign.go       ACL 1.0 signing and verification (Java and Go client variants)
//	policy.go     actions, resources, patterns, users and their policies
//	file.go       the JSON file of users and policies (aclFile)
//	table.go      request code -> required permissions: the one table
//	authorizer.go authentication + authorization of one request
//
// The package knows nothing of connections: the broker wraps its
// processors with Authorizer.Check (see internal/broker/acl.go) and the
// internal client signs with Credentials.Sign.
package acl
